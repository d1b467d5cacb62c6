"""Join what the probe reports to the exchanges the proxy recorded.

A page record (one fetch, XHR, beacon, or CORS-mode element load as the page saw it) joins
the recorded entry for the same URL and method that started soonest after the page's call,
on the proxy's clock (each beacon carries its send time, so the page's clock skew is known).
It then adds what the wire cannot show: mode, credentials mode, page, and whether the page
saw a failure.

A fetch or element load the proxy never saw was answered inside the browser. Not under a
service worker, that is the HTTP cache: it becomes a new entry with `_cors.source`
"http-cache", carrying the last response the proxy saw for that URL (the one the browser
cached), so the verdict
can be re-decided against this page's origin. Under a service worker, the worker agent's
own report says what answered (Cache Storage, a response built in the worker, an opaque
response to a CORS request) and becomes an entry with `_cors.source` "service-worker".
A page record under a worker waits a moment for the agent's report; with none (no agent
in that worker), a failure still becomes an entry of its own.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from analysis.address_space import is_secure_context
from analysis.fetch import (
    BROWSER_ADDED_HEADERS,
    announced_header_names,
    carries_credentials,
    cors_unsafe_header_names,
    is_forbidden_request_header,
)
from analysis.http_cache import not_stored_fields, partition_site, plain_directives
from analysis.model import origin_of, same_origin
from analysis.readers.hints import resource_type_from_dest
from analysis.verdict import is_mixed_content, sends_storage_access

from .beacon import PageRecord, WorkerRecord
from .capture import iso_time

NO_RESPONSE: dict[str, Any] = {
    "status": 0,
    "statusText": "",
    "httpVersion": "",
    "cookies": [],
    "headers": [],
    "content": {"size": 0, "mimeType": "x-unknown"},
    "redirectURL": "",
    "headersSize": -1,
    "bodySize": -1,
}


# The agent's words for what respondWith() got -> the capture's `_cors.worker.answer`.
_ANSWER_NAMES = {"cache": "cache-storage", "invalid": "other", "rejected": None}
"""A rejected promise answered nothing: `failure` says so."""


@dataclass(slots=True)
class Seen:
    """A recorded entry, as far as joining needs it."""

    entry_id: str
    started: float
    mode: str | None
    """Sec-Fetch-Mode as sent."""
    origin: str | None
    """The Origin header as sent."""
    preflight: bool
    by_worker: bool = False
    claimed: bool = False
    credentialed: bool | None = None
    """Sent with credentials, as the wire shows it (Cookie, or Chromium's
    Sec-Fetch-Storage-Access since version 133); None where absence proves nothing."""
    unsafe_names: frozenset[str] | None = None
    """The CORS-unsafe header names script set, as the wire shows them: a preflight's
    Access-Control-Request-Headers, a request's own unsafe names; None when not known."""
    surely_without: bool = False
    """Certainly sent without credentials: a cross-site request to a potentially
    trustworthy URL from a Chromium that marks those (Sec-Fetch-Storage-Access), unmarked."""


@dataclass(frozen=True, slots=True)
class Annotate:
    entry_id: str
    cors: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewEntry:
    entry: dict[str, Any]


Action = Annotate | NewEntry


@dataclass(slots=True)
class _Pending:
    record: PageRecord
    page_url: str
    facts: dict[str, Any]


