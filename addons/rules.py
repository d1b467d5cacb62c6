"""Which flows the addon records: cross-origin fetches, preflights and their redirect hops.

Runs on every flow the proxy sees, so it looks at a handful of request headers and
nothing else; everything that is not CORS traffic leaves after a few dict lookups.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from urllib.parse import urljoin

from analysis.model import origin_of

RESERVED_PREFIX = "/__corscope__/"
"""Paths the probe talks to on the page's own origin; never recorded, never forwarded."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECT_TARGETS = 4096


def is_preflight(method: str, headers: Any) -> bool:
    return method == "OPTIONS" and "access-control-request-method" in headers


def is_cors_relevant(method: str, url: str, headers: Any) -> bool:
    """True for a request a CORS check applies to, or that tells about one.

    `headers` is mitmproxy's case-insensitive `Headers`. The order of the tests puts the
    cheap, common answers first."""
    mode = headers.get("sec-fetch-mode")
    if mode == "cors":
        return True
    site = headers.get("sec-fetch-site")
    # "none" is a navigation the user started (typed URL, bookmark): nobody's origin.
    if site is not None and site not in ("same-origin", "none"):
        return True
    if is_preflight(method, headers):
        return True
    origin = headers.get("origin")
    if origin is not None:
        return origin == "null" or origin_of(url) != origin_of(origin)
    return False


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

    def take(self, url: str) -> bool:
        """True (once) when `url` is where a recorded redirect led."""
        if not self._targets:
            return False
        return self._targets.pop(url.split("#", 1)[0], 0) is None
