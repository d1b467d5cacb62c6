"""The fast recorder writes exactly what `entry_for` specifies and builds exactly what the
capture reader reads back from it, for every kind of flow, on a cold and a warm cache."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import pytest
from mitmproxy import flow, http

from addons.capture import entry_for
from addons.join import _browser_may_cache
from addons.record import Recorder
from addons.rules import pick
from addons.session import encode
from analysis.readers.har import entry_to_captured

from .flows import (
    API,
    PAGE,
    T0,
    cors_get,
    make,
    navigation,
    preflight,
    request,
    response,
    tls_get,
)
from .flows import upstream_error as _upstream_error


def _gzip_error() -> http.HTTPFlow:
    f = cors_get(status=502, response_headers=[("Content-Encoding", "gzip")])
    f.response.raw_content = gzip.compress(b"<html>bad gateway from nginx</html>")
    return f


def _odd_bytes() -> http.HTTPFlow:
    f = cors_get()
    f.response.headers.fields = ((b"X-Odd", b"caf\xe9"), (b"X-Utf8", "naïve ☃".encode()))
    return f


def _pseudo_header() -> http.HTTPFlow:
    f = cors_get()
    f.request.headers.fields = ((b":authority", b"api.test"), *f.request.headers.fields)
    return f


def _made_by_an_addon() -> http.HTTPFlow:
    f = cors_get()
    f.server_conn.timestamp_start = None
    return f


def _no_timing() -> http.HTTPFlow:
    f = make(request("GET", API, [("Origin", PAGE)], at=T0), response(at=T0))
    f.request.timestamp_end = None
    f.response.timestamp_end = None
    f.server_conn.timestamp_start = T0 - 5
    return f


def _http2() -> http.HTTPFlow:
    f = cors_get()
    f.request.http_version = f.response.http_version = "HTTP/2.0"
    f.request.authority = "api.test:8000"
    return f


def _no_peer() -> http.HTTPFlow:
    f = cors_get()
    f.server_conn.peername = None
    return f


def _cut_short() -> http.HTTPFlow:
    f = cors_get()
    f.error = flow.Error("HTTP/1 protocol error: peer closed connection without sending all")
    return f


def _no_cors(content_type: str, body: bytes, encoding: str | None = None) -> http.HTTPFlow:
    sent = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")]
    answer = [("Content-Type", content_type)]
    if encoding is not None:
        answer.append(("Content-Encoding", encoding))  # Response.make compresses the body
    return make(request("GET", API + "/img", sent, at=T0), response(200, answer, body))


FLOWS: dict[str, Callable[[], http.HTTPFlow]] = {
    # What Opaque Response Blocking would sniff is kept as a class of the first KiB.
    "no-cors json": lambda: _no_cors("application/json", b'{"user": "alice"}'),
    "no-cors gzip html": lambda: _no_cors("text/plain", b"<!DOCTYPE html>" * 200, "gzip"),
    "no-cors css": lambda: _no_cors("text/css", b'{"a": 1}'),
    "cors get": cors_get,
    "allowed, vary": lambda: cors_get(
        response_headers=[("Access-Control-Allow-Origin", PAGE), ("Vary", "Origin")]
    ),
    "put with body": lambda: cors_get(method="PUT", extra=[("Content-Type", "application/json")]),
    "redirect": lambda: cors_get(status=302, response_headers=[("Location", "/elsewhere#x")]),
    "server error": lambda: cors_get(status=500, body=b"Traceback: boom " + b"x" * 5000),
    "binary error": lambda: cors_get(status=500, body=b"\x00\x01\x02binary"),
    "gzip error": _gzip_error,
    "preflight": lambda: preflight(response_headers=[("Access-Control-Allow-Methods", "PUT")]),
    "failed preflight": lambda: preflight(status=404, request_headers="content-type"),
    "navigation": navigation,
    "secrets": lambda: cors_get(
        extra=[("Cookie", "sid=topsecret42"), ("Authorization", "Bearer tok-abc-123")],
        response_headers=[("Access-Control-Allow-Origin", "*"), ("Set-Cookie", "s=v; Path=/")],
    ),
    "duplicates": lambda: cors_get(
        response_headers=[
            ("Access-Control-Allow-Origin", PAGE),
            ("access-control-allow-origin", "*"),
        ]
    ),
    "cacheable": lambda: cors_get(response_headers=[("Cache-Control", "max-age=60")]),
    "tls": tls_get,
    "odd bytes": _odd_bytes,
    "pseudo header": _pseudo_header,
    "made by an addon": _made_by_an_addon,
    "upstream error": _upstream_error,
    "cut short": _cut_short,
    "no timings": _no_timing,
    "http/2": _http2,
    "no peer": _no_peer,
    "no headers": lambda: make(request("GET", API + "/x", [], at=T0), response(at=T0 + 0.01)),
    "odd status text": lambda: cors_get(status=299),
    "unicode url": lambda: cors_get(API + '/d%C3%A9j%C3%A0?q=%E9&a="b"'),
    "patch": lambda: cors_get(method="patch"),
    # A replayed or edited flow file: a start no calendar holds (year 33658) is no date,
    # not an internal error that leaves the exchange out of the capture.
    "time out of range": lambda: cors_get(at=1e12),
}


@pytest.mark.parametrize("redact", [True, False])
@pytest.mark.parametrize("name", list(FLOWS))
def test_line_and_captured_are_the_reference_ones(name: str, redact: bool) -> None:
    recorder = Recorder()
    for n in range(3):  # a cold cache, then warm ones
        f = FLOWS[name]()
        facts = pick(f.request.headers.fields)
        entry = entry_for(f, f"e{n}", facts, redact=redact)
        recorded = recorder.record(f, f"e{n}", facts, f.request.pretty_url, redact=redact, order=n)
        assert recorded.line == encode(entry)
        want = entry_to_captured(entry, where=f"e{n}", path="<live>", order=n)
        assert recorded.captured == want
        assert recorded.captured.hints == want.hints
        assert recorded.cors == (entry.get("_cors") or {})
        assert recorded.response() == entry["response"]
        assert recorded.status == entry["response"]["status"]
        assert recorded.location == entry["response"]["redirectURL"]
        sent = {h["name"].lower(): h["value"] for h in entry["request"]["headers"]}
        assert recorded.acrm == sent.get("access-control-request-method")
        assert recorded.mode == sent.get("sec-fetch-mode")
        assert recorded.origin == sent.get("origin")
        assert recorded.cacheable == _browser_may_cache(entry["response"])
        json.loads(recorded.line)


def test_a_response_cut_short_is_not_taken_for_the_kind_seen_before() -> None:
    # The wire hints of a server's own answer are remembered per kind of request; a
    # response the server cut short is the proxy's answer, with its own hints.
    recorder = Recorder()
    for n, f in enumerate([cors_get(), _cut_short()]):
        facts = pick(f.request.headers.fields)
        entry = entry_for(f, f"e{n}", facts, redact=True)
        recorded = recorder.record(f, f"e{n}", facts, f.request.pretty_url, redact=True, order=n)
        assert recorded.line == encode(entry)
    assert "proxy" in json.loads(recorded.line)["_cors"]


@pytest.mark.parametrize(
    "url",
    [
        "http://api.test:8000/data?x=1",
        "http://api.test/data",
        "https://api.test:443/a/b",
        "https://[::1]:8443/v6",
        "http://127.0.0.2:5000/",
    ],
)
def test_pretty_url_is_mitmproxys(url: str) -> None:
    recorder = Recorder()
    req = cors_get(url).request
    assert recorder.url(req) == req.pretty_url
    req.headers["Host"] = "Other.Test:81"
    assert recorder.url(req) == req.pretty_url
    req.headers.add("Host", "second.test")
    assert recorder.url(req) == req.pretty_url
    del req.headers["Host"]
    assert recorder.url(req) == req.pretty_url
    req.path = "*"
    req.method = "OPTIONS"
    req.headers["Host"] = "api.test"
    assert recorder.url(req) == req.pretty_url
    req.method = "CONNECT"
    assert recorder.url(req) == req.pretty_url
    req.method, req.path = "GET", "/h2"
    req.http_version, req.authority = "HTTP/2.0", "h2.test:9443"
    assert recorder.url(req) == req.pretty_url
