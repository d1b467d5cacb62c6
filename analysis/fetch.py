"""Rules the Fetch standard defines on methods and headers, as pure functions.

Standard library only. Each function cites the section of https://fetch.spec.whatwg.org/
it implements; where Chromium deviates, the Chromium behaviour wins (the browser is the judge).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from functools import lru_cache

from analysis.model import Headers

# §2.2.1 "CORS-safelisted method".
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})

# §2.2.1 "normalize a method": only these are upper-cased; anything else keeps its case.
NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})

# §2.2.2 "forbidden request-header" names. Chromium also forbids User-Agent.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "access-control-request-private-network",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "user-agent",
    }
)
_METHOD_OVERRIDE_HEADERS = frozenset(
    {"x-http-method", "x-http-method-override", "x-method-override"}
)

# Headers a browser adds on its own to a CORS request; script never set them, so they never
# make a request "unsafe". Only needed when the preflight that lists the script's headers is
# not in the capture.
BROWSER_ADDED_HEADERS = frozenset(
    {
        "accept-language",
        "cache-control",
        "pragma",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "priority",
        "purpose",
        "upgrade-insecure-requests",
        "x-client-data",
        "proxy-connection",
        "device-memory",
        "dpr",
        "width",
        "viewport-width",
        "rtt",
        "downlink",
        "ect",
        "save-data",
        "intervention",
        "service-worker",
    }
)

# §2.2.2 "CORS-unsafe request-header byte".
_UNSAFE_BYTES = frozenset(b'"():<>?@[\\]{}\x7f') | (frozenset(range(0x20)) - {0x09})

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

# §3.2.3 "CORS-safelisted response-header name".
SAFELISTED_RESPONSE_HEADERS = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


REVALIDATION_HEADERS = ("if-none-match", "if-modified-since")
"""What an HTTP cache sends to revalidate a stored response; a 304 answers nothing else."""


def is_conditional(headers: Headers) -> bool:
    """The request asked a conditional question (a validator): without one, a 304 is the
    server's own answer, a response like any other."""
    return any(name in headers for name in REVALIDATION_HEADERS)


_CREDENTIAL_SIGNS = ("cookie", "sec-fetch-storage-access")


def carries_credentials(headers: Container[str]) -> bool:
    """The wire's own sign that a request went with credentials: cookies, or Chromium's
    `Sec-Fetch-Storage-Access` (version 133 on). `headers` answer `in` by lower-case name."""
    return any(name in headers for name in _CREDENTIAL_SIGNS)


def is_event_stream_accept(accept: str | None) -> bool:
    """The `Accept` an EventSource always sends (HTML §9.2): how its request is told apart."""
    return accept is not None and accept.strip().lower() == "text/event-stream"


def is_safelisted_method(method: str) -> bool:
    # Byte-exact after normalization: `fetch(u, {method: 'patch'})` sends "patch".
    return method in SAFELISTED_METHODS


def is_token(value: str) -> bool:
    return bool(_TOKEN_RE.match(value))


def is_forbidden_request_header(name: str, value: str = "") -> bool:
    """§2.2.2 forbidden request-header, with Chromium's addition of User-Agent."""
    lower = name.lower()
    if lower in FORBIDDEN_REQUEST_HEADERS:
        return True
    if lower.startswith(("proxy-", "sec-")):
        return True
    if lower in _METHOD_OVERRIDE_HEADERS:
        methods = {m.strip().upper() for m in value.split(",")}
        return bool(methods & {"CONNECT", "TRACE", "TRACK"})
    return False


def _has_unsafe_byte(value: str) -> bool:
    return any(ord(ch) in _UNSAFE_BYTES for ch in value)


