"""HAR 1.2 files: Chrome/Chromium DevTools, Firefox, mitmproxy's own export, and any tool
that keeps to the spec. Also the entry parser the capture reader shares."""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import dataclasses
import json
import math
import operator
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from analysis import fetch, orb
from analysis.model import BrowserVerdict, Headers, Request, Response, Transaction, origin_of

from .captured import Captured, Hints, Loaded, carried_starts
from .errors import InputError
from .hints import cors_hints, describe_type

BODY_EXCERPT_CHARS = 1024

ProgressFn = Callable[[int, int], None]
"""Called now and then with (bytes read, file size)."""

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


def read_har(
    path: str | os.PathLike[str], progress: ProgressFn | None = None, *, jobs: int = 1
) -> Loaded:
    """A HAR file, entry by entry: memory grows with the transactions kept, not with the
    file. Bad input gets exactly the InputError `read_har_document` gives. `jobs` > 1 lets
    a large file be read by that many processes at once (`harsplit`), with the same result."""
    spath = os.fspath(path)
    try:
        f = open(spath, "rb")  # closed by the `with` below
    except OSError as e:
        raise InputError(spath, e.strerror or str(e)) from None
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError as e:
            raise InputError(spath, e.strerror or str(e)) from None
        if jobs > 1:
            from .harsplit import read_split

            split = read_split(spath, size, progress, jobs)
            if split is not None:
                return split
        try:
            return _HarStream(f, spath, size, progress).read()
        except _Unusual:
            pass
    # A shape the stream does not follow (no "log" object, keys given twice, ...): the whole
    # document at once, which also words the error exactly.
    return read_har_document(spath)


def read_har_document(path: str | os.PathLike[str]) -> Loaded:
    """A HAR file parsed as one JSON document: the reference `read_har` is held to."""
    spath = os.fspath(path)
    doc = parse_json_file(spath)
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict):
        raise InputError(spath, 'not a HAR file: no "log" object at the top')
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise InputError(spath, f"log.entries must be an array, not {describe_type(entries)}")
    creator = log.get("creator")
    errors_are_browser_side = _errors_are_browser_side(creator)
    sizes_mark_cache = _sizes_mark_cache(creator, log.get("browser"))
    pages = _page_urls(log.get("pages"), spath)
    del doc, log

    captured: list[Captured] = []
    pagerefs: list[object] = []
    for index in range(len(entries)):
        entry = entries[index]
        entries[index] = None  # let each raw entry go as soon as it is converted
        pagerefs.append(page_slot(entry))
        captured.append(
            entry_to_captured(
                entry,
                where=f"log.entries[{index}]",
                path=spath,
                order=index,
                pages=pages,
                errors_are_browser_side=errors_are_browser_side,
                sizes_mark_cache=sizes_mark_cache,
            )
        )
    return _loaded(captured, pagerefs, errors_are_browser_side, creator)


def _loaded(
    captured: list[Captured], pagerefs: list[object], browser_side: bool, creator: object = None
) -> Loaded:
    """The entries read, finished as the whole file tells: `browser_side` False for
    mitmproxy's own export, which is a proxy's recording of the wire like its flow file."""
    captured = _with_page_documents(captured, pagerefs)
    if _keeps_page_answers(creator):
        captured = _never_sent(captured, pagerefs)
    if _records_errors(creator):
        captured = _finished(captured)
    if not browser_side:
        captured = _sent_methods(captured)
    return Loaded(captured=captured, format="har", via_proxy=not browser_side)


def _keeps_page_answers(creator: object) -> bool:
    """Chrome DevTools' export ("WebInspector"): it keeps the answer of every request a page
    or frame sent, even one the browser then failed (the raw status and headers beside
    `_error`; measured, Chromium 156)."""
    return isinstance(creator, dict) and creator.get("name") == "WebInspector"


def _records_errors(creator: object) -> bool:
    """Chrome DevTools' export and Playwright's: each writes the browser's own network error
    of every request it logged (`_error`, `_failureText`), ORB's net::ERR_BLOCKED_BY_ORB
    among them (measured, Chromium 156)."""
    return isinstance(creator, dict) and creator.get("name") in ("WebInspector", "Playwright")


def _finished(captured: list[Captured]) -> list[Captured]:
    """Mark the answers logged without an error whose ORB decision the headers leave open
    (`orb.by_headers`): the browser's record says ORB let them through, which their body,
    not kept, cannot."""
    out = captured
    for i, c in enumerate(captured):
        response = c.tx.response
        if response is None or "browser_error" in c.hints:
            continue
        if orb.by_headers(response.status, response.headers) == "allow":
            continue
        if out is captured:
            out = list(captured)
        out[i] = dataclasses.replace(c, hints={**c.hints, "finished": True})
    return out


def _never_sent(captured: list[Captured], pagerefs: list[object]) -> list[Captured]:
    """Mark a request the browser failed with no answer as never sent, where its preflight
    was logged on the same page (or both on no page). DevTools logs each request on the
    target that made it, and a dedicated worker's without the raw answer: such a request
    shows no answer though it had one, and its preflight is logged on the page (measured,
    Chromium 156). The preflight taken is the first after the request for its URL by
    start time (a preflight starts after its request), whatever order the file lists
    them in: DevTools' by start, another writer's by end."""
    rank = _start_ranks(captured)
    preflights: dict[str, list[tuple[int, int]]] = {}
    for i, c in enumerate(captured):
        if _preflight_request(c.tx.request):
            preflights.setdefault(c.tx.request.url, []).append((rank[i], i))
    for logged in preflights.values():
        logged.sort()
    out = captured
    for i, c in enumerate(captured):
        if c.tx.response is not None or "browser_error" not in c.hints:
            continue
        logged = preflights.get(c.tx.request.url, [])
        at = bisect.bisect_right(logged, (rank[i], len(captured)))
        if at == len(logged) or _pageref(pagerefs[logged[at][1]]) != _pageref(pagerefs[i]):
            continue
        if out is captured:
            out = list(captured)
        out[i] = dataclasses.replace(c, hints={**c.hints, "never_sent": True})
    return out


