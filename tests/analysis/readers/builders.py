"""Small builders for reader tests: transactions and HAR entries without the noise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.model import Headers, Request, Response, Transaction
from analysis.readers.captured import Captured, Hints

PAGE = "http://127.0.0.1:5173"
API = "http://127.0.0.3:8000"


def tx(
    method: str,
    url: str,
    headers: list[tuple[str, str]] | None = None,
    *,
    status: int | None = 200,
    response_headers: list[tuple[str, str]] | None = None,
    started: float | None = None,
    duration_ms: float | None = None,
    error: str | None = None,
) -> Transaction:
    response = (
        Response(status=status, headers=Headers.of(response_headers or []))
        if status is not None
        else None
    )
    return Transaction(
        request=Request(method=method, url=url, headers=Headers.of(headers or [])),
        response=response,
        error=error,
        started=started,
        duration_ms=duration_ms,
    )


def preflight_tx(url: str, method: str, origin: str | None = PAGE, **kw: Any) -> Transaction:
    headers = [("Access-Control-Request-Method", method)]
    if origin is not None:
        headers.append(("Origin", origin))
    return tx("OPTIONS", url, headers, **kw)


def cap(t: Transaction, order: int, hints: Hints | None = None, id: str | None = None) -> Captured:
    return Captured(tx=t, hints=hints or Hints(), order=order, id=id)


def caps(*txs: Transaction) -> list[Captured]:
    """Captured in file order, start times 1 s apart unless a transaction has its own."""
    out = []
    for i, t in enumerate(txs):
        if t.started is None:
            t = Transaction(
                request=t.request,
                response=t.response,
                error=t.error,
                started=1000.0 + i,
                duration_ms=t.duration_ms,
            )
        out.append(cap(t, i))
    return out


def har_entry(
    method: str = "GET",
    url: str = f"{API}/api",
    headers: list[tuple[str, str]] | None = None,
    *,
    status: int = 200,
    response_headers: list[tuple[str, str]] | None = None,
    started: str = "2026-11-20T09:30:00.000Z",
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "startedDateTime": started,
        "time": 12.5,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in (headers or [])],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": "OK" if status == 200 else "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in (response_headers or [])],
            "cookies": [],
            "content": {"size": 0, "mimeType": "application/json"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 10, "receive": 2.5},
    }
    entry.update(extra)
    return entry


def har_doc(entries: list[dict[str, Any]], **log: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [],
            "entries": entries,
        }
    }
    doc["log"].update(log)
    return doc


def write_json(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def write_lines(path: Path, objs: list[Any], *, tail: str = "") -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs) + tail, encoding="utf-8")
    return path