def _is_safelisted_content_type(value: str) -> bool:
    if _has_unsafe_byte(value):
        return False
    essence = _mime_essence(value)
    return essence in {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def _mime_essence(value: str) -> str | None:
    """MIME Sniffing "parse a MIME type", reduced to what safelisting needs: the essence."""
    head = value.split(";", 1)[0].strip(" \t\r\n")
    type_, sep, subtype = head.partition("/")
    subtype = subtype.rstrip(" \t\r\n")
    if not sep or not type_ or not subtype or not is_token(type_) or not is_token(subtype):
        return None
    return f"{type_.lower()}/{subtype.lower()}"


_RANGE_RE = re.compile(r"^bytes=([0-9]+)-([0-9]*)$")
_RANGE_POSITION_LIMIT = 2**63 - 1
"""Measured, Chromium 156: a position of 2^63 - 1 or more makes the Range unsafe (2^63 - 2
is still safelisted), though the spec reads any number of digits."""


def _is_safelisted_range(value: str) -> bool:
    # §2.2.2 "simple range header value": one `bytes=N-` or `bytes=N-M`, no whitespace, the
    # unit byte-for-byte (Chromium 156 preflights `BYTES=0-` and `bytes=+5-`, measured).
    match = _RANGE_RE.match(value)
    if not match:
        return False
    start, end = match.groups()
    if int(start) >= _RANGE_POSITION_LIMIT or (end and int(end) >= _RANGE_POSITION_LIMIT):
        return False
    return not end or int(start) <= int(end)


def _is_double(value: str) -> bool:
    # cors.cc `IsSimilarToDoubleABNF`: 1*DIGIT [ "." 1*DIGIT ].
    return re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", value) is not None


def _is_int(value: str) -> bool:
    # cors.cc `IsSimilarToIntABNF`: 1*DIGIT.
    return re.fullmatch(r"[0-9]+", value) is not None


_CLIENT_HINT_VALUES: dict[str, Callable[[str], bool]] = {
    "device-memory": _is_double,
    "dpr": _is_double,
    "downlink": _is_double,
    "width": _is_int,
    "viewport-width": _is_int,
    "rtt": _is_int,
    "ect": lambda value: value in ("slow-2g", "2g", "3g", "4g"),
    "save-data": lambda value: value.lower() == "on",
    "intervention": lambda value: True,
}
"""Names Chromium safelists beyond the spec's, with the value each must have (cors.cc
`IsCorsSafelistedHeader`; measured, Chromium 156): a request that sets them needs no
preflight, and their values count towards the 1024-byte total (the `sec-ch-` ones are
forbidden names anyway)."""


def byte_length(value: str) -> int:
    """The value's length in bytes on the wire. Readers keep undecodable bytes as
    surrogate escapes (one byte each); any other lone surrogate (a HAR's "\ud800") counts
    as the three bytes a lenient encoder writes."""
    try:
        return len(value.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(value.encode("utf-8", "surrogatepass"))


def is_safelisted_request_header(name: str, value: str) -> bool:
    """§2.2.2 CORS-safelisted request-header (name, value), with Chromium's additions."""
    if byte_length(value) > 128:
        return False
    lower = name.lower()
    if lower == "accept":
        return not _has_unsafe_byte(value)
    if lower in ("accept-language", "content-language"):
        return all(ch.isascii() and (ch.isalnum() or ch in " *,-.;=") for ch in value)
    if lower == "content-type":
        return _is_safelisted_content_type(value)
    if lower == "range":
        return _is_safelisted_range(value)
    check = _CLIENT_HINT_VALUES.get(lower)
    return check is not None and check(value)


def cors_unsafe_header_names(
    headers: Iterable[tuple[str, str]], *, ignore: frozenset[str] = frozenset()
) -> list[str]:
    """§2.2.2 "CORS-unsafe request-header names": lowercased, de-duplicated, sorted.

    Forbidden headers are set by the browser and never count; nor do names in `ignore`
    (headers known to be browser-added when reading a capture).
    """
    if isinstance(headers, Headers):
        # A browser sends the same header list again and again, but for values that
        # decide nothing here (a Content-Length, a token): those are left out of the key.
        return list(_cors_unsafe_of_fields(_decisive_fields(headers), ignore))
    return list(_cors_unsafe(headers, ignore))


_VALUE_DECIDES = (
    frozenset({"accept", "accept-language", "content-language", "content-type", "range"})
    | frozenset(_CLIENT_HINT_VALUES)
    | _METHOD_OVERRIDE_HEADERS
)
"""The names whose value can make their header safelisted or forbidden: the ones
`is_safelisted_request_header` and `is_forbidden_request_header` read a value of. Any
other header is skipped (forbidden) or CORS-unsafe by its name alone."""


def _decisive_fields(headers: Headers) -> tuple[tuple[str, str], ...]:
    """The fields with every value that decides nothing blanked."""
    deciding = headers.layout.derive(_values_deciding)
    return tuple(
        [
            (name, value if decides else "")
            for (name, value), decides in zip(headers.fields, deciding, strict=True)
        ]
    )


def _values_deciding(names: tuple[str, ...]) -> tuple[bool, ...]:
    return tuple(name.lower() in _VALUE_DECIDES for name in names)


@lru_cache(maxsize=4096)
def _cors_unsafe_of_fields(
    fields: tuple[tuple[str, str], ...], ignore: frozenset[str]
) -> tuple[str, ...]:
    return _cors_unsafe(fields, ignore)


def _cors_unsafe(headers: Iterable[tuple[str, str]], ignore: frozenset[str]) -> tuple[str, ...]:
    unsafe: set[str] = set()
    safelisted: set[str] = set()
    safelisted_size = 0
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(":") or lower in ignore or is_forbidden_request_header(name, value):
            continue
        if is_safelisted_request_header(name, value):
            safelisted.add(lower)
            safelisted_size += byte_length(value)
        else:
            unsafe.add(lower)
    if safelisted_size > 1024:
        unsafe |= safelisted
    return tuple(sorted(unsafe))


def announced_header_names(value: str | None) -> list[str]:
    """An `Access-Control-Request-Headers` value as the names it lists, lower-cased, in
    order (the browser sends them lower-cased, comma-separated, §4.8 step 3)."""
    return list(_announced_names(value or ""))


@lru_cache(maxsize=4096)
def _announced_names(value: str) -> tuple[str, ...]:
    # Parsed once per distinct value: a page announces the same few lists again and again.
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def parse_token_list(value: str | None) -> list[str] | None:
    """§3.2.3 extract `#token` values (Access-Control-Allow-Methods/-Headers).

    Returns [] for an absent header, None when an element is not a token (the preflight then
    fails). Empty elements are skipped, as Chromium and Firefox do.
    """
    if value is None:
        return []
    # A server answers with the same few lists again and again.
    items = _token_list(value)
    return list(items) if items is not None else None


@lru_cache(maxsize=4096)
def _token_list(value: str) -> tuple[str, ...] | None:
    items: list[str] = []
    for raw in value.split(","):
        item = raw.strip(" \t")
        if not item:
            continue
        if not is_token(item):
            return None
        items.append(item)
    return tuple(items)


def parse_max_age(value: str | None) -> int | None:
    """Chromium's strict delta-seconds parse: None when absent or not an integer."""
    if value is None:
        return None
    text = value.strip(" \t")
    if not re.fullmatch(r"-?[0-9]+", text):
        return None
    return int(text)
