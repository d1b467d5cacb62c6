"""The table of all exchanges: compact rows for the page's script, the first ones as HTML.

Size matters at 100k exchanges, so each row is a JSON array of small integers: repeated
strings (methods, origins, paths, reasons) are stored once in a string table and rows
refer to them by index. Times are milliseconds after the first exchange.

Row layout (keep in step with `report.js`):
    [id, ms, method, url_origin, url_rest, status, page_origin, verdict, reason,
     finding, flags, source]
`finding` is the finding's rank (0 = none); `flags` is a bit set of `FLAG_*`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from analysis.verdict import page_origin
from reports import origins
from reports.scrub import Scrubber

if TYPE_CHECKING:
    from analysis.api import Decided
    from analysis.verdict import Verdict

SERVER_ROWS = 100
# Verdict codes, their words and CSS classes: the script reads the same lists from the data.
ALLOWED, BLOCKED, CONDITIONAL, UNDECIDED, FAULT = range(5)
VERDICT_WORDS = ["Allowed", "Blocked", "Blocked if credentialed", "Undecided", "Failed below CORS"]
VERDICT_CLASSES = ["allowed", "blocked", "conditional", "conditional", "fault"]
FLAG_CONFIRMED, FLAG_WARNINGS, FLAG_PREFLIGHT, FLAG_REDIRECTED, FLAG_DISPUTED = 1, 2, 4, 8, 16

# Everything that could end the <script> element or start markup inside it, and the two
# characters that end a line in JavaScript but not in JSON.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@dataclass(frozen=True, slots=True)
class TableRow:
    """One server-rendered row, in the same words the script uses for the rest."""

    id: str
    time: str
    method: str
    url: str
    status: str
    page_origin: str
    verdict: str
    verdict_class: str
    reason: str
    finding: int
    finding_title: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class Table:
    total: int
    first: list[TableRow]
    data: Markup
    """The JSON text for `<script type="application/json">`, escaped for that place."""


def verdict_code(v: Verdict) -> int:
    if v.fault is not None:
        return FAULT
    if v.blocked is True:
        return BLOCKED
    if v.blocked is None:
        return CONDITIONAL if v.condition == "credentials-include" else UNDECIDED
    return ALLOWED


def build(
    decided: Sequence[Decided],
    owner: Mapping[str, int],
    titles: Sequence[tuple[str, str]],
    scrub: Scrubber,
) -> Table:
    """`owner` maps exchange id → rank of its first finding; `titles` lists (title,
    severity) by rank, starting at rank 1."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def ref(value: str) -> int:
        found = index.get(value)
        if found is None:
            found = index[value] = len(strings)
            strings.append(value)
        return found

    ordered = sorted(decided, key=_start_key)
    t0 = next((d.exchange.started for d in ordered if d.exchange.started is not None), None)
    t0_ms = None if t0 is None else round(t0 * 1000)
    rows: list[list[Any]] = []
    first: list[TableRow] = []
    for d in ordered:
        ex, v = d.exchange, d.verdict
        url = scrub.url(ex.url)
        origin, rest = origins.split(url)
        final = ex.last.actual
        status = final.response.status if final is not None and final.response is not None else None
        started = ex.started
        ms = round((started - t0) * 1000) if started is not None and t0 is not None else None
        code = verdict_code(v)
        reason = v.reason or v.browser_reason or (v.condition or "")
        if not reason and v.warnings:
            reason = v.warnings[0].id
        rank = owner.get(ex.id, 0)
        flags = (
            (FLAG_CONFIRMED if v.confirmed else 0)
            | (FLAG_WARNINGS if v.warnings else 0)
            | (FLAG_PREFLIGHT if v.preflight_required else 0)
            | (FLAG_REDIRECTED if len(ex.steps) > 1 else 0)
            | (FLAG_DISPUTED if v.browser is not None and not v.confirmed else 0)
        )
        page = scrub.url(page_origin(ex) or "")
        rows.append(
            [
                ex.id,
                ms,
                ref(ex.method),
                ref(origin),
                ref(rest),
                status,
                ref(page),
                code,
                ref(reason),
                rank,
                flags,
                ref(v.source),
            ]
        )
        if len(first) < SERVER_ROWS:
            first.append(
                TableRow(
                    id=ex.id,
                    time=_clock(t0_ms, ms),
                    method=ex.method,
                    url=url,
                    status="" if status is None else str(status),
                    page_origin=page,
                    verdict=VERDICT_WORDS[code],
                    verdict_class=VERDICT_CLASSES[code],
                    reason=reason,
                    finding=rank,
                    finding_title=titles[rank - 1][0] if 0 < rank <= len(titles) else "",
                    confirmed=v.confirmed,
                )
            )
    payload = {
        "t0": t0_ms,
        "strings": strings,
        "verdicts": VERDICT_WORDS,
        "classes": VERDICT_CLASSES,
        "findings": [[title, severity] for title, severity in titles],
        "rows": rows,
    }
    return Table(total=len(rows), first=first, data=script_json(payload))


def script_json(value: object) -> Markup:
    """JSON that is safe inside a `<script type="application/json">` element.

    The page reads it with `textContent` and `JSON.parse`, which undo the escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.translate(_SCRIPT_ESCAPES))  # escaped just above


def _start_key(d: Decided) -> tuple[bool, float]:
    started = d.exchange.started
    return (started is None, started or 0.0)


def _clock(t0_ms: int | None, ms: int | None) -> str:
    """HH:MM:SS.mmm in UTC, computed as the script does (integer milliseconds)."""
    if t0_ms is None or ms is None:
        return ""
    seconds, millis = divmod(t0_ms + ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S.") + f"{millis:03d}"
