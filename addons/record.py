"""The hot path of recording: a finished flow straight to its capture line and to the
`Captured` the live verdict decides, without building the entry dict in between.

`capture.entry_for` is the specification of a capture entry. `Recorder` writes exactly
`session.encode(entry_for(flow, ...))`, byte for byte, and builds exactly what the
capture reader (`entry_to_captured`) reads back from that line; tests/addons/test_record.py
holds it to both over many kinds of flows. It is cheaper because traffic repeats itself:
each header field, each whole header list, the TLS facts and the `_cors` object of one
kind of request are turned into JSON text and model objects once and then reused, and the
remaining strings are quoted by the json module's own C function.

Anything unusual goes the reference way (`entry_for`, `encode`, `entry_to_captured`): no
response (an error), a response mitmproxy or an addon made, a status of 0, header names
the reader treats specially (empty, or HTTP/2 pseudo headers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from analysis import orb
from analysis.model import Headers, Request, Response, Transaction
from analysis.readers.captured import Captured, Hints
from analysis.readers.flows import body_sniffed, sent_method
from analysis.readers.har import BODY_EXCERPT_CHARS, entry_to_captured
from analysis.readers.hints import cors_hints
from analysis.redact import redact_header

from .capture import (
    _RESPONSE_NAMES,
    _tls,
    body_excerpt,
    calendar_time,
    entry_for,
    server_answered,
    text,
    timing_values,
    wire_hints,
)
from .join import browser_may_cache
from .rules import Facts, pick
from .session import encode

if TYPE_CHECKING:
    from mitmproxy import http

try:
    from _json import encode_basestring_ascii as _quote_c  # what json.dumps quotes with
except ImportError:  # pragma: no cover - every CPython has it
    _quote_c = None
from json.encoder import encode_basestring_ascii as _quote_py

quote: Callable[[str], str] = _quote_c or _quote_py

_CACHE_LIMIT = 20_000
"""Distinct header fields (and header lists) kept at once per cache; past it a cache
starts over, which costs time, never correctness."""


@dataclass(slots=True)
class Recorded:
    """One recorded flow: its capture line and what the rest of the addon needs of it."""

    line: bytes
    captured: Captured
    cors: dict[str, Any]
    """The entry's `_cors` object ({} when it has none)."""
    status: int
    """The response status, 0 without a response."""
    location: str
    """The entry's `response.redirectURL`."""
    acrm: str | None
    mode: str | None
    origin: str | None
    """The last values of the request's Access-Control-Request-Method, Sec-Fetch-Mode and
    Origin headers, as the capture holds them."""
    cacheable: bool
    """Whether the browser may answer this response again from its HTTP cache."""
    response: Callable[[], dict[str, Any]]
    """The entry's `response` object, made on demand."""


def _sent(headers: Headers) -> tuple[str | None, str | None, str | None]:
    return (
        last_value(headers, "access-control-request-method"),
        last_value(headers, "sec-fetch-mode"),
        last_value(headers, "origin"),
    )


def _cacheable(status: int, headers: Headers) -> bool:
    return browser_may_cache(status, lambda name: last_value(headers, name))


def last_value(headers: Headers, name: str) -> str | None:
    """The last value of a header (lower-case `name`), as a dict built over the fields
    would keep it."""
    positions = headers.layout.get(name)
    return headers.fields[positions[-1]][1] if positions else None


class _HeaderText:
    """Header fields as the capture writes them (JSON text) and as the reader reads that
    back (model `Headers`), cached per field."""

    def __init__(self, redact: bool) -> None:
        self.redact = redact
        self._fields: dict[tuple[bytes, bytes], tuple[tuple[str, str], str, bool]] = {}

    def get(self, fields: tuple[tuple[bytes, bytes], ...]) -> tuple[str, Headers, bool]:
        """(JSON array text, Headers, plain): `plain` is False when a name is one the
        reader treats specially, and the flow must go the reference way."""
        cache = self._fields
        pairs: list[tuple[str, str]] = []
        parts: list[str] = []
        plain = True
        for field in fields:
            known = cache.get(field)
            if known is None:
                name, value = text(field[0]), text(field[1])
                if self.redact:
                    value = redact_header(name, value)
                known = (
                    (name, value),
                    '{"name":' + quote(name) + ',"value":' + quote(value) + "}",
                    bool(name) and name[0] != ":",
                )
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[field] = known
            pairs.append(known[0])
            parts.append(known[1])
            plain = plain and known[2]
        return "[" + ",".join(parts) + "]", Headers(tuple(pairs)), plain


