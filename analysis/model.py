"""The captured facts corscope reasons about: one `Exchange` per browser-level fetch.

Readers build these from HAR files, mitmproxy flow files and the addon's capture; the
verdict engine reads them and decides. Standard library only: the addon imports this
inside mitmproxy's own Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

Mode = Literal["cors", "no-cors", "same-origin", "navigate", "websocket"]
Credentials = Literal["omit", "same-origin", "include"]
Source = Literal["network", "service-worker", "http-cache", "cdn-cache"]

MODES: frozenset[str] = frozenset({"cors", "no-cors", "same-origin", "navigate", "websocket"})
CREDENTIALS: frozenset[str] = frozenset({"omit", "same-origin", "include"})
SOURCES: frozenset[str] = frozenset({"network", "service-worker", "http-cache", "cdn-cache"})

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


@dataclass(frozen=True, slots=True)
class Headers:
    """Header fields in wire order, duplicates kept, names as sent."""

    fields: tuple[tuple[str, str], ...] = ()
    _layout: Layout | None = field(default=None, init=False, repr=False, compare=False)

    def __reduce__(self) -> tuple[type[Headers], tuple[tuple[tuple[str, str], ...]]]:
        # The layout is found (and shared again) on the other side, not copied per list.
        return (Headers, (self.fields,))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        return cls(tuple((str(k), str(v)) for k, v in pairs))

    @property
    def layout(self) -> Layout:
        """Where each name is, shared by every `Headers` whose names are the same sequence
        (one server answers with the same names again and again): a lookup is one dict
        probe, at no memory per message. Made on first use."""
        layout = self._layout
        if layout is None:
            layout = Layout.of(tuple([k for k, _ in self.fields]))
            object.__setattr__(self, "_layout", layout)
        return layout

    def get_all(self, name: str) -> list[str]:
        positions = (self._layout or self.layout).get(name.lower())
        if positions is None:
            return []
        fields = self.fields
        return [fields[i][1] for i in positions]

    def get(self, name: str) -> str | None:
        """The combined value, as Fetch's "get a header" and Chromium's
        `GetNormalizedHeader` see it: values trimmed and joined with ", "."""
        positions = (self._layout or self.layout).get(name.lower())
        if positions is None:
            return None
        fields = self.fields
        if len(positions) == 1:
            return _strip_http_whitespace(fields[positions[0]][1])
        return ", ".join([_strip_http_whitespace(fields[i][1]) for i in positions])

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name.lower() in self.layout

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def names(self) -> list[str]:
        return [k for k, _ in self.fields]


T = TypeVar("T")


class Layout(dict[str, tuple[int, ...]]):
    """Lower-cased name -> positions of its fields, for one sequence of names as sent.
    What follows from the names alone (which headers script may read, which fields say
    nothing about the stack) is worked out once per layout, with `derive`."""

    __slots__ = ("_derived", "names")

    LIMIT = 65_536
    """Distinct name sequences kept at once; past it the cache starts over, which costs
    time, never correctness."""
    _known: ClassVar[dict[tuple[str, ...], Layout]] = {}

    def __init__(self, names: tuple[str, ...]) -> None:
        found: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            found.setdefault(name.lower(), []).append(i)
        super().__init__((name, tuple(at)) for name, at in found.items())
        self.names = names
        self._derived: dict[Callable[[tuple[str, ...]], Any], Any] = {}

    @classmethod
    def of(cls, names: tuple[str, ...]) -> Layout:
        layout = cls._known.get(names)
        if layout is None:
            if len(cls._known) >= cls.LIMIT:
                cls._known.clear()
            layout = cls._known[names] = cls(names)
        return layout

    def derive(self, compute: Callable[[tuple[str, ...]], T]) -> T:
        """`compute(names)`, remembered with this layout."""
        derived = self._derived
        if compute in derived:
            return derived[compute]
        value = derived[compute] = compute(self.names)
        return value


_OBS_FOLD = re.compile(r"\r?\n[ \t]+")


def _strip_http_whitespace(value: str) -> str:
    if "\n" in value:
        # An obs-fold continuation line, which mitmproxy keeps as "\r\n " in the value:
        # Chromium joins it with a single space (net/http/http_util.cc AssembleRawHeaders;
        # measured, Chromium 156: `Access-Control-Allow-Origin` folded before its port is
        # reported as "http://host: port").
        value = _OBS_FOLD.sub(" ", value)
    return value.strip(" \t\r\n")


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: Headers = Headers()
    http_version: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Headers = Headers()
    reason: str = ""
    http_version: str | None = None
    body_excerpt: str | None = None
    """The first KiB of small preflight and error bodies, where the capture kept it."""
    made_by_proxy: bool = False
    """True when the proxy itself produced this response (e.g. mitmproxy's 502)."""
    sniffed: str | None = None
    """What Opaque Response Blocking's sniffers make of the body's first KiB (`analysis.orb`
    `Sniffed`), kept only where ORB could reach its sniffing step; None: not kept."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One request on the wire and what came back: a response, an error, or both."""

    request: Request
    response: Response | None = None
    error: str | None = None
    """Why no (usable) response arrived: connection refused, TLS refused, timeout…"""
    started: float | None = None
    """Epoch seconds."""
    duration_ms: float | None = None
    server_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Preflight:
    """The CORS-preflight fetch that guarded one step, or a note that it came from the
    browser's preflight cache (`transaction is None and cached`)."""

    transaction: Transaction | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One URL of a (possibly redirected) fetch: the preflight sent for it, if any, and the
    actual request with its response. `actual` is None when a failed preflight stopped the
    fetch, or when the capture holds only the preflight."""

    url: str
    preflight: Preflight | None = None
    actual: Transaction | None = None
    stored: Response | None = None
    """When `actual` is a 304 to the browser's HTTP cache revalidating: the stored response
    it revalidated, where the capture saw it arrive (same URL, validator and cache
    partition). The browser checks that response with the 304's headers put in. When
    `actual` is a GET the browser failed with no answer (a browser's HAR): the fresh copy
    its HTTP cache held for it, which is what the browser checked."""


@dataclass(frozen=True, slots=True)
class BrowserVerdict:
    """What the browser itself decided, where a capture recorded it."""

    blocked: bool
    reason: str | None = None
    failed_parameter: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What the wire does not always show. Readers fill what they know; None = unknown."""

    page_origin: str | None = None
    page_url: str | None = None
    mode: str | None = None
    credentials: str | None = None
    source: str | None = None
    browser: BrowserVerdict | None = None
    resource_type: str | None = None
    """Chrome's `_resourceType` style: fetch, xhr, script, font, image, stylesheet…"""
    redirect_mode: str | None = None
    browser_error: str | None = None
    """The browser's own network error string, e.g. Chrome HAR's `_error: net::ERR_FAILED`."""
    worker_response_type: str | None = None
    """When a service worker answered: the `Response.type` it handed over (opaque, cors…)."""
    worker_failure: str | None = None
    """Why the browser refused the worker's answer, as the addon's agent names it
    (`opaque-response-for-cors-request`, `redirected-response`, …)."""
    page_address: str | None = None
    """The IP address the page's own document came from, where the capture recorded it
    (a HAR's `serverIPAddress`): it places a page served under a name in an address space."""
    via_proxy: bool = False
    """The browser sent it through a proxy (a flow file, the addon's capture). Chromium then
    cannot place the server's address and never applies Local Network Access (measured)."""
    header_names: tuple[str, ...] | None = None
    """The names of the headers the script set, lower-cased, in the order it set them (the
    page probe's record): safelisted ones too, which the wire never shows when a preflight
    fails, yet which decide the order Chromium checks the others in."""
    integrity: bool = False
    """The fetch carried integrity metadata (the page probe's record): the wire never shows
    it, yet Fetch fails an answer with no body to hash (an opaque redirect) because of it."""
    from_worker: bool = False
    """A dedicated or shared worker made the call (the page probe's record): Blink adds no
    UA client hints to a worker's requests, which decides the order Chromium checks their
    headers in."""
    embedder_policy: str | None = None
    """The Cross-Origin-Embedder-Policy (`require-corp`, `credentialless`) of the page's
    document, where the capture holds the document of the page's origin loaded last before
    the request and the page is a secure context (Chromium ignores it elsewhere)."""
    never_sent: bool = False
    """The capture shows the browser failed the last request before sending it: an export
    that keeps the answer of every request it logged with its preflight (Chrome DevTools'
    HAR, for a page's or a frame's or a service worker's own) has none."""
    finished: bool = False
    """The browser's own record says its load of the final answer did not fail: an export
    that writes the network error of every request it logged (Chrome DevTools' or
    Playwright's HAR) wrote none for it."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One browser-level fetch across origins: preflights, redirect hops, the final answer."""

    id: str
    steps: tuple[Step, ...]
    context: Context = field(default_factory=Context)
    origin_file: str | None = None
    """Which input file it came from, for messages."""

    @property
    def first(self) -> Step:
        return self.steps[0]

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def method(self) -> str:
        step = self.first
        if step.actual is not None:
            return step.actual.request.method
        if step.preflight and step.preflight.transaction:
            acrm = step.preflight.transaction.request.headers.get("access-control-request-method")
            if acrm:
                return acrm
        return "GET"

    @property
    def url(self) -> str:
        return self.first.url

    @property
    def final_url(self) -> str:
        return self.last.url

    @property
    def started(self) -> float | None:
        for step in self.steps:
            for tx in (step.preflight.transaction if step.preflight else None, step.actual):
                if tx is not None and tx.started is not None:
                    return tx.started
        return None

    def transactions(self) -> Iterator[Transaction]:
        for step in self.steps:
            if step.preflight is not None and step.preflight.transaction is not None:
                yield step.preflight.transaction
            if step.actual is not None:
                yield step.actual


# --- Origins (URL Standard "origin" and its ASCII serialization) -------------------------


def origin_of(url: str) -> str | None:
    """ASCII serialization of a URL's origin, or None for opaque origins / unparsable URLs."""
    # Only scheme://authority decides the origin, and that part repeats where whole URLs
    # (ids, queries) do not; `urlsplit` ends the authority at the first "/", "?" or "#".
    start = url.find("://")
    if start > 0:
        end = len(url)
        for mark in "/?#":
            # Bounded by the earliest mark so far: a long path is not scanned three times.
            at = url.find(mark, start + 3, end)
            if at != -1:
                end = at
        url = url[:end]
    return _origin_of(url)


@lru_cache(maxsize=65_536)
def _origin_of(url: str) -> str | None:
    # Keyed by scheme://authority: a crawl through tens of thousands of API origins
    # asks for each several times, past a smaller cache's reach.
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def same_origin(a: str | None, b: str | None) -> bool:
    """Same origin, for two URLs or serialized origins. Opaque (None/'null') is never same."""
    if not a or not b or a == "null" or b == "null":
        return False
    origin = origin_of(a)
    return origin is not None and origin == origin_of(b)


def scheme_of(url: str) -> str:
    head, sep, _ = url.partition(":")
    return head.lower() if sep else ""
