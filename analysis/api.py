"""corscope as a library: read captures, decide every cross-origin exchange, build the document.

    from analysis.api import analyze
    document = analyze(["session.har"])      # the `corscope/1` JSON document as a dict

`analyze_files` returns the `Analysis` (exchanges with their verdicts) for callers that want
the objects; `document` turns an `Analysis` into the JSON contract. Standard library only,
so the addon can call it inside mitmproxy's own Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from analysis.model import Exchange
from analysis.parallel import decide_all_parallel, usable_cpus
from analysis.progress import Progress
from analysis.readers import collector_paused, read_many
from analysis.redact import redact_text, redact_url
from analysis.verdict import Verdict, decide, page_origin

SCHEMA = "corscope/1"


@dataclass(frozen=True, slots=True)
class Decided:
    """One cross-origin exchange and the browser's verdict on it."""

    exchange: Exchange
    verdict: Verdict


@dataclass(slots=True)
class Analysis:
    decided: list[Decided]
    inputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Reader warnings (a truncated file, an unknown flow format), each naming its file."""
    not_cross_origin: int = 0
    """Exchanges seen that were same-origin or navigations: counted, not reported."""

    @property
    def blocked(self) -> list[Decided]:
        return [d for d in self.decided if d.verdict.blocked is True]

    @property
    def conditional(self) -> list[Decided]:
        return [d for d in self.decided if d.verdict.blocked is None]


def decide_all(exchanges: Iterable[Exchange]) -> tuple[list[Decided], int]:
    """Decide each exchange; keep the cross-origin ones (CORS applied, or an opaque no-cors)."""
    decided: list[Decided] = []
    skipped = 0
    shared = VerdictSharing()
    # Verdicts hold no reference cycles: the collector would only walk them (and the
    # exchanges) again and again as they pile up.
    with collector_paused():
        for exchange in exchanges:
            verdict = decide(exchange)
            if verdict.cors or verdict.warnings:
                decided.append(Decided(exchange, shared(verdict)))
            else:
                skipped += 1
    return decided, skipped


class VerdictSharing:
    """One object for equal verdicts: most exchanges of a capture are allowed for the same
    reasons, and a verdict is a couple of hundred bytes. Verdicts that name a URL (the
    failures) are nearly all distinct and are left alone."""

    LIMIT = 65_536

    def __init__(self) -> None:
        self._seen: dict[Verdict, Verdict] = {}

    def __call__(self, verdict: Verdict) -> Verdict:
        if verdict.failed_url is not None:
            return verdict
        seen = self._seen.get(verdict)
        if seen is not None:
            return seen
        if len(self._seen) < self.LIMIT:
            self._seen[verdict] = verdict
        return verdict


def analyze_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Analysis:
    """Read every input (raises `InputError` on bad input) and decide every exchange, on
    `jobs` processes (0: every core) for large inputs; `progress` draws bars on stderr."""
    reading = progress.task("reading", unit="bytes") if progress else None
    result = read_many(paths, progress=reading, jobs=jobs or usable_cpus())
    if jobs == 1:
        decided, skipped = decide_all(result.exchanges)
    else:
        deciding = progress.task("deciding") if progress else None
        decided, skipped = decide_all_parallel(result.exchanges, jobs or None, progress=deciding)
    return Analysis(
        decided=decided,
        inputs=[os.fspath(p) for p in paths],
        warnings=list(result.warnings),
        not_cross_origin=skipped,
    )


def analyze(paths: Sequence[str | os.PathLike[str]]) -> dict:
    return document(analyze_files(paths))


# --- The JSON document (`corscope/1`) ----------------------------------------------------


def document(analysis: Analysis, findings: Sequence[Any] = (), *, redact: bool = True) -> dict:
    """The JSON contract. `findings` are `analysis.diagnosis.findings.Finding`s, in rank
    order; diagnosis needs pandas, so callers without it pass none. Token-like query
    parameters and URL credentials are redacted unless `redact` is False."""
    return {
        key: list(value) if isinstance(value, Iterator) else value
        for key, value in _document_parts(analysis, findings, redact)
    }


def write_document(
    analysis: Analysis, out: TextIO, findings: Sequence[Any] = (), *, redact: bool = True
) -> None:
    """`json.dumps(document(...), indent=2, ensure_ascii=False)` and a newline, written to
    `out` one exchange record at a time: the whole document as dicts and then as one
    string was three times the memory of the analysis behind it."""
    out.write("{")
    for n, (key, value) in enumerate(_document_parts(analysis, findings, redact)):
        out.write(f"{',' if n else ''}\n  {_json(key, 1)}: ")
        if not isinstance(value, Iterator):
            out.write(_json(value, 1))
            continue
        empty = True
        for item in value:
            out.write(f"{'[' if empty else ','}\n    {_json(item, 2)}")
            empty = False
        out.write("[]" if empty else "\n  ]")
    out.write("\n}\n")


def _json(value: Any, depth: int) -> str:
    """`value` as json.dumps(indent=2) writes it `depth` levels down: strings escape their
    newlines, so every raw newline is one of the layout's."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)


