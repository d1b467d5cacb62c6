"""Builders for mitmproxy flows as a browser's CORS traffic produces them."""

from __future__ import annotations

import gzip
from typing import Any

from mitmproxy import connection, flow, http
from mitmproxy.test import tflow

PAGE = "http://localhost:5173"
API = "http://api.test:8000"
T0 = 1_750_000_000.0
"""A fixed clock: every flow's timestamps derive from it, nothing reads the wall clock."""


def request(
    method: str,
    url: str,
    headers: list[tuple[str, str]] | None = None,
    *,
    body: bytes = b"",
    at: float = T0,
) -> http.Request:
    req = http.Request.make(method, url, body, fields(headers))
    req.timestamp_start = at
    req.timestamp_end = at + 0.001
    return req


def response(
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    at: float = T0 + 0.01,
) -> http.Response:
    resp = http.Response.make(status, body, fields(headers))
    resp.timestamp_start = at
    resp.timestamp_end = at + 0.002
    return resp


def cors_get(
    url: str = API + "/data",
    *,
    origin: str = PAGE,
    status: int = 200,
    response_headers: list[tuple[str, str]] | None = None,
    body: bytes = b"{}",
    at: float = T0,
    extra: list[tuple[str, str]] | None = None,
    method: str = "GET",
) -> http.HTTPFlow:
    headers = [
        ("Origin", origin),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Dest", "empty"),
        *(extra or []),
    ]
    return make(
        request(method, url, headers, at=at),
        response(status, response_headers, body, at=at + 0.01),
    )


def preflight(
    url: str = API + "/data",
    method: str = "PUT",
    *,
    origin: str = PAGE,
    status: int = 204,
    response_headers: list[tuple[str, str]] | None = None,
    request_headers: str | None = None,
    at: float = T0,
) -> http.HTTPFlow:
    headers = [
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Dest", "empty"),
    ]
    if request_headers:
        headers.append(("Access-Control-Request-Headers", request_headers))
    return make(
        request("OPTIONS", url, headers, at=at),
        response(status, response_headers, b"", at=at + 0.005),
    )


def navigation(
    url: str = PAGE + "/",
    html: str = "<!doctype html><html><head><title>t</title></head><body>hi</body></html>",
    *,
    response_headers: list[tuple[str, str]] | None = None,
    gzipped: bool = False,
    at: float = T0,
) -> http.HTTPFlow:
    headers = [
        ("Accept", "text/html,application/xhtml+xml"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Site", "none"),
        ("Sec-Fetch-Dest", "document"),
    ]
    body = html.encode("utf-8")
    resp_headers = [("Content-Type", "text/html; charset=utf-8"), *(response_headers or [])]
    if gzipped:
        body = gzip.compress(body)
        resp_headers.append(("Content-Encoding", "gzip"))
    resp = response(200, resp_headers, at=at + 0.01)
    resp.raw_content = body
    return make(request("GET", url, headers, at=at), resp)


def fields(pairs: list[tuple[str, str]] | None) -> http.Headers:
    """Headers in the given order, duplicates kept (mitmproxy wants bytes for that)."""
    return http.Headers([(k.encode(), v.encode("latin-1")) for k, v in pairs or []])


def make(req: http.Request, resp: http.Response | None, err: str | None = None) -> http.HTTPFlow:
    server = tflow.tserver_conn()
    server.timestamp_start = req.timestamp_start + 0.0001
    server.timestamp_tcp_setup = req.timestamp_start + 0.0002
    server.timestamp_tls_setup = None
    server.tls_version = None
    server.sni = None
    server.peername = ("127.0.0.2", 8000)
    f = tflow.tflow(req=req, resp=resp or False, server_conn=server)
    if err is not None:
        f.error = flow.Error(err, timestamp=req.timestamp_start + 0.02)
    return f


def upstream_error(url: str = API + "/data", message: str = "", *, at: float = T0) -> http.HTTPFlow:
    """What mitmproxy leaves when the server could not be reached: no response, an error."""
    f = cors_get(url, at=at)
    f.response = None
    f.error = flow.Error(message or "Certificate verify failed: self-signed certificate")
    f.error.timestamp = at + 0.02
    f.server_conn = connection.Server(address=("api.test", 8000))
    return f


def beacon_flow(
    page: str, payload: bytes, *, at: float = T0 + 1, method: str = "POST", path: str = ""
) -> http.HTTPFlow:
    url = page.rstrip("/") + (path or "/__corscope__/report")
    return make(request(method, url, [("Content-Type", "text/plain")], body=payload, at=at), None)


def metadata(f: http.HTTPFlow) -> dict[str, Any]:
    return f.metadata.get("cors") or {}


def tls_get() -> http.HTTPFlow:
    """`cors_get` over TLS 1.3 with ALPN h2 and SNI api.test."""
    f = cors_get()
    f.server_conn.timestamp_tls_setup = T0 + 0.003
    f.server_conn.tls_version = "TLSv1.3"
    f.server_conn.cipher = "TLS_AES_128_GCM_SHA256"
    f.server_conn.alpn = b"h2"
    f.server_conn.sni = "api.test"
    return f
