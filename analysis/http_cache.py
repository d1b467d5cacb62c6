"""What Chromium's HTTP cache keeps of a response, and what it hands the page after a 304.

The CORS check on a revalidated response reads the stored copy with the 304's headers put
in, so corscope needs both halves (measured in the lab against Chromium 156; the names
follow `net/http/http_response_headers.cc`). Standard library only: the engine uses it.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Literal

from analysis import sites
from analysis.model import Headers, Response

VALIDATED_BY = {"if-none-match": "etag", "if-modified-since": "last-modified"}
"""The stored header each revalidation request header repeats."""

_NOT_UPDATED = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "www-authenticate",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-location",
        "content-md5",
        "etag",
        "content-encoding",
        "content-range",
        "content-type",
        "content-length",
        "x-frame-options",
        "x-xss-protection",
    }
)
"""`kNonUpdatedHeaders`: kept from the stored response whatever a 304 says (measured: after
a 304 with another ETag, Chromium goes on revalidating with the stored one)."""
_NOT_UPDATED_PREFIXES = ("x-content-", "x-webkit-")
_NO_CACHE_FIELDS = 'no-cache="'


def updated(stored: Response, not_modified: Response) -> Response:
    """RFC 9111 §4.3.4 as `HttpResponseHeaders::Update` does it: each header the 304
    carries replaces every stored field of that name, except those Chromium keeps."""
    taken = [
        (name, value)
        for name, value in not_modified.headers
        if (lowered := name.lower()) not in _NOT_UPDATED
        and not lowered.startswith(_NOT_UPDATED_PREFIXES)
    ]
    replaced = {name.lower() for name, _ in taken}
    kept_fields = [(name, value) for name, value in stored.headers if name.lower() not in replaced]
    return replace(stored, headers=Headers((*taken, *kept_fields)))


def storable(response: Response) -> bool:
    """A 200 the cache keeps for revalidation: one it may store, with a validator."""
    headers = response.headers
    return not forbids_storing(response) and any(name in headers for name in VALIDATED_BY.values())


def forbids_storing(response: Response) -> bool:
    """`no-store`: the cache keeps nothing, and a 304 saying it dooms the copy (measured)."""
    return "no-store" in (response.headers.get("cache-control") or "").lower()


def kept(response: Response) -> Response:
    """The copy the cache writes (`PERSIST_SANS_NON_CACHEABLE`): without the fields a
    quoted `Cache-Control: no-cache="…"` names (measured; unquoted, the directive is
    ignored)."""
    dropped = not_stored_fields(response.headers.get_all("cache-control"))
    if not dropped:
        return response
    fields = tuple((name, value) for name, value in response.headers if name.lower() not in dropped)
    return replace(response, headers=Headers(fields))


def not_stored_fields(cache_control: list[str]) -> frozenset[str]:
    """The lower-cased header names a quoted `no-cache="…"` in these Cache-Control lines
    keeps out of the stored copy (`kept`)."""
    names: set[str] = set()
    for directive in _directives(cache_control):
        if directive[: len(_NO_CACHE_FIELDS)].lower() != _NO_CACHE_FIELDS:
            continue
        if len(directive) <= len(_NO_CACHE_FIELDS) or not directive.endswith('"'):
            continue  # malformed: no closing quote
        inside = directive[len(_NO_CACHE_FIELDS) : -1]
        names.update(n.strip().lower() for n in inside.split(",") if n.strip())
    return frozenset(names)


def plain_directives(cache_control: list[str]) -> frozenset[str]:
    """The directives given without an argument, lower-cased. Chromium looks a directive up
    as a whole list element (`HasHeaderValue`): `no-cache="Set-Cookie"` is not `no-cache`,
    it only keeps that field out of the stored copy."""
    return frozenset(d.lower() for d in _directives(cache_control) if "=" not in d)


def freshness_lifetime(response: Response) -> float | None:
    """RFC 9111 §4.2.1 for a private cache, in seconds: `max-age`, else `Expires` minus
    `Date`. None when the response must be revalidated before each use (`no-cache`,
    `no-store`) or gives no explicit lifetime: a heuristic one (§4.2.2) is the cache's own
    guess, not something a capture can show."""
    stated = _stated_lifetime(tuple(response.headers.get_all("cache-control")))
    if stated is not False:
        return stated
    expires, date = response.headers.get("expires"), response.headers.get("date")
    if expires is None or date is None:
        return None
    try:
        return (parsedate_to_datetime(expires) - parsedate_to_datetime(date)).total_seconds()
    except (TypeError, ValueError, IndexError):
        return None


@functools.lru_cache(maxsize=4096)
def _stated_lifetime(cache_control: tuple[str, ...]) -> float | Literal[False] | None:
    """What Cache-Control alone says of the lifetime: seconds, None (revalidate each time,
    or a `max-age` that does not parse), or False when it leaves it to `Expires`.
    Remembered per value: servers repeat a handful of them."""
    lines = list(cache_control)
    plain = plain_directives(lines)
    if "no-cache" in plain or "no-store" in plain:
        return None
    for directive in _directives(lines):
        name, _, value = directive.partition("=")
        if name.strip().lower() == "max-age":
            try:
                return float(int(value.strip().strip('"')))
            except ValueError:
                return None
    return False


def fresh_after(response: Response, elapsed_s: float) -> bool:
    """Whether a copy received `elapsed_s` seconds ago is still fresh (RFC 9111 §4.2:
    its lifetime is more than its current age, the `Age` it came with plus the time since)."""
    lifetime = freshness_lifetime(response)
    if lifetime is None:
        return False
    try:
        age = float(int((response.headers.get("age") or "0").strip()))
    except ValueError:
        return False
    return lifetime > age + max(elapsed_s, 0.0)


@functools.lru_cache(maxsize=4096)
def partition_site(origin: str) -> str:
    """The cache partition an origin's pages share (Chromium splits its HTTP cache by the
    top-level site): scheme and registrable domain."""
    scheme, _, host = origin.partition("://")
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if not sites.is_ip(host):
        host = sites.registrable_domain(host)
    return f"{scheme}://{host}"


def _directives(lines: list[str]) -> list[str]:
    """Cache-Control's comma-separated directives, a quoted string kept whole."""
    if len(lines) == 1:
        return list(_line_directives(lines[0]))
    return [d for line in lines for d in _line_directives(line)]


@functools.lru_cache(maxsize=4096)
def _line_directives(line: str) -> tuple[str, ...]:
    # Per line, remembered: servers repeat a handful of Cache-Control values.
    found: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            found.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    found.append("".join(current).strip())
    return tuple(d for d in found if d)