def _document_parts(
    analysis: Analysis, findings: Sequence[Any], redact: bool
) -> list[tuple[str, Any]]:
    """The document's members in order; the exchanges as an iterator of records."""
    owner: dict[str, str] = {}
    for finding in findings:
        for exchange_id in finding.exchanges:
            owner.setdefault(exchange_id, finding.id)
    records = [finding_record(f) for f in findings]
    if redact:
        records = [_redacted_finding(f) for f in records]

    def exchanges() -> Iterator[dict]:
        for d in analysis.decided:
            record = exchange_record(d, owner.get(d.exchange.id))
            yield _redacted_exchange(record) if redact else record

    return [
        ("schema", SCHEMA),
        ("inputs", analysis.inputs),
        ("summary", summary(analysis)),
        ("redacted", redact),
        ("warnings", analysis.warnings),
        ("exchanges", exchanges()),
        ("findings", records),
    ]


def _redacted_exchange(record: dict) -> dict:
    record["url"] = redact_url(record["url"])
    record["final_url"] = redact_url(record["final_url"])
    record["redirects"] = [redact_url(u) for u in record["redirects"]]
    verdict = record["verdict"]
    for fields in (verdict, verdict["with_credentials"] or {}):
        for key in ("chrome_message", "firefox_message", "fault", "failed_parameter"):
            if fields.get(key):
                fields[key] = redact_text(fields[key])
    return record


def _redacted_finding(record: dict) -> dict:
    record["reproduce"] = redact_text(record["reproduce"])
    # The fix is corscope's own text around captured values, as the report treats it:
    # URLs are redacted, but `credentials: true` is configuration, not a secret.
    record["fix"]["text"] = redact_text(record["fix"]["text"], scrub_pairs=False)
    record["fix"]["snippet"] = redact_text(record["fix"]["snippet"], scrub_pairs=False)
    return record


def finding_record(finding: Any) -> dict:
    return {
        "id": finding.id,
        "root_cause": finding.root_cause,
        "severity": finding.severity,
        "conditional": finding.conditional,
        "rank": finding.rank,
        "score": finding.score,
        "title": finding.title,
        "why": finding.why,
        "api_origin": finding.api_origin,
        "exchanges": list(finding.exchanges),
        "endpoints": list(finding.endpoints),
        "origins": list(finding.origins),
        "pages": list(finding.pages),
        "first_seen": _iso(finding.first_seen),
        "last_seen": _iso(finding.last_seen),
        "reasons": finding.reasons,
        "detail": finding.detail,
        "stack": {
            "id": finding.stack.id,
            "name": finding.stack.name,
            "evidence": list(finding.stack.evidence),
            "layers": list(finding.stack.layers),
        },
        "fix": {
            "stack": finding.fix.stack,
            "layer": finding.fix.layer,
            "leave_alone": finding.fix.leave_alone,
            "text": finding.fix.text,
            "snippet": finding.fix.snippet,
        },
        "reproduce": finding.reproduce,
    }


def summary(analysis: Analysis) -> dict:
    verdicts = [d.verdict for d in analysis.decided]
    return {
        "exchanges": len(verdicts),
        "blocked": sum(v.blocked is True for v in verdicts),
        "conditional": sum(v.blocked is None for v in verdicts),
        "allowed": sum(v.blocked is False for v in verdicts),
        "faults": sum(v.fault is not None for v in verdicts),
        "with_warnings": sum(bool(v.warnings) for v in verdicts),
        "confirmed": sum(v.confirmed for v in verdicts),
        "not_cross_origin": analysis.not_cross_origin,
    }


def exchange_record(decided: Decided, finding: str | None = None) -> dict:
    exchange, verdict = decided.exchange, decided.verdict
    final = exchange.last.actual
    status = final.response.status if final is not None and final.response is not None else None
    return {
        "id": exchange.id,
        "method": exchange.method,
        "url": exchange.url,
        "final_url": exchange.final_url,
        "origin": page_origin(exchange),
        "source": verdict.source,
        "status": status,
        "started": _iso(exchange.started),
        "mode": verdict.mode,
        "credentials": verdict.credentials,
        "resource_type": exchange.context.resource_type,
        "redirects": [step.url for step in exchange.steps[1:]],
        "preflight": _preflight_record(exchange, verdict),
        "verdict": {
            "blocked": verdict.blocked,
            "condition": verdict.condition,
            "stage": verdict.stage,
            "reason": verdict.reason,
            "failed_parameter": verdict.failed_parameter,
            "chrome_message": verdict.chrome_message,
            "firefox_code": verdict.firefox_code,
            "firefox_message": verdict.firefox_message,
            "confirmed": verdict.confirmed,
            "fault": verdict.fault,
            "browser_reason": verdict.browser_reason,
            "browser": (
                None
                if verdict.browser is None
                else {
                    "blocked": verdict.browser.blocked,
                    "reason": verdict.browser.reason,
                    "failed_parameter": verdict.browser.failed_parameter,
                }
            ),
            "with_credentials": _with_credentials(verdict),
        },
        "warnings": [{"id": w.id, "message": w.message} for w in verdict.warnings],
        "file": exchange.origin_file,
        "finding": finding,
    }


def _with_credentials(verdict: Verdict) -> dict | None:
    alternative = verdict.with_credentials
    if alternative is None:
        return None
    return {
        "stage": alternative.stage,
        "reason": alternative.reason,
        "failed_parameter": alternative.failed_parameter,
        "chrome_message": alternative.chrome_message,
    }


def _preflight_record(exchange: Exchange, verdict: Verdict) -> dict | None:
    if not verdict.preflight_required:
        return None
    for step in exchange.steps:
        if step.preflight is not None and step.preflight.transaction is not None:
            response = step.preflight.transaction.response
            return {"status": response.status if response else None, "cached": False}
    return {"status": None, "cached": True}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return None  # no calendar holds it: a hostile capture's 1e300 or NaN
    return moment.isoformat().replace("+00:00", "Z")