def _start_ranks(captured: list[Captured]) -> list[int]:
    """Each entry's place in start-time order, stable on file order; one without a start
    time keeps its place after the entry before it (as `assemble` orders them)."""
    starts = carried_starts(captured)
    rank = [0] * len(captured)
    for r, i in enumerate(sorted(range(len(captured)), key=starts.__getitem__)):
        rank[i] = r
    return rank


def _pageref(slot: object) -> object:
    return slot[0] if type(slot) is tuple else slot


def _sent_methods(captured: list[Captured]) -> list[Captured]:
    """The request methods as they went on the wire, for mitmproxy's HAR export: it writes
    `Request.method`, which mitmproxy upper-cases (the flow file keeps the bytes sent). A
    browser announces the method of a request that needs a preflight byte for byte in the
    preflight's Access-Control-Request-Method, and mitmproxy keeps header values as sent;
    so a request with a method fetch does not normalize takes the spelling of the latest
    preflight before it that announced that method in another case, for the same URL and
    Origin (a preflight-cache hit reuses an earlier one's). Without such a preflight the
    method stays as written."""
    announced: dict[tuple[str, str | None, str], str] = {}
    out = captured
    order = sorted(range(len(captured)), key=lambda i: (captured[i].tx.started or 0.0, i))
    for i in order:
        c = captured[i]
        request = c.tx.request
        method = request.method
        origin = request.headers.get("origin")
        url = request.url.split("#", 1)[0]
        if method.upper() == "OPTIONS":
            acrm = (request.headers.get("access-control-request-method") or "").strip()
            if acrm and acrm.upper() not in fetch.NORMALIZED_METHODS:
                announced[(url, origin, acrm.upper())] = acrm
            continue
        if method in fetch.NORMALIZED_METHODS:
            continue
        sent = announced.get((url, origin, method.upper()))
        if sent is None or sent == method:
            continue
        if out is captured:
            out = list(captured)
        tx = dataclasses.replace(c.tx, request=dataclasses.replace(request, method=sent))
        out[i] = dataclasses.replace(c, tx=tx)
    return out


def _errors_are_browser_side(creator: object) -> bool:
    # mitmproxy writes the proxy's own error into `_error`; browsers write theirs.
    name = creator.get("name") if isinstance(creator, dict) else None
    return name != "mitmproxy"


def _sizes_mark_cache(creator: object, browser: object) -> bool:
    """A HAR Playwright recorded from Chromium: it has no `_fromCache` nor
    `_fetchedViaServiceWorker`, and says an answer came from the HTTP cache or a service
    worker only by its sizes and address (see `_source_by_size`)."""
    creator_name = creator.get("name") if isinstance(creator, dict) else None
    browser_name = browser.get("name") if isinstance(browser, dict) else None
    return creator_name == "Playwright" and browser_name == "chromium"


def _source_by_size(resp: object, server_ip: str | None, method: str) -> str | None:
    # Measured with Playwright 1.65 and Chromium 156 (6 runs, loopback servers): an answer
    # from the HTTP cache (fresh max-age, force-cache, a redirect's cached target; fetch,
    # <img>, <script>; same- and cross-origin; memory or disk) has `_transferSize` 0 and
    # the stored server address. A service worker's answer also has 0, but no address
    # (measured over 960 generated lab scenarios: exactly the page's requests Chromium
    # reported `fromServiceWorker`, synthetic answers and the worker's network answers
    # alike); a network answer, a 304 or a cached 301 at least its header bytes; a failed
    # or unfinished one -1. A preflight the worker's own fetch sent (Playwright records
    # those) also has 0 and an address, but a preflight is never answered by the HTTP
    # cache (RFC 9110 §9.3.7: responses to OPTIONS are not cacheable). Chrome DevTools
    # writes 0 with an address for a failed request, so the rule is for Playwright's
    # Chromium HARs only.
    size = resp.get("_transferSize") if isinstance(resp, Mapping) else None
    if type(size) is not int or size != 0:
        return None
    if not server_ip:
        return "service-worker"
    return None if method.upper() == "OPTIONS" else "http-cache"


_DELIVERED = BrowserVerdict(blocked=False)
"""A service worker's answer in a browser's HAR with a status and no error: the page
received it. Playwright writes every answer the browser refused (the worker's network
error, an opaque answer to a CORS request, ...) as status -1 with `_failureText`; Chrome
DevTools as status 0 with `_error` and `_fetchedViaServiceWorker` false (measured, Chromium
156's own "Export HAR"). A worker's answer is not CORS-checked again (Fetch §4.3 HTTP fetch
step 5), so the browser's outcome is in the entry itself. DevTools also writes `_fromCache`
"disk" for a worker's answer from Cache Storage: the worker, not the HTTP cache, answered."""


def _mark_by_size(
    hints: Hints, resp: object, server_ip: str | None, method: str, error: object
) -> None:
    """Where the answer came from, for Playwright's Chromium HAR (`_source_by_size`); a
    service worker's answer the browser did not refuse was delivered."""
    source = _source_by_size(resp, server_ip, method)
    if source is not None:
        hints["source"] = source
    if source == "service-worker" and not error and "browser" not in hints:
        hints["browser"] = _DELIVERED


def _preflight_request(request: Request) -> bool:
    """A preflight in a HAR Playwright recorded from Chromium: the browser's own (Playwright
    sees no other traffic), logged like DevTools logs one, after the request it guards
    (measured: Playwright 1.65 records the preflights of a service worker's fetches, with
    `_resourceType` "other" and no `_initiator`, and none of the page's own)."""
    return (
        request.method.upper() == "OPTIONS"
        and request.headers.get("access-control-request-method") is not None
    )


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
        # utf-8-sig counts from after the byte order mark; the message counts in the file.
        offset = e.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        raise _not_utf8(path, data[offset], offset, where) from None


