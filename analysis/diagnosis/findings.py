"""Findings: decided exchanges grouped into ranked root causes, each with the fix for its stack.

    findings = diagnose(analysis.decided)

Rules (`rules.py`) give each failing exchange its cause using what the same API did elsewhere;
exchanges with the same cause on the same API become one `Finding` (grouped with pandas), ranked
by `rank.score`. `stacks.py` reads the API's stack off its responses, `fixes.py` writes the fix
for that stack, `reproduce.py` the curl command that shows the problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from analysis import fetch
from analysis.api import Decided
from analysis.diagnosis import catalogue, rank, rules, table
from analysis.diagnosis.fixes import Fix, FixParams, fix_for
from analysis.diagnosis.reproduce import curl_command
from analysis.diagnosis.stacks import Stack, fingerprint
from analysis.model import Exchange, Response
from analysis.verdict import page_origin, unexposed_headers

_SEVERITY_ORDER = {"blocked": 0, "security": 1, "warning": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    root_cause: str
    severity: str
    """"blocked", "security" or "warning"."""
    rank: int
    score: float
    title: str
    why: str
    api_origin: str
    exchanges: tuple[str, ...]
    endpoints: tuple[str, ...]
    origins: tuple[str, ...]
    pages: tuple[str, ...]
    first_seen: float | None
    last_seen: float | None
    stack: Stack
    fix: Fix
    reproduce: str
    conditional: bool = False
    """Every exchange behind it is blocked only on one condition the input cannot show
    (`detail["condition"]`: sent with credentials, loaded as a module script, …)."""
    reasons: dict[str, int] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)


def diagnose(decided: Sequence[Decided], *, jobs: int | None = 1) -> list[Finding]:
    """The findings, ranked. `jobs` > 1 (None or 0: every core) works out the table's
    rows on that many processes for large inputs; the findings are the same."""
    if not decided:
        return []
    frame = table.build(decided, jobs)
    assignments = rules.assign(frame)
    if not assignments:
        return []
    by_id = {d.exchange.id: d for d in decided}
    groups = _group(frame, assignments)
    stacks = _stacks(decided, frame)
    drafts = [_draft(g, by_id, stacks) for g in groups]
    drafts.sort(key=lambda f: rank.order_key(f.score, f.first_seen, f.root_cause, f.api_origin))
    return [_with_rank(f, position) for position, f in enumerate(drafts, start=1)]


# --- Grouping --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    root_cause: str
    api_origin: str
    severity: str
    conditional: bool
    rows: dict[str, list[Any]]
    """`_GROUP_COLUMNS` of its exchanges' rows, as lists in the group's order."""
    details: list[dict[str, str]]


_GROUP_COLUMNS = ["id", "endpoint", "page_origin", "page", "started", "reason", "conditional"]
"""What a finding reads of its exchanges' rows."""


def _group(frame: pd.DataFrame, assignments: list[rules.Assignment]) -> list[_Group]:
    """Assignments by (root cause, API), in that order; each group's rows by time, then id.
    Rows are taken by position, with only the columns a finding reads, as plain lists:
    pandas' per-call cost, paid per group and column, dominated a capture with thousands
    of APIs."""
    columns = {name: frame[name].tolist() for name in _GROUP_COLUMNS}
    ids, started, conditional = columns["id"], columns["started"], columns["conditional"]
    position = {xid: i for i, xid in enumerate(ids)}
    members: dict[tuple[str, str], list[tuple[int, rules.Assignment]]] = {}
    for a in assignments:
        members.setdefault((a.root_cause, a.api_origin), []).append((position[a.exchange], a))

    def by_time(member: tuple[int, rules.Assignment]) -> tuple[bool, float, str]:
        t = started[member[0]]
        undated = t != t  # NaN: pandas sorts it last
        return (undated, 0.0 if undated else t, ids[member[0]])

    groups: list[_Group] = []
    for cause, api in sorted(members):
        chosen = sorted(members[(cause, api)], key=by_time)
        severity = min((a.severity for _, a in chosen), key=_SEVERITY_ORDER.__getitem__)
        details = [a.detail for _, a in chosen]
        conditions = {d.get("condition") for d in details}
        is_conditional = (
            severity == "warning"
            and all(conditional[at] for at, _ in chosen)
            and len(conditions) == 1
            and None not in conditions
        )
        rows = {name: [values[at] for at, _ in chosen] for name, values in columns.items()}
        groups.append(_Group(cause, api, severity, is_conditional, rows, details))
    return groups


# --- One finding -------------------------------------------------------------------------------


_CONDITION_TITLES = {
    "credentials": " (if sent with credentials)",
    "module-script": " (if loaded as a module script)",
    "classic-script": " (if loaded as a classic script)",
    "redirect-error": " (if fetched with redirect: 'error')",
    # A POST with Origin but no Sec-Fetch-Mode: a beacon or a no-cors fetch sends Origin too.
    "cors-mode": " (if sent in CORS mode)",
    "cors-mode-credentials": " (if sent in CORS mode with credentials)",
}


