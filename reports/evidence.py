"""One exchange as evidence: every hop of the fetch, the preflight beside the request it
guarded, headers in wire order with duplicates, the offending ones marked.

Which header to mark is read off the reason the verdict already named (a reason about
`Access-Control-Allow-Origin` marks that header); nothing here re-decides anything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.model import Step, Transaction
from analysis.provenance import CACHE_SIGNAL_HEADERS
from analysis.verdict import page_origin
from reports import fmt
from reports.scrub import Scrubber

if TYPE_CHECKING:
    from analysis.api import Decided
    from analysis.verdict import Verdict

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"

# Reason (a Chromium CorsError name, matched by the first fragment it contains) → response
# headers that failed, request headers that asked for it. The first response header is
# shown as an "absent" row when the response lacks it.
_REASON_HEADERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("WildcardOrigin", (ACAO, ACAC), ("cookie", "authorization")),
    ("AllowOrigin", (ACAO,), ("origin",)),
    ("AllowCredentials", (ACAC,), ("cookie", "authorization")),
    ("Method", ("access-control-allow-methods",), ("access-control-request-method",)),
    ("Header", ("access-control-allow-headers",), ("access-control-request-headers",)),
    ("Redirect", ("location",), ()),
    (
        "LocalNetwork",
        ("access-control-allow-private-network", "access-control-allow-local-network"),
        ("access-control-request-private-network", "access-control-request-local-network"),
    ),
)
# Root causes without a failing response (warnings, security findings): the headers that
# show the problem, on every response of the exchange.
_CAUSE_HEADERS: dict[str, tuple[str, ...]] = {
    "cache-missing-vary-origin": ("vary", ACAO),
    "cdn-cache-wrong-origin": ("vary", ACAO),
    "browser-cache-wrong-origin": ("vary", ACAO),
    "expose-headers-missing": ("access-control-expose-headers",),
    "preflight-not-cached": ("access-control-max-age",),
    "duplicate-allow-origin": (ACAO,),
    "wildcard-on-cookie-response": (ACAO, "set-cookie"),
    "reflected-origin-with-credentials": (ACAO, ACAC),
    "null-origin-allowed-with-credentials": (ACAO, ACAC),
    "regex-allowlist-lookalike": (ACAO,),
    "authorization-covered-by-wildcard": ("access-control-allow-headers",),
    "origin-allowlist-mismatch": (ACAO,),
    "credentials-not-allowed": (ACAC,),
    "wildcard-with-credentials": (ACAO, ACAC),
    "error-responses-without-cors": (ACAO,),
    "cors-not-enabled": (ACAO,),
    "cors-after-routes": (ACAO,),
}
# …and the one whose absence is the point, shown as an "absent" row: (which transaction).
_CAUSE_ABSENT: dict[str, tuple[str, str]] = {
    "preflight-not-cached": ("preflight", "access-control-max-age"),
    "cache-missing-vary-origin": ("actual", "vary"),
    "cdn-cache-wrong-origin": ("actual", "vary"),
    "expose-headers-missing": ("actual", "access-control-expose-headers"),
}
_CACHE_HEADERS = frozenset(CACHE_SIGNAL_HEADERS) | {"cache-control", "expires", "etag", "vary"}

SOURCE_LABELS = {
    "network": "from the network",
    "cdn-cache": "from a shared cache (CDN or reverse proxy)",
    "http-cache": "from the browser's HTTP cache: the proxy never saw this response",
    "service-worker": "made by the page's service worker",
}
CONDITIONS = {
    "credentials-include": (
        "Blocked if the request was sent with credentials (cookies or HTTP auth); the capture"
        " does not show whether it was."
    ),
    "response-not-captured": "Undecided: the response was not captured.",
    "preflight-response-not-captured": "Undecided: the preflight's response was not captured.",
    "redirect-target-not-captured": "Undecided: the redirect's target was not captured.",
    "redirect-error": (
        "The redirect passed CORS but the proxy never saw its target requested: blocked (not"
        " by CORS) if the fetch used redirect: 'error', or 'manual' with integrity metadata;"
        " with 'manual' alone the page got an opaque-redirect response. A target the"
        " browser's HTTP cache answered is not on the wire either."
    ),
}


@dataclass(frozen=True, slots=True)
class HeaderRow:
    name: str
    parts: tuple[tuple[str, bool], ...]
    """The value, split so the failed parameter can be marked: (text, marked)."""
    mark: str = ""
    """"" | "offending" | "related" | "cache" | "absent"."""


@dataclass(slots=True)
class TxView:
    heading: str
    method: str
    url: str
    http_version: str
    request: list[HeaderRow]
    status: int | None
    status_text: str
    status_mark: bool
    response: list[HeaderRow]
    failed: bool
    error: str = ""
    made_by_proxy: bool = False
    took: str = ""
    body: str = ""


@dataclass(slots=True)
class HopView:
    number: int
    of: int
    url: str
    preflight: TxView | None
    preflight_note: str
    actual: TxView | None
    actual_note: str


@dataclass(slots=True)
class ExchangeView:
    id: str
    method: str
    url: str
    status: str
    verdict_label: str
    verdict_class: str
    confirmation: str
    source: str
    source_label: str
    facts: list[tuple[str, str]]
    hops: list[HopView]
    cache: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verdict_label(v: Verdict) -> tuple[str, str]:
    """Words and a CSS class for a verdict, conditional ones never shown as certain."""
    if v.fault is not None:
        return "Failed below CORS", "fault"
    if v.blocked is True:
        return "Blocked", "blocked"
    if v.blocked is None:
        if v.condition == "credentials-include":
            return "Blocked if sent with credentials", "conditional"
        if v.condition == "redirect-error":
            return "Blocked if redirect: 'error'", "conditional"
        return "Undecided", "conditional"
    if v.warnings:
        return "Allowed, with warnings", "warning"
    return "Allowed", "allowed"


def confirmation(v: Verdict) -> str:
    if v.confirmed:
        return "confirmed by the browser"
    if v.browser is not None and v.blocked is not None:
        said = v.browser.reason or ("blocked" if v.browser.blocked else "allowed")
        return f"the browser reported: {said}"
    return "predicted from the capture"


def exchange_view(decided: Decided, root_cause: str, scrub: Scrubber) -> ExchangeView:
    ex, v = decided.exchange, decided.verdict
    label, css = verdict_label(v)
    final = ex.last.actual
    status = "no response"
    if final is not None and final.response is not None:
        status = str(final.response.status)
    elif final is None and ex.last.preflight is not None:
        status = "not sent"
    failed_hop = _failed_hop(ex.steps, v)
    hops = [
        _hop(index, len(ex.steps), step, v, root_cause, scrub, index == failed_hop)
        for index, step in enumerate(ex.steps)
    ]
    ctx = ex.context
    facts = [
        ("Page", scrub.url(ctx.page_url or page_origin(ex) or "unknown")),
        ("Mode", v.mode or "unknown"),
        ("Credentials", _credentials(v)),
    ]
    if ctx.resource_type:
        facts.append(("Initiator", ctx.resource_type))
    if ex.origin_file:
        facts.append(("File", os.path.basename(ex.origin_file)))
    notes = []
    if v.condition in CONDITIONS:
        notes.append(CONDITIONS[v.condition])
    if v.fault:
        notes.append(f"Failed below CORS: {scrub.text(v.fault)}")
    if v.browser_reason:
        notes.append(f"Chromium reports this as {v.browser_reason}.")
    if v.with_credentials is not None:
        notes.append(
            "Blocked either way. The capture does not show whether it was sent with credentials;"
            f" if it was, Chromium reports {v.with_credentials.reason} first:"
            f" {scrub.text(v.with_credentials.chrome_message)}"
        )
    if ctx.browser_error:
        notes.append(f"The browser's network error: {scrub.text(ctx.browser_error)}")
    cache = []
    if final is not None and final.response is not None:
        cache = [
            (name, scrub.header(name, value))
            for name, value in final.response.headers
            if name.lower() in CACHE_SIGNAL_HEADERS
        ]
    return ExchangeView(
        id=ex.id,
        method=ex.method,
        url=scrub.url(ex.url),
        status=status,
        verdict_label=label,
        verdict_class=css,
        confirmation=confirmation(v),
        source=v.source,
        source_label=SOURCE_LABELS.get(v.source, v.source),
        facts=facts,
        hops=hops,
        cache=cache,
        warnings=[scrub.text(w.message) for w in dict.fromkeys(v.warnings)],
        notes=notes,
    )


def _credentials(v: Verdict) -> str:
    return {
        "include": "include (cookies and HTTP auth sent)",
        "same-origin": "same-origin (no cookies cross-origin)",
        "omit": "omit (no cookies)",
    }.get(v.credentials or "", "unknown: the capture does not say")


def _failed_hop(steps: Sequence[Step], v: Verdict) -> int | None:
    if v.blocked is False or not v.stage:
        return None
    for index in range(len(steps) - 1, -1, -1):
        if v.failed_url is None or steps[index].url == v.failed_url:
            return index
    return len(steps) - 1


def _hop(
    index: int, of: int, step: Step, v: Verdict, root_cause: str, scrub: Scrubber, failed: bool
) -> HopView:
    preflight_note = ""
    preflight = None
    if step.preflight is not None and step.preflight.transaction is not None:
        preflight = _tx(
            "Preflight",
            step.preflight.transaction,
            _marks(v, root_cause, "preflight", failed and v.stage == "preflight"),
            scrub,
            failed and v.stage == "preflight",
        )
    elif step.preflight is not None and step.preflight.cached:
        preflight_note = "Preflight answered from the browser's preflight cache (not on the wire)."
    actual_failed = failed and v.stage in ("response", "redirect")
    actual = None
    actual_note = ""
    if step.actual is not None:
        heading = "Redirect" if index < of - 1 else "Request"
        actual = _tx(
            heading,
            step.actual,
            _marks(v, root_cause, "actual", actual_failed),
            scrub,
            actual_failed,
        )
    elif preflight is not None:
        actual_note = (
            "Never sent: the preflight failed."
            if failed and v.stage == "preflight"
            else "Not in the capture."
        )
    return HopView(
        index + 1, of, scrub.url(step.url), preflight, preflight_note, actual, actual_note
    )


@dataclass(frozen=True, slots=True)
class _Marks:
    offending: frozenset[str]
    related: frozenset[str]
    absent: str | None
    status: bool
    parameter: str | None


def _marks(v: Verdict, root_cause: str, kind: str, failed: bool) -> _Marks:
    offending: set[str] = set(_CAUSE_HEADERS.get(root_cause, ()))
    related: set[str] = set()
    absent = None
    where, name = _CAUSE_ABSENT.get(root_cause, ("", ""))
    if where == kind:
        absent = name
    status = False
    if failed and v.reason:
        status = "Status" in v.reason
        for fragment, response_names, request_names in _REASON_HEADERS:
            if fragment in v.reason:
                offending.update(response_names)
                related.update(request_names)
                absent = response_names[0]
                break
    return _Marks(
        frozenset(offending),
        frozenset(related),
        absent,
        status,
        v.failed_parameter if failed else None,
    )


def _tx(heading: str, tx: Transaction, marks: _Marks, scrub: Scrubber, failed: bool) -> TxView:
    parameter = scrub.text(marks.parameter) if marks.parameter else None
    request = [
        _row(n, scrub.header(n, val), marks.related, None, "related")
        for n, val in tx.request.headers
    ]
    response_rows: list[HeaderRow] = []
    status = None
    status_text = ""
    body = ""
    if tx.response is not None:
        response = tx.response
        status = response.status
        status_text = response.reason
        response_rows = [
            _row(n, scrub.header(n, val), marks.offending, parameter, "offending")
            for n, val in response.headers
        ]
        if marks.absent and marks.absent not in response.headers:
            response_rows.append(
                HeaderRow(_title_case(marks.absent), (("absent", False),), "absent")
            )
        if response.body_excerpt and (failed or response.status >= 400):
            body = scrub.text(response.body_excerpt)
    return TxView(
        heading=heading,
        method=tx.request.method,
        url=scrub.url(tx.request.url),
        http_version=tx.request.http_version or "",
        request=request,
        status=status,
        status_text=status_text,
        status_mark=marks.status,
        response=response_rows,
        failed=failed,
        error=scrub.text(tx.error),
        made_by_proxy=tx.response is not None and tx.response.made_by_proxy,
        took=fmt.duration(tx.duration_ms / 1000) if tx.duration_ms is not None else "",
        body=body,
    )


def _row(
    name: str, value: str, names: frozenset[str], parameter: str | None, mark: str
) -> HeaderRow:
    lowered = name.lower()
    if lowered in names:
        return HeaderRow(name, _split(value, parameter), mark)
    if lowered in _CACHE_HEADERS and mark == "offending":
        return HeaderRow(name, ((value, False),), "cache")
    return HeaderRow(name, ((value, False),))


def _split(value: str, parameter: str | None) -> tuple[tuple[str, bool], ...]:
    if not parameter or parameter not in value:
        return ((value, False),)
    before, _, after = value.partition(parameter)
    return tuple(p for p in ((before, False), (parameter, True), (after, False)) if p[0])


def _title_case(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
