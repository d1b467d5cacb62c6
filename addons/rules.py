"""Which flows the addon records: cross-origin fetches, preflights and their redirect hops.

Runs on every flow the proxy sees. mitmproxy's `headers.get` re-encodes the name and scans
every field per call, so the few headers that matter are picked out in one pass over the
raw fields instead; traffic that is not CORS leaves after that pass.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import urljoin

from analysis.model import origin_of

RESERVED_PREFIX = "/__corscope__/"
"""Paths the probe talks to on the page's own origin; never recorded, never forwarded."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECT_TARGETS = 4096

WATCHED = frozenset(
    {
        b"origin",
        b"sec-fetch-mode",
        b"sec-fetch-site",
        b"sec-fetch-dest",
        b"access-control-request-method",
        b"accept",
        b"service-worker",
        b"content-type",
        b"content-length",
        b"content-disposition",
        b"content-security-policy",
        b"referer",
        b"sec-purpose",
    }
)

Facts = dict[bytes, bytes]


def pick(fields: Iterable[tuple[bytes, bytes]], names: frozenset[bytes] = WATCHED) -> Facts:
    """The first value of each watched header, keyed by lower-case name."""
    found: Facts = {}
    for name, value in fields:
        key = name.lower()
        if key in names and key not in found:
            found[key] = value
    return found


def is_cors_relevant(method: str, facts: Facts, url: Callable[[], str]) -> bool:
    """True for a request a CORS check applies to, or that tells about one. `facts` comes
    from `pick`; `url` is only called when the Origin header has to be compared."""
    mode = facts.get(b"sec-fetch-mode")
    if mode == b"cors":
        return True
    site = facts.get(b"sec-fetch-site")
    # "none" is a navigation the user started (typed URL, bookmark): nobody's origin.
    if site is not None and site not in (b"same-origin", b"none"):
        return True
    if method == "OPTIONS" and b"access-control-request-method" in facts:
        return True
    origin = facts.get(b"origin")
    if origin is not None:
        text = origin.decode("latin-1").strip()
        return text == "null" or origin_of(url()) != origin_of(text)
    referer = facts.get(b"referer")
    if site is None and referer is not None and not _asks_for_a_document(facts):
        # Chromium sends Fetch Metadata only to potentially trustworthy URLs, and no Origin
        # with a no-cors GET: an image or script an http page loads from a named http host
        # says where it came from only in its Referer, the page's URL or origin.
        return origin_of(url()) != origin_of(referer.decode("latin-1").strip())
    return False


def _asks_for_a_document(facts: Facts) -> bool:
    """A navigation (a link, a frame) names the page it left in its Referer too; it asks
    for HTML first, which no subresource does but a `<link rel=prefetch>`, which says it
    is one (`Sec-Purpose: prefetch`, measured: Chromium 156 sends a navigation's Accept)."""
    if b"sec-purpose" in facts:
        return False
    return facts.get(b"accept", b"").lstrip().lower().startswith(b"text/html")


_EMBEDDER_POLICY = frozenset({b"cross-origin-embedder-policy"})


class EmbedderPolicies:
    """Which documents (pages, frames) the analysis needs: one that answered with
    Cross-Origin-Embedder-Policy, whose no-cors loads then need Cross-Origin-Resource-Policy,
    and every later document of an origin that did, which may have dropped it (the
    analysis takes the policy of the origin's document loaded last). Only documents with
    Fetch Metadata: the policy counts in secure contexts alone, which are the URLs Chromium
    sends it to."""

    def __init__(self) -> None:
        self._origins: set[str | None] = set()

    def needed(
        self, facts: Facts, response: Iterable[tuple[bytes, bytes]] | None, url: Callable[[], str]
    ) -> bool:
        if response is None or facts.get(b"sec-fetch-dest") not in (b"document", b"iframe"):
            return False
        if pick(response, _EMBEDDER_POLICY):
            self._origins.add(origin_of(url()))
            return True
        return bool(self._origins) and origin_of(url()) in self._origins


def refused_as_same_origin(
    facts: Facts, status: int, location: Callable[[], str | None], url: Callable[[], str]
) -> bool:
    """A mode: 'same-origin' request its server redirected to another origin: the browser
    refuses to follow (measured: Chromium cancels it, and the page's fetch fails), so this
    same-origin hop is where a cross-origin failure happened. `location` and `url` are only
    called for such a request's redirect: this runs on every flow the proxy sees."""
    if facts.get(b"sec-fetch-mode") != b"same-origin" or status not in _REDIRECT_STATUSES:
        return False
    target = location()
    if not target:
        return False
    here = url()
    try:
        target = urljoin(here, target.strip())
    except ValueError:
        return False
    return origin_of(target) != origin_of(here)


class RedirectTargets:
    """Locations that recorded 3xx responses pointed to, so the next hop of a chain is
    recorded even when its own headers look same-origin (a hop back to the page's origin)."""

    def __init__(self, limit: int = _MAX_REDIRECT_TARGETS) -> None:
        self._targets: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def note(self, status: int, location: str | None, base_url: str) -> None:
        if status not in _REDIRECT_STATUSES or not location:
            return
        try:
            target = urljoin(base_url, location.strip()).split("#", 1)[0]
        except ValueError:
            return
        self._targets[target] = None
        self._targets.move_to_end(target)
        while len(self._targets) > self._limit:
            self._targets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._targets)

    def take(self, url: str) -> bool:
        """True (once) when `url` is where a recorded redirect led."""
        if not self._targets:
            return False
        return self._targets.pop(url.split("#", 1)[0], 0) is None