def _not_utf8(path: str, byte: int, offset: int, where: str = "") -> InputError:
    prefix = f"{where}: " if where else ""
    return InputError(path, f"{prefix}not UTF-8 text (byte 0x{byte:02x} at offset {offset})")


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


def page_slot(entry: object) -> object:
    """Where an entry was made: its HAR page, and the frame Playwright names (`_frameref`)."""
    if type(entry) is not dict:
        return None
    frame = entry.get("_frameref")
    return (entry.get("pageref"), frame if type(frame) is str else None)


def _with_page_documents(captured: list[Captured], pagerefs: list[object]) -> list[Captured]:
    """The page's origin for requests that carry neither Origin nor Referer, from the
    document their HAR page showed when they started: a Playwright HAR keeps a blocked
    request as the headers script could see, and a sandboxed or no-referrer page's script
    sees neither. A document served with a CSP `sandbox` (without `allow-same-origin`) has
    an opaque origin, as Chromium gives it. Entries are in the order the browser started
    them."""
    shown: dict[object, str] = {}
    documents: dict[object, str] = {}
    main_frames: dict[object, str | None] = {}
    out = captured
    for i, (c, slot) in enumerate(zip(captured, pagerefs, strict=True)):
        pageref, frame = slot if type(slot) is tuple else (slot, None)
        if not isinstance(pageref, str) or not pageref:
            continue
        request = c.tx.request
        if _top_level_document(c, frame, main_frames, pageref):
            main_frames.setdefault(pageref, frame)
            origin = "null" if _sandboxed(c.tx.response) else origin_of(request.url)
            if origin is not None:
                shown[pageref] = origin
                documents[pageref] = request.url
            continue
        origin = shown.get(pageref)
        headers = request.headers
        if origin is None or headers.get("referer") or c.hints.get("initiator_origin"):
            continue
        sent = headers.get("origin")
        opaque = origin == "null" and (sent or "null").strip() == "null"
        if sent is not None and (not opaque or "har_page_url" in c.hints):
            continue
        hints = c.hints.copy()
        if sent is None:
            hints["initiator_origin"] = origin
        if opaque and "har_page_url" not in hints:
            # An opaque page is still placed by the address its document came from (Local
            # Network Access takes the document's IP address space, not its origin's).
            hints["har_page_url"] = documents[pageref]
        if out is captured:
            out = list(captured)
        out[i] = dataclasses.replace(c, hints=hints)
    return out


def _top_level_document(
    c: Captured, frame: str | None, main_frames: dict[object, str | None], pageref: str
) -> bool:
    # The resource type first: a dict lookup that settles nearly every entry.
    if c.hints.get("resource_type", "document") != "document":
        return False
    dest = c.tx.request.headers.get("sec-fetch-dest")
    if dest is None and c.hints.get("resource_type") == "document":
        # Chromium sends no fetch metadata to a URL that is not potentially trustworthy
        # (Fetch Metadata §2), so an http page's document says nothing of its frame: it is
        # the top-level one if it is the page's first, or loads into the frame that did.
        if pageref not in main_frames:
            return True
        return frame is not None and frame == main_frames[pageref]
    return (dest or "").lower() == "document"


def _sandboxed(response: Response | None) -> bool:
    """HTML's sandboxed origin browsing context flag, as a CSP `sandbox` directive sets it."""
    if response is None:
        return False
    for value in response.headers.get_all("content-security-policy"):
        for directive in value.split(";"):
            tokens = directive.lower().split()
            if tokens and tokens[0] == "sandbox" and "allow-same-origin" not in tokens[1:]:
                return True
    return False


MAX_STATUS = 999
"""HTTP status codes have three digits; browsers record 0 for a request never answered."""
NO_ANSWER = -1
"""Playwright's `response.status` for a request that got no response (browsers write 0)."""
NO_BODY_KEPT = -1
"""`content.size` where the export kept no body (HAR 1.2 writes -1 for an unknown size)."""


def finite(value: int | float) -> float | None:
    """The number as a float, None when it is not finite (JSON allows `1e400`, `NaN`,
    `Infinity` and integers too large for a float)."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: int | float) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"a number of {len(text)} digits"


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
        number = finite(value)
        if number is None:
            raise InputError(
                self.path,
                f"{self.where}: {self.field(key)} must be a finite number, not {_shown(value)}",
            )
        return number

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
        fast = _well_formed_headers(value)
        if fast is not None:
            return fast
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


_SHARED_LIMIT = 200_000
_shared_fields: dict[tuple[str, str], tuple[str, str]] = {}
"""One tuple per distinct header field across entries: traffic repeats most fields
verbatim, and sharing them is much of what keeps a million exchanges in memory. Dropped
when it grows past `_SHARED_LIMIT`, which costs sharing, never correctness."""
_shared_names: dict[str, str] = {}
"""One string per header name, for the fields too varied to share (request ids, dates,
tokens): their names repeat where their values do not."""


def _well_formed_headers(items: list[Any]) -> Headers | None:
    """The headers of a well-formed array in one quick pass; None sends the array down the
    field-by-field path, which names what is wrong (and drops pseudo headers). A field, or
    a whole list, already shared was checked when it was first seen."""
    try:
        pairs = tuple(map(_NAME_VALUE, items))
        known = _shared_lists.get(pairs)
        if known is not None:
            return known
        fields = list(map(_shared_fields.get, pairs))
    except (KeyError, TypeError, IndexError):
        return None
    if None in fields:
        for i, field in enumerate(fields):
            if field is None:
                name, value = pair = pairs[i]
                if type(name) is not str or not name or name[0] == ":" or type(value) is not str:
                    return None
                if len(_shared_fields) > _SHARED_LIMIT:
                    _shared_fields.clear()
                    _shared_names.clear()
                pair = (_shared_names.setdefault(name, name), value)
                fields[i] = _shared_fields.setdefault(pair, pair)
    headers = Headers(tuple(fields))
    if len(_shared_lists) > _SHARED_LISTS_LIMIT:
        _shared_lists.clear()
    _shared_lists[headers.fields] = headers
    return headers


_SHARED_LISTS_LIMIT = 4096
_shared_lists: dict[tuple[tuple[str, str], ...], Headers] = {}
"""Whole header lists, one `Headers` each: a page's requests repeat theirs verbatim."""

