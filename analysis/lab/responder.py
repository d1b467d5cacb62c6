"""Decide what a lab server answers for a scenario request. No sockets here.

Kept apart from servers.py so the answer logic (templates, allow-lists, the shared cache)
can be read without the socket plumbing around it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from analysis.lab.spec import Header, Route, Scenario


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[Header, ...]
    body: bytes
    delay_ms: int = 0
    """Wait this long before answering (`Reply.delay_ms`)."""
    missing: int = 0
    """Body bytes Content-Length promises beyond `body`, never sent (`Reply.cut_short`)."""
    drop: str | None = None
    """`close` or `reset`: send nothing and end the connection (`Reply.drop`)."""


NO_ROUTE = Answer(404, (("Content-Type", "text/plain"),), b"no lab route")


class _FormatDict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"unknown lab placeholder {{{key}}}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill `{key}` placeholders; an unknown key is a bug in a scenario, so it raises."""
    return template.format_map(_FormatDict(values))


def pick_route(
    scenario: Scenario,
    method: str,
    sub: str,
    origin_key: str | None,
    conditional: bool = False,
    header_names: frozenset[str] = frozenset(),
) -> Route | None:
    """`header_names`: the request's header names and, for a preflight, the names its
    Access-Control-Request-Headers lists; all lower case."""
    for route in scenario.routes:
        if route.method not in ("*", method) or (route.conditional and not conditional):
            continue
        if route.carries is not None and route.carries.lower() not in header_names:
            continue
        if route.sub != sub:
            continue
        if route.on is not None and route.on != origin_key:
            continue
        return route
    return None


def origin_allowed(route: Route, origin: str | None, values: Mapping[str, str]) -> bool:
    if origin is None:
        return False
    if route.allow_origins is not None and origin not in {
        fill(o, values) for o in route.allow_origins
    }:
        return False
    if route.allow_origin_regex is not None:
        return re.search(route.allow_origin_regex, origin) is not None
    return True


REQUEST_HEADERS = "{request_headers}"
"""Placeholder for the preflight's Access-Control-Request-Headers, which CORS libraries
such as Express's `cors` and flask-cors reflect when no header list is configured."""


def render(
    route: Route,
    origin: str | None,
    values: Mapping[str, str],
    request_headers: str | None = None,
) -> Answer:
    """The route's reply with placeholders filled; headers that echo the Origin are left
    out when the app would not echo it (no Origin sent, or refused by its allow-list), and
    headers that reflect the requested headers when none were requested."""
    echo = origin_allowed(route, origin, values)
    context = dict(values, origin=origin or "", request_headers=request_headers or "")
    headers: list[Header] = []
    for name, value in route.reply.headers:
        if "{origin}" in value and not echo:
            continue
        if REQUEST_HEADERS in value and not request_headers:
            continue
        headers.append((name, fill(value, context)))
    if route.reply.content_type is not None:
        headers.append(("Content-Type", route.reply.content_type))
    missing = 100 if route.reply.cut_short else 0
    # Surrogate escapes carry bytes that are not UTF-8 (an image's magic number).
    body = route.reply.body.encode("utf-8", "surrogateescape")
    return Answer(
        route.reply.status,
        tuple(headers),
        body,
        delay_ms=route.reply.delay_ms,
        missing=missing,
        drop=route.reply.drop,
    )


class SharedCache:
    """The CDN in front of an API, shaped like Varnish: stores the first answer per URL and
    replays it with the headers Varnish adds (Via, X-Varnish with two transaction ids on a
    hit, Age, and the X-Cache most setups add in vcl_deliver).

    It keys on the Origin only when the stored answer says `Vary: Origin`, which is the
    whole point: without Vary, every later origin receives the first origin's header.
    """

    VIA = ("Via", "1.1 varnish (Varnish/7.4)")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: dict[tuple[str, ...], tuple[Answer, float, int]] = {}
        self._xid = 32768

    def answer(self, key: tuple[str, ...], origin: str | None, make: Answer) -> Answer:
        with self._lock:
            self._xid += 2
            for stored_key in ((*key, origin or ""), key):
                if stored_key in self._store:
                    stored, at, first_xid = self._store[stored_key]
                    age = max(1, int(time.monotonic() - at))
                    return Answer(
                        stored.status,
                        (
                            *stored.headers,
                            ("X-Varnish", f"{self._xid} {first_xid}"),
                            ("Age", str(age)),
                            self.VIA,
                            ("X-Cache", "HIT"),
                        ),
                        stored.body,
                    )
            varies = any(n.lower() == "vary" and "origin" in v.lower() for n, v in make.headers)
            stored_at = (*key, origin or "") if varies else key
            self._store[stored_at] = (make, time.monotonic(), self._xid)
            xid = self._xid
        return Answer(
            make.status,
            (*make.headers, ("X-Varnish", str(xid)), ("Age", "0"), self.VIA, ("X-Cache", "MISS")),
            make.body,
            delay_ms=make.delay_ms,  # a stored answer (a hit, above) is replayed at once
        )
