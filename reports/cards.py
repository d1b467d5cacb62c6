"""One finding as the report shows it: what breaks, for whom, what the browser said, why, the
fix for the detected stack, a command that reproduces it, and a few exchanges as evidence.

Findings come ranked from `analysis.diagnosis`; this module only reads them. Stack and fix
fields are read defensively: a report must still render when a fix could not be written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reports import fmt
from reports.evidence import ExchangeView, exchange_view
from reports.scrub import Scrubber

if TYPE_CHECKING:
    from analysis.api import Decided
    from analysis.diagnosis.findings import Finding

MAX_SAMPLES = 3
MIN_SAMPLES = 2
_LIST_LIMIT = 8
# Candidates scanned for varied samples; the first few hundred show every variant there is.
_SAMPLE_SCAN = 500
# Exchanges whose secrets are looked for in the finding's free text (curl, messages).
_SECRET_SCAN = 50

# Layers a fix can name besides the server stacks.
_LAYER_NAMES = {
    "page": "the page's code",
    "service-worker": "the page's service worker",
    "cdn": "the CDN or shared cache",
}

SEVERITY_LABELS = {
    "blocked": "Blocks requests",
    "security": "Security risk",
    "warning": "Warning",
    "conditional": "Blocks if credentialed",
}


@dataclass(slots=True)
class Listed:
    shown: list[str]
    more: int


@dataclass(slots=True)
class FindingCard:
    anchor: str
    rank: int
    severity: str
    severity_label: str
    title: str
    why: str
    exchanges: int
    endpoints: Listed
    origins: Listed
    pages: Listed
    first_seen: str | None
    last_seen: str | None
    confirmed: int
    conditional_note: str
    message_kind: str
    """"browser": Chromium's console sentence; "noticed": a corscope warning; "" none."""
    chrome_message: str
    firefox_code: str
    firefox_message: str
    fault: str
    reasons: list[tuple[str, int]]
    stack_name: str
    stack_evidence: list[str]
    layer: str
    leave_alone: list[str]
    fix_text: str
    fix_snippet: str
    snippet_label: str
    reproduce: str
    samples: list[ExchangeView] = field(default_factory=list)


@dataclass(slots=True)
class FindingBrief:
    """A finding past the report's full cards: one line, with the same anchor a card has."""

    anchor: str
    rank: int
    severity: str
    severity_label: str
    title: str
    exchanges: int
    endpoints: int
    layer: str


def brief(finding: Finding, position: int, scrub: Scrubber) -> FindingBrief:
    severity = _severity(finding)
    return FindingBrief(
        anchor=anchor(position),
        rank=finding.rank,
        severity=severity,
        severity_label=SEVERITY_LABELS.get(severity, severity.capitalize()),
        title=scrub.text(finding.title),
        exchanges=len(finding.exchanges),
        endpoints=len(finding.endpoints),
        layer=_layer(finding, scrub),
    )


def _severity(finding: Finding) -> str:
    return "conditional" if finding.conditional else finding.severity


def _layer(finding: Finding, scrub: Scrubber) -> str:
    """The layer the fix goes on, as the report names it."""
    return scrub.written(layer_name(_text(getattr(getattr(finding, "fix", None), "layer", ""))))


def anchor(position: int) -> str:
    """The in-page id of a finding: built from its position, never from captured text."""
    return f"finding-{int(position)}"


