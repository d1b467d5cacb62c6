"""A finished flow as the analysis worker needs it: plain values the `marshal` module can
carry across a pipe, and the flow rebuilt from them on the other side.

The proxy pays for `snapshot` on every recorded flow, so it copies references, not
bodies: a body goes over as its length, plus the bytes `body_excerpt` may read (the first
KiB, or a whole small compressed error body). `rebuild` makes an `http.HTTPFlow` that
the recorder turns into the very same capture line and `Captured` as the original;
tests/addons/test_snapshot.py holds the two to that over every kind of flow the recorder
is tested on.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from mitmproxy import connection, flow, http

from analysis import orb

from .capture import _MAX_INFLATE_BYTES, BODY_EXCERPT_BYTES

Snapshot = tuple[Any, ...]


def snapshot(f: http.HTTPFlow, entry_id: str, order: int) -> Snapshot:
    req = f.request.data
    resp = f.response
    server = f.server_conn
    error = f.error
    return (
        f.id,
        entry_id,
        order,
        (
            req.host,
            req.port,
            req.method,
            req.scheme,
            req.authority,
            req.path,
            req.http_version,
            req.headers.fields,
            len(req.content) if req.content else 0,
            req.timestamp_start,
            req.timestamp_end,
        ),
        None if resp is None else _response(resp, f.request.method, req.headers.fields),
        None if error is None else (error.msg, error.timestamp),
        None if server is None else _server_state(server),
    )


def _response(resp: http.Response, method: str, sent: Any) -> tuple[Any, ...]:
    data = resp.data
    raw = data.content
    size = len(raw) if raw else 0
    kept = b""
    if raw and (method == "OPTIONS" or data.status_code >= 400 or _may_be_no_cors(method, sent)):
        # What body_excerpt and response_sniffed read: a compressed body whole (when small
        # enough to inflate), a plain one up to the excerpt's (and ORB's sniff's) length.
        if "content-encoding" in resp.headers:
            kept = raw if size <= _MAX_INFLATE_BYTES else b""
        else:
            kept = raw[:BODY_EXCERPT_BYTES]
    return (
        data.http_version,
        data.status_code,
        data.reason,
        data.headers.fields,
        size,
        kept,
        data.timestamp_start,
        data.timestamp_end,
    )


def _may_be_no_cors(method: str, fields: Any) -> bool:
    """`orb.keeps_sniff`'s test of the request, on the raw fields without decoding them
    all. The response's own test is the recorder's; this only spares the pipe the first
    KiB of every CORS answer."""
    mode: str | None = None
    origin = False
    for name, value in fields:
        lowered = name.lower()
        if lowered == b"sec-fetch-mode" and mode is None:
            mode = value.decode("latin-1")
        elif lowered == b"origin":
            origin = True
    return orb.may_be_no_cors(method, mode, origin)


def rebuild(snap: Snapshot) -> tuple[http.HTTPFlow, str, int]:
    """The flow, its entry id and its order in the session."""
    flow_id, entry_id, order, rq, rs, error, server = snap
    host, port, method, scheme, authority, path, version, fields, size, start, end = rq
    request = http.Request(
        host,
        port,
        method,
        scheme,
        authority,
        path,
        version,
        http.Headers(_fields(fields)),
        _body(size, b""),
        None,
        start,
        end,
    )
    response = None
    if rs is not None:
        version, status, reason, fields, size, kept, start, end = rs
        response = http.Response(
            version,
            status,
            reason,
            http.Headers(_fields(fields)),
            _body(size, kept),
            None,
            start,
            end,
        )
    f = http.HTTPFlow(_client(), _server(server))  # type: ignore[arg-type]
    f.id = flow_id
    f.request = request
    f.response = response
    if error is not None:
        f.error = flow.Error(error[0], error[1])
    return f, entry_id, order


def _server(state: tuple[Any, ...] | None) -> connection.Server | None:
    """One object per server connection, as mitmproxy has: every flow over a connection
    repeats its state, and a `Connection` type-checks each attribute it is given."""
    if state is None:
        return None
    server = _servers.get(state)
    if server is None:
        server = connection.Server(address=None)
        for name, value in zip(_SERVER_FIELDS, state, strict=True):
            setattr(server, name, value)
        if len(_servers) >= _SERVERS_KEPT:
            _servers.clear()
        _servers[state] = server
    return server


_SERVER_FIELDS = (
    "peername",
    "timestamp_start",
    "timestamp_tcp_setup",
    "timestamp_tls_setup",
    "tls_version",
    "cipher",
    "alpn",
    "sni",
)
"""What the recorder reads of the server connection."""
_server_state = operator.attrgetter(*_SERVER_FIELDS)
_SERVERS_KEPT = 1024
_servers: dict[tuple[Any, ...], connection.Server] = {}


@functools.cache
def _client() -> connection.Client:
    """The recorder never reads the client's side: one stand-in for every flow."""
    return connection.Client(peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0))


def strip_bodies(f: http.HTTPFlow) -> None:
    """A rebuilt flow kept only to carry the verdict back needs no body."""
    f.request.data.content = None
    if f.response is not None:
        f.response.data.content = None


def _fields(fields: Any) -> tuple[tuple[bytes, bytes], ...]:
    # marshal hands lists back as lists; Headers wants its fields as a tuple of pairs.
    return tuple((k, v) for k, v in fields)


def _body(size: int, kept: bytes) -> bytes:
    if not size:
        return b""
    # bytes(n) is zero pages the kernel never fills: the recorder only asks the length.
    return kept + bytes(size - len(kept)) if size > len(kept) else kept
