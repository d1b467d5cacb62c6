"""A flow as a capture entry: the wire kept faithfully, bodies left out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from mitmproxy import flow, http, io

from addons.capture import entry_for
from addons.session import encode
from analysis.readers.flows import read_flows
from analysis.readers.har import entry_to_captured

from .flows import (
    API,
    PAGE,
    T0,
    cors_get,
    make,
    preflight,
    request,
    response,
    tls_get,
    upstream_error,
)


def names(headers: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(h["name"], h["value"]) for h in headers]


def test_headers_in_wire_order_with_duplicates() -> None:
    f = cors_get(
        response_headers=[
            ("Access-Control-Allow-Origin", PAGE),
            ("Vary", "Origin"),
            ("access-control-allow-origin", PAGE),
            ("X-Cache", "HIT"),
        ]
    )
    entry = entry_for(f, "e1")
    assert names(entry["response"]["headers"])[:4] == [
        ("Access-Control-Allow-Origin", PAGE),
        ("Vary", "Origin"),
        ("access-control-allow-origin", PAGE),
        ("X-Cache", "HIT"),
    ]
    assert names(entry["request"]["headers"])[:2] == [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    assert entry["_corscope_id"] == "e1"
    assert entry["serverIPAddress"] == "127.0.0.2"
    assert entry["response"]["status"] == 200
    assert entry["request"]["httpVersion"] == "HTTP/1.1"


def test_no_bodies_for_ordinary_responses() -> None:
    f = cors_get(body=b'{"secret": "token"}')
    entry = entry_for(f, "e1")
    assert "text" not in entry["response"]["content"]
    assert entry["response"]["content"]["size"] == len(b'{"secret": "token"}')
    assert "postData" not in entry["request"]
    assert "secret" not in json.dumps(entry)


def test_first_kib_of_error_and_preflight_bodies() -> None:
    error = cors_get(status=500, body=b"Traceback: boom " + b"x" * 5000)
    text = entry_for(error, "e1")["response"]["content"]["text"]
    assert text.startswith("Traceback: boom") and len(text) == 1024

    pf = preflight(status=404)
    pf.response.content = b"Cannot OPTIONS /data"
    assert entry_for(pf, "e2")["response"]["content"]["text"] == "Cannot OPTIONS /data"


def test_compressed_error_body_is_inflated_for_the_excerpt() -> None:
    f = cors_get(status=502, response_headers=[("Content-Encoding", "gzip")])
    f.response.raw_content = gzip.compress(b"<html>bad gateway from nginx</html>")
    text = entry_for(f, "e1")["response"]["content"]["text"]
    assert text == "<html>bad gateway from nginx</html>"


def test_binary_error_body_is_left_out() -> None:
    f = cors_get(status=500, body=b"\x00\x01\x02binary")
    assert "text" not in entry_for(f, "e1")["response"]["content"]


def test_upstream_error_is_an_error_not_a_response() -> None:
    f = upstream_error(message="Certificate verify failed: self-signed certificate")
    entry = entry_for(f, "e1")
    assert entry["response"]["status"] == 0
    assert entry["response"]["headers"] == []
    assert entry["response"]["_error"] == "Certificate verify failed: self-signed certificate"
    assert entry["_cors"]["proxy"] == {
        "status": 502,
        "error": "Certificate verify failed: self-signed certificate",
    }
    # Readers see a transaction with an error and no response: an upstream fault.
    tx = entry_to_captured(entry, where="e1", path="-", order=0).tx
    assert tx.response is None
    assert tx.error == "Certificate verify failed: self-signed certificate"


def test_a_response_the_server_cut_short_is_the_proxys_502() -> None:
    # Measured in the lab: the server sent its headers and part of the body, mitmproxy kept
    # the response and an error, and answered Chromium with its own 502.
    cut = "HTTP/1 protocol error: peer closed connection without sending complete message body"
    f = cors_get()
    f.error = flow.Error(cut)
    entry = entry_for(f, "e1")
    assert entry["response"]["status"] == 200
    assert entry["_cors"]["proxy"] == {"status": 502, "error": cut}
    # Readers keep the response and the error beside it: the verdict's upstream fault.
    tx = entry_to_captured(entry, where="e1", path="-", order=0).tx
    assert tx.response is not None and not tx.response.made_by_proxy
    assert tx.error == cut


def test_killed_flow_has_no_proxy_status() -> None:
    f = upstream_error(message="Connection killed.")
    assert entry_for(f, "e1")["_cors"]["proxy"] == {"status": None, "error": "Connection killed."}


def test_response_made_by_an_addon_is_marked() -> None:
    f = cors_get()
    f.server_conn.timestamp_start = None
    assert entry_for(f, "e1")["_cors"]["proxy"] == {"status": 200, "error": None}
    assert "proxy" not in entry_for(cors_get(), "e2").get("_cors", {})


def test_wire_hints() -> None:
    entry = entry_for(cors_get(), "e1")
    assert entry["_cors"] == {"mode": "cors", "resourceType": "fetch"}
    bare = make(request("GET", API + "/x", [("Origin", PAGE)]), response())
    assert "_cors" not in entry_for(bare, "e2")


def test_timings() -> None:
    f = make(request("GET", API, [("Origin", PAGE)], at=T0), response(at=T0 + 0.1))
    f.server_conn.timestamp_start = T0 + 0.001
    f.server_conn.timestamp_tcp_setup = T0 + 0.011
    entry = entry_for(f, "e1")
    t = entry["timings"]
    assert t["connect"] == 10.0
    assert t["send"] == 1.0
    assert t["receive"] == 2.0
    assert t["wait"] == 89.0
    assert entry["time"] == 102.0
    assert entry["startedDateTime"].startswith("2025-06-15T15:06:40")


def test_reused_connection_costs_no_connect_time() -> None:
    f = cors_get()
    f.server_conn.timestamp_start = T0 - 10
    assert entry_for(f, "e1")["timings"]["connect"] == -1.0


def test_tls_facts() -> None:
    assert entry_for(tls_get(), "e1")["_tls"] == {
        "version": "TLSv1.3",
        "cipher": "TLS_AES_128_GCM_SHA256",
        "alpn": "h2",
        "sni": "api.test",
    }


def test_odd_header_bytes_survive() -> None:
    f = cors_get()
    # As mitmproxy keeps it: a lone surrogate, written as a \u escape, never "café".
    f.response.headers.fields = ((b"X-Odd", b"caf\xe9"),)
    entry = entry_for(f, "e1")
    assert names(entry["response"]["headers"]) == [("X-Odd", "caf\udce9")]
    assert json.loads(encode(entry))["response"]["headers"] == entry["response"]["headers"]


def test_entry_reads_back_as_the_flow_reader_reads_the_flow(tmp_path: Path) -> None:
    """The capture and a `-w` flow file must describe the same transaction."""
    flows: list[http.HTTPFlow] = [
        cors_get(response_headers=[("Access-Control-Allow-Origin", "*"), ("Vary", "Origin")]),
        preflight(response_headers=[("Access-Control-Allow-Methods", "PUT")]),
        cors_get(status=500, body=b"oops"),
        upstream_error(),
    ]
    path = tmp_path / "flows.mitm"
    with open(path, "wb") as fo:
        writer = io.FlowWriter(fo)
        for f in flows:
            writer.add(f)
    from_flows = [c.tx for c in read_flows(path).captured]
    from_entries = [
        entry_to_captured(entry_for(f, str(n)), where="-", path="-", order=n).tx
        for n, f in enumerate(flows)
    ]
    for a, b in zip(from_flows, from_entries, strict=True):
        assert a.request == b.request
        assert a.error == b.error
        assert a.server_ip == b.server_ip
        assert a.started == b.started
        if a.response is None:
            assert b.response is None
        else:
            assert b.response is not None
            assert (a.response.status, a.response.headers) == (
                b.response.status,
                b.response.headers,
            )
            assert a.response.body_excerpt == b.response.body_excerpt


def test_the_method_is_recorded_as_sent() -> None:
    # mitmproxy's Request.method upper-cases; fetch sends `patch` as `patch`.
    f = make(request("patch", API + "/items", [("Origin", PAGE)]), response(200))
    assert entry_for(f, "1")["request"]["method"] == "patch"


def test_secret_header_values_are_redacted_but_their_names_stay() -> None:
    f = cors_get(
        extra=[("Cookie", "sid=topsecret42"), ("Authorization", "Bearer tok-abc-123")],
        response_headers=[("Access-Control-Allow-Origin", "*"), ("Set-Cookie", "s=v4lue; Path=/")],
    )
    entry = entry_for(f, "e1")
    text = json.dumps(entry)
    assert "topsecret42" not in text and "tok-abc-123" not in text and "v4lue" not in text
    sent = dict(names(entry["request"]["headers"]))
    assert {"Cookie", "Authorization"} <= set(sent)
    # The verdict needs only the names: a Cookie means credentials, so '*' fails.
    from analysis.readers import assemble
    from analysis.verdict import decide

    captured = entry_to_captured(entry, where="e1", path="<test>", order=0)
    [exchange] = assemble([captured]).exchanges
    assert decide(exchange).reason == "WildcardOriginNotAllowed"
    kept = json.dumps(entry_for(f, "e2", redact=False))
    assert "topsecret42" in kept and "tok-abc-123" in kept