_NAME_VALUE = operator.itemgetter("name", "value")


def entry_to_captured(
    entry: object,
    *,
    where: str,
    path: str,
    order: int,
    pages: Mapping[str, str] | None = None,
    errors_are_browser_side: bool = True,
    sizes_mark_cache: bool = False,
) -> Captured:
    """One HAR entry as a transaction with its hints; an InputError naming `where` and the
    field when the entry is not one."""
    side, sizes = errors_are_browser_side, sizes_mark_cache
    quick = _quick_captured(entry, where, path, order, pages, side, sizes)
    if quick is not None:
        return quick
    return _careful_captured(entry, where, path, order, pages, side, sizes)


def _quick_captured(
    entry: object,
    where: str,
    path: str,
    order: int,
    pages: Mapping[str, str] | None,
    errors_are_browser_side: bool,
    sizes_mark_cache: bool = False,
) -> Captured | None:
    """`_careful_captured` for an entry whose every field read has its plain type, in one
    quick pass; None for anything else (a wrong type, a float status, a bad date, pseudo
    headers, `_cors`...), which `_careful_captured` then decides, error wording included.
    Whatever this accepts it turns into exactly what `_careful_captured` would."""
    if type(entry) is not dict:
        return None
    get = entry.get
    req = get("request")
    if type(req) is not dict:
        return None
    method = req.get("method")
    url = req.get("url")
    version = req.get("httpVersion")
    if (
        type(method) is not str
        or not method
        or type(url) is not str
        or not url
        or (version is not None and type(version) is not str)
    ):
        return None
    headers = _quick_headers(req.get("headers"))
    if headers is None:
        return None
    request = Request(method, url, headers, _http_version(version) if version else None)

    hints = Hints()
    resp = get("response")
    response: Response | None = None
    error = None
    proxy_error: str | None = None
    via_worker = None
    if resp is not None:
        if type(resp) is not dict:
            return None
        response_or_not = _quick_response(resp, method)
        if response_or_not is False:
            return None
        response = _revalidated(request, response_or_not, resp)
        rget = resp.get
        error = rget("_error")
        if error is None:
            error = rget("_failureText")  # Playwright's name for it
        via_worker = rget("_fetchedViaServiceWorker")
        redirect_url = rget("redirectURL")
        if (
            (error is not None and type(error) is not str)
            or (via_worker is not None and type(via_worker) is not bool)
            or (redirect_url is not None and type(redirect_url) is not str)
        ):
            return None
        if via_worker:
            hints["source"] = "service-worker"
        if redirect_url:
            hints["redirect_url"] = redirect_url
    if not error:
        error = get("_error")
        if error is not None and type(error) is not str:
            return None

    if error and errors_are_browser_side:
        hints["browser_error"] = error
    from_cache = get("_fromCache")
    resource_type = get("_resourceType")
    initiator = get("_initiator")
    pageref = get("pageref")
    if (
        (from_cache is not None and type(from_cache) is not str)
        or (resource_type is not None and type(resource_type) is not str)
        or (pageref is not None and type(pageref) is not str)
    ):
        return None
    if from_cache in ("disk", "memory") and not via_worker:
        hints["source"] = "http-cache"
    if via_worker and errors_are_browser_side and response is not None and not error:
        if "redirect_url" not in hints:  # a redirect the page then follows itself
            hints["browser"] = _DELIVERED
    if resource_type:
        hints["resource_type"] = resource_type
    if initiator is not None:
        if type(initiator) is not dict:
            return None
        initiator_type = initiator.get("type")
        if initiator_type is not None and type(initiator_type) is not str:
            return None
        if initiator_type:
            hints["initiator_type"] = initiator_type
    if sizes_mark_cache and "initiator_type" not in hints and _preflight_request(request):
        hints["initiator_type"] = "preflight"
    if pageref and pages and pageref in pages:
        hints["har_page_url"] = pages[pageref]
    cors = get("_cors")
    if cors is not None:
        try:
            hints.update(cors_hints(cors, where, path))
        except InputError:
            return None  # raised again, in its place among the checks, the careful way
        if response is not None and isinstance(cors.get("proxy"), Mapping):
            response, proxy_error = _proxy_answered(response, cors["proxy"])

    duration = get("time")
    if duration is not None:
        if type(duration) not in (int, float):
            return None
        duration = finite(duration)
        if duration is None:
            return None
        if not duration >= 0:
            duration = None
    started = get("startedDateTime")
    if started is not None:
        if type(started) is not str:
            return None
        if started:
            try:
                when = datetime.fromisoformat(started)
            except ValueError:
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            started = when.timestamp()
        else:
            started = None
    server_ip = get("serverIPAddress")
    if server_ip is not None and type(server_ip) is not str:
        return None
    entry_id = None
    for key in ("_corscope_id", "_id"):
        value = get(key)
        if value is None:
            continue
        if type(value) is int:
            entry_id = str(value)
            break
        if type(value) is not str:
            return None
        if value:
            entry_id = value
            break
    if not errors_are_browser_side and response is not None and proxy_error is None:
        response, proxy_error = _mitmproxy_answer(response, get("timings"), server_ip)
    if sizes_mark_cache and response is not None and "source" not in hints:
        _mark_by_size(hints, resp, server_ip, method, error)
    tx = Transaction(
        request,
        response,
        error if response is None else proxy_error,
        started,
        duration,
        server_ip or None,
    )
    return Captured(tx, hints, order, entry_id)


def _proxy_answered(response: Response, proxy: Mapping[str, Any]) -> tuple[Response, str | None]:
    """A response beside the addon's `_cors.proxy`, and the transaction's error. Without an
    error, mitmproxy or one of its addons answered instead of the server; with one, the
    server failed before finishing its response and mitmproxy answered the browser with its
    own 502 (the verdict's upstream fault)."""
    failed = proxy.get("error")
    if isinstance(failed, str) and failed:
        return response, failed
    return dataclasses.replace(response, made_by_proxy=True), None


