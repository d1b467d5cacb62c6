"""Group captured transactions into `Exchange`s: preflights with the requests they guarded,
redirect hops into one fetch, and hints into one `Context`.

This does not judge CORS and drops nothing: same-origin and navigation traffic stays, the
engine filters. Everything is indexed by dicts, so the work grows linearly with the input.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from analysis import address_space, fetch, http_cache, orb
from analysis.model import (
    MODES,
    Context,
    Exchange,
    Headers,
    Preflight,
    Request,
    Response,
    Step,
    Transaction,
    origin_of,
    same_origin,
)
from analysis.url_validity import resolve

from .captured import Captured, Hints, carried_starts
from .hints import resource_type_from_dest

REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20
"""Fetch gives a network error on the 21st redirect, so a chain holds at most 21 steps."""
REDIRECT_WINDOW_S = 30.0
"""A browser follows a redirect at once; a request to the same URL much later is another
fetch (typically after the browser refused to follow a redirect that failed CORS)."""
_REDIRECT_SCAN = 16
"""How many waiting chains to try per URL before starting a new exchange; keeps a flood of
identical unfollowed redirects from turning the pass quadratic."""

_Key = tuple[str, str, str | None]


@dataclass(slots=True)
class Assembled:
    exchanges: list[Exchange]
    hints: dict[str, Hints] = field(default_factory=dict)
    """Per exchange id: the hints merged over its transactions, including those `Context`
    has no field for yet (e.g. `browser_error`). Exchanges without any are left out, which
    matters when there are a million of them."""


@dataclass(slots=True)
class _Unit:
    """One step on the wire: a preflight, the request it guarded, or both."""

    preflight: Captured | None
    actual: Captured | None
    preflight_facts: _Facts | None = None
    actual_facts: _Facts | None = None
    page: str | None = None
    """The origin of the page whose fetch this step belongs to, where its chain told it
    (`_chain_page`): a hop that carried `Origin: null` and no Referer does not say."""
    site: str | None = None
    """For an answer the HTTP cache holds: the site of the page whose fetch it was, as its
    chain says (`_in_partition`)."""

    @property
    def lead_facts(self) -> _Facts:
        facts = self.actual_facts if self.actual is not None else self.preflight_facts
        assert facts is not None
        return facts

    @property
    def lead(self) -> Captured:
        lead = self.actual or self.preflight
        assert lead is not None
        return lead

    @property
    def url(self) -> str:
        return self.lead.tx.request.url

    @property
    def method(self) -> str:
        if self.actual is not None:
            return self.actual.tx.request.method
        assert self.preflight_facts is not None
        return _acrm(self.preflight_facts) or "GET"

    @property
    def origin_header(self) -> str | None:
        for facts in (self.actual_facts, self.preflight_facts):
            if facts is not None:
                value = facts.get("origin")
                if value is not None:
                    return value
        return None

    @property
    def started(self) -> float | None:
        starts = [
            c.tx.started for c in (self.preflight, self.actual) if c and c.tx.started is not None
        ]
        return min(starts) if starts else None


@dataclass(slots=True)
class _Chain:
    units: list[_Unit]
    origin: str | None
    waiting_for: str | None = None
    """The resolved Location the last step redirected to, until a request for it arrives."""
    redirected_at: float | None = None
    """When the redirect response arrived (end of its transaction), where known."""
    tainted: bool = False
    """Fetch §4.5 step 14: a cross-origin hop from a cross-origin URL; the next requests
    carry `Origin: null`."""


def assemble(
    captured: Iterable[Captured], origin_file: str | None = None, *, via_proxy: bool = False
) -> Assembled:
    """`via_proxy`: the transactions were recorded by a proxy the browser sent them through
    (every exchange's `Context.via_proxy`)."""
    return _assemble(list(captured), origin_file, via_proxy)


def assemble_consuming(
    captured: list[Captured], origin_file: str | None = None, *, via_proxy: bool = False
) -> Assembled:
    """`assemble`, emptying `captured`: each transaction's reader-side objects (the
    `Captured`, pairing and chaining state) are freed as soon as its exchange is built,
    instead of all of them living until the last one is. That is the peak memory of
    reading a large capture."""
    items = list(captured)
    captured.clear()
    return _assemble(items, origin_file, via_proxy)


def _assemble(items: list[Captured], origin_file: str | None, via_proxy: bool) -> Assembled:
    _documents.clear()
    if len(items) == 1:
        # What the addon's live display asks for each new transaction: one unit, one chain.
        (only,) = items
        facts = _facts(only.tx)
        unit = (
            _Unit(only, None, facts)
            if _is_preflight(only.tx, facts)
            else _Unit(None, only, None, facts)
        )
        return _build(
            [_Chain(units=[unit], origin=unit.origin_header)], origin_file, via_proxy, {}, {}
        )
    items = _in_time_order(items, wire=via_proxy)
    pages = {} if via_proxy else _page_addresses(items)
    _documents.update(_embedder_policies(items))
    stored = _stored_responses(items)
    if not via_proxy:
        stored.update(_unrecorded_cache_answers(items))
    _contexts.clear()  # those made for another file may carry its page addresses
    units = _pair(items, wire=via_proxy)
    del items
    chains = _chain(units, wire=via_proxy, copies=stored)
    del units
    stored.update(_answered_after_preflight(chains))
    return _build(chains, origin_file, via_proxy, pages, stored)


def _page_addresses(items: list[Captured]) -> dict[str, str]:
    """Page origin -> the server address its document came from (first one recorded)."""
    pages: dict[str, str] = {}
    for c in items:
        tx = c.tx
        if tx.server_ip is None or tx.response is None:
            continue
        if c.hints.get("resource_type") == "document" or _facts(tx).sec_fetch_dest in (
            "document",
            "iframe",
        ):
            pages.setdefault(_origin(tx.request.url), tx.server_ip)
    return pages


_documents: dict[str, list[tuple[float, str | None]]] = {}
"""Page origin -> (when, embedder policy) of each of its documents, in time order: the
capture being assembled (one at a time, as `_contexts`)."""


def _embedder_policies(items: list[Captured]) -> dict[str, list[tuple[float, str | None]]]:
    """The documents (pages, frames) of secure origins, with the embedder policy each
    answered with: a page's no-cors loads must then carry Cross-Origin-Resource-Policy."""
    found: dict[str, list[tuple[float, str | None]]] = {}
    for c in items:
        tx = c.tx
        if tx.response is None or tx.started is None:
            continue
        if c.hints.get("resource_type") != "document" and _facts(tx).sec_fetch_dest not in (
            "document",
            "iframe",
        ):
            continue
        origin = _origin(tx.request.url)
        if origin is None or not address_space.is_secure_context(origin):
            continue  # HTML: a document's embedder policy counts in a secure context only
        policy = embedder_policy(tx.response.headers.get("cross-origin-embedder-policy"))
        if policy is not None or origin in found:
            found.setdefault(origin, []).append((tx.started, policy))
    return found


def embedder_policy(value: str | None) -> str | None:
    """`require-corp` or `credentialless` from the header, a structured-field token whose
    parameters (`report-to`) do not matter; anything else, a list included, is none."""
    token = (value or "").split(";", 1)[0].strip()
    return token if token in ("require-corp", "credentialless") else None


def _page_embedder_policy(page_origin: str | None, started: float | None) -> str | None:
    """The policy of the page origin's document loaded last before the request started."""
    loads = _documents.get(page_origin or "")
    if not loads or started is None:
        return None
    at = bisect.bisect_right(loads, started, key=lambda load: load[0])
    return loads[at - 1][1] if at else None


# --- the browser's HTTP cache -------------------------------------------------------------


def _stored_responses(items: list[Captured]) -> dict[int, Response]:
    """For each 304 that answered a revalidation: the copy the browser's HTTP cache held
    for it, where the capture saw that arrive. Keyed by `id()` of the 304's transaction.
    The cache keeps one copy per URL and partition (the page's site), which each 304
    updates; the browser revalidates it with its validator whatever its Vary says
    (measured), so the validator sent is what ties the 304 to the copy."""
    revalidated = {c.tx.request.url for c in items if _revalidation(c.tx) is not None}
    if not revalidated:
        return {}
    held: dict[tuple[str, str], Response] = {}
    found: dict[int, Response] = {}
    for c in items:
        tx = c.tx
        url, response = tx.request.url, tx.response
        if url not in revalidated or response is None:
            continue
        requester = _requester(tx)
        if requester is None:
            continue
        key = (url, http_cache.partition_site(requester))
        if (validator := _revalidation(tx)) is not None:
            stored = held.get(key)
            name, value = validator
            if stored is not None and stored.headers.get(name) == value:
                found[id(tx)] = stored
                if http_cache.forbids_storing(response):
                    del held[key]
                else:
                    held[key] = http_cache.kept(http_cache.updated(stored, response))
        elif response.status == 200 and http_cache.storable(response):
            held[key] = http_cache.kept(response)
    return found


_FAILED_WITHOUT_ANSWER = "net::ERR_FAILED"
_VARY_KNOWN = frozenset({"origin", "accept-encoding"})
"""Vary fields whose stored request value a capture can match: the Origin (from the
requester) and Accept-Encoding (the browser's own, the same on every request)."""


def _unrecorded_cache_answers(items: list[Captured]) -> dict[int, Response]:
    """For each GET a browser failed (net::ERR_FAILED) with no answer recorded and no server
    reached: the fresh copy its HTTP cache held for that URL and partition, seen arriving
    earlier. Chrome DevTools' HAR keeps a cache hit that passed CORS (`_fromCache`), but
    writes one that failed CORS as status 0 with nothing from the cache (measured, Chromium
    156): a copy stored for one page of a site, without `Vary: Origin`, answers the next page
    of the same site, and its Allow-Origin names the first. Keyed by `id()` of the failed
    request's transaction. A browser's HAR only: a proxy sees nothing the cache answers."""
    held: dict[tuple[str, str], tuple[Response, float, str]] = {}
    found: dict[int, Response] = {}
    for c in items:
        tx = c.tx
        if tx.request.method != "GET":
            continue
        requester = _requester(tx)
        if requester is None or tx.started is None:
            continue
        key = (tx.request.url, http_cache.partition_site(requester))
        response = tx.response
        if response is None:
            copy = held.get(key)
            if (
                copy is not None
                and tx.server_ip is None
                and c.hints.get("browser_error") == _FAILED_WITHOUT_ANSWER
                and _vary_matches(copy[0], copy[2], requester)
                and _reused_after(copy[0], tx.started - copy[1])
            ):
                found[id(tx)] = copy[0]
            continue
        arrived = tx.started + (tx.duration_ms or 0.0) / 1000
        if (validator := _revalidation(tx)) is not None:
            # The 304's headers go into the copy it validated, which may now be fresh
            # (RFC 9111 §4.3.4). DevTools logs such a 304 even when CORS refused it
            # (measured, Chromium 156), and the next request takes the updated copy.
            copy = held.get(key)
            name, value = validator
            if copy is not None and copy[0].headers.get(name) == value:
                if http_cache.forbids_storing(response):
                    del held[key]
                else:
                    updated = http_cache.kept(http_cache.updated(copy[0], response))
                    held[key] = (updated, arrived, requester)
            continue
        # A stored redirect too, which its CORS check fails the same way (Fetch §4.4
        # HTTP-redirect fetch; measured, Chromium 156: a 301 without Allow-Origin the cache
        # answered is logged as status 0, its failure named MissingAllowOriginHeader).
        # DevTools writes no server address for a redirect it refused on arrival.
        if "source" not in c.hints and (
            (response.status == 200 and tx.server_ip is not None) or _kept_redirect(response)
        ):
            if http_cache.forbids_storing(response):
                held.pop(key, None)
            else:
                held[key] = (http_cache.kept(response), arrived, requester)
    return found


def _answered_after_preflight(chains: list[_Chain]) -> dict[int, Response]:
    """For each GET whose preflight is recorded and the request itself is not: the copy the
    browser's HTTP cache held for its URL and partition when the preflight went out. The
    cache sits below Chromium's CORS layer (`CorsURLLoader` preflights, then its request
    goes through `HttpCache`), so a request whose preflight passed and that never reached
    the wire was answered by that copy, which is what the CORS check read: a fresh one, or
    any one under `cache: 'force-cache'` (measured, Chromium 156; a stale copy is otherwise
    revalidated on the wire). Keyed by `id()` of the preflight's transaction."""
    wanted = {
        unit.url
        for chain in chains
        for unit in chain.units
        if unit.actual is None and unit.preflight is not None and unit.method in _CACHED_METHODS
    }
    if not wanted:
        return {}
    arrivals: dict[tuple[str, str], list[tuple[float, Response]]] = {}
    asked: list[tuple[float, tuple[str, str], int]] = []
    for chain in chains:
        page = _chain_page(chain)
        if page is None:
            continue
        partition = http_cache.partition_site(page)
        for unit in chain.units:
            if unit.url not in wanted:
                continue
            key = (unit.url, partition)
            if unit.actual is None:
                started = unit.started
                if unit.preflight is not None and started is not None:
                    if unit.method in _CACHED_METHODS:
                        asked.append((started, key, id(unit.preflight.tx)))
                continue
            tx = unit.actual.tx
            if tx.request.method != "GET" or tx.response is None or tx.started is None:
                continue
            arrived = tx.started + (tx.duration_ms or 0.0) / 1000.0
            arrivals.setdefault(key, []).append((arrived, tx.response, _stored_whole(tx)))
    timelines: dict[tuple[str, str], tuple[list[float], list[Response | None]]] = {}
    found: dict[int, Response] = {}
    for started, key, preflight_id in asked:
        if key not in timelines:
            timelines[key] = _cache_timeline(arrivals.get(key, []))
        times, copies = timelines[key]
        at = bisect.bisect_left(times, started)
        copy = copies[at - 1] if at else None
        if copy is not None:
            found[preflight_id] = copy
    return found


_CACHED_METHODS = frozenset({"GET", "HEAD"})


def _cache_timeline(
    arrivals: list[tuple[float, Response, bool]],
) -> tuple[list[float], list[Response | None]]:
    """The copy the HTTP cache held after each response for one URL and partition arrived:
    each response replaces it, a 304 updates it (unless it came `whole`: `_stored_whole`),
    `no-store` leaves none."""
    times: list[float] = []
    copies: list[Response | None] = []
    held: Response | None = None
    for arrived, response, whole in sorted(arrivals, key=lambda item: item[0]):
        if http_cache.forbids_storing(response) or response.status in _CHALLENGES:
            held = None  # an authentication challenge is asked again, never kept
        elif response.status == 304 and not whole:
            held = http_cache.kept(http_cache.updated(held, response)) if held else None
        elif response.status != 206:
            held = http_cache.kept(response)
        times.append(arrived)
        copies.append(held)
    return times, copies


def _stored_whole(tx: Transaction) -> bool:
    """A 304 to a request that named no validator is no revalidation's answer: the cache
    stores it as it stores any other (`HttpCache::Transaction` writes what a request with
    no entry to update got; measured, Chromium 156: rh-009b, a later preflighted fetch
    was answered from the cache with that 304)."""
    response = tx.response
    return response is not None and response.status == 304 and _revalidation(tx) is None


def _chain_page(chain: _Chain) -> str | None:
    """The origin of the page a chain's requests came from (its later hops may say
    `Origin: null`), whose site partitions the HTTP cache."""
    if chain.origin is not None and chain.origin != "null":
        return chain.origin
    return _requester(chain.units[0].lead.tx) if chain.origin is None else None


def _stored_for(unit: _Unit, stored: dict[int, Response]) -> Response | None:
    if unit.actual is not None:
        return stored.get(id(unit.actual.tx))
    return stored.get(id(unit.preflight.tx)) if unit.preflight is not None else None


def _vary_matches(stored: Response, stored_for: str, requester: str) -> bool:
    """RFC 9111 §4.1: the stored copy answers only a request whose Vary fields match."""
    fields = {f.strip().lower() for line in stored.headers.get_all("vary") for f in line.split(",")}
    fields.discard("")
    if not fields <= _VARY_KNOWN:
        return False  # `*`, or a field the capture cannot compare
    return "origin" not in fields or stored_for == requester


def _revalidation(tx: Transaction) -> tuple[str, str] | None:
    """What a 304 was asked with: the stored header it names and the value sent, e.g.
    ("etag", If-None-Match's value)."""
    if tx.response is None or tx.response.status != 304:
        return None
    for asked in fetch.REVALIDATION_HEADERS:
        if (value := tx.request.headers.get(asked)) is not None:
            return (http_cache.VALIDATED_BY[asked], value)
    return None


def _requester(tx: Transaction, *, own: bool = True) -> str | None:
    """The origin of the page that asked, from the wire: Origin, else Referer, else (`own`)
    the URL's own (a same-origin GET sends no Origin, and a Referer only by the page's
    referrer policy)."""
    origin = tx.request.headers.get("origin")
    if origin and origin != "null":
        return origin
    referer = tx.request.headers.get("referer")
    if referer:
        return _origin(referer)
    return None if origin == "null" or not own else _origin(tx.request.url)


# --- ordering -------------------------------------------------------------------------


def _in_time_order(items: list[Captured], *, wire: bool = False) -> list[Captured]:
    """Sort by start time, stable on file order. A transaction without a start time keeps
    its place after the one before it in the file, rather than jumping to either end.
    In a browser's log (not `wire`) a preflight that started at the same moment as another
    transaction goes after it: the browser logs a request before the preflight it starts
    for it (Chromium 156's DevTools export gave both one millisecond), whatever order a
    HAR writer lists them in."""
    items = sorted(items, key=lambda c: c.order)
    keyed: list[tuple[float, bool, int, Captured]] = []
    for pos, (start, c) in enumerate(zip(carried_starts(items), items, strict=True)):
        later = (
            not wire
            and c.tx.started is not None
            and c.tx.request.method.upper() == "OPTIONS"
            and _is_preflight(c.tx, _facts(c.tx))
        )
        keyed.append((start, later, pos, c))
    keyed.sort(key=lambda t: (t[0], t[1], t[2]))
    return [c for _, _, _, c in keyed]


# --- preflight pairing ----------------------------------------------------------------


class _Facts(NamedTuple):
    """The request headers assembly reads, valued as `Headers.get` values them (every field
    of the name, trimmed, joined with ", "). A tuple: there is one per transaction while
    assembling, a million of them for a big capture."""

    origin: str | None = None
    access_control_request_method: str | None = None
    sec_fetch_dest: str | None = None
    sec_fetch_mode: str | None = None
    sec_fetch_site: str | None = None
    referer: str | None = None
    accept: str | None = None
    sec_purpose: str | None = None

    def get(self, name: str) -> str | None:
        return getattr(self, name.replace("-", "_"))


_READ = frozenset(name.replace("_", "-") for name in _Facts._fields)
_NO_FACTS = _Facts()


def _facts(tx: Transaction) -> _Facts:
    """The few request headers assembly asks for, several times each, looked up once."""
    headers = tx.request.headers
    # Readers hand every repeat of a header list over as one object: look it up once.
    known = _facts_of.get(id(headers))
    if known is not None and known[0] is headers:
        return known[1]
    present = _READ.intersection(headers.layout)
    facts = _NO_FACTS
    if present:
        facts = _Facts(**{name.replace("-", "_"): headers.get(name) for name in present})
    if len(_facts_of) >= _FACTS_LIMIT:
        _facts_of.clear()
    _facts_of[id(headers)] = (headers, facts)
    return facts


_FACTS_LIMIT = 4096
_facts_of: dict[int, tuple[Headers, _Facts]] = {}
"""By `id()` of the header list; the entry holds the list, so the id cannot be reused."""


def _acrm(facts: _Facts) -> str | None:
    value = facts.get("access-control-request-method")
    return value.strip() if value is not None else None


def _is_preflight(tx: Transaction, facts: _Facts) -> bool:
    return tx.request.method.upper() == "OPTIONS" and _acrm(facts) is not None


def _browser_recorded_preflight(c: Captured) -> bool:
    return c.hints.get("initiator_type") == "preflight" or c.hints.get("resource_type") == (
        "preflight"
    )


def _url_key(url: str) -> str:
    # Fragments never reach the wire; HAR files sometimes keep them.
    return url.split("#", 1)[0]


def _key(c: Captured, facts: _Facts, method: str) -> _Key:
    return (_url_key(c.tx.request.url), method, facts.get("origin"))


def _in_flight(actual: Captured, preflight: Captured, skew: float | None = None) -> bool:
    """Was `actual` still open when `preflight` started, give or take `skew` seconds?
    Browsers log the request first and its preflight after, and the request's time
    includes the preflight's. `skew` None: the log does not say the OPTIONS is the
    browser's own preflight, so only one whose start the request's known time covers."""
    a, p = actual.tx, preflight.tx
    if a.started is None or p.started is None:
        return skew is not None
    if a.started > p.started:
        return False
    if a.response is None and (skew is not None or "browser_error" in actual.hints):
        # A request that failed unanswered: DevTools' time for it can end before the
        # preflight that failed it even started (measured, Chromium 156's export).
        return True
    if a.duration_ms is None:
        return skew is not None
    return a.started + a.duration_ms / 1000.0 + (skew or 0.0) >= p.started


_LOG_SKEW_S = 1.0
"""How much later than the end of the request it guarded a browser's log may place a
preflight: DevTools' export of a busy Chromium 156 put one 0.12 s after the request's 307
had arrived. A request that ended long before is another fetch."""


def _pair(items: list[Captured], *, wire: bool = False) -> list[_Unit]:
    n = len(items)
    facts = [_facts(c.tx) for c in items]
    partner: list[int | None] = [None] * n
    preflight_method: dict[int, str] = {}
    # Preflights whose request has not been seen yet, oldest first. Concurrent fetches to
    # one URL each send their own (Chromium does not share one in flight).
    waiting: dict[_Key, list[int]] = {}
    # For requests a browser logged with provisional headers (no Origin): (url, method).
    waiting_loose: dict[tuple[str, str], list[int]] = {}
    # Unpaired requests, for preflights a browser logged after the request they guard.
    unpaired: dict[_Key, list[int]] = {}

    def top_unpaired(key: _Key) -> int | None:
        stack = unpaired.get(key)
        while stack and partner[stack[-1]] is not None:
            stack.pop()
        return stack[-1] if stack else None

    for i, c in enumerate(items):
        tx = c.tx
        if _is_preflight(tx, facts[i]):
            method = _acrm(facts[i]) or ""
            preflight_method[i] = method
            key = _key(c, facts[i], method)
            logged = _browser_recorded_preflight(c)
            # A browser logs the request first and its preflight after, within the
            # request's own time, whether or not its HAR writer kept the `_initiator`
            # that says so (Chromium's CorsURLLoader starts the preflight for a request
            # already logged); without that mark only a preflight inside the request's
            # own time that announced what the request carries is taken as its.
            if logged or not wire:
                candidates = [top_unpaired(key), top_unpaired((key[0], method, None))]
                found = [
                    j
                    for j in candidates
                    if j is not None
                    and (
                        _in_flight(items[j], c, _LOG_SKEW_S)
                        if logged
                        else _in_flight(items[j], c) and _guards(tx, items[j].tx) > 0
                    )
                ]
                if found:
                    j = max(found)
                    partner[i], partner[j] = j, i
                    continue
            # A preflight no request follows stands alone: that is what a failed
            # preflight looks like on the wire.
            if _may_pass(tx):
                stack = waiting.setdefault(key, [])
                stack.append(i)
                if len(stack) > _PREFLIGHT_SCAN:
                    del stack[0]  # long unanswered by any request: it stands alone
            waiting_loose.setdefault((key[0], method), []).append(i)
            continue

        key = _key(c, facts[i], tx.request.method)
        j = _guarding_preflight(waiting.get(key), items, c, wire=wire)
        # Only a request the browser logged but never sent lacks Origin for this reason;
        # a proxy saw every request it records in full.
        if j is None and key[2] is None and tx.response is None and "browser_error" in c.hints:
            j = _take_loose(
                waiting_loose.get((key[0], key[1])),
                waiting,
                items,
                facts,
                preflight_method,
                partner,
            )
        if j is not None:
            partner[i], partner[j] = j, i
        else:
            unpaired.setdefault(key, []).append(i)

    units: list[_Unit] = []
    for i, c in enumerate(items):
        j = partner[i]
        if j is not None and j < i:
            continue  # already part of the unit started at j
        other, other_facts = (items[j], facts[j]) if j is not None else (None, None)
        if i in preflight_method:
            units.append(_Unit(c, other, facts[i], other_facts))
        else:
            units.append(_Unit(other, c, other_facts, facts[i]))
    return units


_PREFLIGHT_SCAN = 32
"""How many unanswered preflights per URL and method wait for their request: more than
Chromium's six connections per host keep in flight, few enough to keep pairing linear."""
_SAME_MOMENT_S = 0.002
"""Timestamps from different clocks and roundings: closer than this counts as at once."""
_FOLLOWED_WITHIN_S = 1.0
"""How soon a browser follows a redirect: at once (milliseconds through the lab's proxy);
a browser's log may place the next request up to `_LOG_SKEW_S` off."""


def _may_pass(preflight: Transaction) -> bool:
    """Could the browser have sent a request after this preflight? Never after a status
    that is not ok (Fetch §4.8 step 7)."""
    response = preflight.response
    return response is None or 200 <= response.status < 300


def _guarding_preflight(
    stack: list[int] | None, items: list[Captured], actual: Captured, *, wire: bool = False
) -> int | None:
    """Of the preflights waiting for this URL and method, the one `actual` followed. It
    announced the request's unsafe headers (exactly, when one did); and as the browser
    sends the request the moment the answer arrives, it is the latest one answered by the
    time the request started, when the timings say so. Else the newest."""
    if not stack:
        return None
    a = actual.tx
    # Per fit (2: exact, 1: a subset): the newest, and the latest answered before `a`.
    newest: dict[int, int] = {}
    answered: dict[int, tuple[float, int]] = {}
    for pos in range(len(stack) - 1, -1, -1):  # at most _PREFLIGHT_SCAN of them
        p = items[stack[pos]].tx
        fit = _guards(p, a, wire=wire)
        if not fit:
            continue
        newest.setdefault(fit, pos)
        end = _ended_at(p)
        if end is not None and a.started is not None and end <= a.started + _SAME_MOMENT_S:
            if end > answered.get(fit, (float("-inf"), 0))[0]:
                answered[fit] = (end, pos)
    for fit in (2, 1):
        if fit in answered:
            return stack.pop(answered[fit][1])
        if fit in newest:
            return stack.pop(newest[fit])
    return None


def _ended_at(tx: Transaction) -> float | None:
    if tx.started is None or tx.duration_ms is None:
        return None
    return tx.started + tx.duration_ms / 1000.0


def _guards(preflight: Transaction, actual: Transaction, *, wire: bool = False) -> int:
    """Could `preflight` be the one sent for `actual`? The browser announces exactly the
    request's CORS-unsafe header names (Fetch §4.8 step 3). 2: it announced all the unsafe
    headers script set and nothing the request lacks; 1: only nothing the request lacks
    (a capture that dropped a name); 0: another fetch, such as a later simple request to
    the URL whose earlier preflight failed and stopped its own. `wire`: the headers are
    the wire's (a proxy's capture), never a sanitized export's."""
    announced = set(
        fetch.announced_header_names(
            preflight.request.headers.get("access-control-request-headers")
        )
    )
    headers = actual.request.headers
    unsafe = set(fetch.cors_unsafe_header_names(headers))
    if announced - unsafe == {"range"} and "range" in headers:
        # Chromium's HTTP cache sends a Range it can parse re-serialized (the script's
        # `Bytes=5-10` or `bytes=0-,` goes out as `bytes=5-10`, `bytes=0-`; measured,
        # Chromium 156, net/http/partial_data.cc), after the CORS check judged the value
        # as set: the wire may show a safelisted Range the preflight announced.
        return 1
    if not announced <= unsafe:
        # A sanitized HAR (DevTools' default export) drops Authorization from the request
        # but not from the preflight's list; it drops Cookie too.
        if (
            wire
            or "authorization" in headers
            or "cookie" in headers
            or not announced - {"authorization"} <= unsafe
        ):
            return 0
        return 1
    script_set = fetch.cors_unsafe_header_names(headers, ignore=fetch.BROWSER_ADDED_HEADERS)
    return 2 if set(script_set) <= announced else 1


def _take_loose(
    stack: list[int] | None,
    waiting: dict[_Key, list[int]],
    items: list[Captured],
    facts: list[_Facts],
    preflight_method: dict[int, str],
    partner: list[int | None],
) -> int | None:
    """The newest preflight for the URL and method not yet paired, failed ones included:
    the request the browser logged after a refused preflight is the one it never sent."""
    while stack:
        j = stack.pop()
        if partner[j] is not None:
            continue
        pending = waiting.get(_key(items[j], facts[j], preflight_method[j]))
        if pending and j in pending:
            pending.remove(j)
        return j
    return None


# --- redirect chains ------------------------------------------------------------------


def _redirect_target(unit: _Unit) -> str | None:
    actual = unit.actual
    if actual is None or actual.tx.response is None:
        return None
    response = actual.tx.response
    if response.status not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location") or actual.hints.get("redirect_url")
    if not location or not location.strip():
        return None
    base = actual.tx.request.url
    target = resolve(base, location)
    if target is not None:
        return target
    try:
        target = urljoin(base, location.strip())
        urlsplit(target)
    except ValueError:
        return None
    return _url_key(target)


def _fits(chain: _Chain, unit: _Unit, *, wire: bool = False) -> bool:
    """Could `unit` be the request the chain's last redirect led to? It carries the Origin
    the redirect left it (`null` once tainted) and a method the redirect allows, and was
    sent once the redirect had arrived. `wire`: the times are a proxy's, which sees the
    redirect leave before the next request comes; a browser's log is not that exact."""
    origin = unit.origin_header
    expected = "null" if chain.tainted else chain.origin
    if expected is not None and origin is not None and origin != expected:
        return False
    # The request's mode never changes across its redirects (Fetch §4.4 HTTP-redirect fetch
    # goes on with the same request): a no-cors hop is not a CORS fetch's, nor the reverse.
    mode, then = _mode_of(unit), _mode_of(chain.units[0])
    if mode is not None and then is not None and mode != then:
        return False
    # 301/302 turn POST into GET and 303 turns anything but HEAD into GET; 307 and 308
    # never change the method (Fetch §4.4 HTTP-redirect fetch step 12).
    last = chain.units[-1].method
    if unit.method not in (last, "GET") or (
        unit.method != last and _redirect_status(chain.units[-1]) in (307, 308)
    ):
        return False
    start = unit.started
    if chain.redirected_at is not None and start is not None:
        # Not before the redirect arrived: the browser follows it only once it has it.
        # Playwright's HAR logs the next hop 3 ms before the 302's logged end (measured).
        early = _SAME_MOMENT_S if wire else _LOG_SKEW_S
        return -early <= start - chain.redirected_at <= REDIRECT_WINDOW_S
    return True


def _mode_of(unit: _Unit) -> str | None:
    """The request mode a unit shows: a preflight's fetch is a CORS one; else what the
    capture says of the request (the page's probe), else its `Sec-Fetch-Mode`."""
    if unit.preflight is not None:
        return "cors"
    return _shown_mode(unit.actual) if unit.actual is not None else None


def _shown_mode(captured: Captured) -> str | None:
    """A request's mode as the capture says it (the page's probe), else its `Sec-Fetch-Mode`."""
    mode = captured.hints.get("mode") or captured.tx.request.headers.get("sec-fetch-mode")
    return mode.strip().lower() if mode else None


def _redirect_status(unit: _Unit) -> int | None:
    response = unit.actual.tx.response if unit.actual is not None else None
    return response.status if response is not None else None


def _chain(
    units: list[_Unit], *, wire: bool = False, copies: dict[int, Response] | None = None
) -> list[_Chain]:
    """`copies`: for each 304 that answered a revalidation, the copy it updated
    (`_stored_responses`)."""
    chains: list[_Chain] = []
    waiting: dict[str, list[_Chain]] = {}
    stored: dict[str, list[_Unit]] = {}
    """URL -> the redirects answered for it that the browser's HTTP cache keeps."""
    held: dict[str, list[_Unit]] = {}
    """URL -> every redirect the cache holds, stale ones too (`_held_by_the_cache`)."""
    fresh: dict[str, list[_Unit]] = {}
    """URL -> the final answers to GETs the HTTP cache keeps fresh for a while."""
    for unit in units:
        chain = _join_waiting(waiting.get(_url_key(unit.url)), unit, wire=wire)
        if chain is None:
            chain = _Chain(units=[unit], origin=unit.origin_header)
            chains.append(chain)
        else:
            chain.units.append(unit)
        chain.waiting_for = None
        target = _redirect_target(unit)
        if (
            target is not None
            and len(chain.units) <= MAX_REDIRECTS
            and not _refused(unit, _credentialed(chain), cors=_shown_cors(chain))
        ):
            chain.waiting_for = target
            if chain.origin is not None and not _same_origin(target, unit.url):
                chain.tainted = chain.tainted or not _same_origin(unit.url, chain.origin)
            tx = unit.lead.tx
            chain.redirected_at = (
                tx.started + (tx.duration_ms or 0.0) / 1000.0 if tx.started is not None else None
            )
            waiting.setdefault(target, []).append(chain)
        if _held_by_the_cache(unit):
            # A hop after a tainting redirect says `Origin: null`: its chain names the page.
            unit.site = _site_of(chain)
            held.setdefault(_url_key(unit.url), []).append(unit)
            if _kept_by_the_cache(unit):
                stored.setdefault(_url_key(unit.url), []).append(unit)
        elif _kept_fresh(answer := _revalidated(unit, copies) if copies else unit):
            answer.page = _chain_page(chain)
            fresh.setdefault(_url_key(answer.url), []).append(answer)
    chains = _resumed_from_the_cache(chains, chains, stored, fresh, wire=wire)
    if held:
        chains = _followed_from_the_cache(chains, held, wire=wire)
        # A later hop's preflight that passed, its request answered by a stored redirect.
        later = [c for c in chains if _preflighted_redirect_from_the_cache(c, held)]
        if later:
            chains = _resumed_from_the_cache(chains, later, stored, fresh, wire=wire, moved=True)
    return _replayed_redirects_followed(chains)


def _resumed_from_the_cache(
    chains: list[_Chain],
    which: list[_Chain],
    stored: dict[str, list[_Unit]],
    fresh: dict[str, list[_Unit]],
    *,
    wire: bool = False,
    moved: bool = False,
) -> list[_Chain]:
    """Each chain of `which` led on hop after hop while the cache holds the next one (a
    redirect it keeps leads on), then joined to the request on the wire it led to.
    `moved`: the chains already went on from the cache."""
    resumed: list[_Chain] = []
    for chain in which:
        length = len(chain.units)
        while chain.waiting_for is not None and len(chain.units) <= MAX_REDIRECTS:
            next_url = chain.waiting_for
            if next_url in stored:
                _from_the_cache(chain, stored[next_url])
            if chain.waiting_for == next_url and next_url in fresh:
                _answered_from_the_cache(chain, fresh[next_url])
            if chain.waiting_for == next_url:
                break
        if chain.waiting_for is not None and (
            moved
            or len(chain.units) > length
            or any(_answered_by_the_cache(u) for u in chain.units)
        ):
            resumed.append(chain)
    return _joined_after_the_cache(chains, resumed, wire=wire) if resumed else chains


def _chains_by_start(chains: list[_Chain]) -> tuple[dict[str, list[int]], dict[str, list[float]]]:
    """Positions of the chains by the URL they start at, and their start times, in start
    order (units come in time order)."""
    starting: dict[str, list[int]] = {}
    starts: dict[str, list[float]] = {}
    for n, chain in enumerate(chains):
        url = _url_key(chain.units[0].url)
        starting.setdefault(url, []).append(n)
        starts.setdefault(url, []).append(chain.units[0].started or float("-inf"))
    return starting, starts


def _joined_after_the_cache(
    chains: list[_Chain], resumed: list[_Chain], *, wire: bool = False
) -> list[_Chain]:
    """A chain whose stored redirects led it on to a URL the cache did not hold: the
    browser asked the network for it at once, and that request, on the wire with what the
    redirects left it (its Origin, `null` once tainted; its method), started a chain of its
    own while this one still waited for an earlier hop. It is the rest of this fetch
    (measured, Chromium 156: a 307 on the wire, its stored 301 target not, then the 301's
    own target on the wire)."""
    starting, starts = _chains_by_start(chains)
    taken: set[int] = set()
    for chain in resumed:
        waiting = chain.waiting_for
        assert waiting is not None
        if chain.redirected_at is None:
            continue  # without times, nothing ties it to a later chain
        # A cache answer the page's probe reported has the probe's time, not the cache's:
        # the next hop may be logged a moment before it. The nearest request fits.
        probed = any(_answered_by_the_cache(unit) for unit in chain.units)
        trial = replace(chain, redirected_at=None) if probed else chain
        best: int | None = None
        since = bisect.bisect_left(starts.get(waiting, []), chain.redirected_at - _LOG_SKEW_S)
        for m in starting.get(waiting, [])[since : since + _REDIRECT_SCAN]:
            other = chains[m]
            start = other.units[0].started
            if m in taken or other is chain or not _fits(trial, other.units[0], wire=wire):
                continue
            if start is None:
                continue
            if probed and abs(start - chain.redirected_at) > _LOG_SKEW_S:
                continue
            if best is None or abs(start - chain.redirected_at) < abs(
                (chains[best].units[0].started or 0.0) - chain.redirected_at
            ):
                best = m
            if not probed:
                break  # the first in time order: the browser follows at once
        if best is not None:
            other = chains[best]
            taken.add(best)
            chain.units = [*chain.units, *other.units]
            chain.waiting_for, chain.redirected_at = other.waiting_for, other.redirected_at
            chain.tainted = other.tainted or chain.tainted
    return [chain for n, chain in enumerate(chains) if n not in taken]


def _answered_by_the_cache(unit: _Unit) -> bool:
    """A hop the page's probe reported answered by the HTTP cache, never on the wire."""
    return unit.actual is not None and unit.actual.hints.get("source") == "http-cache"


def _followed_from_the_cache(
    chains: list[_Chain], stored: dict[str, list[_Unit]], *, wire: bool = False
) -> list[_Chain]:
    """A preflight that passed with no request after it on the wire, for a URL whose GET
    redirect the HTTP cache held: the cache answered the request (concurrent fetches of
    one URL wait for the first one's answer and take it from the cache; measured,
    Chromium 156), and the browser went on to the redirect's target. The chain that starts
    there with what the redirect left the request (its Origin, method and announced
    headers), soon after the preflight's answer, is the rest of that fetch."""
    starting, starts = _chains_by_start(chains)
    taken: set[int] = set()
    gets: dict[tuple[str, str | None], tuple[list[_Unit], list[float]]] = {}
    for n, chain in enumerate(chains):
        unit = chain.units[0]
        if n in taken or len(chain.units) != 1 or unit.actual is not None:
            continue
        preflight = unit.preflight
        answered = _ended_at(preflight.tx) if preflight is not None else None
        if preflight is None or answered is None or unit.method != "GET":
            continue
        if not _may_pass(preflight.tx):
            continue
        url = _url_key(unit.url)
        key = (url, _site_of(chain))
        if key not in gets:
            gets[key] = _get_redirects(_in_partition(chain, stored.get(url, [])))
        cached = _stored_redirect(*gets[key], answered)
        target = _redirect_target(cached) if cached is not None else None
        if cached is None or target is None:
            continue
        response = cached.actual.tx.response if cached.actual is not None else None
        allowed = response.headers.get("access-control-allow-origin") if response else None
        if chain.origin is not None and allowed not in ("*", chain.origin):
            continue  # refused for this page whatever the credentials: not followed
        assert cached.actual is not None
        # The cache answered with another fetch's response; this fetch's own request never
        # showed its headers or credentials, so the step keeps only what both share.
        sent = [("Origin", chain.origin)] if chain.origin is not None else []
        request = Request(method="GET", url=unit.url, headers=Headers.of(sent))
        copy = Captured(
            tx=replace(cached.actual.tx, request=request, started=answered, duration_ms=0.0),
            order=cached.actual.order,
        )
        trial = _Chain(
            units=[_Unit(preflight, copy, unit.preflight_facts, _facts(copy.tx))],
            origin=chain.origin,
            waiting_for=target,
            redirected_at=max(answered, _ended_at(cached.actual.tx) or answered),
            tainted=chain.origin is not None
            and not _same_origin(target, unit.url)
            and not _same_origin(unit.url, chain.origin),
        )
        announced = _carried(unit)
        best: int | None = None
        since = bisect.bisect_left(starts.get(target, []), answered - _SAME_MOMENT_S)
        for m in starting.get(target, [])[since : since + _REDIRECT_SCAN]:
            if m in taken or m == n:
                continue
            first = chains[m].units[0]
            if not _fits(trial, first, wire=wire) or not _same_fetch(announced, _carried(first)):
                continue
            if best is None or (first.started or 0.0) < (chains[best].units[0].started or 0.0):
                best = m
        if best is not None:
            taken.add(best)
            chain.units = [*trial.units, *chains[best].units]
            chain.tainted, chain.waiting_for = trial.tainted, chains[best].waiting_for
    return [chain for n, chain in enumerate(chains) if n not in taken]


_REPLAY_SKEW_S = 1.0
"""How far a capture's replayed cache answer may be stamped from the requests that followed
it: the page's clock, corrected by the skew the probe's reports show, against the proxy's."""


def _replayed_redirects_followed(chains: list[_Chain]) -> list[_Chain]:
    """A capture's entry for a call the HTTP cache answered with a redirect (the probe saw
    the call, the proxy nothing; `source` "http-cache") carries the page's time for it,
    which may fall a little after the target's requests that did reach the wire (measured,
    hB pc4-pc-0035: 0.13 s). Of the chains that start at the redirect's target within
    `_REPLAY_SKEW_S`, carrying the Origin it left the request and the headers the call set,
    the nearest in time is the rest of that fetch (Fetch §4.4 HTTP-redirect fetch)."""
    waiting = [
        n
        for n, chain in enumerate(chains)
        if len(chain.units) == 1
        and chain.waiting_for is not None
        and chain.units[0].lead.hints.get("source") == "http-cache"
    ]
    if not waiting:
        return chains
    starting, _ = _chains_by_start(chains)
    taken: set[int] = set()
    for n in waiting:
        chain = chains[n]
        replayed = chain.units[0]
        at = replayed.started
        if at is None or chain.waiting_for is None:
            continue
        expected = "null" if chain.tainted else chain.origin
        # The replayed request shows none of the headers script set; the probe names them.
        named = replayed.lead.hints.get("header_names")
        carried = (
            frozenset(n.lower() for n in named) if named is not None else _carried(replayed).names
        )
        best: int | None = None
        for m in starting.get(chain.waiting_for, ()):
            first = chains[m].units[0]
            start = first.started
            if m in taken or m == n or start is None or abs(start - at) > _REPLAY_SKEW_S:
                continue
            if first.origin_header != expected or not _carried(first).names <= carried:
                continue
            if best is None or abs(start - at) < abs((chains[best].units[0].started or 0.0) - at):
                best = m
        if best is not None:
            taken.add(best)
            chain.units = [*chain.units, *chains[best].units]
            chain.waiting_for = chains[best].waiting_for
    return [chain for n, chain in enumerate(chains) if n not in taken]


def _page_site(tx: Transaction) -> str | None:
    """The site of the page that sent the request, from its Origin or Referer; None when
    the wire does not say (an opaque origin, no Referer)."""
    page = _requester(tx, own=False)
    return http_cache.partition_site(page) if page else None


def _site_of(chain: _Chain) -> str | None:
    return _page_site(chain.units[0].lead.tx)


def _in_partition(chain: _Chain, stored: list[_Unit]) -> list[_Unit]:
    """The stored answers the chain's fetch could have been given: Chromium's HTTP cache is
    partitioned by the top-level and frame sites (network isolation key), so a page of
    another site than the one a response was stored for never gets it. Kept where either
    page's site is unknown."""
    site = _site_of(chain)
    if site is None:
        return stored
    return [
        unit
        for unit in stored
        if (theirs := unit.site or _page_site(unit.lead.tx)) is None or theirs == site
    ]


def _get_redirects(stored: list[_Unit]) -> tuple[list[_Unit], list[float]]:
    kept: list[_Unit] = []
    starts: list[float] = []
    for unit in stored:
        tx = unit.actual.tx if unit.actual is not None else None
        if tx is not None and tx.request.method == "GET" and tx.started is not None:
            kept.append(unit)
            starts.append(tx.started)
    return kept, starts


def _stored_redirect(stored: list[_Unit], starts: list[float], answered: float) -> _Unit | None:
    """The GET redirect the cache gave the request sent when the preflight was answered:
    the latest asked for before then, else the first asked for after (a fetch of the URL
    already waiting for a connection holds the cache entry, and the request waits for it).
    `stored` are the URL's stored GET redirects in start order, `starts` their starts."""
    at = bisect.bisect_right(starts, answered)
    if at:
        return stored[at - 1]
    if stored and starts[0] - answered <= REDIRECT_WINDOW_S:
        return stored[0]
    return None


_NOT_STORED = re.compile(r"\b(no-store|no-cache|private|max-age\s*=\s*0+\b)", re.IGNORECASE)
_FRESH_FOR = re.compile(r"\bmax-age\s*=\s*[1-9]", re.IGNORECASE)


def _kept_by_the_cache(unit: _Unit) -> bool:
    """A redirect the HTTP cache stores and reuses: a permanent one (301, 308: cacheable by
    default, RFC 9111 §4.2.2) or any other that says how long it stays fresh."""
    actual = unit.actual
    response = actual.tx.response if actual is not None else None
    return response is not None and _kept_redirect(response)


def _kept_redirect(response: Response) -> bool:
    if response.status not in REDIRECT_STATUSES:
        return False
    control = response.headers.get("cache-control") or ""
    if _NOT_STORED.search(control):
        return False
    return response.status in (301, 308) or bool(_FRESH_FOR.search(control))


def _reused_after(response: Response, elapsed_s: float) -> bool:
    """Would the HTTP cache answer with this copy `elapsed_s` seconds after it arrived? A
    permanent redirect that states no lifetime is reused as long as it is kept (as
    `_kept_by_the_cache` takes it)."""
    if response.status in (301, 308) and http_cache.freshness_lifetime(response) is None:
        return _kept_redirect(response) and response.headers.get("expires") is None
    return http_cache.fresh_after(response, elapsed_s)


def _held_by_the_cache(unit: _Unit) -> bool:
    """A redirect the HTTP cache writes, fresh or not: all but `no-store`. A stale one is
    revalidated on the wire, unless the fetch said `cache: 'force-cache'`, which takes
    any stored copy without asking (Fetch §4.5 HTTP-network-or-cache fetch, cache mode
    "force-cache"; measured, Chromium 156: a 307 without Cache-Control followed from the
    cache). So a lone preflight for its URL, followed by its target, was answered by it."""
    actual = unit.actual
    response = actual.tx.response if actual is not None else None
    if response is None or response.status not in REDIRECT_STATUSES:
        return False
    return not http_cache.forbids_storing(response)


def _from_the_cache(chain: _Chain, stored: list[_Unit]) -> None:
    """A chain left waiting for a URL whose redirect the browser had stored: no request
    went out because the cache answered it (measured in Chromium 156: that answer's own
    CORS headers are checked). The stored hop is taken into the chain, without the hints
    that belonged to the earlier fetch."""
    waited = chain.redirected_at
    if waited is None:
        return
    for unit in reversed(_in_partition(chain, stored)):  # the latest before the chain got there
        actual = unit.actual
        assert actual is not None
        if actual.tx.started is None or actual.tx.started >= waited:
            continue
        if any(u is unit for u in chain.units):
            continue
        cached = Captured(tx=actual.tx, order=actual.order)
        chain.units.append(_Unit(None, cached, None, unit.actual_facts))
        chain.waiting_for = None
        # The stored redirect leads on, at once: its target may be in the cache too.
        target = _redirect_target(unit)
        if target is not None and not _refused_from_the_cache(chain, unit):
            if chain.origin is not None and not _same_origin(target, unit.url):
                chain.tainted = chain.tainted or not _same_origin(unit.url, chain.origin)
            chain.waiting_for = target
        return


_CHALLENGES = frozenset({401, 407})
_NEVER_STORED = frozenset({206, 304}) | _CHALLENGES
"""Final statuses a cache does not keep as a whole answer, even with explicit freshness:
a range, a revalidation's answer, an authentication challenge (measured, Chromium 156: a
401 with `max-age` went to the server again, while a 204, a 404 and a 500 with it were
answered from the cache)."""


def _revalidated(unit: _Unit, copies: dict[int, Response]) -> _Unit:
    """For a 304 that answered a revalidation: a step whose answer is the copy the cache
    holds after it, the stored one with the 304's headers put in (RFC 9111 §4.3.4), which
    may now be fresh (measured, Chromium 156: rj-020c, a `no-cache` 200 revalidated by a
    304 with `max-age=600`; the next redirect there was answered by the cache with the
    updated copy, whose Allow-Origin the 304 had changed). Any other step as it is."""
    actual = unit.actual
    response = actual.tx.response if actual is not None else None
    copy = copies.get(id(actual.tx)) if actual is not None else None
    if actual is None or response is None or copy is None or response.status != 304:
        return unit
    if http_cache.forbids_storing(response):
        return unit
    kept = http_cache.kept(http_cache.updated(copy, response))
    now = Captured(tx=replace(actual.tx, response=kept), hints=actual.hints, order=actual.order)
    return _Unit(None, now, None, unit.actual_facts)


def _kept_fresh(unit: _Unit) -> bool:
    """A server's answer to a GET that the cache may store and that says how long it stays
    fresh (RFC 9111 §4.2.1): the HTTP cache answers the next request for its URL without
    asking, until it is stale."""
    actual = unit.actual
    if actual is None or "source" in actual.hints:
        return False
    tx = actual.tx
    response = tx.response
    return (
        tx.request.method == "GET"
        and tx.started is not None
        and response is not None
        and 200 <= response.status
        and response.status not in REDIRECT_STATUSES
        and response.status not in _NEVER_STORED
        and not response.made_by_proxy
        and http_cache.fresh_after(response, 0.0)
        and not _cut_short_by_orb(actual)
    )


def _cut_short_by_orb(captured: Captured) -> bool:
    """A whole cross-origin no-cors answer ORB blocked (`orb_impl.cc`, `analysis.orb`): the
    network service stops reading it, so the HTTP cache never completes its copy and the
    next request for the URL goes to the server (measured, Chromium 156: after a no-cors
    fetch() got JSON, sniffed JSON or HTML with nosniff, a CORS request redirected to the
    URL reached the server; after an image or text, the cache answered it). A 304's copy
    is the stored one, complete already; a range is never kept whole."""
    tx = captured.tx
    response = tx.response
    if response is None or response.status in (206, 304):
        return False
    if _shown_mode(captured) != "no-cors":
        return False
    page = _requester(tx)
    if page is None or _same_origin(page, tx.request.url):
        return False  # ORB guards only cross-origin answers; without a page, no telling
    return orb.decide(response.status, response.headers, response.sniffed) is True


def _answered_from_the_cache(chain: _Chain, fresh: list[_Unit]) -> None:
    """A chain left waiting for a URL whose fresh answer the browser had stored: the HTTP
    cache answered the redirected request, no request went out, and the CORS check read
    that copy (measured, Chromium 156: a stylesheet's redirect to a URL an earlier load had
    fetched with `max-age`). The copy must match what the redirect left the request: a GET,
    the same cache partition (the page's site), and its Vary: Origin, if any."""
    waited = chain.redirected_at
    last = chain.units[-1]
    status = _redirect_status(last)
    if waited is None or (last.method != "GET" and status not in (301, 302, 303)):
        return  # 307 and 308 keep the method: a POST is not a cache's to answer
    copy = _fresh_copy(chain, fresh, waited)
    if copy is not None:
        chain.units.append(_Unit(None, copy, None, _facts(copy.tx)))
        chain.waiting_for = None


def _preflighted_redirect_from_the_cache(chain: _Chain, stored: dict[str, list[_Unit]]) -> bool:
    """A later hop's preflight that passed with no request after it, for a URL whose GET
    redirect the HTTP cache held: the cache answered the request (measured, Chromium 156:
    a stored 308 after the second preflight of a redirected fetch), and the fetch went on
    to the redirect's target. `_followed_from_the_cache` does it for a first hop."""
    unit = chain.units[-1]
    preflight = unit.preflight
    if (
        len(chain.units) < 2
        or chain.waiting_for is not None
        or unit.actual is not None
        or preflight is None
        or unit.method != "GET"
    ):
        return False
    answered = _ended_at(preflight.tx) or preflight.tx.started
    if answered is None or not _may_pass(preflight.tx):
        return False
    kept = _in_partition(chain, stored.get(_url_key(unit.url), []))
    cached = _stored_redirect(*_get_redirects(kept), answered)
    target = _redirect_target(cached) if cached is not None else None
    if cached is None or cached.actual is None or target is None:
        return False
    # This fetch's own request never showed its headers: the step keeps what both share.
    origin = "null" if chain.tainted else chain.origin
    sent = [("Origin", origin)] if origin is not None else []
    request = Request(method="GET", url=unit.url, headers=Headers.of(sent))
    copy = Captured(
        tx=replace(cached.actual.tx, request=request, started=answered, duration_ms=0.0),
        order=cached.actual.order,
    )
    unit.actual, unit.actual_facts = copy, _facts(copy.tx)
    if _refused_from_the_cache(chain, cached):
        # Another page's stored redirect, refused for this one (Fetch §4.4 runs the CORS
        # check on a redirect): the fetch ends here, and the target's request on the wire
        # is some other fetch's, as `_followed_from_the_cache` has it for a first hop.
        return False
    if chain.origin is not None and not _same_origin(target, unit.url):
        chain.tainted = chain.tainted or not _same_origin(unit.url, chain.origin)
    chain.waiting_for, chain.redirected_at = target, answered
    return True


def _fresh_copy(chain: _Chain, fresh: list[_Unit], asked: float) -> Captured | None:
    """The copy the HTTP cache answered the chain's next request with at `asked`: the
    latest stored before then for the chain's cache partition (the page's site), if it is
    still fresh and its Vary allows the request the chain's redirects left."""
    origin = "null" if chain.tainted else chain.origin
    requester = _chain_page(chain) or _requester(chain.units[0].lead.tx)
    sent = chain.units[0].lead.tx.request.headers
    # The latest stored before the request (units come in time order).
    before = bisect.bisect_left(fresh, asked, key=lambda u: u.started or float("-inf"))
    for unit in reversed(fresh[max(0, before - _REDIRECT_SCAN) : before]):
        assert unit.actual is not None
        tx = unit.actual.tx
        assert tx.started is not None and tx.response is not None
        if any(u is unit for u in chain.units):
            continue
        # A copy stored for a hop with `Origin: null` (a tainted redirect) and no Referer:
        # the cache keyed it by the page of the fetch that stored it (measured, Chromium
        # 156: rg-008b, under `no-referrer`).
        stored_for = unit.page or _requester(tx)
        if (
            requester is None
            or stored_for is None
            or http_cache.partition_site(requester) != http_cache.partition_site(stored_for)
        ):
            continue
        arrived = tx.started + (tx.duration_ms or 0.0) / 1000.0
        if not http_cache.fresh_after(tx.response, asked - arrived):
            return None  # the latest copy is stale: the cache asked the server, not seen
        if not _vary_allows(tx, origin, sent):
            return None
        return Captured(tx=tx, order=unit.actual.order)
    return None


_VARY_CARRIED = frozenset({"range"})
"""Vary fields a redirect leaves as the fetch's first request sent them (Fetch §4.4
HTTP-redirect fetch keeps the request's header list; Range is the script's or the media
element's, never the browser's per-hop choice), so a capture compares them from there."""


def _vary_allows(stored: Transaction, origin: str | None, sent: Headers | None = None) -> bool:
    """RFC 9111 §4.1: the stored copy answers a request whose Origin is `origin` only if
    the fields its Vary names match; fields other than Origin and Accept-Encoding (the
    browser's own, the same on every request) and those the fetch's first request `sent`
    carries on (`_VARY_CARRIED`) cannot be compared from a capture."""
    assert stored.response is not None
    vary = stored.response.headers.get_all("vary")
    fields = {f.strip().lower() for line in vary for f in line.split(",")}
    fields.discard("")
    carried = fields & _VARY_CARRIED if sent is not None else frozenset()
    if not fields - carried <= _VARY_KNOWN:
        return False
    if sent is not None and any(
        stored.request.headers.get(name) != sent.get(name) for name in carried
    ):
        return False
    return "origin" not in fields or stored.request.headers.get("origin") == origin


def _refused_from_the_cache(chain: _Chain, unit: _Unit) -> bool:
    """`_refused` for a stored redirect another fetch left: judged with this chain's Origin
    and the credentials its own first request showed, not the stored one's."""
    response = unit.actual.tx.response if unit.actual is not None else None
    origin = "null" if chain.tainted else chain.origin
    if response is None or origin is None:
        return False
    sent = next((u.actual.tx.request.headers for u in chain.units if u.actual), None)
    return _refuses(response, origin, sent is not None and fetch.carries_credentials(sent))


def _credentialed(chain: _Chain) -> bool:
    """Did any request of the chain show credentials on the wire? The credentials mode is
    the fetch's, kept across its redirects (Fetch §4.4 HTTP-redirect fetch reuses the
    request), though a hop to the page's own site carries no `Sec-Fetch-Storage-Access`
    and one with no cookie to send no Cookie."""
    return any(
        fetch.carries_credentials(u.actual.tx.request.headers)
        for u in chain.units
        if u.actual is not None
    )


def _shown_cors(chain: _Chain) -> bool:
    """Did a request of the chain say `Sec-Fetch-Mode: cors` on the wire?"""
    return any(
        (u.actual.tx.request.headers.get("sec-fetch-mode") or "").lower() == "cors"
        for u in chain.units
        if u.actual is not None
    )


def _refused(unit: _Unit, credentialed: bool = False, *, cors: bool = False) -> bool:
    """Did the browser certainly refuse this CORS redirect, and so never follow it? Its
    Allow-Origin is missing or names another origin, or the request went with credentials
    (Cookie or `Sec-Fetch-Storage-Access` on the wire, on this request or, `credentialed`,
    an earlier one of its chain) and the answer allowed none. Only a simple string test:
    what it cannot tell, the verdict decides later; it keeps a refused redirect from taking
    the next hop of another fetch to the same URL. `cors`: an earlier request of the chain
    showed CORS mode, which a hop keeps (to a URL that is not potentially trustworthy,
    Chromium sends no `Sec-Fetch-Mode`)."""
    if unit.actual is None:
        return False
    tx = unit.actual.tx
    request, response = tx.request.headers, tx.response
    origin = request.get("origin")
    if (
        response is None
        or origin is None
        or (request.get("sec-fetch-mode") or ("cors" if cors else "")).lower() != "cors"
        or _same_origin(tx.request.url, origin)
    ):
        return False
    return _refuses(response, origin, credentialed or fetch.carries_credentials(request))


def _refuses(response: Response, origin: str, credentialed: bool) -> bool:
    """The simple string test of `_refused`: Allow-Origin missing or another origin's, or,
    for a credentialed request, `*` or no `Allow-Credentials: true`."""
    allowed = response.headers.get("access-control-allow-origin")
    if allowed not in ("*", origin):
        return True
    return credentialed and (
        allowed == "*" or response.headers.get("access-control-allow-credentials") != "true"
    )


def _join_waiting(stack: list[_Chain] | None, unit: _Unit, *, wire: bool = False) -> _Chain | None:
    if not stack:
        return None
    url = _url_key(unit.url)
    while stack and stack[-1].waiting_for != url:
        stack.pop()  # chains that moved on
    # The browser follows a redirect at once: of the chains whose redirect had arrived when
    # this request started, the one that waited longest (first in, first out). Without
    # timings, the newest.
    start = unit.started
    fitting = [
        pos
        for pos in range(len(stack) - 1, max(-1, len(stack) - 1 - _REDIRECT_SCAN), -1)
        if stack[pos].waiting_for == url and _fits(stack[pos], unit, wire=wire)
    ]
    if fitting:
        # The request keeps the headers script set across a redirect (Fetch §4.4
        # HTTP-redirect fetch reuses the request): a chain whose last request carried
        # other unsafe names is another fetch's, and of many fetches redirected to one
        # URL at once, one whose request carried other values (a request id, a trace
        # header) is less likely this one's.
        carried = _carried(unit)
        before = {pos: _carried(stack[pos].units[-1]) for pos in fitting}
        # A browser may log a hop with provisional headers (`_provisional`): then what its
        # preflight announced is what it carried, and without a preflight nothing says.
        announced = _announced(unit)
        if announced is not None or unit.actual is None or not _provisional(unit.actual):
            fitting = [
                pos
                for pos in fitting
                if before[pos].names == carried.names
                or (
                    announced is not None
                    and announced in (before[pos].names, _announced(stack[pos].units[-1]))
                )
            ]
        if len(fitting) > 1:
            same = [pos for pos in fitting if _same_fetch(before[pos], carried)]
            fitting = same or fitting
    newest: int | None = None
    first: int | None = None
    first_at = float("inf")
    # A chain whose redirect arrived long before this request and was never followed since
    # is a fetch the browser dropped (a page gone, a stream still open when the capture
    # ended); a request sent just after another chain's redirect arrived is that chain's.
    recent: int | None = None
    recent_at = float("inf")
    for pos in fitting:
        chain = stack[pos]
        if newest is None:
            newest = pos
        at = chain.redirected_at
        if start is None or at is None or at > start + _SAME_MOMENT_S:
            continue
        if at < first_at:
            first, first_at = pos, at
        if start - at <= _FOLLOWED_WITHIN_S and at < recent_at:
            recent, recent_at = pos, at
    if recent is not None:
        first = recent
    best = first if first is not None else newest
    if best is None:
        return None
    chain = stack[best]
    del stack[best]
    return chain


_DROPPED_ON_REDIRECT = frozenset(
    {"authorization", "content-encoding", "content-language", "content-location", "content-type"}
)
"""Removed by a redirect that changes the origin (Authorization) or turns the method into
GET (the request-body-header names): Fetch §4.4 HTTP-redirect fetch steps 12-13."""


class _Carried(NamedTuple):
    names: frozenset[str]
    """The CORS-unsafe header names: a request's own, or those its preflight announced."""
    fields: tuple[tuple[str, str], ...] | None
    """Those fields and Accept with their values, by lower-case name, sorted; None for a
    preflight alone, which shows no values."""


def _carried(unit: _Unit) -> _Carried:
    """The headers script set that a redirect carries to the next request unchanged."""
    if unit.actual is None:
        assert unit.preflight_facts is not None and unit.preflight is not None
        announced = unit.preflight.tx.request.headers.get("access-control-request-headers")
        names = frozenset(fetch.announced_header_names(announced)) - _DROPPED_ON_REDIRECT
        return _Carried(names, None)
    headers = unit.actual.tx.request.headers
    unsafe = fetch.cors_unsafe_header_names(headers, ignore=fetch.BROWSER_ADDED_HEADERS)
    names = frozenset(unsafe) - _DROPPED_ON_REDIRECT
    kept = names | {"accept"}
    fields = tuple(sorted((n.lower(), v) for n, v in headers.fields if n.lower() in kept))
    return _Carried(names, fields)


def _announced(unit: _Unit) -> frozenset[str] | None:
    """The unsafe names the unit's preflight announced, which a redirect carries on; None
    without a preflight."""
    if unit.preflight is None:
        return None
    names = unit.preflight.tx.request.headers.get("access-control-request-headers")
    return frozenset(fetch.announced_header_names(names)) - _DROPPED_ON_REDIRECT


def _provisional(c: Captured) -> bool:
    """A request a browser logged failed, unanswered and without Origin: its provisional
    headers, which for a redirect's next hop leave out what script set (measured,
    Chromium 156: DevTools' export and Playwright's HAR show only Referer and User-Agent).
    A CORS request always goes with Origin (Fetch §3.1 "append a request `Origin`
    header"), so its real headers are unknown, not empty."""
    tx = c.tx
    return (
        tx.response is None and "browser_error" in c.hints and "origin" not in (tx.request.headers)
    )


def _same_fetch(before: _Carried, after: _Carried) -> bool:
    if before.names != after.names:
        return False
    return before.fields is None or after.fields is None or before.fields == after.fields


_same_origin = functools.lru_cache(maxsize=8192)(same_origin)


# --- exchanges and context ------------------------------------------------------------


def _build(
    chains: list[_Chain | None],
    origin_file: str | None,
    via_proxy: bool,
    pages: dict[str, str],
    stored: dict[int, Response],
) -> Assembled:
    """Consumes `chains`: each chain is let go once its exchange stands."""
    exchanges: list[Exchange] = []
    merged_hints: dict[str, Hints] = {}
    used: set[str] = set()
    suffixes: dict[str, int] = {}
    for n in range(1, len(chains) + 1):
        chain = chains[n - 1]
        chains[n - 1] = None
        assert chain is not None
        members = [c for u in chain.units for c in (u.actual, u.preflight) if c is not None]
        own = next((c.id for c in members if c.id), None)
        xid = _unique(own or f"x{n:04d}", used, suffixes)
        steps = tuple(
            Step(
                url=unit.url,
                preflight=Preflight(unit.preflight.tx) if unit.preflight else None,
                actual=unit.actual.tx if unit.actual else None,
                stored=_stored_for(unit, stored) if stored else None,
            )
            for unit in chain.units
        )
        hints = _merge_hints(chain)
        exchanges.append(
            Exchange(
                id=xid,
                steps=steps,
                context=_context(chain, hints, via_proxy, pages),
                origin_file=origin_file,
            )
        )
        if hints:
            merged_hints[xid] = hints
    return Assembled(exchanges=exchanges, hints=merged_hints)


def _unique(candidate: str, used: set[str], suffixes: dict[str, int]) -> str:
    """The candidate, else the first of "candidate-2", "-3", ... not used yet. `suffixes`
    remembers where each candidate's search stopped: a capture that repeats one id on every
    line would otherwise count up from 2 for each of them, quadratic in the repeats."""
    xid = candidate
    if xid in used:
        k = suffixes.get(candidate, 2)
        while f"{candidate}-{k}" in used:
            k += 1
        suffixes[candidate] = k + 1
        xid = f"{candidate}-{k}"
    used.add(xid)
    return xid


def _merge_hints(chain: _Chain) -> Hints:
    """First value wins, reading each step's request before its preflight; except where the
    final answer matters (`source`, `browser_error`), where the last step wins."""
    merged = Hints()
    for unit in chain.units:
        for c in (unit.actual, unit.preflight):
            if c is None:
                continue
            for key, value in c.hints.items():
                if key in ("resource_type", "initiator_type") and value == "preflight":
                    continue  # describes the preflight, not the fetch
                merged.setdefault(key, value)  # type: ignore[misc]
    for key in (
        "source",
        "browser_error",
        "worker_answer",
        "worker_response_type",
        "worker_failure",
        "never_sent",
    ):
        for unit in reversed(chain.units):
            value = unit.actual.hints.get(key) if unit.actual else None
            if value is not None:
                merged[key] = value  # type: ignore[literal-required]
                break
    # Said of the final answer only: an earlier hop's finished load is not the chain's.
    last = chain.units[-1].actual
    if last is not None and last.hints.get("finished"):
        merged["finished"] = True
    else:
        merged.pop("finished", None)
    return merged


_MODES = {mode: mode for mode in MODES}
_origin = functools.lru_cache(maxsize=8192)(origin_of)
"""Pages, referers and their origins repeat across a capture; URL parsing is the slow part."""


def _is_prefetch(sec_purpose: str | None) -> bool:
    # A structured-header token list: `prefetch`, or `prefetch;prerender` and the like.
    return sec_purpose is not None and sec_purpose.strip().lower().startswith("prefetch")


def _context(chain: _Chain, hints: Hints, via_proxy: bool, pages: dict[str, str]) -> Context:
    """The exchange's `Context`, one object per distinct one: it follows from the first
    step's request facts and the hints, and a page's fetches share those."""
    lead = chain.units[0]
    embedder = (
        _page_embedder_policy(_page_origin_of(lead, hints), lead.lead.tx.started)
        if _documents
        else None
    )
    key = (
        embedder,
        lead.lead_facts,
        lead.origin_header,
        _origin(lead.lead.tx.request.url),
        lead.preflight is not None,
        tuple(hints.items()),
        via_proxy,
    )
    context = _contexts.get(key)
    if context is None:
        if len(_contexts) > _CONTEXTS_LIMIT:
            _contexts.clear()
        context = _new_context(chain, hints, via_proxy, pages)
        if embedder is not None:
            context = replace(context, embedder_policy=embedder)
        _contexts[key] = context
    return context


def _page_origin_of(lead: _Unit, hints: Hints) -> str | None:
    """The page origin `_new_context` finds, cheaply: its documents are what is looked up."""
    for value in (hints.get("initiator_origin"), lead.origin_header, hints.get("har_page_url")):
        if value and value != "null":
            return _origin(value)
    referer = lead.lead_facts.get("referer")
    return _origin(referer) if referer else None


def _new_context(chain: _Chain, hints: Hints, via_proxy: bool, pages: dict[str, str]) -> Context:
    first = chain.units[0].lead.tx.request
    headers = chain.units[0].lead_facts

    dest = resource_type_from_dest(headers.get("sec-fetch-dest"))
    resource_type = hints.get("resource_type") or dest
    if resource_type == "media" and dest in ("audio", "video", "texttrack"):
        resource_type = dest  # Chrome's HAR says "media" for both; Blink words them apart
    if resource_type == "fetch" and fetch.is_event_stream_accept(headers.get("accept")):
        resource_type = "eventsource"  # Chrome's own name for it, as its HAR writes
    if dest == resource_type == "fetch" and _is_prefetch(headers.get("sec-purpose")):
        resource_type = "prefetch"  # <link rel=prefetch>: a "link prefetch resource" to Blink

    referer = headers.get("referer")
    # `Origin: null` on the first request is the browser's own word that the page is opaque.
    opaque = "null" in (hints.get("initiator_origin"), chain.units[0].origin_header)
    page_origin = None if opaque else _origin_or_none(hints.get("initiator_origin"))
    if opaque:
        # A sandboxed or file: page: its Referer still names a URL, but its origin is opaque.
        page_origin = "null"
    if page_origin is None:
        page_origin = _origin_or_none(chain.units[0].origin_header)
    if page_origin is None and referer:
        page_origin = _origin(referer)
    if page_origin is None and (headers.get("sec-fetch-site") or "").lower() == "same-origin":
        page_origin = _origin(first.url)
    har_page = hints.get("har_page_url")
    if page_origin is None and har_page:
        page_origin = _origin(har_page)

    page_url = hints.get("page_url")
    if page_url is None and har_page and page_origin in (None, _origin(har_page)):
        page_url = har_page
    if page_url is None and referer and resource_type in (None, "fetch", "xhr", "eventsource"):
        page_url = _full_referer(referer, page_origin)

    mode = hints.get("mode")
    if mode is None:
        # The model's own string, not a fresh lowercase copy per exchange.
        mode = _MODES.get((headers.get("sec-fetch-mode") or "").lower())
    if mode is None and chain.units[0].preflight is not None:
        mode = "cors"  # only CORS-mode requests are ever preflighted

    context = Context(
        page_origin=page_origin,
        page_url=page_url,
        mode=mode,
        credentials=hints.get("credentials"),
        source=hints.get("source"),
        browser=hints.get("browser"),
        resource_type=resource_type,
        redirect_mode=hints.get("redirect_mode"),
        browser_error=hints.get("browser_error"),
        worker_response_type=hints.get("worker_response_type"),
        worker_failure=hints.get("worker_failure"),
        page_address=_page_address(page_origin, har_page, pages),
        via_proxy=via_proxy,
        header_names=hints.get("header_names"),
        never_sent=hints.get("never_sent", False),
        integrity=hints.get("integrity", False),
        from_worker=hints.get("from_worker", False),
        finished=hints.get("finished", False),
    )
    return context


def _page_address(
    page_origin: str | None, har_page: str | None, pages: dict[str, str]
) -> str | None:
    """Where the page's document came from. An opaque (sandboxed) page has no origin to
    look it up by, but its document still has an address: its HAR page's URL names it."""
    if page_origin == "null":
        return pages.get(_origin(har_page)) if har_page else None
    return pages.get(page_origin) if page_origin else None


_CONTEXTS_LIMIT = 65_536
_contexts: dict[tuple, Context] = {}


def _origin_or_none(value: str | None) -> str | None:
    if not value or value.strip() == "null":
        return None
    return _origin(value.strip())


@functools.lru_cache(maxsize=8192)
def _full_referer(referer: str, page_origin: str | None) -> str | None:
    """A Referer is the page URL only when the policy let the whole URL through; a bare
    origin (the cross-origin default) says nothing about the path."""
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    if parts.path in ("", "/") and not parts.query:
        return None
    if page_origin not in (None, "null") and _origin(referer) != page_origin:
        return None
    return referer
