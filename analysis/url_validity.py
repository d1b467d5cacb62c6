"""Would Chromium's URL parser (GURL) accept a header value as a URL?

Chromium names a wrong `Access-Control-Allow-Origin` `InvalidAllowOriginValue` when GURL
rejects it and `AllowOriginMismatch` when it parses, so the error name follows the URL
Standard's host parser as Chromium applies it. Measured in the lab against Chromium 156
(146 values in all):
- percent-escapes in a host are decoded first (`127.0.0.%31` parses, `127.0.0.1%2F` does
  not); tabs and newlines anywhere are dropped;
- a host whose last label is a number must be an IPv4 address (`127.0.0.300` and
  `1.2.3.4.5` do not parse);
- ASCII labels are not checked as punycode (`xn--a.test` parses), but a non-ASCII host goes
  through UTS #46 "domain to ASCII" label by label: empty and over-long labels pass, ZWJ
  and ZWNJ must follow a virama, a code point that maps to a full stop (`⒈`) and a label
  that begins with a combining mark fail, and an `xn--` label beside Unicode ones must be
  valid punycode. Python's IDNA 2003 codec does the mapping; the rules UTS #46 adds are
  checked around it;
- `file:` hosts follow the same rules; other schemes with `//` take an opaque host (no
  forbidden host code point), a valid bracketed IPv6 and a port up to 65535.
Standard library only.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from encodings import idna as _idna2003
from urllib.parse import unquote_to_bytes

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINES = str.maketrans("", "", "\t\n\r")
_AUTHORITY_END = re.compile(r"[/\\?#]")
_NON_SPECIAL_AUTHORITY_END = re.compile(r"[/?#]")
# URL Standard "forbidden domain code point": forbidden host code points, C0 controls,
# % and DEL.
_FORBIDDEN_IN_DOMAIN = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(map(chr, range(0x20)))
_FORBIDDEN_IN_HOST = frozenset("\x00\t\n\r #/:<>?@[\\]^|")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_JOINERS = "\u200c\u200d"
_DIGITS = {
    10: frozenset("0123456789"),
    8: frozenset("01234567"),
    16: frozenset("0123456789abcdefABCDEF"),
}


def is_valid_url(value: str) -> bool:
    """Whether GURL parses `value` on its own (no base URL)."""
    value = value.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINES)
    match = _SCHEME.match(value)
    if match is None:
        return False
    # URL Standard "basic URL parser", first steps.
    scheme = match.group(0)[:-1].lower()
    after = value[match.end() :]
    if scheme == "file":
        return _is_valid_file(after)
    if scheme not in _SPECIAL_SCHEMES:
        return _is_valid_non_special(after)
    rest = after.lstrip("/\\")
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
    return _is_valid_port(port)


def _is_valid_port(port: str) -> bool:
    return not port or (port.isascii() and port.isdigit() and int(port) <= 65535)


def _is_valid_file(after: str) -> bool:
    if len(after) < 2 or after[0] not in "/\\" or after[1] not in "/\\":
        return True  # file:path, file:/path: no host
    host = _AUTHORITY_END.split(after[2:], maxsplit=1)[0]
    if not host:
        return True
    if host.startswith("["):
        return host.endswith("]") and _is_ipv6(host[1:-1])
    return _is_valid_domain(host)


def _is_valid_non_special(after: str) -> bool:
    if not after.startswith("//"):
        return True  # an opaque path takes any text
    authority = _NON_SPECIAL_AUTHORITY_END.split(after[2:], maxsplit=1)[0]
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        host, bracket, port = host_port[1:].partition("]")
        if not bracket or not _is_ipv6(host) or (port and not port.startswith(":")):
            return False
        return _is_valid_port(port[1:])
    host, _, port = host_port.partition(":")
    if any(ch in _FORBIDDEN_IN_HOST for ch in host):
        return False
    return _is_valid_port(port)


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
        domain = unquote_to_bytes(host).decode("utf-8")
    except UnicodeError:
        # Encoding fails on a lone surrogate (a HAR's "\ud800"): no UTF-8 holds it.
        return False
    if not domain.isascii():
        domain = _domain_to_ascii(domain)
        if domain is None:
            return False
    if not domain or any(ch in _FORBIDDEN_IN_DOMAIN for ch in domain):
        return False
    return not _ends_in_a_number(domain) or _is_ipv4(domain)


def _domain_to_ascii(domain: str) -> str | None:
    """UTS #46 ToASCII as the URL Standard runs it (approximation, see module doc)."""
    out = []
    for label in _DOTS.split(domain):
        if label.isascii():
            lowered = label.lower()
            if lowered.startswith("xn--") and _punycode_label(lowered) is None:
                return None
            out.append(lowered)
            continue
        mapped = _map_label(label)
        if mapped is None:
            return None
        if mapped.isascii():
            out.append(mapped)
            continue
        try:
            out.append("xn--" + mapped.encode("punycode").decode("ascii"))
        except UnicodeError:
            return None
    return ".".join(out)


def _map_label(label: str) -> str | None:
    # Keep the joiners (nontransitional), which IDNA 2003's nameprep maps to nothing.
    try:
        mapped = "".join(
            piece if piece in _JOINERS else _idna2003.nameprep(piece)
            for piece in re.split(f"([{_JOINERS}])", label)
            if piece
        )
    except UnicodeError:
        return None  # prohibited code point or bidi violation
    if "." in mapped:
        return None  # UTS #46 disallows code points that map to a full stop
    if mapped and unicodedata.category(mapped[0]).startswith("M"):
        return None
    for i, ch in enumerate(mapped):
        if ch in _JOINERS and (i == 0 or unicodedata.combining(mapped[i - 1]) != 9):
            return None  # CONTEXTJ (the ZWNJ joining-type rule needs data stdlib lacks)
    return mapped


def _punycode_label(label: str) -> str | None:
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return None
    if not decoded or decoded.isascii():
        return None
    try:
        if _map_label(decoded) != decoded:
            return None
    except UnicodeError:
        return None
    return decoded


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
