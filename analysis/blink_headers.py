"""The order in which Chromium checks a request's headers against a preflight's answer.

When `Access-Control-Allow-Headers` leaves out several of a request's headers, Chromium
names one: the first its network service meets (`preflight_result.cc`
`EnsureAllowedCrossOriginHeaders` walks `cors_util.cc` `CorsUnsafeNotForbiddenRequestHeaderNames`
over the request's header vector). That vector is Blink's `HTTPHeaderMap` copied in
iteration order (`request_conversion.cc` `PopulateResourceRequest`), and that map is a WTF
hash table: its order is the order of the slots the names hash to. So the name Chromium
reports is neither the first the page set nor the first alphabetically (the preflight's
`Access-Control-Request-Headers` is sorted, which is all the wire shows).

What goes into the map, in order:
* the page's headers: fetch() adds them sorted by name (`fetch_manager.cc` copies its
  `FetchHeaderList`, a sorted multimap); an XMLHttpRequest copies its own header map, filled
  in `setRequestHeader` order (`xml_http_request.cc`), in that map's slot order;
* then Blink's own: `sec-ch-ua`, `sec-ch-ua-mobile`, `sec-ch-ua-platform` where the
  request URL is potentially trustworthy, and `user-agent` (measured on the wire).

Measured with Chromium 156: 1,400 of 1,400 failed parameters predicted (fetch and XHR, 2-6
headers from 57 names, API on a loopback address and on a name; see
`tests/analysis/test_blink_headers.py`). Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_M64 = (1 << 64) - 1
# third_party/rapidhash/rapidhash.h: the default secret and seed.
_SECRET = (0x2D358DCCAA6C78A5, 0x8BB84B93962EACC9, 0x4B33A62ED433D4A3)
_SEED = 0xBDD89AA982704029
_MIN_TABLE_SIZE = 8  # wtf/hash_table.h kMinimumTableSize

CLIENT_HINTS = ("sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform")
USER_AGENT = "user-agent"


def _mix(a: int, b: int) -> int:
    product = a * b
    return (product & _M64) ^ (product >> 64)


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def rapidhash(data: bytes, small: int | None = None) -> int:
    """`rapidhash_internal` with the default seed and secret; `small` stands in for the
    1-3 byte read, as Blink's case-folding reader supplies it for a 1-character name."""
    s, n = _SECRET, len(data)
    seed = _SEED ^ _mix(_SEED ^ s[0], s[1]) ^ n
    if n <= 16:
        if n >= 4:
            last = n - 4
            a = (_u32(data, 0) << 32) | _u32(data, last)
            delta = (n & 24) >> (n >> 3)
            b = (_u32(data, delta) << 32) | _u32(data, last - delta)
        elif n > 0:
            a = small if small is not None else (data[0] << 56) | (data[n >> 1] << 32) | data[-1]
            b = 0
        else:
            a = b = 0
    else:
        left, at = n, 0
        if left > 48:
            see1 = see2 = seed
            while left >= 48:
                seed = _mix(_u64(data, at) ^ s[0], _u64(data, at + 8) ^ seed)
                see1 = _mix(_u64(data, at + 16) ^ s[1], _u64(data, at + 24) ^ see1)
                see2 = _mix(_u64(data, at + 32) ^ s[2], _u64(data, at + 40) ^ see2)
                at, left = at + 48, left - 48
            seed ^= see1 ^ see2
        if left > 16:
            seed = _mix(_u64(data, at) ^ s[2], _u64(data, at + 8) ^ seed ^ s[1])
            if left > 32:
                seed = _mix(_u64(data, at + 16) ^ s[2], _u64(data, at + 24) ^ seed)
        a, b = _u64(data, at + left - 16), _u64(data, at + left - 8)
    product = (a ^ s[1]) * (b ^ seed)
    a, b = product & _M64, product >> 64
    return _mix(a ^ s[0] ^ n, b ^ s[1])


def name_hash(name: str) -> int:
    """`CaseFoldingHash` of a header name: rapidhash over its lower case as UTF-16LE,
    kept to 24 bits (`string_hasher.h`), never 0."""
    folded = name.lower()
    small = ord(folded) if len(folded) == 1 else None
    return rapidhash(folded.encode("utf-16-le"), small) & 0xFFFFFF or 0x800000


def map_order(keys: Iterable[str]) -> list[str]:
    """The slot order of a WTF hash table the keys were inserted into, in turn: open
    addressing probed at `h`, `h+1`, `h+3`, `h+6`…, doubled (and refilled in slot order)
    as soon as it is half full."""
    slots: list[str | None] = [None] * _MIN_TABLE_SIZE
    count = 0

    def place(table: list[str | None], key: str) -> None:
        mask, step = len(table) - 1, 0
        at = name_hash(key) & mask
        while table[at] is not None:
            step += 1
            at = (at + step) & mask
        table[at] = key

    for key in keys:
        if key in slots:
            continue
        place(slots, key)
        count += 1
        if count * 2 >= len(slots):
            old, slots = slots, [None] * (len(slots) * 2)
            for kept in old:
                if kept is not None:
                    place(slots, kept)
    return [key for key in slots if key is not None]


def network_order(
    names: Sequence[str], *, xhr: bool = False, client_hints: bool = True
) -> list[str]:
    """The page's header names (any case; for an XHR in `setRequestHeader` order where
    known) in the order Chromium's network service sees them. `client_hints`: whether Blink
    adds its default UA client hints, i.e. the request URL is potentially trustworthy."""
    lower = [name.lower() for name in names]
    page = map_order(lower) if xhr else sorted(set(lower))
    own = (*CLIENT_HINTS, USER_AGENT) if client_hints else (USER_AGENT,)
    wanted = set(lower)
    return [key for key in map_order([*page, *own]) if key in wanted]
