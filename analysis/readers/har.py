"""HAR 1.2 files: Chrome/Chromium DevTools, Firefox, mitmproxy's own export, and any tool
that keeps to the spec. Also the entry parser the capture reader shares."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from analysis.model import Headers, Request, Response, Transaction, origin_of

from .captured import Captured, Hints, Loaded
from .errors import InputError
from .hints import cors_hints, describe_type

BODY_EXCERPT_CHARS = 1024

_HTTP_VERSIONS = {
    "h2": "HTTP/2.0",
    "http/2": "HTTP/2.0",
    "http/2.0": "HTTP/2.0",
    "h3": "HTTP/3",
    "http/3": "HTTP/3",
    "http/3.0": "HTTP/3",
    "http/1.1": "HTTP/1.1",
    "http/1.0": "HTTP/1.0",
}


def read_har(path: str | os.PathLike[str]) -> Loaded:
    spath = os.fspath(path)
    doc = parse_json_file(spath)
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict):
        raise InputError(spath, 'not a HAR file: no "log" object at the top')
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise InputError(spath, f"log.entries must be an array, not {describe_type(entries)}")
    creator = log.get("creator")
    creator_name = creator.get("name") if isinstance(creator, dict) else None
    # mitmproxy writes the proxy's own error into `_error`; browsers write theirs.
    errors_are_browser_side = creator_name != "mitmproxy"
    pages = _page_urls(log.get("pages"), spath)
    del doc, log

    captured: list[Captured] = []
    for index in range(len(entries)):
        entry = entries[index]
        entries[index] = None  # let each raw entry go as soon as it is converted
        captured.append(
            entry_to_captured(
                entry,
                where=f"log.entries[{index}]",
                path=spath,
                order=index,
                pages=pages,
                errors_are_browser_side=errors_are_browser_side,
            )
        )
    return Loaded(captured=captured, format="har")


def parse_json_file(path: str) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise InputError(path, "the JSON ends early (file truncated?)") from None
        raise InputError(
            path, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise InputError(path, "not valid JSON: nested too deeply") from None


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    return decode_utf8(data, path)


def decode_utf8(data: bytes, path: str, where: str = "") -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        prefix = f"{where}: " if where else ""
        raise InputError(
            path, f"{prefix}not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


def _page_urls(pages: object, path: str) -> dict[str, str]:
    """HAR page id -> page URL. Chrome writes the page's URL as its title; Firefox writes
    the document title, which is no URL and is skipped."""
    if pages is None:
        return {}
    if not isinstance(pages, list):
        raise InputError(path, f"log.pages must be an array, not {describe_type(pages)}")
    urls: dict[str, str] = {}
    for i, page in enumerate(pages):
        if not isinstance(page, dict):
            raise InputError(path, f"log.pages[{i}] must be an object, not {describe_type(page)}")
        page_id, title = page.get("id"), page.get("title")
        if not isinstance(page_id, str):
            raise InputError(path, f"log.pages[{i}].id must be a string")
        if isinstance(title, str) and origin_of(title) is not None:
            urls[page_id] = title
    return urls


class _Fields:
    """Typed access to one JSON object, naming the field in every error."""

    def __init__(self, obj: object, where: str, path: str, name: str = "") -> None:
        """`where` names the record ("log.entries[3]", "line 7"), `name` the dotted path of
        this object inside it ("" for the record itself)."""
        if not isinstance(obj, dict):
            what = f"{where}: {name}" if name else where
            raise InputError(path, f"{what} must be an object, not {describe_type(obj)}")
        self.obj: dict[str, Any] = obj
        self.where = where
        self.path = path
        self.name = name

    def field(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def fail(self, key: str, expected: str) -> InputError:
        got = describe_type(self.obj.get(key))
        return InputError(
            self.path, f"{self.where}: {self.field(key)} must be {expected}, not {got}"
        )

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.obj.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(key, "a non-empty string" if required else "a string")
        return value

    def number(self, key: str) -> float | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number")
        return float(value)

    def whole(self, key: str) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        if not value.is_integer():
            raise self.fail(key, "a whole number")
        return int(value)

    def flag(self, key: str) -> bool | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def sub(self, key: str, *, required: bool = False) -> _Fields | None:
        value = self.obj.get(key)
        if value is None and not required:
            return None
        return _Fields(value, self.where, self.path, self.field(key))

    def headers(self, key: str = "headers") -> Headers:
        value = self.obj.get(key)
        if value is None:
            return Headers()
        if not isinstance(value, list):
            raise self.fail(key, "an array")
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            header = _Fields(item, self.where, self.path, f"{self.field(key)}[{i}]")
            name = header.text("name", required=True)
            val = header.text("value")
            assert name is not None
            # HTTP/2 and /3 pseudo headers (":authority") are framing, not header fields.
            if name.startswith(":"):
                continue
            pairs.append((name, val or ""))
        return Headers(tuple(pairs))


def entry_to_captured(
    entry: object,
    *,
    where: str,
    path: str,
    order: int,
    pages: Mapping[str, str] | None = None,
    errors_are_browser_side: bool = True,
) -> Captured:
    e = _Fields(entry, where, path)
    req = e.sub("request", required=True)
    assert req is not None
    method = req.text("method", required=True)
    url = req.text("url", required=True)
    assert method is not None and url is not None
    request = Request(
        method=method,
        url=url,
        headers=req.headers(),
        http_version=_http_version(req.text("httpVersion")),
    )

    hints = Hints()
    resp = e.sub("response")
    response: Response | None = None
    error: str | None = None
    if resp is not None:
        response = _response(resp, method)
        error = resp.text("_error")
        if resp.flag("_fetchedViaServiceWorker"):
            hints["source"] = "service-worker"
        redirect_url = resp.text("redirectURL")
        if redirect_url:
            hints["redirect_url"] = redirect_url
    error = error or e.text("_error")

    if error and errors_are_browser_side:
        hints["browser_error"] = error
    from_cache = e.text("_fromCache")
    if from_cache in ("disk", "memory"):
        hints["source"] = "http-cache"
    resource_type = e.text("_resourceType")
    if resource_type:
        hints["resource_type"] = resource_type
    initiator = e.sub("_initiator")
    if initiator is not None:
        initiator_type = initiator.text("type")
        if initiator_type:
            hints["initiator_type"] = initiator_type
    pageref = e.text("pageref")
    if pageref and pages and pageref in pages:
        hints["har_page_url"] = pages[pageref]
    # The probe's own knowledge beats what the browser's export implies.
    hints.update(cors_hints(e.obj.get("_cors"), where, path))

    duration = e.number("time")
    tx = Transaction(
        request=request,
        response=response,
        error=error if response is None else None,
        started=_started(e),
        duration_ms=duration if duration is not None and duration >= 0 else None,
        server_ip=e.text("serverIPAddress") or None,
    )
    return Captured(tx=tx, hints=hints, order=order, id=_entry_id(e))


def _response(resp: _Fields, method: str) -> Response | None:
    status = resp.whole("status")
    headers = resp.headers()
    # Browsers record a request that never got an answer as status 0 without headers.
    if not status and not headers:
        return None
    status = status or 0
    excerpt = None
    if method.upper() == "OPTIONS" or status >= 400:
        content = resp.sub("content")
        if content is not None:
            excerpt = _excerpt(content)
    return Response(
        status=status,
        headers=headers,
        reason=resp.text("statusText") or "",
        http_version=_http_version(resp.text("httpVersion")),
        body_excerpt=excerpt,
    )


def _excerpt(content: _Fields) -> str | None:
    text = content.text("text")
    if not text:
        return None
    if content.text("encoding") == "base64":
        # Decode only as much as the excerpt needs, not the whole body.
        chunk = text[: (BODY_EXCERPT_CHARS // 3 + 1) * 4 * 4]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        try:
            raw = base64.b64decode(chunk, validate=False)
        except (binascii.Error, ValueError):
            return None
        text = raw.decode("utf-8", errors="replace")
    return text[:BODY_EXCERPT_CHARS]


def _started(e: _Fields) -> float | None:
    value = e.text("startedDateTime")
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            e.path, f"{e.where}: startedDateTime is not an ISO 8601 date: {value!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _entry_id(e: _Fields) -> str | None:
    for key in ("_corscope_id", "_id"):
        value = e.obj.get(key)
        if isinstance(value, bool):
            raise e.fail(key, "a string")
        if isinstance(value, int):
            return str(value)
        if value is not None:
            if not isinstance(value, str):
                raise e.fail(key, "a string")
            if value:
                return value
    return None


def _http_version(value: str | None) -> str | None:
    if not value or value.lower() == "unknown":
        return None
    return _HTTP_VERSIONS.get(value.lower(), value)