class Joiner:
    def __init__(
        self,
        new_id: Callable[[], str],
        *,
        window: float = 10.0,
        skew: float = 1.0,
        wait: float = 3.0,
        max_seen: int = 8192,
        max_cached: int = 2048,
        max_pending: int = 1024,
    ) -> None:
        """`window`: how long after the page's call its request may reach the proxy;
        `skew`: how much earlier it may seem to (clock resolution, beacon latency);
        `wait`: how long a page record under a service worker waits for the agent."""
        self._new_id = new_id
        self.window, self.skew, self.wait = window, skew, wait
        self._seen: dict[tuple[str, str], list[Seen]] = {}
        self._order: deque[tuple[tuple[str, str], Seen]] = deque()
        self._max_seen = max_seen
        self._cached: OrderedDict[
            tuple[str, str | None], tuple[str, Callable[[], dict[str, Any]]]
        ] = OrderedDict()
        self._max_cached = max_cached
        self._pending: list[_Pending] = []
        self._max_pending = max_pending
        self.unseen = 0
        """Page records that matched nothing and left no evidence of a cache."""

    # --- what the proxy recorded --------------------------------------------------------

    def note(
        self,
        entry: dict[str, Any],
        *,
        by_worker: bool = False,
        claimed: bool = False,
    ) -> None:
        """Remember a written capture entry so later reports can find it; `claimed` when a
        page record already made it (an answer the proxy never saw)."""
        request = entry["request"]
        headers = {h["name"].lower(): h["value"] for h in request.get("headers", [])}
        response = entry.get("response") or {}
        self.remember(
            credentialed=credentialed(headers),
            request_headers=[(h["name"], h["value"]) for h in request.get("headers", [])],
            entry_id=entry["_corscope_id"],
            url=request["url"],
            method=request["method"],
            started=_epoch(entry),
            acrm=headers.get("access-control-request-method"),
            mode=headers.get("sec-fetch-mode"),
            origin=headers.get("origin"),
            cors=entry.get("_cors") or {},
            cacheable=_browser_may_cache(response),
            response=lambda: response,
            by_worker=by_worker,
            claimed=claimed,
        )

    def remember(
        self,
        *,
        entry_id: str,
        url: str,
        method: str,
        started: float,
        acrm: str | None,
        mode: str | None,
        origin: str | None,
        cors: dict[str, Any],
        cacheable: bool,
        response: Callable[[], dict[str, Any]],
        by_worker: bool = False,
        credentialed: bool | None = None,
        claimed: bool = False,
        request_headers: Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """`note` for an entry the caller holds in pieces: `acrm`, `mode` and `origin` are
        the last values of the request's Access-Control-Request-Method, Sec-Fetch-Mode
        and Origin headers; `cacheable` whether the browser may keep the response;
        `response()` the entry's `response` object; `request_headers` its request's
        header fields, where known."""
        if method != "OPTIONS":
            acrm = None
        key = (_url_key(url), acrm.strip() if acrm else method)
        seen = Seen(
            entry_id=entry_id,
            started=started,
            mode=mode,
            origin=origin,
            preflight=acrm is not None,
            by_worker=by_worker,
            claimed=claimed,
            credentialed=credentialed,
            unsafe_names=_unsafe_names(request_headers, acrm is not None),
            surely_without=credentialed is False
            and acrm is None
            and _marked_if_credentialed(url, request_headers),
        )
        self._seen.setdefault(key, []).append(seen)
        self._order.append((key, seen))
        while len(self._order) > self._max_seen:
            old_key, old = self._order.popleft()
            bucket = self._seen.get(old_key)
            if bucket is not None:
                bucket.remove(old)
                if not bucket:
                    del self._seen[old_key]
        if (
            method == "GET"
            and not by_worker
            and acrm is None
            and "source" not in cors
            and cacheable
        ):
            stored_at = (key[0], _partition(origin))
            self._cached[stored_at] = (seen.entry_id, response)
            self._cached.move_to_end(stored_at)
            while len(self._cached) > self._max_cached:
                self._cached.popitem(last=False)

    # --- page reports ---------------------------------------------------------------------

    def page(self, record: PageRecord, page_url: str, *, opaque: bool = False) -> list[Action]:
        # A sandboxed document's URL has an origin, its calls do not (Fetch: a request's
        # origin is its client's): the page is "null", as `Origin: null` says on CORS calls.
        page_origin = "null" if opaque else origin_of(page_url)
        facts = _page_facts(record, page_url, page_origin)
        if record.controlled:
            seen = self._find(record, page_origin, by_worker=True)
            if seen is not None:
                seen.claimed = True
                return [Annotate(seen.entry_id, _only(facts, "pageUrl", "resourceType"))]
            self._pending.append(_Pending(record, page_url, facts))
            if len(self._pending) > self._max_pending:
                del self._pending[0]  # a flood of reports must not grow memory
            return []
        seen = self._find(record, page_origin, by_worker=False)
        if seen is not None:
            seen.claimed = True
            return [Annotate(seen.entry_id, facts)]
        return self._from_http_cache(record, facts, page_origin, origin_of(page_url))

    def _from_http_cache(
        self,
        record: PageRecord,
        facts: dict[str, Any],
        page_origin: str | None,
        url_origin: str | None = None,
    ) -> list[Action]:
        """`url_origin`: the origin of the page's URL, which an opaque page's stands on."""
        if record.aborted:
            # The page gave up on the call (AbortController, xhr.abort()) before any answer
            # it could see: nothing on the wire was its, and no cache answered it either.
            self.unseen += 1
            return []
        if _refused_before_fetching(record, page_origin):
            self.unseen += 1
            return []
        remembered = (
            self._remembered(_url_key(record.url), page_origin) if record.method == "GET" else None
        )
        timing = record.timing
        says_cache = timing is not None and timing.delivery_type == "cache"
        if (blocked := _blocked_before_sending(record, page_origin, url_origin)) is not None:
            # Never sent, so never cached either: the browser's block comes first.
            cors = {**facts, "browser": {"blocked": True, "reason": None}}
            return [self._new(record, cors, {**NO_RESPONSE, "_error": blocked})]
        if remembered is None and not says_cache:
            self.unseen += 1
            return []
        cors = {**facts, "source": "http-cache", "reconstructed": True}
        response = NO_RESPONSE
        if remembered is not None:
            cors["replayOf"] = remembered[0]
            response = as_stored(remembered[1]())
        return [self._new(record, cors, response)]

    def _remembered(
        self, url_key: str, page_origin: str | None
    ) -> tuple[str, Callable[[], dict[str, Any]]] | None:
        """The response the browser cached for this page: its own site's copy (the cache
        is partitioned by site), else one whose requester the wire did not name."""
        return self._cached.get((url_key, _partition(page_origin))) or self._cached.get(
            (url_key, None)
        )

    # --- worker reports -------------------------------------------------------------------

    def worker(self, record: WorkerRecord, worker_url: str) -> list[Action]:
        if record.failure == "network-error" or (record.answer == "network" and not record.failure):
            # The worker's own fetch went through the proxy and is recorded as it was, its
            # failure included; the page's own record stays waiting, to join that exchange
            # (`expire`). But a network answer the browser refuses (an opaque response to a
            # CORS request), or a promise the worker rejected after its fetch passed
            # (Cache.put() of a POST), is the page's failure, which the wire does not show.
            return []
        pending = self._take_pending(record)
        worker_origin = origin_of(worker_url)
        if record.failure is None and same_origin(record.url, worker_origin):
            return []
        cors: dict[str, Any] = {
            "mode": record.mode,
            "credentials": record.credentials,
            "initiatorOrigin": worker_origin,
            "redirect": record.redirect,
            "resourceType": resource_type_from_dest(record.destination) or "fetch",
            "source": "service-worker",
            "worker": {
                "answer": _ANSWER_NAMES.get(record.answer, record.answer),
                "type": record.response_type,
                "failure": record.failure,
            },
        }
        if record.failure is not None or not 300 <= (record.status or 0) < 400:
            # A redirect the worker answered with is followed by the page itself, whose
            # outcome is the next hop's to tell.
            cors["browser"] = {"blocked": record.failure is not None, "reason": None}
        if pending is not None:
            cors["pageUrl"] = pending.page_url
            cors["resourceType"] = pending.record.kind
        if record.failure == "rejected":
            fetched = self._find(record, worker_origin, by_worker=False)
            if fetched is not None:
                # The worker fetched the request itself and the proxy recorded it, then its
                # promise rejected (Cache.put() of a POST throws): one page fetch, which the
                # browser failed however the wire's CORS check went. The page's own record
                # joins it as it joins any entry the worker made.
                fetched.by_worker, fetched.claimed = True, pending is not None
                return [Annotate(fetched.entry_id, cors)]
        request_headers = [{"name": k, "value": v} for k, v in record.request_headers]
        if record.mode == "cors" and not same_origin(record.url, worker_origin):
            request_headers.append({"name": "Origin", "value": worker_origin or "null"})
        entry = self._entry(
            method=record.method,
            url=record.url,
            started=record.t,
            request_headers=request_headers,
            response=_worker_response(record),
            cors=cors,
        )
        self.note(entry, by_worker=True)
        return [NewEntry(entry)]

    # --- time passing ---------------------------------------------------------------------

    def expire(self, now: float) -> list[Action]:
        """Settle page records under a worker whose agent never reported."""
        actions: list[Action] = []
        keep: list[_Pending] = []
        for item in self._pending:
            if now - item.record.t < self.wait:
                keep.append(item)
                continue
            record = item.record
            seen = self._find(record, origin_of(item.page_url), by_worker=False)
            if seen is not None:
                # The worker let the browser go to the network itself.
                seen.claimed = True
                actions.append(Annotate(seen.entry_id, item.facts))
            elif record.failed:
                cors = {**item.facts, "source": "service-worker", "reconstructed": True}
                actions.append(self._new(record, cors, NO_RESPONSE))
        self._pending = keep
        return actions

    @property
    def waiting(self) -> int:
        return len(self._pending)

    # --- inside -----------------------------------------------------------------------------

    def _find(
        self, record: PageRecord | WorkerRecord, page_origin: str | None, *, by_worker: bool
    ) -> Seen | None:
        best = self._find_at(record, _url_key(record.url), page_origin, by_worker=by_worker)
        if best is None and (twin := _upgraded(record.url)) is not None:
            # The browser may have sent it over https instead: the page's CSP
            # upgrade-insecure-requests, or HSTS for the host (CSP UIR §4.1, RFC 6797 §8.3:
            # the scheme changes, a port other than 80 stays).
            best = self._find_at(record, _url_key(twin), page_origin, by_worker=by_worker)
        return best

    def _find_at(
        self,
        record: PageRecord | WorkerRecord,
        key: str,
        page_origin: str | None,
        *,
        by_worker: bool,
    ) -> Seen | None:
        best: Seen | None = None
        low, high = record.t - self.skew, record.t + self.window
        for seen in self._seen.get((key, record.method), ()):
            if seen.claimed or seen.by_worker != by_worker or not low <= seen.started <= high:
                continue
            if seen.mode is not None and seen.mode != record.mode:
                continue
            if seen.origin not in (None, "null", page_origin):
                continue
            if _certainly_another_call(seen, record):
                continue
            # A request sent with the credentials the call asked for beats one without
            # (two fetches to one URL at once, one with credentials); then the request
            # itself beats its preflight; then the earliest after the call.
            rank = _rank(seen, record)
            if best is None or rank < _rank(best, record):
                best = seen
        return best

    def _take_pending(self, record: WorkerRecord) -> _Pending | None:
        key = _url_key(record.url)
        for index, item in enumerate(self._pending):
            page = item.record
            if (
                _url_key(page.url) == key
                and page.method == record.method
                and page.t - self.skew <= record.t <= page.t + self.window
            ):
                return self._pending.pop(index)
        return None

    def _new(self, record: PageRecord, cors: dict[str, Any], response: dict[str, Any]) -> NewEntry:
        headers = [{"name": "Sec-Fetch-Mode", "value": record.mode}]
        origin = cors.get("initiatorOrigin")
        if record.mode == "cors" and origin:
            headers.insert(0, {"name": "Origin", "value": origin})
        entry = self._entry(
            method=record.method,
            url=record.url,
            started=record.t,
            request_headers=headers,
            response=response,
            cors=cors,
        )
        # Made for this record: a later call answered the same way is an entry of its own.
        self.note(entry, by_worker=cors.get("source") == "service-worker", claimed=True)
        return NewEntry(entry)

    def _entry(
        self,
        *,
        method: str,
        url: str,
        started: float,
        request_headers: list[dict[str, str]],
        response: dict[str, Any],
        cors: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "_corscope_id": self._new_id(),
            "startedDateTime": iso_time(started),
            "time": 0,
            "request": {
                "method": method,
                "url": url,
                "httpVersion": "",
                "cookies": [],
                "headers": request_headers,
                "queryString": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": dict(response),
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
            "_cors": {k: v for k, v in cors.items() if v is not None},
        }


_BLOCKABLE_KINDS = frozenset({"fetch", "xhr", "eventsource", "beacon"})
"""Calls Chromium blocks as mixed content rather than upgrading them (Blink's
MixedContentChecker: only images, audio and video are upgraded)."""


def _blocked_before_sending(
    record: PageRecord, page_origin: str | None, url_origin: str | None = None
) -> str | None:
    """A call that never reached the proxy because the browser refused to send it, when the
    page's record shows why: the page's CSP refused it (the probe saw the violation event),
    or an https page called a plain http URL that is not potentially trustworthy (Mixed
    Content §4.3; Chromium's MixedContentChecker). No response and no cache answered it.
    An opaque page (sandboxed, or a sandboxed srcdoc) is judged by the scheme of the origin
    it was made from, its URL's (MixedContentChecker::IsMixedContent takes
    GetOriginOrPrecursorOriginIfOpaque()->Protocol())."""
    if record.refused_by_csp is not None:
        return "csp"
    judged_by = url_origin if page_origin == "null" else page_origin
    if (
        record.kind in _BLOCKABLE_KINDS
        and record.browser_blocked is not False
        and judged_by
        and is_mixed_content(judged_by, record.url)
    ):
        return "mixed-content"
    return None


def _refused_before_fetching(record: PageRecord, page_origin: str | None) -> bool:
    """Fetch §4.1 main fetch step 12, for a URL of another origin than the page's: mode
    "same-origin" is a network error, and so is mode "no-cors" with a redirect mode other
    than "follow". Blink's FetchManager refuses both up front, before any cache is asked
    and with no request DevTools could show (measured, Chromium 156), so no stored answer
    of that URL was the call's."""
    if same_origin(page_origin or "", record.url):
        return False
    if record.mode == "same-origin":
        return True
    return record.mode == "no-cors" and record.redirect not in (None, "follow")


def _unsafe_names(
    headers: Iterable[tuple[str, str]] | None, preflight: bool
) -> frozenset[str] | None:
    if headers is None:
        return None
    if preflight:
        announced = [v for k, v in headers if k.lower() == "access-control-request-headers"]
        return frozenset(announced_header_names(", ".join(announced)))
    return frozenset(cors_unsafe_header_names(headers, ignore=BROWSER_ADDED_HEADERS))


def _marked_if_credentialed(url: str, headers: Iterable[tuple[str, str]] | None) -> bool:
    """Would this request carry Sec-Fetch-Storage-Access had it gone with credentials? A
    browser that sends it does so on every cross-site request with credentials mode
    `include` to a potentially trustworthy URL (Storage Access Headers §3; MDN)."""
    if headers is None:
        return False
    site = [v for k, v in headers if k.lower() == "sec-fetch-site"]
    return site == ["cross-site"] and is_secure_context(url)


_VALUE_SAFELISTED = frozenset(
    {"accept", "accept-language", "content-language", "content-type", "range"}
)
"""Names script may set without the request showing them as unsafe (Fetch §2.2.2)."""


def _certainly_another_call(seen: Seen, record: PageRecord | WorkerRecord) -> bool:
    """Is this entry certainly not the call's request (nor its preflight)? Many calls to
    one URL and method are in flight at once in a busy page, and their reports arrive in
    any order. A request carries, and its preflight announces, exactly the CORS-unsafe
    headers script set (Fetch §4.8 step 3, §2.2.2): a name script set that the entry
    lacks, unless its value may have been safelisted, or a name the entry shows that
    script never set, unless the browser set it from the body (a Blob's Content-Type),
    is another call's. So is a request sent with credentials for a call that asked
    for none (`omit`; `same-origin` to another origin)."""
    names = getattr(record, "header_names", None)
    if names is not None and seen.unsafe_names is not None:
        set_by_script = {n for n in names if not is_forbidden_request_header(n)}
        if not (seen.unsafe_names - {"content-type"}) <= set_by_script:
            return True
        if not (set_by_script - seen.unsafe_names) <= _VALUE_SAFELISTED:
            return True
    if seen.surely_without and record.credentials == "include":
        return True
    return (
        seen.credentialed is True
        and not seen.preflight
        and (
            record.credentials == "omit"
            or (
                record.credentials == "same-origin"
                and seen.origin not in (None, "null")
                and not same_origin(record.url, seen.origin)
            )
        )
    )


def _rank(seen: Seen, record: PageRecord | WorkerRecord) -> tuple[bool, bool, float]:
    mismatch = (
        not seen.preflight
        and seen.credentialed is not None
        and seen.credentialed != (record.credentials == "include")
    )
    return (mismatch, seen.preflight, seen.started)


def credentialed(headers: Mapping[str, str]) -> bool | None:
    """Was the request sent with credentials? `headers` looked up by lower-case name
    (mitmproxy's own, or a capture entry's); for a preflight the answer means nothing, as it
    never carries them."""
    if carries_credentials(headers):
        return True
    return False if sends_storage_access(headers.get("user-agent")) else None


def _page_facts(record: PageRecord, page_url: str, page_origin: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "mode": record.mode,
        "credentials": record.credentials,
        "initiatorOrigin": page_origin,
        "pageUrl": page_url,
        "resourceType": (
            resource_type_from_dest(record.destination) if record.kind == "element" else record.kind
        ),
        "redirect": record.redirect,
        "headerNames": None if record.header_names is None else list(record.header_names),
        "integrity": True if record.integrity else None,
        "fromWorker": True if record.from_worker else None,
    }
    blocked = record.browser_blocked
    if blocked is not None:
        facts["browser"] = {"blocked": blocked, "reason": None}
    return {k: v for k, v in facts.items() if v is not None}


def _only(facts: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: facts[k] for k in keys if k in facts}


def _worker_response(record: WorkerRecord) -> dict[str, Any]:
    # An opaque response shows the worker no status and no headers: nothing to record.
    if record.response_type in ("opaque", "opaqueredirect", "error") or not record.status:
        return dict(NO_RESPONSE)
    headers = [{"name": k, "value": v} for k, v in record.headers]
    ctype = next((v for k, v in record.headers if k.lower() == "content-type"), "x-unknown")
    return {
        "status": record.status,
        "statusText": record.status_text,
        "httpVersion": "",
        "cookies": [],
        "headers": headers,
        "content": {"size": 0, "mimeType": ctype},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
    }


def _browser_may_cache(response: dict[str, Any]) -> bool:
    status = response.get("status")
    if not isinstance(status, int):
        return False
    values = {h["name"].lower(): h["value"] for h in response.get("headers", [])}
    return browser_may_cache(status, values.get)


def browser_may_cache(status: int, header: Callable[[str], str | None]) -> bool:
    """Whether the browser may answer this response again from its HTTP cache.
    `header(name)`: the last value of a response header (lower-case name)."""
    if status in _REDIRECTS:
        return _redirect_kept(status, header)
    if not 200 <= status < 300:
        return _explicitly_fresh(status, header)
    values = {
        name: value.lower()
        for name in ("cache-control", "expires", "last-modified")
        if (value := header(name)) is not None
    }
    directives = plain_directives([values.get("cache-control", "")])
    # With these the browser asks the network again, and the proxy would have seen it.
    if "no-store" in directives or "no-cache" in directives:
        return False
    # Explicit freshness, or what a browser uses for heuristic freshness.
    return any(k in values for k in ("cache-control", "expires", "last-modified"))


def _explicitly_fresh(status: int, header: Callable[[str], str | None]) -> bool:
    """An error answer is stored and replayed only with explicit freshness (Chromium's
    HttpResponseHeaders::GetFreshnessLifetimes: max-age or Expires, whatever the status;
    measured, Chromium 156: a 500 with max-age=600 answered a later fetch of the URL)."""
    return status >= 200 and _explicit_freshness(header) is True


def _explicit_freshness(header: Callable[[str], str | None]) -> bool | None:
    """What Cache-Control and Expires say of reusing the answer without asking: False for
    `no-store`, `no-cache` or a zero `max-age`, True for a positive one or an Expires;
    None when they say nothing."""
    control = (header("cache-control") or "").lower()
    directives = plain_directives([control])
    if "no-store" in directives or "no-cache" in directives:
        return False
    age = _MAX_AGE.search(control)
    if age is not None:
        return int(age.group(1)) > 0
    return True if header("expires") is not None else None


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_AGE = re.compile(r"\bmax-age\s*=\s*\"?(\d+)")


def _redirect_kept(status: int, header: Callable[[str], str | None]) -> bool:
    """A redirect the cache stores and replays without asking the network: a permanent one
    unless told otherwise (Chromium's HttpResponseHeaders::GetFreshnessLifetimes keeps 301
    and 308 for good), any other only with explicit freshness. Concurrent fetches of one URL
    wait for the first one's answer and take it from the cache (measured, Chromium 156)."""
    fresh = _explicit_freshness(header)
    return status in (301, 308) if fresh is None else fresh


def _partition(origin: str | None) -> str | None:
    """The HTTP cache partition of the page that asked; None when unknown (no Origin)."""
    return None if origin in (None, "null") else partition_site(origin)


def as_stored(response: dict[str, Any]) -> dict[str, Any]:
    """A response (HAR form) as the browser's HTTP cache keeps it: without the fields a
    quoted `Cache-Control: no-cache="…"` names (see `analysis.http_cache.kept`)."""
    headers = response.get("headers", [])
    lines = [h["value"] for h in headers if h["name"].lower() == "cache-control"]
    dropped = not_stored_fields(lines)
    if not dropped:
        return response
    return {**response, "headers": [h for h in headers if h["name"].lower() not in dropped]}


def _upgraded(url: str) -> str | None:
    """The https URL an http URL is upgraded to (port 80 becomes 443); None for others."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port in (None, 80) else f"{host}:{port}"
    return urlunsplit(("https", netloc, parts.path, parts.query, parts.fragment))


def _url_key(url: str) -> str:
    return url.split("#", 1)[0]


def _epoch(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["startedDateTime"]).timestamp()
