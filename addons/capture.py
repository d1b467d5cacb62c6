"""One mitmproxy flow as one capture entry: a HAR 1.2 entry with `_cors` and `_corscope_id`.

What the entry keeps is what the verdict and the diagnosis need and nothing that could
leak a body: headers in wire order with duplicates, status, timings, HTTP version, server
IP, TLS facts, the proxy's own errors. Bodies only as the first KiB of preflight and error
responses, where they usually name the middleware that answered.

`_cors` keys the addon writes beyond those the readers interpret (readers ignore them):

- `proxy`: the browser's answer came from mitmproxy, not from the server.
  `{"status": 502, "error": "<mitmproxy's error>"}` when mitmproxy answered with its own
  error page (status null when it closed the connection without one, e.g. a killed flow);
  `{"status": <code>, "error": null}` when an addon made the response.
- `reconstructed: true` on entries made from a probe report rather than from the wire (see
  join.py), with `replayOf: "<entry id>"` when the response is the one an earlier entry
  recorded and the browser's HTTP cache replayed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analysis import orb
from analysis.model import MODES, Headers
from analysis.readers.flows import body_sniffed, sent_method
from analysis.readers.hints import resource_type_from_dest
from analysis.redact import redact_header

from .rules import Facts, pick

if TYPE_CHECKING:
    from mitmproxy import http

BODY_EXCERPT_BYTES = 1024
_MAX_INFLATE_BYTES = 1 << 20
"""Compressed error bodies larger than this are not inflated just for an excerpt."""
_KILLED = "Connection killed."


_RESPONSE_NAMES = frozenset({b"content-type", b"location", b"content-encoding"})


def entry_for(
    flow: http.HTTPFlow, entry_id: str, facts: Facts | None = None, *, redact: bool = True
) -> dict[str, Any]:
    """The capture entry for a finished flow (response or error). `facts`: the request's
    watched headers, if the caller picked them already. `redact`: secret header values
    (cookies, credentials, API keys) are replaced; their names stay, which is all a verdict
    needs (a Cookie header means credentials were sent)."""
    req = flow.request
    if facts is None:
        facts = pick(req.headers.fields)
    timings = _timings(flow)
    entry: dict[str, Any] = {
        "_corscope_id": entry_id,
        "startedDateTime": iso_time(req.timestamp_start),
        "time": round(sum(v for v in timings.values() if v > 0), 3),
        "request": {
            "method": sent_method(req),
            "url": req.pretty_url,
            "httpVersion": req.http_version,
            "cookies": [],
            "headers": header_list(req.headers.fields, redact=redact),
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(req.raw_content) if req.raw_content else 0,
        },
        "response": _response(flow, redact),
        "cache": {},
        "timings": timings,
    }
    server = flow.server_conn
    if server is not None and server.peername:
        entry["serverIPAddress"] = str(server.peername[0])
    tls = _tls(flow)
    if tls:
        entry["_tls"] = tls
    cors = wire_hints(flow, facts)
    if cors:
        entry["_cors"] = cors
    return entry


def wire_hints(flow: http.HTTPFlow, facts: Facts) -> dict[str, Any]:
    """The `_cors` facts the wire itself shows, so the entry describes itself to any reader."""
    cors: dict[str, Any] = {}
    mode = text(facts.get(b"sec-fetch-mode", b""))
    if mode in MODES:
        cors["mode"] = mode
    dest = facts.get(b"sec-fetch-dest")
    resource_type = resource_type_from_dest(text(dest) if dest is not None else None)
    if resource_type:
        cors["resourceType"] = resource_type
    proxy = _proxy_answer(flow)
    if proxy is not None:
        cors["proxy"] = proxy
    return cors


def server_answered(flow: http.HTTPFlow) -> bool:
    """Did the server's own, complete response reach the browser? Not when mitmproxy or an
    addon answered, nor when the server failed mid-response (mitmproxy's 502 went out)."""
    return flow.response is not None and _proxy_answer(flow) is None


def _proxy_answer(flow: http.HTTPFlow) -> dict[str, Any] | None:
    if flow.error is not None:
        # mitmproxy answers a failed upstream with its own 502 (see ResponseProtocolError),
        # except for a killed flow, whose client connection is just closed. With a response
        # beside the error, the server failed before finishing it (a body cut short).
        status = None if flow.error.msg == _KILLED else 502
        return {"status": status, "error": flow.error.msg}
    if flow.response is None:
        return None
    server = flow.server_conn
    if server is None or server.timestamp_start is None:
        return {"status": flow.response.status_code, "error": None}
    return None


def _response(flow: http.HTTPFlow, redact: bool) -> dict[str, Any]:
    resp = flow.response
    if resp is None:
        # HAR's shape for "no response", as browsers and mitmproxy's own export write it.
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": flow.error.msg if flow.error is not None else None,
        }
    raw = resp.raw_content
    found = pick(resp.headers.fields, _RESPONSE_NAMES)
    content: dict[str, Any] = {
        "size": len(raw) if raw else 0,
        "mimeType": text(found.get(b"content-type", b"x-unknown")),
    }
    if flow.request.method == "OPTIONS" or resp.status_code >= 400:
        excerpt = body_excerpt(resp)
        if excerpt:
            content["text"] = excerpt
    sniffed = response_sniffed(flow)
    if sniffed is not None:
        content["_sniffed"] = sniffed
    return {
        "status": resp.status_code,
        "statusText": resp.reason or "",
        "httpVersion": resp.http_version,
        "cookies": [],
        "headers": header_list(resp.headers.fields, redact=redact),
        "content": content,
        "redirectURL": text(found.get(b"location", b"")),
        "headersSize": -1,
        "bodySize": len(raw) if raw else 0,
    }