def _condition_title(condition: str | None) -> str:
    return _CONDITION_TITLES.get(condition or "", f" (if {condition})")


def _draft(group: _Group, by_id: dict[str, Decided], stacks: dict[str, Stack]) -> Finding:
    rows = group.rows
    ids = tuple(dict.fromkeys(rows["id"]))
    endpoints = tuple(sorted(set(rows["endpoint"])))
    origins = tuple(sorted({o for o in rows["page_origin"] if isinstance(o, str)}))
    pages = tuple(sorted({p for p in rows["page"] if isinstance(p, str)}))
    started = [s for s in rows["started"] if isinstance(s, float) and s == s]
    detail = _merge_details(group.details)
    decided = [by_id[i] for i in ids]
    stack = stacks.get(group.api_origin) or fingerprint([])
    params = _fix_params(group, decided, endpoints, origins, detail)
    severity_for_score = "conditional" if group.conditional else group.severity
    return Finding(
        id="",
        root_cause=group.root_cause,
        severity=group.severity,
        rank=0,
        score=rank.score(severity_for_score, len(ids), len(endpoints), len(origins), len(pages)),
        title=catalogue.title(group.root_cause, group.api_origin)
        + (_condition_title(group.details[0].get("condition")) if group.conditional else ""),
        why=catalogue.why(group.root_cause),
        api_origin=group.api_origin,
        exchanges=ids,
        endpoints=endpoints,
        origins=origins,
        pages=pages,
        first_seen=min(started) if started else None,
        last_seen=max(started) if started else None,
        stack=stack,
        fix=fix_for(group.root_cause, stack, params),
        reproduce=_reproduce(decided[0]),
        conditional=group.conditional,
        reasons=dict(Counter(r for r in rows["reason"] if isinstance(r, str)).most_common()),
        detail=detail,
    )


def _with_rank(finding: Finding, position: int) -> Finding:
    return replace(finding, id=f"f{position}", rank=position)


def _merge_details(details: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, list[str]] = {}
    for detail in details:
        for key, value in detail.items():
            if value and value not in merged.setdefault(key, []):
                merged[key].append(value)
    return {key: ", ".join(values) for key, values in merged.items()}


def _stacks(decided: Sequence[Decided], frame: pd.DataFrame) -> dict[str, Stack]:
    responses: dict[str, list[Response]] = {}
    for d, api in zip(decided, frame["api_origin"], strict=True):
        bucket = responses.setdefault(api, [])
        for tx in d.exchange.transactions():
            if tx.response is not None and len(bucket) < 200:
                bucket.append(tx.response)
    return {api: fingerprint(rs) for api, rs in responses.items()}


def _fix_params(
    group: _Group,
    decided: list[Decided],
    endpoints: tuple[str, ...],
    origins: tuple[str, ...],
    detail: dict[str, str],
) -> FixParams:
    # dicts as ordered sets: a hostile capture announces thousands of header names.
    methods: dict[str, None] = {}
    headers: dict[str, None] = {}
    expose: dict[str, None] = {}
    credentials = False
    for d in decided:
        method = d.exchange.method
        if not fetch.is_safelisted_method(method):
            methods.setdefault(method)
        headers.update(dict.fromkeys(_announced(d.exchange)))
        credentials = credentials or d.verdict.credentials == "include"
        final = d.exchange.last.actual
        if final is not None and final.response is not None:
            include = d.verdict.credentials == "include"
            expose.update(dict.fromkeys(unexposed_headers(final.response.headers, include)))
    if group.root_cause in ("wildcard-with-credentials", "credentials-not-allowed"):
        credentials = True
    return FixParams(
        api_origin=group.api_origin,
        origins=origins,
        methods=tuple(methods),
        headers=tuple(headers),
        expose=tuple(expose),
        credentials=credentials,
        paths=tuple(e.split(" ", 1)[-1] for e in endpoints),
        detail=detail,
    )


def _announced(exchange: Exchange) -> list[str]:
    for step in exchange.steps:
        if step.preflight is not None and step.preflight.transaction is not None:
            value = step.preflight.transaction.request.headers.get("access-control-request-headers")
            return fetch.announced_header_names(value)
    actual = exchange.first.actual
    if actual is None:
        return []
    return fetch.cors_unsafe_header_names(
        actual.request.headers, ignore=fetch.BROWSER_ADDED_HEADERS
    )


def _reproduce(decided: Decided) -> str:
    ex, v = decided.exchange, decided.verdict
    url = v.failed_url or ex.url
    preflight = v.stage == "preflight" or any(s.preflight is not None for s in ex.steps)
    return curl_command(
        ex.method,
        url,
        page_origin(ex),
        preflight=preflight,
        request_headers=_announced(ex),
        credentials=v.credentials == "include",
    )
