"""Would Chromium's URL parser (GURL) accept a header value as a URL?

Chromium names a wrong `Access-Control-Allow-Origin` `InvalidAllowOriginValue` when GURL
rejects it and `AllowOriginMismatch` when it parses, so the error name follows the URL
Standard's host parser as Chromium applies it. Measured in the lab against Chromium:
percent-escapes in a host are decoded first (`127.0.0.%31` parses, `127.0.0.1%2F` does
not); tabs and newlines anywhere are dropped; a host whose last label is a number must be
an IPv4 address (`127.0.0.300` and `1.2.3.4.5` do not parse); ASCII labels are not checked
as punycode (`xn--a.test` parses). Standard library only.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINES = str.maketrans("", "", "\t\n\r")
_AUTHORITY_END = re.compile(r"[/\\?#]")
# URL Standard "forbidden domain code point": forbidden host code points, C0 controls,
# % and DEL.
_FORBIDDEN_IN_DOMAIN = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(map(chr, range(0x20)))
_DIGITS = {
    10: frozenset("0123456789"),
    8: frozenset("01234567"),
    16: frozenset("0123456789abcdefABCDEF"),
}


def is_valid_url(value: str) -> bool:
    """Whether GURL parses `value` on its own (no base URL)."""
    # URL Standard "basic URL parser", first steps.
    value = value.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINES)
    match = _SCHEME.match(value)
    if match is None:
        return False
    if match.group(0)[:-1].lower() not in _SPECIAL_SCHEMES:
        return True  # any other scheme takes any text after it
    rest = value[match.end() :].lstrip("/\\")
    authority = _AUTHORITY_END.split(rest, maxsplit=1)[0]
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        host, bracket, port = host_port[1:].partition("]")
        if not bracket or not _is_ipv6(host) or (port and not port.startswith(":")):
            return False
        port = port[1:]
    else:
        host, _, port = host_port.partition(":")
        if not _is_valid_domain(host):
            return False
    return not port or (port.isascii() and port.isdigit() and int(port) <= 65535)


def _is_ipv6(text: str) -> bool:
    if "%" in text:
        return False  # a zone id: Python's parser takes it, the URL Standard does not
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_valid_domain(host: str) -> bool:
    """URL Standard host parser for special URLs, as Chromium runs it."""
    try:
        # Encoding fails on a lone surrogate (a HAR's "\ud800"): no UTF-8 holds it.
        domain = unquote_to_bytes(host).decode("utf-8")
    except UnicodeError:
        return False
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    if not domain or any(ch in _FORBIDDEN_IN_DOMAIN for ch in domain):
        return False
    return not _ends_in_a_number(domain) or _is_ipv4(domain)


def _labels(domain: str) -> list[str]:
    labels = domain.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()  # one trailing dot
    return labels


def _ends_in_a_number(domain: str) -> bool:
    last = _labels(domain)[-1]
    return bool(last) and (set(last) <= _DIGITS[10] or _ipv4_number(last) is not None)


def _is_ipv4(domain: str) -> bool:
    labels = _labels(domain)
    if len(labels) > 4:
        return False
    numbers = [_ipv4_number(label) for label in labels]
    if None in numbers:
        return False
    *leading, last = numbers
    assert last is not None
    return all(n is not None and n <= 255 for n in leading) and last < 256 ** (5 - len(numbers))


def _ipv4_number(text: str) -> int | None:
    """URL Standard "IPv4 number parser": decimal, 0x-hex or 0-octal."""
    if not text:
        return None
    radix = 10
    if text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    elif len(text) > 1 and text[0] == "0":
        text, radix = text[1:], 8
    if not text:
        return 0
    if not set(text) <= _DIGITS[radix]:
        return None
    return int(text, radix)