def card(
    finding: Finding, position: int, by_id: Mapping[str, Decided], scrub: Scrubber
) -> FindingCard:
    """The view of one finding; `position` (1-based, in rank order) names its anchor."""
    members = [by_id[i] for i in finding.exchanges if i in by_id]
    scrub = scrub.with_secrets_of(d.exchange for d in members[:_SECRET_SCAN])
    samples = pick_samples(members)
    severity = _severity(finding)
    stack = getattr(finding, "stack", None)
    fix = getattr(finding, "fix", None)
    view = FindingCard(
        anchor=anchor(position),
        rank=finding.rank,
        severity=severity,
        severity_label=SEVERITY_LABELS.get(severity, severity.capitalize()),
        title=scrub.text(finding.title),
        why=scrub.written(finding.why),
        exchanges=len(finding.exchanges),
        endpoints=_listed(finding.endpoints, scrub),
        origins=_listed(finding.origins, scrub),
        pages=_listed(finding.pages, scrub),
        first_seen=fmt.when(finding.first_seen),
        last_seen=fmt.when(finding.last_seen),
        confirmed=sum(d.verdict.confirmed for d in members),
        conditional_note=_conditional_note(finding, members),
        message_kind="",
        chrome_message="",
        firefox_code="",
        firefox_message="",
        fault="",
        reasons=sorted(finding.reasons.items(), key=lambda kv: -kv[1]),
        stack_name=scrub.written(_text(getattr(stack, "name", ""))),
        stack_evidence=[scrub.text(e) for e in _strings(getattr(stack, "evidence", ()))],
        layer=_layer(finding, scrub),
        leave_alone=[
            scrub.written(layer_name(e)) for e in _strings(getattr(fix, "leave_alone", ()))
        ],
        fix_text=scrub.written(_text(getattr(fix, "text", ""))),
        fix_snippet=scrub.written(_text(getattr(fix, "snippet", ""))),
        snippet_label="",
        reproduce=scrub.text(finding.reproduce),
        samples=[exchange_view(d, finding.root_cause, scrub) for d in samples],
    )
    label = view.stack_name or "Configuration"
    view.snippet_label = label[:1].upper() + label[1:]
    _messages(view, finding.root_cause, members, scrub)
    return view


def pick_samples(members: Sequence[Decided]) -> list[Decided]:
    """Two or three exchanges that show the finding's variety: different failure reasons,
    pages and paths first, then simply the earliest."""
    chosen: list[Decided] = []
    seen: set[tuple[str | None, str, str, str]] = set()
    for d in members[:_SAMPLE_SCAN]:
        key = (
            d.verdict.reason,
            d.exchange.method,
            _path(d.exchange.url),
            d.exchange.context.page_url or "",
        )
        if key not in seen:
            seen.add(key)
            chosen.append(d)
            if len(chosen) == MAX_SAMPLES:
                return chosen
    for d in members:
        if len(chosen) >= MIN_SAMPLES:
            break
        if d not in chosen:
            chosen.append(d)
    return chosen


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return url


def _messages(
    card: FindingCard, root_cause: str, members: Sequence[Decided], scrub: Scrubber
) -> None:
    """The browser's own words from the first exchange that has them, else corscope's."""
    for d in members[:_SAMPLE_SCAN]:
        v = d.verdict
        if v.fault:
            # Before the console line a fault also has: that line names a CORS rule that
            # did not fail.
            card.message_kind = "fault"
            card.fault = scrub.text(v.fault)
            return
        if v.chrome_message or v.firefox_code:
            card.message_kind = "browser"
            card.chrome_message = scrub.text(v.chrome_message)
            card.firefox_code = v.firefox_code or ""
            card.firefox_message = scrub.text(v.firefox_message)
            return
    for d in members[:_SAMPLE_SCAN]:
        for warning in d.verdict.warnings:
            if warning.id == root_cause:
                card.message_kind = "noticed"
                card.chrome_message = scrub.text(warning.message)
                return


def _conditional_note(finding: Finding, members: Sequence[Decided]) -> str:
    conditional = sum(d.verdict.blocked is None for d in members)
    if finding.conditional or (conditional and conditional == len(members)):
        return (
            "Blocked only if these requests were sent with credentials (cookies or HTTP auth)."
            " The capture does not show whether they were: look for credentials: 'include' or"
            " withCredentials in the page's code."
        )
    if conditional:
        return (
            f"{fmt.plural(conditional, 'request')} of these would be blocked only if sent with"
            " credentials; the capture does not show whether they were."
        )
    return ""


def layer_name(layer: str) -> str:
    """ "nginx" → "nginx", "aws-api-gateway" → "AWS API Gateway", "page" → "the page's code"."""
    if not layer or layer in _LAYER_NAMES:
        return _LAYER_NAMES.get(layer, layer)
    try:
        from analysis.diagnosis.stacks import display_name
    except ImportError:  # the stack fingerprinting module is optional for rendering
        return layer
    return display_name(layer)


def _listed(values: Sequence[str], scrub: Scrubber) -> Listed:
    shown = [scrub.url(v) for v in values[:_LIST_LIMIT]]
    return Listed(shown, max(len(values) - _LIST_LIMIT, 0))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _strings(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}: {v}" for k, v in value.items()]
    return [str(v) for v in value]
