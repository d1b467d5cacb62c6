"""Analyses and findings for report tests.

`findings_for` runs the real `diagnose`; `stand_in_findings` groups failures by reason into
real `Finding`s whose content the tests control (a hostile curl line, a fixed fix).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from analysis.api import Analysis, Decided
from analysis.diagnosis.findings import Finding, diagnose
from analysis.diagnosis.fixes import Fix
from analysis.diagnosis.stacks import Stack
from analysis.model import (
    BrowserVerdict,
    Context,
    Exchange,
    Headers,
    Preflight,
    Request,
    Response,
    Step,
    Transaction,
    origin_of,
)
from analysis.verdict import decide, page_origin

PAGE = "http://localhost:5173"
API = "https://api.example.test"
T0 = 1_795_167_000.0
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/156.0.0.0 Safari/537.36"
)
CH_UA = '"Chromium";v="156", "Not.A/Brand";v="99"'


# Fixed stack and fix, so tests control what the finding cards show.
STAND_IN_STACK = Stack(
    id="express",
    name="Express",
    evidence=("X-Powered-By: Express",),
    layers=("nginx", "express"),
)
STAND_IN_FIX = Fix(
    stack="express",
    text="Register the cors middleware before the routes, with the page's origin.",
    snippet=(
        "const cors = require('cors');\n"
        "app.use(cors({ origin: ['http://localhost:5173'], credentials: true }));"
    ),
    layer="express",
    leave_alone="nginx",
)


def analysis_of(exchanges: Sequence[Exchange], *, inputs: Sequence[str] = ()) -> Analysis:
    decided = [Decided(e, decide(e)) for e in exchanges]
    return Analysis(decided=decided, inputs=list(inputs))


def findings_for(analysis: Analysis) -> list[Finding]:
    return list(diagnose(analysis.decided))


def stand_in_findings(analysis: Analysis) -> list[Finding]:
    """One finding per (reason or warning, API origin), most exchanges first."""
    groups: dict[tuple[str, str], list[Decided]] = {}
    for d in analysis.decided:
        v = d.verdict
        cause = v.reason or (v.condition if v.blocked is None else None)
        if cause is None and v.fault:
            cause = "proxy-or-upstream-fault"
        if cause is None and v.warnings:
            cause = v.warnings[0].id
        if cause is None:
            continue
        api = origin_of(d.verdict.failed_url or d.exchange.final_url) or "unknown"
        groups.setdefault((cause, api), []).append(d)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    findings = []
    for rank, ((cause, api), members) in enumerate(ordered, start=1):
        times = [d.exchange.started for d in members if d.exchange.started is not None]
        first = members[0]
        blocked = any(d.verdict.blocked is True for d in members)
        conditional = all(d.verdict.blocked is None for d in members)
        findings.append(
            Finding(
                id=f"f{rank}",
                root_cause=cause,
                severity="blocked" if blocked else "warning",
                rank=rank,
                score=float(len(members)),
                title=f"{api}: {cause}",
                why="Stand-in finding built by the report tests.",
                api_origin=api,
                exchanges=tuple(d.exchange.id for d in members),
                endpoints=tuple(
                    sorted({f"{d.exchange.method} {_path(d.exchange.url)}" for d in members})
                ),
                origins=tuple(sorted({page_origin(d.exchange) or "" for d in members} - {""})),
                pages=tuple(sorted({d.exchange.context.page_url or "" for d in members} - {""})),
                first_seen=min(times) if times else None,
                last_seen=max(times) if times else None,
                stack=STAND_IN_STACK,
                fix=STAND_IN_FIX,
                reproduce=_curl(first.exchange),
                conditional=conditional,
                reasons=dict(Counter(d.verdict.reason for d in members if d.verdict.reason)),
            )
        )
    return findings


def _curl(exchange: Exchange) -> str:
    return f"curl -i '{exchange.url}' -H 'Origin: {page_origin(exchange)}'"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].partition("/")[2].partition("?")[0]


# --- Exchanges as they appear on the wire -------------------------------------------------


def tx(
    method: str,
    url: str,
    request_headers: Sequence[tuple[str, str]] = (),
    status: int | None = 200,
    response_headers: Sequence[tuple[str, str]] = (),
    *,
    started: float = T0,
    body: str | None = None,
) -> Transaction:
    response = None
    if status is not None:
        response = Response(status, Headers.of(response_headers), body_excerpt=body)
    request = Request(method, url, Headers.of(request_headers), http_version="HTTP/1.1")
    return Transaction(request, response, started=started, duration_ms=12.5)


def browser_headers(origin: str = PAGE, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        ("Origin", origin),
        ("User-Agent", UA),
        ("sec-ch-ua", CH_UA),
        ("Sec-Fetch-Mode", "cors"),
        *extra,
    ]


def get(
    exchange_id: str,
    url: str,
    response_headers: Sequence[tuple[str, str]] = (),
    *,
    status: int = 200,
    request_headers: Sequence[tuple[str, str]] = (),
    started: float = T0,
    page: str = PAGE + "/",
    credentials: str | None = "omit",
    browser: BrowserVerdict | None = None,
    source: str | None = None,
    body: str | None = None,
) -> Exchange:
    origin = origin_of(page) or PAGE
    sent = browser_headers(origin, *request_headers)
    step = Step(
        url, None, tx("GET", url, sent, status, response_headers, started=started, body=body)
    )
    context = Context(
        page_origin=origin,
        page_url=page,
        credentials=credentials,
        resource_type="fetch",
        browser=browser,
        source=source,
    )
    return Exchange(exchange_id, (step,), context)


def preflighted(
    exchange_id: str,
    method: str,
    url: str,
    preflight_status: int,
    preflight_headers: Sequence[tuple[str, str]],
    *,
    announced: str | None = None,
    actual_status: int | None = None,
    actual_headers: Sequence[tuple[str, str]] = (),
    request_headers: Sequence[tuple[str, str]] = (),
    started: float = T0,
    page: str = PAGE + "/",
) -> Exchange:
    origin = origin_of(page) or PAGE
    asked = [("Access-Control-Request-Method", method)]
    if announced:
        asked.append(("Access-Control-Request-Headers", announced))
    pf = tx(
        "OPTIONS",
        url,
        browser_headers(origin, *asked),
        preflight_status,
        preflight_headers,
        started=started,
    )
    actual = None
    if actual_status is not None:
        sent = browser_headers(origin, *request_headers)
        actual = tx(method, url, sent, actual_status, actual_headers, started=started + 0.01)
    context = Context(page_origin=origin, page_url=page, credentials="omit", resource_type="fetch")
    return Exchange(exchange_id, (Step(url, Preflight(pf), actual),), context)


def redirected(exchange_id: str, first: str, second: str, *, started: float = T0) -> Exchange:
    """A GET redirected to another origin whose answer lacks CORS headers."""
    hop1 = tx(
        "GET",
        first,
        browser_headers(),
        302,
        [("Location", second), ("Access-Control-Allow-Origin", PAGE)],
        started=started,
    )
    hop2 = tx(
        "GET",
        second,
        browser_headers("null"),
        200,
        [("Content-Type", "application/json")],
        started=started + 0.02,
    )
    context = Context(
        page_origin=PAGE, page_url=PAGE + "/", credentials="omit", resource_type="fetch"
    )
    return Exchange(exchange_id, (Step(first, None, hop1), Step(second, None, hop2)), context)


def renumbered(exchange: Exchange, exchange_id: str, started: float) -> Exchange:
    """A copy with another id and start time, for volume."""
    steps = tuple(
        replace(
            step,
            preflight=(
                replace(
                    step.preflight, transaction=replace(step.preflight.transaction, started=started)
                )
                if step.preflight is not None and step.preflight.transaction is not None
                else step.preflight
            ),
            actual=replace(step.actual, started=started) if step.actual is not None else None,
        )
        for step in exchange.steps
    )
    return replace(exchange, id=exchange_id, steps=steps)
