"""Transactions sent from a forked reader back to the process that assembles them.

A `Captured` pickled as the dataclasses it is costs more to load than parsing its record,
which would undo the point of reading in several processes. So they travel as plain tuples,
each distinct header list once (by index), and are rebuilt here: `unpack(pack(c)) == c`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.model import Headers, Request, Response, Transaction

from .captured import Captured

Packed = tuple[list[tuple[tuple[str, str], ...]], list[tuple[Any, ...]]]


def pack(captured: Sequence[Captured]) -> Packed:
    lists: dict[int, int] = {}
    tables: list[tuple[tuple[str, str], ...]] = []

    def index(headers: Headers) -> int:
        found = lists.get(id(headers))
        if found is None:
            found = lists[id(headers)] = len(tables)
            tables.append(headers.fields)
        return found

    rows = []
    for c in captured:
        tx = c.tx
        q, r = tx.request, tx.response
        response = None
        if r is not None:
            response = (
                r.status,
                index(r.headers),
                r.reason,
                r.http_version,
                r.body_excerpt,
                r.made_by_proxy,
            )
        rows.append(
            (
                c.order,
                c.id,
                c.hints or None,
                q.method,
                q.url,
                index(q.headers),
                q.http_version,
                response,
                tx.error,
                tx.started,
                tx.duration_ms,
                tx.server_ip,
            )
        )
    return tables, rows


def unpack(packed: Packed, order_offset: int = 0) -> list[Captured]:
    """The transactions `pack` was given, each `order` moved on by `order_offset`."""
    tables, rows = packed
    headers = [Headers(fields) for fields in tables]
    captured = []
    for order, cid, hints, method, url, qh, qv, response, error, started, ms, ip in rows:
        if response is not None:
            status, rh, reason, version, excerpt, by_proxy = response
            response = Response(status, headers[rh], reason, version, excerpt, by_proxy)
        tx = Transaction(Request(method, url, headers[qh], qv), response, error, started, ms, ip)
        order += order_offset
        if hints is None:
            captured.append(Captured(tx=tx, order=order, id=cid))
        else:
            captured.append(Captured(tx=tx, hints=hints, order=order, id=cid))
    return captured
