"""Varied mitmproxy flows for the stream-vs-FlowReader differential tests.

Runs under mitmproxy 11 and 12 alike, so that each can write the same flows:

    python -m tests.analysis.readers.flowgen OUT.mitm [SEED]

Each flow pokes at something the streaming reader must get exactly right: header bytes
that are not UTF-8, values that look like tnetstring framing, pseudo headers, Host and
:authority quirks of `pretty_url`, compressed and oversized error bodies, missing bodies
and timestamps, errors, proxy-made responses, TLS connections with certificates, metadata
hints, WebSocket/TCP/UDP/DNS flows, backups, and flows that share a server connection.
"""

from __future__ import annotations

import gzip
import random
import sys
import tempfile
import zlib

from mitmproxy import certs, flow, http, io
from mitmproxy.test import tflow, tutils

PAGE = "http://127.0.0.1:5173"


def _cert() -> certs.Cert:
    """A real certificate, so that `certificate_list` holds a long PEM as TLS flows do."""
    with tempfile.TemporaryDirectory(prefix="flowgen-ca-") as directory:
        return certs.CertStore.from_store(directory, "mitmproxy", 2048).default_ca


def _req(
    method: bytes = b"GET",
    path: bytes = b"/api/items",
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    host: str = "127.0.0.3",
    port: int = 8000,
    scheme: bytes = b"http",
    authority: bytes = b"",
    http_version: bytes = b"HTTP/1.1",
    content: bytes | None = b"",
    ts: float = 100.0,
) -> http.Request:
    req = tutils.treq(
        method=method,
        host=host,
        port=port,
        scheme=scheme,
        authority=authority,
        path=path,
        http_version=http_version,
        headers=http.Headers(headers or []),
        content=b"",
        timestamp_start=ts,
        timestamp_end=ts + 0.001,
    )
    req.raw_content = content
    return req


def _resp(
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
    content: bytes | None = b"",
    *,
    reason: bytes = b"OK",
    http_version: bytes = b"HTTP/1.1",
    ts: float = 100.01,
    end: float | None = 100.02,
) -> http.Response:
    resp = tutils.tresp(
        status_code=status,
        reason=reason,
        http_version=http_version,
        headers=http.Headers(headers or []),
        content=b"",
        timestamp_start=ts,
        timestamp_end=end,
    )
    resp.raw_content = content
    return resp


ORIGIN = (b"Origin", PAGE.encode())


