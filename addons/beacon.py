"""Reports from the page probe and the service-worker agent, validated.

Anything on the page's origin can POST to the report path, so a beacon is hostile input:
size-capped before parsing, every field type- and range-checked, unknown or malformed
records dropped one by one. What comes out is typed and safe to write into the capture
(enumerated values are the ones the capture readers accept).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from analysis.model import CREDENTIALS, MODES, origin_of
from analysis.readers.hints import REDIRECT_MODES

MAX_BODY_BYTES = 64 * 1024
MAX_RECORDS = 200
MAX_URL = 8192
MAX_HEADERS = 64
MAX_HEADER_VALUE = 8192
MAX_SHORT = 64

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
# Epoch milliseconds between 2001 and 2286: anything else is not a clock reading.
_MIN_MS, _MAX_MS = 1e12, 1e13

WORKER_ANSWERS = frozenset({"network", "cache", "synthetic", "invalid", "rejected"})
RESPONSE_TYPES = frozenset({"basic", "cors", "default", "error", "opaque", "opaqueredirect"})
WORKER_FAILURES = frozenset(
    {
        "error-response",
        "cors-response-for-same-origin-request",
        "opaque-response-for-cors-request",
        "opaque-redirect",
        "redirected-response",
        "not-a-response",
        "rejected",
        "network-error",
    }
)
DESTINATIONS = frozenset(
    {
        "",
        "audio",
        "audioworklet",
        "document",
        "embed",
        "font",
        "frame",
        "iframe",
        "image",
        "json",
        "manifest",
        "object",
        "paintworklet",
        "report",
        "script",
        "serviceworker",
        "sharedworker",
        "style",
        "track",
        "video",
        "webidentity",
        "worker",
        "xslt",
    }
)


PAGE_KINDS = frozenset({"fetch", "xhr", "eventsource", "beacon", "element"})


class Junk(ValueError):
    """The beacon as a whole is unusable."""


@dataclass(frozen=True, slots=True)
class Timing:
    delivery_type: str | None = None
    worker_start: float | None = None
    transfer_size: float | None = None
    response_status: int | None = None


@dataclass(frozen=True, slots=True)
class PageRecord:
    kind: str
    """"fetch", "xhr", "eventsource", "beacon" (`navigator.sendBeacon`, which learns no
    outcome) or "element" (a CORS-mode load by markup or CSS, as Resource Timing reported
    it)."""
    url: str
    method: str
    mode: str
    credentials: str
    redirect: str | None
    t: float
    """Epoch seconds on the proxy's clock (the beacon's clock offset applied)."""
    failed: bool
    aborted: bool
    status: int | None
    response_type: str | None
    controlled: bool
    timing: Timing | None = None
    page: str | None = None
    """The page's URL when the call was made (the beacon's `page` is when it was sent)."""
    destination: str | None = None
    """An element's Fetch destination ("image", "font", "script", "style", …)."""
    header_names: tuple[str, ...] | None = None
    """The header names the script set (fetch, XHR), lower-case, in its order; None when
    the probe could not read them."""
    refused_by_csp: str | None = None
    """The CSP directive a `securitypolicyviolation` event named for the failed call's URL
    (e.g. "connect-src"): the page's policy refused it before it was sent."""
    integrity: bool = False
    """A fetch() with integrity metadata (`init.integrity`, `Request.integrity`)."""
    from_worker: bool = False
    """Made from a worker (dedicated or shared), not a document."""

    @property
    def browser_blocked(self) -> bool | None:
        """What the page saw: failed (True), got a response (False), or cannot say."""
        if self.failed:
            return True
        if self.aborted:
            return None
        if (self.status or 0) > 0 or self.response_type in ("opaque", "opaqueredirect"):
            return False
        return None


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    url: str
    method: str
    mode: str
    credentials: str
    redirect: str | None
    destination: str
    t: float
    answer: str
    response_type: str | None
    status: int | None
    status_text: str
    headers: tuple[tuple[str, str], ...]
    request_headers: tuple[tuple[str, str], ...]
    failure: str | None