MITMPROXY_INCOMPLETE = "the response never completed (mitmproxy recorded no end for it)"
"""The transaction's error for a response mitmproxy's HAR shows without an end."""


def _mitmproxy_answer(
    response: Response, timings: object, server_ip: str | None
) -> tuple[Response, str | None]:
    """A response as mitmproxy's own HAR export (its `savehar` addon) shows it, read as the
    flow file shows the same flow, and the transaction's error.

    - savehar writes `_error` only for a flow without a response. A flow with both is one
      whose server failed after the response headers (a body cut short): mitmproxy answered
      the browser with its own 502, and the flow file keeps the error beside the server's
      response. Such a response has no `timestamp_end` (mitmproxy sets it only once the
      response is complete, in `send_response`), which savehar writes as `receive` the
      integer 0; a measured time, even 0, is a float (`1000 * (end - start)`).
    - savehar writes `serverIPAddress` from the server connection's peer: a response without
      one had no server behind it, so mitmproxy or an addon made it (`block_list`,
      `map_local`, `server_replay`, a script), as the flow reader's `made_by_proxy` says."""
    error = None
    receive = timings.get("receive") if isinstance(timings, Mapping) else None
    if type(receive) is int and receive == 0 and server_ip:
        error = MITMPROXY_INCOMPLETE
    if not server_ip:
        response = dataclasses.replace(response, made_by_proxy=True)
    return response, error


_NO_HEADERS = Headers()


def _quick_headers(items: object) -> Headers | None:
    """A message's `headers` array in the quick pass; None for one the careful way reads."""
    if items is None:
        return _NO_HEADERS
    if type(items) is not list:
        return None
    return _well_formed_headers(items)


def _quick_response(resp: dict[str, Any], method: str) -> Response | bool | None:
    """`_response` for plain types, False for anything `_response` should decide."""
    status = resp.get("status")
    if status is not None and (type(status) is not int or not NO_ANSWER <= status <= MAX_STATUS):
        return False
    headers = _quick_headers(resp.get("headers"))
    if headers is None:
        return False
    if status in (0, NO_ANSWER, None) and not headers:
        return None
    if status == NO_ANSWER:
        return False  # headers without a status: the careful way words it
    status = status or 0
    reason = resp.get("statusText")
    version = resp.get("httpVersion")
    if (reason is not None and type(reason) is not str) or (
        version is not None and type(version) is not str
    ):
        return False
    excerpt = None
    content = resp.get("content")
    if status >= 400 or method.upper() == "OPTIONS":
        if content is not None:
            if type(content) is not dict:
                return False
            text, encoding = content.get("text"), content.get("encoding")
            if (text is not None and type(text) is not str) or (
                encoding is not None and type(encoding) is not str
            ):
                return False
            if text:
                excerpt = _excerpt(_Fields(content, "", "", ""))
    sniffed = None
    if type(content) is dict and orb.by_headers(status, headers) == "sniff":
        sniffed = _sniffed(content)
    return Response(
        status,
        headers,
        reason or "",
        _http_version(version) if version else None,
        excerpt,
        sniffed=sniffed,
    )