def flows(seed: int = 7) -> list[flow.Flow]:
    rnd = random.Random(seed)
    out: list[flow.Flow] = []

    def add(f: flow.Flow) -> flow.Flow:
        out.append(f)
        return f

    # A preflight and its request, with the hints the addon stores.
    pre = add(
        tflow.tflow(
            req=_req(b"OPTIONS", headers=[ORIGIN, (b"Access-Control-Request-Method", b"PUT")]),
            resp=_resp(204, [(b"Access-Control-Allow-Origin", PAGE.encode())], b"x" * 3000),
        )
    )
    pre.metadata["cors"] = {"mode": "cors", "credentials": "include", "initiatorOrigin": PAGE}
    pre.metadata["corscope_id"] = "c1"
    add(
        tflow.tflow(
            req=_req(b"PUT", headers=[ORIGIN, (b"Content-Type", b"application/json")], ts=100.1),
            resp=_resp(200, [(b"Content-Type", b"application/json")], b'{"ok":1}', ts=100.2),
        )
    )
    # Header bytes that are not UTF-8, duplicates, empty values, framing look-alikes.
    add(
        tflow.tflow(
            req=_req(
                headers=[
                    ORIGIN,
                    (b"X-Latin", b"caf\xe9"),
                    (b"X-Dup", b"1"),
                    (b"x-dup", b"2"),
                    (b"X-Empty", b""),
                    (b"X-Frame", b",]12:http_version;8:HTTP/1.1,}"),
                    (b"X-Colon", b"3:abc,]"),
                    # A value shaped to end its field early and pass for a field of its own.
                    (b"X-Inject", b"x,]23:6:Inject,10:from-value,]"),
                    (b"X-Nul", b"a\x00b"),
                    (b"X-\xff", b"\xfe"),
                ]
            ),
            resp=_resp(
                200,
                [
                    (b"Access-Control-Allow-Origin", b"*"),
                    (b"Access-Control-Allow-Origin", b"*"),
                    (b"Set-Cookie", b"a=1"),
                    (b"Set-Cookie", b"b=2"),
                ],
                b"ok",
                reason=b"Fine\xe9",
            ),
        )
    )
    # HTTP/2: :authority wins over Host; pseudo headers are not header fields.
    add(
        tflow.tflow(
            req=_req(
                headers=[(b":authority", b"api.example:8443"), ORIGIN],
                scheme=b"https",
                authority=b"api.example:8443",
                http_version=b"HTTP/2.0",
                port=8443,
                host="10.0.0.1",
            ),
            resp=_resp(
                404,
                [(b":status", b"404"), (b"content-type", b"text/plain")],
                b"not here",
                reason=b"",
                http_version=b"HTTP/2.0",
            ),
        )
    )
    add(
        tflow.tflow(
            req=_req(scheme=b"https", http_version=b"HTTP/3", authority=b"", port=443),
            resp=_resp(http_version=b"HTTP/3"),
        )
    )
    # Host headers pretty_url treats specially.
    for host_header in (
        b"api.example",
        b"api.example:80",
        b"api.example:8080",
        b"[::1]:9000",
        b"[::1]",
        b"b\xc3\xbccher.example",
        b"xn--bcher-kva.example:81",
        b"bad host:12",
        b"api.example:99999",
        b"UPPER.Example",
        b"trailing.dot.",
        b"",
    ):
        add(tflow.tflow(req=_req(headers=[(b"Host", host_header), ORIGIN]), resp=True))
    add(
        tflow.tflow(req=_req(headers=[(b"Host", b"a.example"), (b"host", b"b.example")]), resp=True)
    )
    add(tflow.tflow(req=_req(b"OPTIONS", b"*", [(b"Host", b"api.example")]), resp=True))
    add(tflow.tflow(req=_req(path=b"/caf\xc3\xa9?q=1&r=,9:authority;x"), resp=True))
    add(tflow.tflow(req=_req(path=b"/bytes\xff"), resp=True))
    add(tflow.tflow(req=_req(method=b"get"), resp=True))
    add(tflow.tflow(req=_req(scheme=b"https", port=443), resp=True))
    add(tflow.tflow(req=_req(host="::1", port=8080), resp=True))
    # Compressed error and preflight bodies; bodies too large to inflate; broken encodings.
    message = b"no such item " * 10
    for encoding, body in (
        (b"gzip", gzip.compress(message)),
        (b"deflate", zlib.compress(message)),
        (b"br", _brotli(message)),
        (b"identity", message),
        (b"gzip", b"not gzip at all"),
        (b"rot13", message),
        (b"utf8", message),
        (b"gzip, identity", gzip.compress(message)),
        (b"", message),
        (b"gzip", gzip.compress(rnd.randbytes(1 << 20 | 5))),
    ):
        add(
            tflow.tflow(
                req=_req(headers=[ORIGIN]),
                resp=_resp(500, [(b"Content-Encoding", encoding)], body),
            )
        )
    add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=_resp(418, [], rnd.randbytes(5000))))
    add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=_resp(503, [], "ünïcødé ".encode() * 300)))
    add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=_resp(400, [], None)))
    add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=_resp(400, [], b"")))
    add(tflow.tflow(req=_req(b"OPTIONS", headers=[ORIGIN]), resp=_resp(200, [], b"options!")))
    # No-cors answers whose first KiB Opaque Response Blocking sniffs (analysis/orb.py):
    # plain and compressed, too large to inflate, and answers it never sniffs.
    no_cors = (b"Sec-Fetch-Mode", b"no-cors")
    html = b"\n<!DOCTYPE html><html>" + b"x" * 2000
    for n, (request_headers, response_headers, body) in enumerate(
        (
            ([no_cors], [(b"Content-Type", b"application/json")], b'{"a": 1}'),
            ([no_cors], [(b"Content-Type", b"text/html")], html),
            ([], [(b"Content-Type", b"text/plain")], b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
            ([], [(b"Content-Type", b"text/javascript")], b""),
            ([], [(b"Content-Type", b"application/json")], None),
            (
                [no_cors],
                [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")],
                gzip.compress(html),
            ),
            (
                [no_cors],
                [(b"Content-Type", b"text/xml"), (b"Content-Encoding", b"br")],
                _brotli(b"<?xml version='1.0'?><r/>"),
            ),
            (
                [no_cors],
                [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")],
                b"not gzip",
            ),
            (
                [no_cors],
                [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")],
                gzip.compress(rnd.randbytes(1 << 20 | 5)),
            ),
            ([ORIGIN], [(b"Content-Type", b"application/json")], b'{"a": 1}'),
            ([no_cors], [(b"Content-Type", b"text/css")], b'{"a": 1}'),
            ([no_cors, ORIGIN], [(b"Content-Type", b"application/json")], b'{"a": 1}'),
            ([ORIGIN], [(b"Content-Type", b"text/html")], html),
        )
    ):
        path = f"/orb/{n}".encode()
        req = _req(b"POST" if n == 12 else b"GET", path, request_headers)
        add(tflow.tflow(req=req, resp=_resp(200, response_headers, body)))
    # Large bodies that must be skipped, in requests and responses.
    add(
        tflow.tflow(
            req=_req(b"POST", content=rnd.randbytes(300_000), headers=[ORIGIN]),
            resp=_resp(201, [(b"Content-Type", b"image/png")], rnd.randbytes(700_000)),
        )
    )
    # Timestamps: missing end, integers, zero start.
    add(tflow.tflow(req=_req(ts=5), resp=_resp(ts=6, end=None)))
    add(tflow.tflow(req=_req(ts=0), resp=_resp(ts=0.5, end=0.75)))
    add(tflow.tflow(req=_req(ts=200.0), resp=_resp(ts=190.0, end=190.5)))  # clock went back
    # Errors, with and without a response.
    add(tflow.tflow(req=_req(headers=[ORIGIN]), err=tflow.terr("Connection refused")))
    add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=True, err=tflow.terr("peer closed")))
    add(tflow.tflow(req=_req(headers=[ORIGIN]), err=tflow.terr("ünïcødé; 5:error;")))
    # Responses mitmproxy made itself; connections without peername.
    made = add(tflow.tflow(req=_req(), resp=_resp(502, [], b"Bad Gateway")))
    made.server_conn.timestamp_start = None
    unnamed = add(tflow.tflow(req=_req(), resp=True))
    unnamed.server_conn.peername = None
    unnamed.server_conn.sockname = None
    # Flows sharing one server connection, as keep-alive traffic does; a TLS connection.
    shared = tflow.tserver_conn()
    shared.peername = ("203.0.113.9", 443)
    for i in range(3):
        add(tflow.tflow(server_conn=shared, req=_req(path=f"/k{i}".encode()), resp=True))
    tls = tflow.tserver_conn()
    tls.tls_version = "TLSv1.3"
    tls.alpn = b"h2"
    tls.alpn_offers = [b"h2", b"http/1.1"]
    tls.cipher_list = ["TLS_AES_128_GCM_SHA256"]
    tls.sni = "api.example"
    tls.error = "something; 8:peername;"
    tls.certificate_list = [_cert()]
    add(tflow.tflow(server_conn=tls, req=_req(scheme=b"https", port=443), resp=True))
    via = tflow.tserver_conn()
    via.via = ("http", ("upstream.example", 3128))
    add(tflow.tflow(server_conn=via, req=_req(), resp=True))
    # Flow-level fields: marks, comments, replays, backups, metadata beyond hints.
    marked = add(tflow.tflow(req=_req(), resp=True))
    marked.marked = ":star:"
    marked.comment = "look; 8:metadata;0:}"
    marked.is_replay = "request"
    marked.intercepted = True
    backed = add(tflow.tflow(req=_req(), resp=True))
    backed.backup()
    backed.request.path = "/after-backup"
    meta = add(tflow.tflow(req=_req(headers=[ORIGIN]), resp=True))
    meta.metadata["other"] = {"nested": [1, 2.5, None, True, b"bytes"]}
    meta.metadata["cors"] = {"_corscope_id": "from-cors", "source": "service-worker"}
    trailers = add(tflow.tflow(req=_req(), resp=True))
    assert trailers.response is not None
    trailers.response.trailers = http.Headers([(b"grpc-status", b"0")])
    # Not HTTP, or not a fetch.
    out.append(tflow.twebsocketflow())
    out.append(tflow.ttcpflow())
    out.append(tflow.ttcpflow(err=True))
    out.append(tflow.tudpflow())
    out.append(tflow.tdnsflow(resp=True))
    out.append(tflow.tflow(req=tutils.treq(method=b"CONNECT", path=b"", authority=b"x:443")))
    # Random ordinary traffic.
    for i in range(40):
        method = rnd.choice([b"GET", b"POST", b"OPTIONS", b"DELETE"])
        headers = [ORIGIN] if rnd.random() < 0.7 else []
        headers += [(f"X-H{j}".encode(), rnd.randbytes(rnd.randint(0, 20))) for j in range(3)]
        if method == b"OPTIONS":
            headers.append((b"Access-Control-Request-Method", b"PATCH"))
        status = rnd.choice([200, 204, 301, 302, 400, 403, 404, 500])
        response_headers = [(b"Location", b"/next")] if status in (301, 302) else []
        f = tflow.tflow(
            req=_req(method, f"/r/{i}".encode(), headers, ts=300.0 + i),
            resp=_resp(status, response_headers, rnd.randbytes(rnd.randint(0, 3000)), ts=300.5 + i),
        )
        if rnd.random() < 0.2:
            f.error = flow.Error("late error", timestamp=301.0 + i)
        add(f)
    return out


def _brotli(data: bytes) -> bytes:
    import brotli

    return brotli.compress(data)


def write(path: str, seed: int = 7) -> None:
    with open(path, "wb") as f:
        writer = io.FlowWriter(f)
        for f_ in flows(seed):
            writer.add(f_)


if __name__ == "__main__":
    write(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    from mitmproxy import version

    print(version.VERSION)