@dataclass(slots=True)
class Beacon:
    source: str
    """"page" or "worker"."""
    page: str
    records: list[PageRecord | WorkerRecord] = field(default_factory=list)
    opaque: bool = False
    """The sender's origin is opaque (a sandboxed document: `self.origin` is "null"), its
    calls made from no origin at all though its URL has one."""
    loads: int = 0
    rejected: int = 0
    """Records dropped as malformed."""


def parse(body: bytes | None, origin: str, received: float) -> Beacon:
    """Validate a beacon POSTed to `origin` and received at epoch `received` (seconds).
    Raises Junk when nothing in it can be used."""
    if not body:
        raise Junk("empty")
    if len(body) > MAX_BODY_BYTES:
        raise Junk("too large")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Junk("not JSON") from None
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise Junk("not a version 1 beacon")
    source = doc.get("from")
    if source not in ("page", "worker"):
        raise Junk("unknown sender")
    page = _url(doc.get("page"))
    if page is None or origin_of(page) != origin_of(origin):
        raise Junk("about another origin's page")
    records = doc.get("records")
    if not isinstance(records, list):
        raise Junk("no records")
    offset = _clock_offset(doc.get("sent"), received)
    beacon = Beacon(source=source, page=page, opaque=doc.get("opaque") is True)
    for raw in records[:MAX_RECORDS]:
        try:
            record = _record(raw, source, offset, page)
        except Junk:
            beacon.rejected += 1
            continue
        if record is None:
            beacon.loads += 1
        else:
            beacon.records.append(record)
    beacon.rejected += max(0, len(records) - MAX_RECORDS)
    return beacon


def _clock_offset(sent: object, received: float) -> float:
    """Seconds to add to the sender's clock to get the proxy's. The beacon travels in
    milliseconds over loopback or a LAN, so the difference is the clocks' skew."""
    ms = _number(sent)
    if ms is None or not _MIN_MS <= ms <= _MAX_MS:
        return 0.0
    return received - ms / 1000.0


def _record(raw: object, source: str, offset: float, page: str) -> PageRecord | WorkerRecord | None:
    if not isinstance(raw, dict):
        raise Junk("record is not an object")
    kind = raw.get("kind")
    if source == "page" and kind == "load":
        return None
    if source == "page" and kind in PAGE_KINDS:
        return _page_record(raw, kind, offset, page)
    if source == "worker" and kind == "sw":
        return _worker_record(raw, offset)
    raise Junk("unknown record kind")


def _page_record(raw: dict[str, Any], kind: str, offset: float, page: str) -> PageRecord:
    url = _url(raw.get("url"))
    if url is None:
        raise Junk("url")
    at_call = None
    if "page" in raw:
        at_call = _url(raw.get("page"))
        if at_call is None or origin_of(at_call) != origin_of(page):
            raise Junk("page")
    destination = None
    if kind == "element":
        destination = raw.get("destination")
        if destination not in DESTINATIONS or not destination:
            raise Junk("destination")
    return PageRecord(
        kind=kind,
        url=url,
        method=_method(raw.get("method")),
        mode=_choice(raw.get("mode"), MODES),
        credentials=_choice(raw.get("credentials"), CREDENTIALS),
        redirect=_optional_choice(raw.get("redirect"), REDIRECT_MODES),
        t=_time(raw.get("t"), offset),
        failed=_flag(raw.get("failed")),
        aborted=_flag(raw.get("aborted")),
        status=_status(raw.get("status")),
        response_type=_optional_choice(raw.get("type"), RESPONSE_TYPES),
        controlled=_flag(raw.get("controlled")),
        timing=_timing(raw.get("timing")),
        page=at_call,
        destination=destination,
        header_names=_header_names(raw.get("headerNames")),
        refused_by_csp=_directive(raw.get("csp")),
        integrity=_flag(raw.get("integrity")),
        from_worker=_flag(raw.get("fromWorker")),
    )


