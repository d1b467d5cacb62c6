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
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_SPECIAL_SCHEMES = frozenset(_DEFAULT_PORTS)
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


# --- resolving a redirect's Location --------------------------------------------------------

# URL Standard "path percent-encode set" and "special-query percent-encode set": what is
# left is kept as it came.
_PATH_ESCAPE = frozenset(' "#<>?`{}')
_QUERY_ESCAPE = frozenset(" \"#<>'")
_SINGLE_DOTS = frozenset({".", "%2e"})
_DOUBLE_DOTS = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


def resolve(base: str, reference: str) -> str | None:
    """The URL a redirect's `reference` (its Location) names from `base`, as Chromium's URL
    parser makes it for an http(s) base: leading and trailing C0 controls and spaces
    trimmed, tabs and newlines dropped, a backslash read as a slash, a missing or extra
    slash after the scheme forgiven, dot segments removed, the host percent-decoded and
    lower-cased (an IPv4 address in its dotted form), a default port dropped, and what the
    URL Standard escapes in a path or query escaped (URL Standard §4.4 basic URL parser).
    The fragment is dropped, as it never reaches the wire. None where this reading stops
    short (another scheme, a host it cannot canonicalize): the caller falls back."""
    base_parts = _split_special(base)
    if base_parts is None:
        return None
    base_scheme, base_authority, base_path = base_parts
    ref = reference.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINES)
    ref = ref.split("#", 1)[0]
    match = _SCHEME.match(ref)
    if match is not None:
        scheme = match.group(0)[:-1].lower()
        if scheme not in _SPECIAL_SCHEMES:
            return None
        rest = ref[match.end() :]
        if scheme == base_scheme and not _starts_with_two_slashes(rest):
            return _relative(scheme, base_authority, base_path, rest)
        return _absolute(scheme, rest.lstrip("/\\"))
    if _starts_with_two_slashes(ref):
        return _absolute(base_scheme, ref.lstrip("/\\"))
    return _relative(base_scheme, base_authority, base_path, ref)


def _starts_with_two_slashes(text: str) -> bool:
    return len(text) >= 2 and text[0] in "/\\" and text[1] in "/\\"


def _split_special(url: str) -> tuple[str, str, str] | None:
    """(scheme, authority, path) of a special URL written with its "//"."""
    match = _SCHEME.match(url)
    if match is None:
        return None
    scheme = match.group(0)[:-1].lower()
    rest = url[match.end() :]
    if scheme not in _SPECIAL_SCHEMES or not rest.startswith("//"):
        return None
    authority, tail = _cut_authority(rest[2:])
    return scheme, authority, tail.partition("?")[0] or "/"


def _cut_authority(rest: str) -> tuple[str, str]:
    """The authority at the start of `rest`, and what follows it."""
    end = _AUTHORITY_END.search(rest)
    return (rest, "") if end is None else (rest[: end.start()], rest[end.start() :])


def _absolute(scheme: str, rest: str) -> str | None:
    written, tail = _cut_authority(rest)
    authority = _canonical_authority(scheme, written)
    if authority is None:
        return None
    path, sep, query = tail.partition("?")
    return _serialize(scheme, authority, _path(path or "/"), query if sep else None)


def _relative(scheme: str, authority: str, base_path: str, ref: str) -> str | None:
    canonical = _canonical_authority(scheme, authority)
    if canonical is None:
        return None
    path, sep, query = ref.partition("?")
    if not path:
        return _serialize(scheme, canonical, _path(base_path), query if sep else None)
    if path[0] not in "/\\":
        path = base_path.replace("\\", "/").rsplit("/", 1)[0] + "/" + path
    return _serialize(scheme, canonical, _path(path), query if sep else None)


def _canonical_authority(scheme: str, authority: str) -> str | None:
    userinfo, at, host_port = authority.rpartition("@")
    if host_port.startswith("["):
        return None  # IPv6 literals: left to the fallback
    host, colon, port = host_port.partition(":")
    if not host or not _is_valid_domain(host):
        return None
    try:
        domain = unquote_to_bytes(host).decode("utf-8").lower()
    except UnicodeError:
        return None
    if not domain.isascii():
        return None  # IDNA: left to the fallback
    if _ends_in_a_number(domain):
        labels = _labels(domain)
        numbers = [_ipv4_number(label) for label in labels]
        if None in numbers:
            return None
        value = 0
        for n in numbers[:-1]:
            value = value * 256 + (n or 0)
        value = value * 256 ** (5 - len(numbers)) + (numbers[-1] or 0)
        domain = ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))
    if colon:
        if not _is_valid_port(port):
            return None
        port = "" if not port or int(port) == _DEFAULT_PORTS[scheme] else str(int(port))
    return f"{userinfo}{at}{domain}" + (f":{port}" if port else "")


def _path(path: str) -> str:
    out: list[str] = []
    segments = path.replace("\\", "/").split("/")[1:]
    for i, raw in enumerate(segments):
        segment = _escape(raw, _PATH_ESCAPE)
        lowered = segment.lower()
        last = i == len(segments) - 1
        if lowered in _DOUBLE_DOTS:
            if out:
                out.pop()
            if last:
                out.append("")
        elif lowered in _SINGLE_DOTS:
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _escape(text: str, escaped: frozenset[str]) -> str:
    if text.isascii() and not any(ch in escaped or ord(ch) < 0x20 or ch == "\x7f" for ch in text):
        return text
    out = []
    for ch in text:
        if ch.isascii() and ch not in escaped and 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
            continue
        # A byte the reader kept as a surrogate escape goes out as that byte.
        data = ch.encode("utf-8", "surrogateescape")
        out.append("".join(f"%{b:02X}" for b in data))
    return "".join(out)


def _serialize(scheme: str, authority: str, path: str, query: str | None) -> str:
    url = f"{scheme}://{authority}{path}"
    if query is not None:
        url += "?" + _escape(query, _QUERY_ESCAPE)
    return url