def _careful_captured(
    entry: object,
    where: str,
    path: str,
    order: int,
    pages: Mapping[str, str] | None,
    errors_are_browser_side: bool,
    sizes_mark_cache: bool = False,
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
    proxy_error: str | None = None
    via_worker = False
    if resp is not None:
        response = _revalidated(request, _response(resp, method), resp.obj)
        error = resp.text("_error")
        if error is None:
            error = resp.text("_failureText")  # Playwright's name for it
        via_worker = bool(resp.flag("_fetchedViaServiceWorker"))
        if via_worker:
            hints["source"] = "service-worker"
        redirect_url = resp.text("redirectURL")
        if redirect_url:
            hints["redirect_url"] = redirect_url
    error = error or e.text("_error")

    if error and errors_are_browser_side:
        hints["browser_error"] = error
    from_cache = e.text("_fromCache")
    if from_cache in ("disk", "memory") and not via_worker:
        hints["source"] = "http-cache"
    if via_worker and errors_are_browser_side and response is not None and not error:
        if "redirect_url" not in hints:  # a redirect the page then follows itself
            hints["browser"] = _DELIVERED
    resource_type = e.text("_resourceType")
    if resource_type:
        hints["resource_type"] = resource_type
    initiator = e.sub("_initiator")
    if initiator is not None:
        initiator_type = initiator.text("type")
        if initiator_type:
            hints["initiator_type"] = initiator_type
    if sizes_mark_cache and "initiator_type" not in hints and _preflight_request(request):
        hints["initiator_type"] = "preflight"
    pageref = e.text("pageref")
    if pageref and pages and pageref in pages:
        hints["har_page_url"] = pages[pageref]
    # The probe's own knowledge beats what the browser's export implies.
    cors = e.obj.get("_cors")
    hints.update(cors_hints(cors, where, path))
    if (
        response is not None
        and isinstance(cors, Mapping)
        and isinstance(cors.get("proxy"), Mapping)
    ):
        response, proxy_error = _proxy_answered(response, cors["proxy"])

    server_ip = e.text("serverIPAddress") or None
    if not errors_are_browser_side and response is not None and proxy_error is None:
        response, proxy_error = _mitmproxy_answer(response, e.obj.get("timings"), server_ip)
    duration = e.number("time")
    tx = Transaction(
        request=request,
        response=response,
        error=error if response is None else proxy_error,
        started=_started(e),
        duration_ms=duration if duration is not None and duration >= 0 else None,
        server_ip=server_ip,
    )
    if sizes_mark_cache and response is not None and "source" not in hints and resp is not None:
        _mark_by_size(hints, resp.obj, tx.server_ip, method, error)
    return Captured(tx=tx, hints=hints, order=order, id=_entry_id(e))


def _revalidated(request: Request, response: Response | None, resp: Any) -> Response | None:
    """What the wire carried when a browser's export shows a revalidation as the stored
    response: Chromium's HTTP cache sent the validator, the server answered 304, and the
    page got the stored body under the 304's headers. Playwright's HAR records that as a
    200 with those headers, no body on the wire (`bodySize` 0) and the stored body's size,
    or -1 where it kept no body (a dedicated worker's fetch); read as the 304 it was, which
    the engine checks as Chromium does (measured in the lab: a 304 without CORS headers
    keeps the stored Allow-Origin). An empty 200 (content size 0) stays one."""
    if response is None or response.status != 200 or not isinstance(resp, Mapping):
        return response
    content, body_size = resp.get("content"), resp.get("bodySize")
    size = content.get("size") if isinstance(content, Mapping) else None
    if type(body_size) is not int or body_size != 0 or type(size) is not int:
        return response
    if size <= 0 and size != NO_BODY_KEPT:
        return response
    if not fetch.is_conditional(request.headers):
        return response
    return dataclasses.replace(response, status=304)


def _response(resp: _Fields, method: str) -> Response | None:
    status = resp.whole("status")
    if status is not None and not (0 <= status <= MAX_STATUS or status == NO_ANSWER):
        raise _not_a_status(resp, status)
    headers = resp.headers()
    # Browsers record a request that never got an answer as status 0 without headers;
    # Playwright as -1.
    if status in (0, NO_ANSWER, None) and not headers:
        return None
    if status == NO_ANSWER:
        raise _not_a_status(resp, status)
    status = status or 0
    excerpt = None
    if method.upper() == "OPTIONS" or status >= 400:
        content = resp.sub("content")
        if content is not None:
            excerpt = _excerpt(content)
    sniffed = None
    kept = resp.obj.get("content")
    if type(kept) is dict and orb.by_headers(status, headers) == "sniff":
        sniffed = _sniffed(kept)
    return Response(
        status=status,
        headers=headers,
        reason=resp.text("statusText") or "",
        http_version=_http_version(resp.text("httpVersion")),
        body_excerpt=excerpt,
        sniffed=sniffed,
    )


_SNIFFED: dict[str, str] = {name: name for name in orb.SNIFFED}


def _sniffed(content: dict[str, Any]) -> str | None:
    """ORB's class of the body: as the addon's capture wrote it (`_sniffed`, the class of
    the first KiB it saw), else from `text`, which a HAR holds decoded (base64 for bytes).
    None: no body kept (an empty `text` is an empty body only where `size` says 0)."""
    kept = content.get("_sniffed")
    if type(kept) is str:
        return _SNIFFED.get(kept)
    text, encoding = content.get("text"), content.get("encoding")
    if type(text) is not str or (encoding is not None and type(encoding) is not str):
        return None
    if not text:
        return "other" if content.get("size") == 0 else None
    if encoding == "base64":
        chunk = text[: (orb.SNIFF_BYTES // 3 + 1) * 4]
        try:
            raw = base64.b64decode(chunk[: len(chunk) - len(chunk) % 4], validate=False)
        except (binascii.Error, ValueError):
            return None
    else:
        raw = text[: orb.SNIFF_BYTES].encode("utf-8", "surrogateescape")
    return orb.sniff(raw)


def _not_a_status(resp: _Fields, status: int) -> InputError:
    return InputError(
        resp.path, f"{resp.where}: {resp.field('status')} must be an HTTP status code, not {status}"
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


# --- streaming --------------------------------------------------------------------------

_CHUNK_BYTES = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")
"""JSON's whitespace, exactly what `json.decoder` skips."""
_DECODER = json.JSONDecoder()
_SETTLED = 64
"""A JSON error this many characters before the end of the text read so far is not the end
of that text showing through: reading on would neither move nor change it."""
_ERROR_CONTEXT = 64 * 1024
"""Text read past a syntax error before asking json to word it."""
_PROGRESS_EVERY = 1024
_AHEAD = 256 * 1024
"""Text kept ahead of an entry, so that decoding it rarely runs off the window's end (which
costs json a count of the lines before, for an error nobody reads)."""
_AFTER_ENTRY = re.compile(r"[ \t\n\r]*(,)[ \t\n\r]*")
"""The "," between two entries and the whitespace around it."""

# Text that puts json's parser in the state the stream was in, so that json words an error
# itself, in the words of whichever Python runs (`_HarStream._json_error`).
_TOP, _LOG, _ENTRIES = "{", '{"log":{', '{"log":{"entries":['
_STATES = {
    "doc": "",
    "end": "{}",
    **{
        f"{nest}{state}": prefix + suffix
        for nest, prefix in (("top", _TOP), ("log", _LOG))
        for state, suffix in (
            ("{", ""),  # after "{": a key or "}"
            (",", '"a":0,'),  # after ",": a key
            (":", '"a"'),  # after a key: ":"
            ("v", '"a":'),  # after ":": a value
            ("0", '"a":0'),  # after a value: "," or "}"
        )
    },
    "arr[": _ENTRIES,
    "arr,": _ENTRIES + "0,",
    "arr0": _ENTRIES + "0",
}
_KEPT_LOG_FIELDS = ("pages", "creator", "browser")


class _Unusual(Exception):
    """A document the stream does not follow; `read_har_document` decides instead."""


class _Syntax(Exception):
    """A JSON syntax error the stream ran into. `state` names the parser's state (a key of
    `_STATES`) at `resume`; `at` is where the stream noticed."""

    def __init__(self, state: str, resume: int, at: int) -> None:
        super().__init__(state, resume, at)
        self.state, self.resume, self.at = state, resume, at


class _HarStream:
    """One pass over a HAR file: the top-level object and `log` are walked key by key, each
    entry is decoded on its own from a window of text and converted at once.

    Errors rank as they do in `read_har_document`, which decodes the whole file, parses
    it, then checks it: a byte that is not UTF-8 anywhere in the file beats a JSON syntax
    error, which beats a bad `log.pages`, which beats a bad entry. So on an error the stream
    reads on for anything that ranks higher before it raises.
    """

    def __init__(
        self,
        f: Any,
        path: str,
        size: int,
        progress: ProgressFn | None,
        fixed: tuple[dict[str, str], bool, bool] | None = None,
    ) -> None:
        self.f, self.path, self.size, self.progress = f, path, size, progress
        self.text = ""
        self.base = 0
        """Where `text` starts, in characters of the whole decoded file."""
        self.eof = False
        self.carry = b""
        self.read_bytes = 0
        self.keep = 0
        """Where the text still needed starts: `_more` drops what comes before."""
        self.log_seen = False
        self.entries_seen = False
        self.log_fields: dict[str, Any] = {}
        self.fixed = fixed
        """(pages, errors are browser-side, sizes mark cache hits) when a first pass already
        found them."""
        self.used: tuple[dict[str, str], bool, bool] | None = None
        self.convert = True
        self.captured: list[Captured] = []
        self.pagerefs: list[object] = []
        self.entry_error: InputError | None = None

    # --- the document ------------------------------------------------------------------

    def read(self) -> Loaded:
        try:
            self._document()
        except _Syntax as syntax:
            message = self._json_error(syntax)
            self._drain()
            raise InputError(self.path, message) from None
        except RecursionError:
            self._drain()
            raise InputError(self.path, "not valid JSON: nested too deeply") from None
        if not self.log_seen or not self.entries_seen:
            raise _Unusual
        if self.fixed is None:
            final = (
                _page_urls(self.log_fields.get("pages"), self.path),
                _errors_are_browser_side(self.log_fields.get("creator")),
                _sizes_mark_cache(self.log_fields.get("creator"), self.log_fields.get("browser")),
            )
            if final != self.used:
                # `pages`, `creator` or `browser` came after the entries: convert them again,
                # knowing.
                self.f.seek(0)
                return _HarStream(self.f, self.path, self.size, self.progress, final).read()
        if self.entry_error is not None:
            raise self.entry_error
        fixed = self.fixed or self.used
        assert fixed is not None  # `_entries` ran: it sets `used` when nothing was fixed
        return _loaded(self.captured, self.pagerefs, fixed[1], self.log_fields.get("creator"))

    def _document(self) -> None:
        p = self._ws(0)
        if self._char(p) != "{":
            raise _Unusual
        p = self._object(p + 1, "top", self._top_value)
        q = self._ws(p)
        if self._char(q):
            raise _Syntax("end", p, q)

    def _object(self, p: int, nest: str, on_value: Callable[[str, int, int], int]) -> int:
        """Walk the object whose "{" is just before `p`; `on_value(key, at, resume)` reads
        the value at `at` and returns where it ends. Returns the position after "}"."""
        state = "{"
        while True:
            q = self._ws(p)
            c = self._char(q)
            if c == "}" and state == "{":
                return q + 1
            if c != '"':
                raise _Syntax(nest + state, p, q)
            key, q = self._key(q, nest + state, p)
            r = self._ws(q)
            if self._char(r) != ":":
                raise _Syntax(nest + ":", q, r)
            p = on_value(key, self._ws(r + 1), r + 1)
            q = self._ws(p)
            c = self._char(q)
            if c == "}":
                return q + 1
            if c != ",":
                raise _Syntax(nest + "0", p, q)
            p, state = q + 1, ","

    def _top_value(self, key: str, at: int, resume: int) -> int:
        if key != "log":
            return self._value(at, "topv", resume)[1]
        if self.log_seen or self._char(at) != "{":
            raise _Unusual  # "log" twice (json keeps the last) or no object
        self.log_seen = True
        return self._object(at + 1, "log", self._log_value)

    def _log_value(self, key: str, at: int, resume: int) -> int:
        if key != "entries":
            value, end = self._value(at, "logv", resume)
            if key in _KEPT_LOG_FIELDS:
                self.log_fields[key] = value
            return end
        if self.entries_seen or self._char(at) != "[":
            raise _Unusual
        self.entries_seen = True
        return self._entries(at + 1)

    def _entries(self, p: int) -> int:
        pages: Mapping[str, str] = {}
        browser_side, sizes = True, False
        if self.fixed is not None:
            pages, browser_side, sizes = self.fixed
        else:
            try:
                pages = _page_urls(self.log_fields.get("pages"), self.path)
            except InputError:
                self.convert = False  # raised again once the JSON is known to be sound
            fields = self.log_fields
            browser_side = _errors_are_browser_side(fields.get("creator"))
            sizes = _sizes_mark_cache(fields.get("creator"), fields.get("browser"))
            self.used = (dict(pages), browser_side, sizes)
        state, resume = "arr[", p
        q = self._ws(p)
        if self._char(q) == "]":
            return q + 1
        index = 0
        path, captured, convert = self.path, self.captured, self.convert
        scan, after = _DECODER.raw_decode, _AFTER_ENTRY.match
        while True:
            # The common case inline: the entry and the "," after it lie in the window.
            text, base = self.text, self.base
            if len(text) - (q - base) < _AHEAD and self._more():
                text, base = self.text, self.base
            try:
                entry, j = scan(text, q - base)
            except json.JSONDecodeError:
                j = len(text)
            if j >= len(text):  # too near the end, or an error: the careful way decides
                entry, end = self._value(q, state, resume)
                text, base = self.text, self.base
                j = end - base
            if convert:
                try:
                    where = f"log.entries[{index}]"
                    self.pagerefs.append(page_slot(entry))
                    captured.append(
                        _quick_captured(entry, where, path, index, pages, browser_side, sizes)
                        or _careful_captured(entry, where, path, index, pages, browser_side, sizes)
                    )
                except InputError as e:
                    self.entry_error, self.convert, self.captured = e, False, []
                    convert, captured = False, self.captured
            del entry
            index += 1
            if self.progress is not None and index % _PROGRESS_EVERY == 0:
                self.progress(self.read_bytes, self.size)
            m = after(text, j)
            if m is not None and m.end() < len(text):
                state, resume = "arr,", base + m.start(1) + 1
                q = base + m.end()
                self.keep = resume
                continue
            end = base + j
            r = self._ws(end)
            c = self._char(r)
            if c == "]":
                if self.progress is not None:
                    self.progress(self.read_bytes, self.size)
                return r + 1
            if c != ",":
                raise _Syntax("arr0", end, r)
            state, resume = "arr,", r + 1
            self.keep = resume
            q = self._ws(resume)

    # --- tokens over the window --------------------------------------------------------

    def _value(self, p: int, state: str, resume: int) -> tuple[Any, int]:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, p - self.base)
            except json.JSONDecodeError as e:
                if self._settled(e):
                    raise _Syntax(state, resume, self.base + e.pos) from None
                self._more(grow=True)
                continue
            # A number or literal at the very end may go on in the next chunk.
            if end >= len(self.text) and not self.eof:
                self._more(grow=True)
                continue
            return value, self.base + end

    def _key(self, p: int, state: str, resume: int) -> tuple[str, int]:
        while True:
            try:
                key, end = json.decoder.scanstring(self.text, p - self.base + 1)
            except json.JSONDecodeError as e:
                if self._settled(e):
                    raise _Syntax(state, resume, self.base + e.pos) from None
                self._more(grow=True)
                continue
            return key, self.base + end

    def _settled(self, e: json.JSONDecodeError) -> bool:
        """Would more text leave this error as it is? An unterminated string may just be
        one that goes on past the window."""
        if self.eof:
            return True
        return e.pos < len(self.text) - _SETTLED and not e.msg.startswith("Unterminated string")

    def _ws(self, p: int) -> int:
        while True:
            end = _WS.match(self.text, p - self.base).end()
            if end < len(self.text) or not self._more():
                return self.base + end

    def _char(self, p: int) -> str:
        while p - self.base >= len(self.text):
            if not self._more():
                return ""
        return self.text[p - self.base]

    # --- the window ----------------------------------------------------------------------

    def _more(self, grow: bool = False) -> bool:
        """Decode the next chunk onto the window, dropping the text before `keep`; False at
        the end of the file. Growing chunks keep one huge entry from being decoded again
        once per megabyte."""
        if self.eof:
            return False
        cut = self.keep - self.base
        if cut > 0:
            self.text = self.text[cut:]
            self.base = self.keep
        want = max(_CHUNK_BYTES, len(self.text)) if grow else _CHUNK_BYTES
        try:
            data = self.f.read(want)
        except OSError as e:
            raise InputError(self.path, e.strerror or str(e)) from None
        start = self.read_bytes - len(self.carry)
        self.read_bytes += len(data)
        if not data:
            self.eof = True
            if self.carry:
                self._decode(self.carry, start)  # an incomplete character: raises
            return False
        if start == 0 and data.startswith(codecs.BOM_UTF8):
            data, start = data[3:], 3
        data = self.carry + data
        cut = _complete_utf8(data)
        self.carry = data[cut:]
        self.text += self._decode(data[:cut], start)
        return True

    def _decode(self, data: bytes, offset: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _not_utf8(self.path, data[e.start], offset + e.start) from None

    def _drain(self) -> None:
        """Read to the end for what outranks the error at hand: a byte that is not UTF-8."""
        while self._more():
            self.keep = self.base + len(self.text)

    # --- messages ------------------------------------------------------------------------

    def _json_error(self, syntax: _Syntax) -> str:
        """json's own message for the error, as `read_har_document` words it: json parses
        the text from where the stream last stood, after text that puts it in that state."""
        prefix = _STATES[syntax.state]
        while not self.eof and self.base + len(self.text) < syntax.at + _ERROR_CONTEXT:
            self._more()
        text = prefix + self.text[syntax.resume - self.base :]
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            pos = e.pos - len(prefix) + syntax.resume
            if pos < syntax.resume or (not self.eof and e.pos >= len(text)):
                raise _Unusual from None
            if self._only_space_from(pos):
                return "the JSON ends early (file truncated?)"
            line, column = self._line_column(pos)
            return f"not valid JSON: {e.msg} at line {line} column {column}"
        except RecursionError:
            return "not valid JSON: nested too deeply"
        raise _Unusual

    def _only_space_from(self, pos: int) -> bool:
        """Is there nothing but whitespace from `pos` on (`str.rstrip`'s whitespace, as
        `parse_json_file` judges a file that ends early)?"""
        if self.text[pos - self.base :].strip():
            return False
        while self._more():
            if self.text[pos - self.base :].strip():
                return False
        return True

    def _line_column(self, pos: int) -> tuple[int, int]:
        """1-based, as `json.JSONDecodeError` counts them over the whole text."""
        cut = pos - self.base
        lines, line_start = self._lines_before_window()
        line = lines + self.text.count("\n", 0, cut) + 1
        last = self.text.rfind("\n", 0, cut)
        start = self.base + last + 1 if last >= 0 else line_start
        return line, pos - start + 1

    def _lines_before_window(self) -> tuple[int, int]:
        """Newlines before the window, and where the line it starts on starts: counted only
        for a message, by reading the file again up to the window."""
        here = self.f.tell()
        lines = line_start = seen = 0
        try:
            self.f.seek(0)
            decoder = codecs.getincrementaldecoder("utf-8-sig")()
            while seen < self.base:
                data = self.f.read(1 << 20)
                text = decoder.decode(data, final=not data)[: self.base - seen]
                if not text and not data:
                    break
                newlines = text.count("\n")
                if newlines:
                    lines += newlines
                    line_start = seen + text.rfind("\n") + 1
                seen += len(text)
        except (OSError, UnicodeDecodeError):
            pass  # read once already: only a file changed under us gets here
        finally:
            self.f.seek(here)
        return lines, line_start


def _complete_utf8(data: bytes) -> int:
    """How much of `data` ends on a character boundary; the rest waits for the next chunk."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        byte = data[n - back]
        if byte < 0x80:
            return n
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n - back if need > back else n
    return n
