"""The session at a glance: what was captured, when, by which browsers, and how much failed.

Counts only: every verdict was decided upstream; this module tallies them for the top of the
report.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.model import Exchange
from reports import fmt, origins
from reports.scrub import Scrubber
from reports.useragent import browser_name

if TYPE_CHECKING:
    from analysis.api import Analysis

# Enough to tell what a session covered; the table has the rest.
_TOP = 6


@dataclass(frozen=True, slots=True)
class Tally:
    label: str
    count: int


@dataclass(slots=True)
class Glance:
    exchanges: int = 0
    blocked: int = 0
    conditional: int = 0
    allowed: int = 0
    faults: int = 0
    with_warnings: int = 0
    confirmed: int = 0
    disputed: int = 0
    """Exchanges where the browser's own verdict is known and differs from corscope's."""
    predicted: int = 0
    not_cross_origin: int = 0
    findings: int = 0
    start: str | None = None
    end: str | None = None
    span: str | None = None
    browsers: list[Tally] = field(default_factory=list)
    page_origins: list[Tally] = field(default_factory=list)
    more_page_origins: int = 0
    api_origins: list[Tally] = field(default_factory=list)
    more_api_origins: int = 0
    inputs: list[str] = field(default_factory=list)
    reader_warnings: list[str] = field(default_factory=list)


def glance(analysis: Analysis, findings: Sequence[object], scrub: Scrubber) -> Glance:
    g = Glance(not_cross_origin=analysis.not_cross_origin, findings=len(findings))
    browsers: Counter[str] = Counter()
    pages: dict[str, int] = {}
    apis: dict[str, int] = {}
    agents: dict[tuple[str | None, str | None], int] = {}
    hinted: dict[str | None, str] = {}
    api_of: dict[str, str] = {}  # final URL → its origin: URLs repeat in a session
    first: float | None = None
    last: float | None = None
    blocked = conditional = allowed = faults = with_warnings = confirmed = disputed = 0
    # Plain locals and dicts: this loop runs once per exchange, a million times at scale.
    for d in analysis.decided:
        v = d.verdict
        verdict = v.blocked
        if verdict is True:
            blocked += 1
        elif verdict is None:
            conditional += 1
        else:
            allowed += 1
        if v.fault is not None:
            faults += 1
        if v.warnings:
            with_warnings += 1
        if v.confirmed:
            confirmed += 1
        elif v.browser is not None and verdict is not None:
            disputed += 1
        exchange = d.exchange
        started = exchange.started
        if started is not None:
            if first is None or started < first:
                first = started
            if last is None or started > last:
                last = started
        client = _client(exchange)
        if client[1]:
            hinted[client[0]] = client[1]
        agents[client] = agents.get(client, 0) + 1
        page = origins.page(exchange) or "unknown"
        pages[page] = pages.get(page, 0) + 1
        final = exchange.final_url
        api = api_of.get(final)
        if api is None:
            api = api_of[final] = origins.origin(final) or "unknown"
        apis[api] = apis.get(api, 0) + 1
    g.exchanges = len(analysis.decided)
    g.blocked, g.conditional, g.allowed = blocked, conditional, allowed
    g.faults, g.with_warnings = faults, with_warnings
    g.confirmed, g.disputed = confirmed, disputed
    g.predicted = g.exchanges - g.confirmed - g.disputed
    for (agent, brands), n in agents.items():
        # Preflights carry no client hints; the same User-Agent elsewhere in the session did.
        name = browser_name(agent, brands or hinted.get(agent))
        if name:
            browsers[name] += n
    g.start, g.end = fmt.when(first), fmt.when(last)
    if first is not None and last is not None:
        g.span = fmt.duration(last - first)
    g.browsers = [Tally(b, n) for b, n in browsers.most_common(_TOP)]
    g.page_origins, g.more_page_origins = _top(Counter(pages), scrub)
    g.api_origins, g.more_api_origins = _top(Counter(apis), scrub)
    g.inputs = [os.path.basename(p) for p in analysis.inputs]
    g.reader_warnings = [scrub.text(w) for w in analysis.warnings]
    return g


def _top(counter: Counter[str], scrub: Scrubber) -> tuple[list[Tally], int]:
    top = counter.most_common(_TOP)
    return [Tally(scrub.url(o), n) for o, n in top], max(len(counter) - len(top), 0)


def _client(exchange: Exchange) -> tuple[str | None, str | None]:
    """The User-Agent and Sec-CH-UA the browser sent with this exchange."""
    agent = brands = None
    for tx in exchange.transactions():
        for name, value in tx.request.headers.fields:
            if len(name) == 10 and name.lower() == "user-agent":
                agent = agent or value
            elif len(name) == 9 and name.lower() == "sec-ch-ua":
                brands = brands or value
        if agent and brands:
            break
    return agent, brands