def _worker_record(raw: dict[str, Any], offset: float) -> WorkerRecord:
    url = _url(raw.get("url"))
    if url is None:
        raise Junk("url")
    destination = raw.get("destination", "")
    if destination not in DESTINATIONS:
        raise Junk("destination")
    status_text = raw.get("statusText", "")
    if not isinstance(status_text, str) or len(status_text) > MAX_SHORT:
        raise Junk("statusText")
    return WorkerRecord(
        url=url,
        method=_method(raw.get("method")),
        mode=_choice(raw.get("mode"), MODES),
        credentials=_choice(raw.get("credentials"), CREDENTIALS),
        redirect=_optional_choice(raw.get("redirect"), REDIRECT_MODES),
        destination=destination,
        t=_time(raw.get("t"), offset),
        answer=_choice(raw.get("answer"), WORKER_ANSWERS),
        response_type=_optional_choice(raw.get("type"), RESPONSE_TYPES),
        status=_status(raw.get("status")),
        status_text=status_text,
        headers=_headers(raw.get("headers")),
        request_headers=_headers(raw.get("requestHeaders")),
        failure=_optional_choice(raw.get("failure"), WORKER_FAILURES),
    )


def _number(value: object) -> float | None:
    """A finite JSON number as float, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _url(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or origin_of(value) is None:
        return None
    return value


def _method(value: object) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise Junk("method")
    return value


def _choice(value: object, allowed: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise Junk("enumerated value")
    return value


_DIRECTIVE = re.compile(r"^[a-z][a-z-]{0,63}$")


def _directive(value: object) -> str | None:
    """A CSP directive name, as `SecurityPolicyViolationEvent.effectiveDirective` gives it."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DIRECTIVE.match(value):
        raise Junk("csp")
    return value


def _optional_choice(value: object, allowed: frozenset[str]) -> str | None:
    return None if value is None else _choice(value, allowed)


def _flag(value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Junk("flag")
    return value


def _time(value: object, offset: float) -> float:
    ms = _number(value)
    if ms is None or not _MIN_MS <= ms <= _MAX_MS:
        raise Junk("time")
    return ms / 1000.0 + offset


def _status(value: object) -> int | None:
    if value is None:
        return None
    number = _number(value)
    if number is None or not number.is_integer() or not 0 <= number <= 999:
        raise Junk("status")
    return int(number)


def _timing(value: object) -> Timing | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Junk("timing")
    delivery = value.get("deliveryType")
    if delivery is not None and (
        not isinstance(delivery, str) or len(delivery) > MAX_SHORT or not delivery.isascii()
    ):
        raise Junk("deliveryType")
    return Timing(
        delivery_type=delivery,
        worker_start=_non_negative(value.get("workerStart")),
        transfer_size=_non_negative(value.get("transferSize")),
        response_status=_status(value.get("responseStatus")),
    )


def _non_negative(value: object) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is None or number < 0:
        raise Junk("timing number")
    return number


def _header_names(value: object) -> tuple[str, ...] | None:
    # Lenient: names that are not what the probe sends cost only this field, never the
    # record's other facts.
    if not isinstance(value, list) or len(value) > MAX_HEADERS:
        return None
    if not all(isinstance(name, str) and _TOKEN.match(name) for name in value):
        return None
    return tuple(dict.fromkeys(name.lower() for name in value))


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Junk("headers")
    pairs: list[tuple[str, str]] = []
    for item in value[:MAX_HEADERS]:
        if not (isinstance(item, list) and len(item) == 2):
            raise Junk("header pair")
        name, val = item
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise Junk("header name")
        if not isinstance(val, str) or len(val) > MAX_HEADER_VALUE or "\r" in val or "\n" in val:
            raise Junk("header value")
        pairs.append((name, val))
    return tuple(pairs)