def response_sniffed(flow: http.HTTPFlow) -> str | None:
    """ORB's class of the body's first KiB (`analysis.orb`), kept only for an answer whose
    headers leave Opaque Response Blocking to the body, to a request that may be no-cors:
    one short word instead of the bytes."""
    req, resp = flow.request, flow.response
    if resp is None:
        return None
    sent = Headers.of((text(k), text(v)) for k, v in req.headers.fields)
    answer = Headers.of((text(k), text(v)) for k, v in resp.headers.fields)
    if not orb.keeps_sniff(sent_method(req), sent, resp.status_code, answer):
        return None
    return body_sniffed(resp)


def body_excerpt(resp: http.Response) -> str | None:
    """The first KiB of a textual body, decompressed if small enough; None for binary."""
    raw = resp.raw_content
    if not raw:
        return None
    data: bytes | None = raw
    if "content-encoding" in resp.headers:
        if len(raw) > _MAX_INFLATE_BYTES:
            return None
        data = resp.get_content(strict=False)
    if not data:
        return None
    chunk = data[:BODY_EXCERPT_BYTES]
    if b"\x00" in chunk:
        return None
    return chunk.decode("utf-8", errors="replace")


def _timings(flow: http.HTTPFlow) -> dict[str, float]:
    connect, ssl, send, wait, receive = timing_values(flow)
    return {
        "blocked": -1.0,
        "dns": -1.0,
        "connect": connect,
        "ssl": ssl,
        "send": send,
        "wait": wait,
        "receive": receive,
    }


def timing_values(flow: http.HTTPFlow) -> tuple[float, float, float, float, float]:
    """HAR's connect, ssl, send, wait and receive, in ms (-1.0: did not happen)."""
    req, resp, server = flow.request, flow.response, flow.server_conn
    start = req.timestamp_start
    connect = ssl = -1.0
    # Only a connection opened for this request cost it anything.
    if (
        server is not None
        and server.timestamp_start is not None
        and server.timestamp_tcp_setup is not None
        and server.timestamp_start >= start
    ):
        connect = _ms(server.timestamp_tcp_setup - server.timestamp_start)
        if server.timestamp_tls_setup is not None:
            ssl = _ms(server.timestamp_tls_setup - server.timestamp_tcp_setup)
    sent = req.timestamp_end or start
    send = _ms(sent - start)
    end = resp.timestamp_end if resp is not None else None
    if resp is not None:
        first_byte = resp.timestamp_start
        wait = _ms(first_byte - sent) - max(connect, 0) - max(ssl, 0)
        receive = _ms((end or first_byte) - first_byte)
    else:
        failed_at = flow.error.timestamp if flow.error is not None else sent
        wait, receive = _ms(failed_at - sent), 0.0
    return connect, ssl, send, max(wait, 0.0), receive


def _ms(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1000.0, 3)


def _tls(flow: http.HTTPFlow) -> dict[str, Any] | None:
    server = flow.server_conn
    if server is None or not server.tls_established:
        return None
    alpn = server.alpn.decode("ascii", "replace") if server.alpn else None
    return {
        "version": server.tls_version,
        "cipher": server.cipher,
        "alpn": alpn,
        "sni": server.sni,
    }


def header_list(fields: Any, *, redact: bool = False) -> list[dict[str, str]]:
    pairs = [(text(k), text(v)) for k, v in fields]
    if redact:
        pairs = [(k, redact_header(k, v)) for k, v in pairs]
    return [{"name": k, "value": v} for k, v in pairs]


def text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    # As mitmproxy's own Headers do: a byte that is not UTF-8 survives as a lone surrogate
    # (written as a \u escape), never as another, valid character.
    return value.decode("utf-8", "surrogateescape")


def calendar_time(epoch: float) -> datetime | None:
    """None for a time no calendar holds, which a replayed or edited flow file can carry."""
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def iso_time(epoch: float) -> str:
    """The HAR date; "" (no date, as the readers take it) where there is none."""
    moment = calendar_time(epoch)
    return moment.isoformat() if moment is not None else ""
