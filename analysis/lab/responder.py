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


NO_ROUTE = Answer(404, (("Content-Type", "text/plain"),), b"no lab route")


class _FormatDict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"unknown lab placeholder {{{key}}}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill `{key}` placeholders; an unknown key is a bug in a scenario, so it raises."""
    return template.format_map(_FormatDict(values))


def pick_route(scenario: Scenario, method: str, sub: str, origin_key: str | None) -> Route | None:
    for route in scenario.routes:
        if route.method not in ("*", method):
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


def render(route: Route, origin: str | None, values: Mapping[str, str]) -> Answer:
    """The route's reply with placeholders filled; headers that echo the Origin are left
    out when the app would not echo it (no Origin sent, or refused by its allow-list)."""
    echo = origin_allowed(route, origin, values)
    context = dict(values, origin=origin or "")
    headers: list[Header] = []
    for name, value in route.reply.headers:
        if "{origin}" in value and not echo:
            continue
        headers.append((name, fill(value, context)))
    if route.reply.content_type is not None:
        headers.append(("Content-Type", route.reply.content_type))
    return Answer(route.reply.status, tuple(headers), route.reply.body.encode())


class SharedCache:
    """The CDN in front of an API: stores the first answer per URL and replays it.

    It keys on the Origin only when the stored answer says `Vary: Origin`, which is the
    whole point: without Vary, every later origin receives the first origin's header.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: dict[tuple[str, ...], tuple[Answer, float]] = {}

    def answer(self, key: tuple[str, ...], origin: str | None, make: Answer) -> Answer:
        with self._lock:
            for stored_key in ((*key, origin or ""), key):
                if stored_key in self._store:
                    stored, at = self._store[stored_key]
                    age = max(1, int(time.monotonic() - at))
                    return Answer(
                        stored.status,
                        (
                            *stored.headers,
                            ("Age", str(age)),
                            ("X-Cache", "HIT"),
                            ("Via", "1.1 varnish"),
                        ),
                        stored.body,
                    )
            varies = any(n.lower() == "vary" and "origin" in v.lower() for n, v in make.headers)
            self._store[(*key, origin or "") if varies else key] = (make, time.monotonic())
        return Answer(
            make.status, (*make.headers, ("X-Cache", "MISS"), ("Via", "1.1 varnish")), make.body
        )
