"""URL origins for display, cheap enough to ask for once per exchange at a million exchanges.

`analysis.model.origin_of` parses the whole URL; the origin only depends on the scheme and
authority, which repeat across a session, so those are split off by hand and cached.
"""

from __future__ import annotations

from functools import lru_cache

from analysis.model import origin_of


def split(url: str) -> tuple[str, str]:
    """`https://api.test:8443` and `/path?query#fragment`, byte for byte."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return "", url
    cut = len(url)
    for mark in "/?#":
        found = url.find(mark, scheme_end + 3)
        if found >= 0:
            cut = min(cut, found)
    return url[:cut], url[cut:]


def origin(url: str) -> str | None:
    prefix, _ = split(url)
    return _origin(prefix) if prefix else origin_of(url)


@lru_cache(maxsize=16384)
def _origin(prefix: str) -> str | None:
    return origin_of(prefix)
