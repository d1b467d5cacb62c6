"""Where a response came from: the network, a CDN's cache, the browser's cache, a worker.

The capture's own word (the page probe, Chrome's `_fromCache`) wins; otherwise the cache
signals CDNs and reverse proxies add to responses tell a shared-cache hit. Standard library only.
"""

from __future__ import annotations

from analysis.model import SOURCES, Exchange, Headers

# Response headers through which shared caches report a hit, and the values that mean one.
_HIT_HEADERS: dict[str, tuple[str, ...]] = {
    "x-cache": ("hit",),
    "cf-cache-status": ("hit", "stale", "revalidated", "updating"),
    "x-cache-status": ("hit", "stale", "revalidated", "updating"),
    "x-proxy-cache": ("hit",),
    "cdn-cache": ("hit",),
    "x-drupal-cache": ("hit",),
    "x-vercel-cache": ("hit", "stale", "prerender"),
    "x-nf-cache-status": ("hit",),
}
CACHE_SIGNAL_HEADERS = (
    "age",
    "x-cache",
    "cf-cache-status",
    "x-served-by",
    "via",
    "x-amz-cf-pop",
    "akamai-cache-status",
    "x-cache-status",
    "x-cache-hits",
    "x-varnish",
    "x-proxy-cache",
    "cdn-cache",
    "x-vercel-cache",
)


_HIT_SIGNALS = frozenset({"age", "akamai-cache-status", *_HIT_HEADERS})


def is_shared_cache_hit(headers: Headers) -> bool:
    # Only the names present are looked at: this runs on every response of every exchange.
    for lower in _HIT_SIGNALS.intersection(headers.layout):
        for value in headers.get_all(lower):
            if lower == "age":
                age = value.split(",")[0].strip()
                if age.isdigit() and int(age) > 0:
                    return True
            elif lower == "akamai-cache-status":
                if value.strip().lower().startswith("hit"):
                    return True
            # "HIT, MISS" (Fastly shield, then edge) still means the edge answered from cache.
            elif any(t.strip().startswith(_HIT_HEADERS[lower]) for t in value.lower().split(",")):
                return True
    return False


def response_source(exchange: Exchange) -> str:
    hinted = exchange.context.source
    if hinted in SOURCES:
        return hinted
    final = exchange.last.actual
    if final is not None and final.response is not None:
        if is_shared_cache_hit(final.response.headers):
            return "cdn-cache"
    if final is not None and final.response is None and exchange.last.stored is not None:
        return "http-cache"  # failed without an answer: the browser cache's copy (Step.stored)
    return "network"
