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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analysis.model import Headers, Request, Response, Transaction
from analysis.readers.captured import Captured, Hints
from analysis.readers.har import BODY_EXCERPT_CHARS, entry_to_captured
from analysis.readers.hints import cors_hints
from analysis.redact import redact_header

from .capture import _RESPONSE_NAMES, _timings, _tls, body_excerpt, entry_for, text, wire_hints
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
    request_headers: Headers
    response_headers: Headers
    """Both as the capture holds them (redacted), for the joiner's look-ups."""
    response: Callable[[], dict[str, Any]]
    """The entry's `response` object, made on demand."""


def last_value(headers: Headers, name: str) -> str | None:
    """The last value of a header (lower-case `name`), as a dict built over the fields
    would keep it."""
    positions = headers.layout.get(name)
    return headers.fields[positions[-1]][1] if positions else None


class _HeaderText:
    """Header fields as the capture writes them (JSON text) and as the reader reads that
    back (model `Headers`), cached per field and per whole list."""

    def __init__(self, redact: bool) -> None:
        self.redact = redact
        self._fields: dict[tuple[bytes, bytes], tuple[tuple[str, str], str, bool]] = {}
        self._lists: dict[tuple[tuple[bytes, bytes], ...], tuple[str, Headers, bool]] = {}

    def get(self, fields: tuple[tuple[bytes, bytes], ...]) -> tuple[str, Headers, bool]:
        """(JSON array text, Headers, plain): `plain` is False when a name is one the
        reader treats specially, and the flow must go the reference way."""
        hit = self._lists.get(fields)
        if hit is not None:
            return hit
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
        result = ("[" + ",".join(parts) + "]", Headers(tuple(pairs)), plain)
        if len(self._lists) >= _CACHE_LIMIT:
            self._lists.clear()
        self._lists[fields] = result
        return result


def _number(value: float | int) -> str:
    """A number as json.dumps(allow_nan=False) writes it."""
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError("Out of range float values are not JSON compliant")
        return float.__repr__(value)
    return int.__repr__(int(value))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class Recorder:
    """Makes `Recorded`s; keeps the caches, so keep one per addon."""

    def __init__(self) -> None:
        self._headers = {True: _HeaderText(True), False: _HeaderText(False)}
        self._cors: dict[tuple[bytes | None, bytes | None], tuple[dict[str, Any], str, Hints]] = {}
        self._tls: dict[tuple[Any, ...], str] = {}
        self._versions: dict[str, str | None] = {}

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
        return Recorded(
            line=encode(entry),
            captured=captured,
            cors=entry.get("_cors") or {},
            status=response["status"],
            location=response["redirectURL"],
            request_headers=captured.tx.request.headers,
            response_headers=Headers.of((h["name"], h["value"]) for h in response["headers"]),
            response=lambda: response,
        )

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
        req, resp, server = flow.request, flow.response, flow.server_conn
        if resp is None or server is None or server.timestamp_start is None:
            return None  # an error, or an answer mitmproxy or an addon made
        status = resp.status_code
        method = req.method
        if not status or not method or not url:
            return None
        headers = self._headers[redact]
        req_json, req_headers, req_plain = headers.get(req.headers.fields)
        resp_json, resp_headers, resp_plain = headers.get(resp.headers.fields)
        if not (req_plain and resp_plain):
            return None
        cors_key = (facts.get(b"sec-fetch-mode"), facts.get(b"sec-fetch-dest"))
        cors_known = self._cors.get(cors_key)
        if cors_known is None:
            cors = wire_hints(flow, facts)
            if "proxy" in cors:
                return None
            cors_known = (cors, _dumps(cors) if cors else "", cors_hints(cors, entry_id, "<live>"))
            if len(self._cors) >= _CACHE_LIMIT:
                self._cors.clear()
            self._cors[cors_key] = cors_known
        cors, cors_json, cors_hint = cors_known

        when = datetime.fromtimestamp(req.timestamp_start, UTC)
        timings = _timings(flow)
        duration = round(sum(v for v in timings.values() if v > 0), 3)
        req_version = req.http_version
        req_raw = req.raw_content
        resp_raw = resp.raw_content
        found = pick(resp.headers.fields, _RESPONSE_NAMES)
        mime = text(found.get(b"content-type", b"x-unknown"))
        location = text(found.get(b"location", b""))
        reason = resp.reason or ""
        resp_version = resp.http_version
        size = len(resp_raw) if resp_raw else 0
        excerpt = None
        if method == "OPTIONS" or status >= 400:
            excerpt = body_excerpt(resp)
        parts = [
            '{"_corscope_id":',
            quote(entry_id),
            ',"startedDateTime":',
            quote(when.isoformat()),
            ',"time":',
            _number(duration),
            ',"request":{"method":',
            quote(method),
            ',"url":',
            quote(url),
            ',"httpVersion":',
            quote(req_version),
            ',"cookies":[],"headers":',
            req_json,
            ',"queryString":[],"headersSize":-1,"bodySize":',
            _number(len(req_raw) if req_raw else 0),
            '},"response":{"status":',
            _number(status),
            ',"statusText":',
            quote(reason),
            ',"httpVersion":',
            quote(resp_version),
            ',"cookies":[],"headers":',
            resp_json,
            ',"content":{"size":',
            _number(size),
            ',"mimeType":',
            quote(mime),
        ]
        if excerpt:
            parts += (',"text":', quote(excerpt))
        parts += (
            '},"redirectURL":',
            quote(location),
            ',"headersSize":-1,"bodySize":',
            _number(size),
            '},"cache":{},"timings":{"blocked":',
            _number(timings["blocked"]),
            ',"dns":',
            _number(timings["dns"]),
            ',"connect":',
            _number(timings["connect"]),
            ',"ssl":',
            _number(timings["ssl"]),
            ',"send":',
            _number(timings["send"]),
            ',"wait":',
            _number(timings["wait"]),
            ',"receive":',
            _number(timings["receive"]),
            "}",
        )
        server_ip = None
        if server.peername:
            server_ip = str(server.peername[0])
            parts += (',"serverIPAddress":', quote(server_ip))
        tls = _tls(flow)
        if tls:
            tls_key = tuple(tls.values())
            tls_json = self._tls.get(tls_key)
            if tls_json is None:
                tls_json = _dumps(tls)
                if len(self._tls) >= _CACHE_LIMIT:
                    self._tls.clear()
                self._tls[tls_key] = tls_json
            parts += (',"_tls":', tls_json)
        if cors_json:
            parts += (',"_cors":', cors_json)
        parts.append("}\n")
        line = "".join(parts).encode("ascii")

        # What the capture reader makes of that line (see har.entry_to_captured).
        hints = Hints()
        if location:
            hints["redirect_url"] = location
        hints.update(cors_hint)
        body_text = None
        if excerpt and (status >= 400 or method.upper() == "OPTIONS"):
            body_text = excerpt[:BODY_EXCERPT_CHARS]
        tx = Transaction(
            request=Request(method, url, req_headers, self._version(req_version)),
            response=Response(status, resp_headers, reason, self._version(resp_version), body_text),
            error=None,
            started=when.timestamp(),
            duration_ms=float(duration),
            server_ip=server_ip or None,
        )

        def response_object() -> dict[str, Any]:
            return json.loads(line)["response"]

        return Recorded(
            line=line,
            captured=Captured(tx=tx, hints=hints, order=order, id=entry_id),
            cors=cors,
            status=status,
            location=location,
            request_headers=req_headers,
            response_headers=resp_headers,
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
