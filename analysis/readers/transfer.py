"""Transactions sent from a forked reader back to the process that assembles them.

`Forked` runs one piece of reading in a forked child and hands back the bytes it wrote.
A `Captured` pickled as the dataclasses it is costs more to load than parsing its record,
which would undo the point of reading in several processes. So they travel as plain tuples,
each distinct header list once (by index), and are rebuilt here: `unpack(pack(c)) == c`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Callable, Sequence
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
                r.sniffed,
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
            status, rh, reason, version, excerpt, by_proxy, sniffed = response
            response = Response(status, headers[rh], reason, version, excerpt, by_proxy, sniffed)
        tx = Transaction(Request(method, url, headers[qh], qv), response, error, started, ms, ip)
        order += order_offset
        if hints is None:
            captured.append(Captured(tx=tx, order=order, id=cid))
        else:
            captured.append(Captured(tx=tx, hints=hints, order=order, id=cid))
    return captured


class Forked:
    """`work()` run in a forked child, which leaves without cleanup once it has written
    what `work` returned; `result` waits for it."""

    def __init__(self, pid: int, out: Any) -> None:
        self.pid = pid
        self.out = out
        self.reaped = False

    @classmethod
    def start(cls, work: Callable[[], bytes]) -> Forked:
        out = tempfile.TemporaryFile()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                out.write(work())
                out.flush()
                code = 0
            finally:
                os._exit(code)
        return cls(pid, out)

    def result(self) -> bytes | None:
        """What the child wrote; None when it did not finish."""
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            self.out.seek(0)
            return self.out.read()
        return None

    def close(self) -> None:
        if not self.reaped:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.reaped = True
        self.out.close()