@dataclass(frozen=True, slots=True)
class _RequestShape:
    """What requests with the same method, scheme, authority, version and header fields
    have in common."""

    plain: bool
    method: str
    url_prefix: str | None
    """`pretty_url` without the path; None: ask mitmproxy for each request."""
    head: str
    """The entry up to the URL's value."""
    middle: str
    """From after the URL to the request's bodySize value."""
    headers: Headers
    http_version: str | None
    sent: tuple[str | None, str | None, str | None]
    """See `Recorded.acrm`, `.mode`, `.origin`."""


@dataclass(frozen=True, slots=True)
class _ResponseShape:
    """What responses with the same status, reason, version and header fields have in
    common."""

    plain: bool
    head: str
    """From the response's key to its content size value."""
    mime: str
    """From after the content size to the end of the content object's mimeType."""
    tail: str
    """From the content object's end to the response's bodySize value."""
    location: str
    headers: Headers
    reason: str
    http_version: str | None
    without_excerpt: Response
    cacheable: bool


def _number(value: float | int) -> str:
    """A number as json.dumps(allow_nan=False) writes it."""
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError("Out of range float values are not JSON compliant")
        return float.__repr__(value)
    return int.__repr__(int(value))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


_Key = tuple[Any, ...]


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


class Recorder:
    """Makes `Recorded`s; keeps the caches, so keep one per addon."""

    def __init__(self) -> None:
        self._headers = {True: _HeaderText(True), False: _HeaderText(False)}
        self._requests: dict[_Key, _RequestShape] = {}
        self._responses: dict[_Key, _ResponseShape] = {}
        self._cors: dict[_Key, tuple[dict[str, Any], str, Hints]] = {}
        self._tails: dict[_Key, tuple[str, str | None]] = {}
        self._versions: dict[str, str | None] = {}

    def url(self, req: http.Request) -> str:
        """`req.pretty_url`, the costly part (parsing Host) done once per request shape."""
        prefix = self._request_shape(req, True).url_prefix
        if prefix is None:
            return req.pretty_url
        path = req.path
        return prefix + path if path != "*" else prefix

    def record(
        self,
        flow: http.HTTPFlow,
        entry_id: str,
        facts: Facts,
        url: str,
        *,
        redact: bool = True,
        order: int = 0,
    ) -> Recorded:
        """`url`: the request's `pretty_url`. Raises what the reference way raises
        (`InputError` for a line the capture readers would refuse)."""
        fast = self._fast(flow, entry_id, facts, url, redact, order)
        return fast if fast is not None else self._reference(flow, entry_id, facts, redact, order)

    # --- the reference way -------------------------------------------------------------

    def _reference(
        self, flow: http.HTTPFlow, entry_id: str, facts: Facts, redact: bool, order: int
    ) -> Recorded:
        entry = entry_for(flow, entry_id, facts, redact=redact)
        # Read it back as `corscope analyze` will before it goes in: a line the readers
        # refuse would make the whole capture unreadable.
        captured = entry_to_captured(entry, where=entry_id, path="<live>", order=order)
        response = entry["response"]
        status = response["status"]
        sent = Headers.of((h["name"], h["value"]) for h in entry["request"]["headers"])
        answered = Headers.of((h["name"], h["value"]) for h in response["headers"])
        return Recorded(
            encode(entry),
            captured,
            entry.get("_cors") or {},
            status,
            response["redirectURL"],
            *_sent(sent),
            cacheable=_cacheable(status, answered),
            response=lambda: response,
        )

    # --- shapes ------------------------------------------------------------------------

    def _request_shape(self, req: http.Request, redact: bool) -> _RequestShape:
        data = req.data
        key = (
            redact,
            data.method,
            data.scheme,
            data.authority,
            data.http_version,
            *data.headers.fields,
        )
        shape = self._requests.get(key)
        if shape is not None:
            return shape
        method, version = sent_method(req), req.http_version
        headers_json, headers, plain = self._headers[redact].get(data.headers.fields)
        prefix = None
        host = req.host_header
        if method.upper() != "CONNECT" and host:
            from mitmproxy.net.http import url

            # What Request.pretty_url does with the Host header, path left off.
            pretty_host, pretty_port = url.parse_authority(host, check=False)
            pretty_port = pretty_port or url.default_port(req.scheme) or 443
            prefix = url.unparse(req.scheme, pretty_host, pretty_port, "")
        shape = _RequestShape(
            plain=plain and bool(method),
            method=method,
            url_prefix=prefix,
            head=',"request":{"method":' + quote(method) + ',"url":',
            middle=',"httpVersion":'
            + quote(version)
            + ',"cookies":[],"headers":'
            + headers_json
            + ',"queryString":[],"headersSize":-1,"bodySize":',
            headers=headers,
            http_version=self._version(version),
            sent=_sent(headers),
        )
        _remember(self._requests, key, shape)
        return shape

    def _response_shape(self, resp: http.Response, redact: bool) -> _ResponseShape:
        data = resp.data
        key = (redact, data.status_code, data.reason, data.http_version, *data.headers.fields)
        shape = self._responses.get(key)
        if shape is not None:
            return shape
        status, version, reason = resp.status_code, resp.http_version, resp.reason or ""
        headers_json, headers, plain = self._headers[redact].get(data.headers.fields)
        found = pick(data.headers.fields, _RESPONSE_NAMES)
        location = text(found.get(b"location", b""))
        http_version = self._version(version)
        shape = _ResponseShape(
            plain=plain and bool(status),
            head=',"response":{"status":'
            + _number(status)
            + ',"statusText":'
            + quote(reason)
            + ',"httpVersion":'
            + quote(version)
            + ',"cookies":[],"headers":'
            + headers_json
            + ',"content":{"size":',
            mime=',"mimeType":' + quote(text(found.get(b"content-type", b"x-unknown"))),
            tail='},"redirectURL":' + quote(location) + ',"headersSize":-1,"bodySize":',
            location=location,
            headers=headers,
            reason=reason,
            http_version=http_version,
            without_excerpt=Response(status, headers, reason, http_version, None),
            cacheable=_cacheable(status, headers),
        )
        _remember(self._responses, key, shape)
        return shape

    def wire_hints(self, flow: http.HTTPFlow, facts: Facts) -> dict[str, Any]:
        """`capture.wire_hints`, remembered per kind of request where it can be."""
        if not server_answered(flow):
            return wire_hints(flow, facts)  # a proxy's answer: its own facts go in
        return self._cors_of(flow, facts, "")[0]  # type: ignore[no-any-return]

    def _cors_of(self, flow: http.HTTPFlow, facts: Facts, entry_id: str) -> tuple[Any, ...]:
        key = (facts.get(b"sec-fetch-mode"), facts.get(b"sec-fetch-dest"))
        known = self._cors.get(key)
        if known is None:
            # Only for flows without a proxy answer: `wire_hints` then depends on these two.
            cors = wire_hints(flow, facts)
            known = (
                cors,
                ',"_cors":' + _dumps(cors) if cors else "",
                cors_hints(cors, entry_id, "<live>"),
            )
            _remember(self._cors, key, known)
        return known

    def _tail(self, flow: http.HTTPFlow) -> tuple[str, str | None]:
        """serverIPAddress and _tls, as text, and the server's IP."""
        server = flow.server_conn
        tls = _tls(flow)
        key = (server.peername, None if tls is None else tuple(tls.values()))
        known = self._tails.get(key)
        if known is None:
            text_, ip = "", None
            if server.peername:
                ip = str(server.peername[0])
                text_ = ',"serverIPAddress":' + quote(ip)
            if tls:
                text_ += ',"_tls":' + _dumps(tls)
            known = (text_, ip)
            _remember(self._tails, key, known)
        return known

    # --- the fast way --------------------------------------------------------------------

    def _fast(
        self,
        flow: http.HTTPFlow,
        entry_id: str,
        facts: Facts,
        url: str,
        redact: bool,
        order: int,
    ) -> Recorded | None:
        req, resp = flow.request, flow.response
        if resp is None or not url or not server_answered(flow):
            return None  # an error, or an answer mitmproxy or an addon made
        rq = self._request_shape(req, redact)
        rs = self._response_shape(resp, redact)
        if not (rq.plain and rs.plain):
            return None
        cors, cors_json, cors_hint = self._cors_of(flow, facts, entry_id)
        connect, ssl, send, wait, receive = timing_values(flow)
        if not math.isfinite(connect + ssl + send + wait + receive):
            return None  # the reference way raises as json.dumps does
        duration = round(sum(v for v in (connect, ssl, send, wait, receive) if v > 0), 3)
        moment = calendar_time(req.timestamp_start)
        req_raw, resp_raw = req.raw_content, resp.raw_content
        size = len(resp_raw) if resp_raw else 0
        status = resp.status_code
        method = rq.method
        excerpt = None
        if method.upper() == "OPTIONS" or status >= 400:
            excerpt = body_excerpt(resp)
        content = rs.mime if not excerpt else rs.mime + ',"text":' + quote(excerpt)
        sniffed = None
        if orb.keeps_sniff(method, rq.headers, status, rs.headers):
            sniffed = body_sniffed(resp)
            if sniffed is not None:
                content += ',"_sniffed":"' + sniffed + '"'
        tail, server_ip = self._tail(flow)
        line = (
            '{"_corscope_id":%s,"startedDateTime":%s,"time":%s%s%s%s%d%s%d%s%s%d}'  # noqa: UP031
            ',"cache":{},"timings":{"blocked":-1.0,"dns":-1.0,"connect":%r,"ssl":%r,'
            '"send":%r,"wait":%r,"receive":%r}%s%s}\n'
        ) % (
            quote(entry_id),
            quote(moment.isoformat() if moment is not None else ""),
            _number(duration),
            rq.head,
            quote(url),
            rq.middle,
            len(req_raw) if req_raw else 0,
            "}" + rs.head,
            size,
            content,
            rs.tail,
            size,
            connect,
            ssl,
            send,
            wait,
            receive,
            tail,
            cors_json,
        )

        # What the capture reader makes of that line (see har.entry_to_captured).
        hints = Hints()
        location = rs.location
        if location:
            hints["redirect_url"] = location
        hints.update(cors_hint)
        response = rs.without_excerpt
        if excerpt and (status >= 400 or method.upper() == "OPTIONS"):
            response = Response(
                status, rs.headers, rs.reason, rs.http_version, excerpt[:BODY_EXCERPT_CHARS]
            )
        if sniffed is not None:
            response = replace(response, sniffed=sniffed)
        tx = Transaction(
            Request(method, url, rq.headers, rq.http_version),
            response,
            None,
            moment.timestamp() if moment is not None else None,
            float(duration),
            server_ip or None,
        )
        line_bytes = line.encode("ascii")

        def response_object() -> dict[str, Any]:
            return json.loads(line_bytes)["response"]

        return Recorded(
            line_bytes,
            Captured(tx, hints, order, entry_id),
            cors,
            status,
            location,
            *rq.sent,
            cacheable=rs.cacheable,
            response=response_object,
        )

    def _version(self, version: str) -> str | None:
        """An HTTP version as the reader normalises it (asked of the reader itself, once
        per distinct spelling)."""
        known = self._versions.get(version, self)
        if known is self:
            entry = {"request": {"method": "GET", "url": "http://v/", "httpVersion": version}}
            known = entry_to_captured(entry, where="-", path="-", order=0).tx.request.http_version
            if len(self._versions) < 64:
                self._versions[version] = known
        return known  # type: ignore[return-value]
