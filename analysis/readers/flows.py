"""mitmproxy flow files (`mitmdump -w`, the "save" addon) through mitmproxy's own
`FlowReader`. `read()` uses the much faster `flowstream`; this is the reference it is
tested against, and what it hands the records it does not understand. Needs mitmproxy,
imported only when such a file is read, so the HAR and capture readers work inside any
Python."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from analysis import orb
from analysis.model import Headers, Request, Response, Transaction

from .captured import Captured, Hints, Loaded
from .errors import InputError
from .hints import cors_hints

if TYPE_CHECKING:
    from mitmproxy import http

BODY_EXCERPT_BYTES = 1024
_MAX_DECODE_BYTES = 1 << 20
"""Compressed error bodies larger than this are not inflated just for an excerpt."""


def read_flows(path: str | os.PathLike[str]) -> Loaded:
    spath = os.fspath(path)
    try:
        from mitmproxy import exceptions
        from mitmproxy import http as mhttp
        from mitmproxy.io import FlowReader
    except ImportError:
        raise InputError(
            spath, "reading mitmproxy flow files needs mitmproxy (pip install mitmproxy)"
        ) from None

    loaded = Loaded(captured=[], format="flows")
    records = 0
    try:
        f = open(spath, "rb")  # closed by the `with` below
    except OSError as e:
        raise InputError(spath, e.strerror or str(e)) from None
    with f:
        stream = iter(FlowReader(f).stream())
        while True:
            try:
                flow = next(stream, None)
            # mitmproxy raises FlowReadException for bad data, but a well-formed tnetstring
            # that is no flow state can still surface as a KeyError or TypeError.
            # mitmproxy 11 even meets a record that is no dict with an AttributeError.
            except (
                exceptions.FlowReadException,
                AttributeError,
                KeyError,
                TypeError,
                ValueError,
            ) as e:
                reason = str(e) or type(e).__name__
                if records == 0:
                    raise InputError(
                        spath, f"not a readable mitmproxy flow file: {reason}"
                    ) from None
                loaded.warnings.append(
                    f"{spath}: stopped after {records} complete flows: {reason} "
                    "(file truncated?); kept those"
                )
                break
            if flow is None:
                break
            records += 1
            if not isinstance(flow, mhttp.HTTPFlow) or flow.request.method == "CONNECT":
                loaded.skipped += 1
                continue
            loaded.captured.append(_captured(flow, records, spath))
    return loaded


def _captured(flow: http.HTTPFlow, number: int, path: str) -> Captured:
    req = flow.request
    request = Request(
        method=sent_method(req),
        url=req.pretty_url,
        headers=_headers(req.headers.fields),
        http_version=req.http_version or None,
    )
    response = _response(flow, request)
    # mitmproxy keeps a record's empty error state ("", {}, 0) as it is instead of an
    # `Error`: no error, as its own `if flow.error` reads it.
    failure = flow.error or None
    error = failure.msg if failure is not None else None

    end: float | None = None
    if flow.response is not None:
        end = flow.response.timestamp_end or flow.response.timestamp_start
    elif failure is not None:
        end = failure.timestamp
    duration = (end - req.timestamp_start) * 1000.0 if end and req.timestamp_start else None

    peer = flow.server_conn.peername if flow.server_conn else None
    tx = Transaction(
        request=request,
        response=response,
        error=error,
        started=req.timestamp_start,
        duration_ms=duration if duration is not None and duration >= 0 else None,
        server_ip=str(peer[0]) if peer else None,
    )
    hints, entry_id = _metadata_hints(flow.metadata, number, path)
    return Captured(tx=tx, hints=hints, order=number, id=entry_id)


def sent_method(req: http.Request) -> str:
    """The method as it went on the wire. mitmproxy's `Request.method` upper-cases it, but
    fetch upper-cases only six methods: `fetch(u, {method: 'patch'})` sends `patch`, and its
    preflight announces `patch`."""
    return req.data.method.decode("utf-8", "surrogateescape")


def _response(flow: http.HTTPFlow, request: Request) -> Response | None:
    resp = flow.response
    if resp is None:
        return None
    excerpt = None
    if flow.request.method.upper() == "OPTIONS" or resp.status_code >= 400:
        excerpt = _excerpt(resp)
    # A response with no server connection behind it came from mitmproxy or an addon.
    server = flow.server_conn
    made_by_proxy = server is None or server.timestamp_start is None
    headers = _headers(resp.headers.fields)
    sniffed = None
    if orb.keeps_sniff(request.method, request.headers, resp.status_code, headers):
        sniffed = body_sniffed(resp)
    return Response(
        status=resp.status_code,
        headers=headers,
        reason=resp.reason or "",
        http_version=resp.http_version or None,
        body_excerpt=excerpt,
        made_by_proxy=made_by_proxy,
        sniffed=sniffed,
    )


def body_sniffed(resp: http.Response) -> str | None:
    """ORB's class of the decoded body's first KiB; None when the flow kept no body or a
    compressed one too large to inflate here (the addon's capture keeps the same)."""
    raw = resp.raw_content
    if raw is None:
        return None
    if "content-encoding" not in resp.headers:
        return orb.sniff(raw[: orb.SNIFF_BYTES])
    if len(raw) > _MAX_DECODE_BYTES:
        return None
    try:
        content = resp.get_content(strict=False)
    except TypeError:
        content = raw  # a text codec named as Content-Encoding, as in `_excerpt`
    return orb.sniff((content if content is not None else raw)[: orb.SNIFF_BYTES])


def _excerpt(resp: http.Response) -> str | None:
    raw = resp.raw_content
    if not raw:
        return None
    content: bytes | None = raw
    if "content-encoding" in resp.headers and len(raw) <= _MAX_DECODE_BYTES:
        try:
            content = resp.get_content(strict=False)
        except TypeError:
            # A text codec named as Content-Encoding ("rot13"): mitmproxy lets the
            # TypeError through even when not strict. The body is shown as stored.
            content = raw
    if not content:
        return None
    return content[:BODY_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _headers(fields: Any) -> Headers:
    pairs: list[tuple[str, str]] = []
    for name, value in fields:
        key = _text(name)
        if key.startswith(":"):
            continue
        pairs.append((key, _text(value)))
    return Headers(tuple(pairs))


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    return value.decode("utf-8", "surrogateescape")  # as flowstream._text


def _metadata_hints(metadata: Any, number: int, path: str) -> tuple[Hints, str | None]:
    """The addon stores the `_cors` object as `metadata["cors"]` and the capture id as
    `metadata["corscope_id"]`."""
    if not isinstance(metadata, dict):
        return Hints(), None
    cors = metadata.get("cors")
    hints = cors_hints(cors, f"flow {number}", path) if isinstance(cors, dict) else Hints()
    entry_id = metadata.get("corscope_id")
    if entry_id is None and isinstance(cors, dict):
        entry_id = cors.get("_corscope_id")
    return hints, entry_id if isinstance(entry_id, str) and entry_id else None
