"""URL origins for display, cheap enough to ask for once per exchange at a million exchanges.

`analysis.model.origin_of` parses the whole URL; the origin only depends on the scheme and
authority, which repeat across a session, so those are split off by hand and cached.
"""

from __future__ import annotations

import re
from functools import lru_cache

from analysis.model import Exchange, origin_of
from analysis.verdict import page_origin, unplaced_site

# Up to the first "://", then the authority: one C-level match per URL.
_PREFIX = re.compile(r"(?s).*?://[^/?#]*")


def split(url: str) -> tuple[str, str]:
    """`https://api.test:8443` and `/path?query#fragment`, byte for byte."""
    found = _PREFIX.match(url)
    if found is None:
        return "", url
    cut = found.end()
    return url[:cut], url[cut:]


def origin(url: str) -> str | None:
    prefix, _ = split(url)
    return _origin(prefix) if prefix else origin_of(url)


@lru_cache(maxsize=16384)
def _origin(prefix: str) -> str | None:
    return origin_of(prefix)


def page(exchange: Exchange) -> str | None:
    """The page to show for an exchange: its origin, else, for a load that named no page (no
    Origin, no Referer), what its Sec-Fetch-Site says of it; None when nothing does."""
    found = page_origin(exchange)
    if found is not None:
        return found
    site = unplaced_site(exchange)
    return None if site is None else f"a {site} page (no Origin or Referer sent)"
