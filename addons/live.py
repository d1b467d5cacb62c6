"""Live verdicts: group recorded transactions into exchanges as they finish, and decide.

A preflight waits (keyed by URL, method announced, Origin) for the request it guards; a
3xx waits (keyed by its resolved Location) for the next hop. A preflight that fails is
decided at once, since no request will follow it. Each group is handed to the readers'
own `assemble` and to `decide`, so a live verdict is exactly what `corscope analyze`
says about the capture later.

Transactions are timed by their own timestamps, never the wall clock: pending preflights
and redirects expire `ttl` seconds of traffic after they were seen.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from analysis.model import Exchange, Transaction
from analysis.readers.assemble import assemble
from analysis.readers.captured import Captured, Hints
from analysis.verdict import Verdict, decide

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_Key = tuple[str, str, str | None]


@dataclass(slots=True)
class Member:
    """One recorded transaction of an exchange."""

    captured: Captured
    entry_id: str
    cors: dict[str, Any]
    """The entry's `_cors` object, annotations merged in."""
    flow: Callable[[], Any] | None = None
    """A weak reference: mitmdump drops finished flows, and so must we."""
    preflight: bool = False

    @property
    def url(self) -> str:
        return url_key(self.captured.tx.request.url)


@dataclass(slots=True)
class Group:
    members: list[Member]
    seen: float
    waiting_for: str | None = None
    verdict: Verdict | None = None
    exchange: Exchange | None = None
    reported_blocked: bool = False
    marked: list[str] = field(default_factory=list)
    """Entry ids whose flows carry our mark, so a changed verdict can take it back."""


@dataclass(frozen=True, slots=True)
class Decision:
    group: Group
    exchange: Exchange
    verdict: Verdict
    final: bool
    """No further transaction of this exchange is expected."""
    newly_blocked: bool
    """Blocked now and not reported as blocked before."""


class LiveVerdicts:
    def __init__(self, *, ttl: float = 30.0, max_entries: int = 8192) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._preflights: dict[_Key, Group] = {}
        self._redirects: dict[str, list[Group]] = {}
        self._by_entry: OrderedDict[str, Group] = OrderedDict()
        self._last_expiry = float("-inf")

    def add(
        self, captured: Captured, entry_id: str, cors: dict[str, Any], flow: Any = None
    ) -> Decision:
        tx = captured.tx
        now = tx.started or 0.0
        self._expire(now)
        url = url_key(tx.request.url)
        origin = tx.request.headers.get("origin")
        acrm = _acrm(tx)
        member = Member(
            captured=captured,
            entry_id=entry_id,
            cors=dict(cors),
            flow=weakref.ref(flow) if flow is not None else None,
            preflight=acrm is not None,
        )
        if acrm is not None:
            group = self._join_redirect(url, origin, acrm) or Group(members=[], seen=now)
            self._preflights[(url, acrm, origin)] = group
        else:
            method = tx.request.method
            group = self._preflights.pop((url, method, origin), None)
            if group is None or group.seen < now - self.ttl:
                group = self._join_redirect(url, origin, method) or Group(members=[], seen=now)
        group.members.append(member)
        group.seen = now
        self._index(entry_id, group)
        if acrm is None:
            target = redirect_target(tx)
            if target is not None:
                group.waiting_for = target
                self._redirects.setdefault(target, []).append(group)
        return self._decide(group, waiting_for_actual=acrm is not None)

    def annotate(self, entry_id: str, cors: dict[str, Any], hints: Hints) -> Decision | None:
        """Merge what the page probe learned into one entry and decide its exchange again."""
        group = self._by_entry.get(entry_id)
        if group is None:
            return None
        for member in group.members:
            if member.entry_id == entry_id:
                member.cors.update({k: v for k, v in cors.items() if v is not None})
                merged = {**member.captured.hints, **hints}
                member.captured = dataclasses.replace(member.captured, hints=merged)  # type: ignore[arg-type]
        pending = any(g is group for g in self._preflights.values())
        return self._decide(group, waiting_for_actual=pending)

    def group_of(self, entry_id: str) -> Group | None:
        return self._by_entry.get(entry_id)

    # --- inside -----------------------------------------------------------------------

    def _decide(self, group: Group, *, waiting_for_actual: bool) -> Decision:
        newest = group.members[-1].captured.tx
        exchanges = assemble([m.captured for m in group.members], via_proxy=True).exchanges
        exchange = next(
            (x for x in exchanges if any(t is newest for t in x.transactions())), exchanges[-1]
        )
        verdict = decide(exchange)
        group.exchange, group.verdict = exchange, verdict
        blocked = verdict.blocked is True
        final = blocked or (not waiting_for_actual and group.waiting_for is None)
        newly = blocked and not group.reported_blocked
        group.reported_blocked = blocked
        if final:
            self._forget_pending(group)
        return Decision(group, exchange, verdict, final=final, newly_blocked=newly)

    def _join_redirect(self, url: str, origin: str | None, method: str) -> Group | None:
        """The newest chain whose last redirect led to `url` and that this request fits."""
        stack = self._redirects.get(url)
        if not stack:
            return None
        for pos in range(len(stack) - 1, -1, -1):
            group = stack[pos]
            if group.waiting_for != url or not _fits(group, origin, method):
                continue
            del stack[pos]
            if not stack:
                del self._redirects[url]
            group.waiting_for = None
            return group
        return None

    def _forget_pending(self, group: Group) -> None:
        for key in [k for k, g in self._preflights.items() if g is group]:
            del self._preflights[key]

    def _index(self, entry_id: str, group: Group) -> None:
        self._by_entry[entry_id] = group
        self._by_entry.move_to_end(entry_id)
        while len(self._by_entry) > self.max_entries:
            self._by_entry.popitem(last=False)

    def _expire(self, now: float) -> None:
        # A sweep costs a pass over the pending dicts, so at most one per second of traffic.
        if now - self._last_expiry < 1.0:
            return
        self._last_expiry = now
        horizon = now - self.ttl
        for key in [k for k, g in self._preflights.items() if g.seen < horizon]:
            del self._preflights[key]
        for target in list(self._redirects):
            kept = [g for g in self._redirects[target] if g.seen >= horizon]
            if kept:
                self._redirects[target] = kept
            else:
                del self._redirects[target]

    @property
    def pending(self) -> int:
        return len(self._preflights) + sum(len(v) for v in self._redirects.values())


def _fits(group: Group, origin: str | None, method: str) -> bool:
    first_origin = group.members[0].captured.tx.request.headers.get("origin")
    # After a cross-origin hop the browser sends `Origin: null`.
    if origin not in (None, "null", first_origin):
        return False
    # 301/302 turn POST into GET, 303 anything but HEAD.
    return method in (group.members[-1].captured.tx.request.method, "GET")


def url_key(url: str) -> str:
    return url.split("#", 1)[0]


def _acrm(tx: Transaction) -> str | None:
    if tx.request.method.upper() != "OPTIONS":
        return None
    value = tx.request.headers.get("access-control-request-method")
    return value.strip() if value is not None else None


def redirect_target(tx: Transaction) -> str | None:
    response = tx.response
    if response is None or response.status not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location or not location.strip():
        return None
    try:
        return url_key(urljoin(tx.request.url, location.strip()))
    except ValueError:
        return None
