from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from analysis.model import BrowserVerdict, Exchange
from analysis.readers import read
from analysis.readers.captured import Loaded
from analysis.readers.errors import InputError
from analysis.readers.har import read_har, read_har_document
from analysis.verdict import decide

from .builders import API, PAGE, har_doc, har_entry, write_json

DATA = Path(__file__).resolve().parents[2] / "data"


def only_cross_origin(path: Path) -> list[Exchange]:
    return [x for x in read(path).exchanges if not x.url.startswith(PAGE)]


def entries_of(tmp_path: Path, *entries: dict[str, Any], **log: Any) -> Path:
    return write_json(tmp_path / "t.har", har_doc(list(entries), **log))


# --- Chrome DevTools exports --------------------------------------------------------------


def test_chrome_missing_acao_keeps_status_headers_and_the_browser_error() -> None:
    path = DATA / "chrome-missing-acao.har"
    result = read(path)
    assert result.format == "har"
    assert result.transactions == 2
    [x] = only_cross_origin(path)
    actual = x.first.actual
    assert actual is not None and actual.response is not None
    assert actual.response.status == 200
    assert "access-control-allow-origin" not in actual.response.headers
    assert actual.error is None  # the response is there; the error is the browser's
    assert result.hints[x.id]["browser_error"] == "net::ERR_FAILED"
    assert actual.server_ip == "127.0.0.3"
    assert actual.started == pytest.approx(1795167000.0524)
    assert actual.duration_ms == pytest.approx(3.9)
    assert actual.request.http_version == "HTTP/1.1"
    assert x.context.page_origin == PAGE
    assert x.context.page_url == f"{PAGE}/"
    assert x.context.mode == "cors"
    assert x.context.resource_type == "fetch"
    assert x.origin_file == str(path)


def test_chrome_failed_preflight_pairs_with_the_unsent_post() -> None:
    [x] = only_cross_origin(DATA / "chrome-preflight-failed-post.har")
    assert len(x.steps) == 1
    step = x.first
    assert step.actual is not None
    assert step.actual.request.method == "POST"
    assert step.actual.response is None
    assert step.actual.error == "net::ERR_FAILED"
    assert step.preflight is not None and step.preflight.transaction is not None
    pre = step.preflight.transaction
    assert pre.response is not None and pre.response.status == 404
    assert pre.response.body_excerpt == "Not Found"
    assert x.context.page_origin == PAGE  # from the preflight's Origin
    assert x.context.mode == "cors"
    assert x.context.resource_type == "fetch"


DEVTOOLS_156 = DATA / "chrome-devtools-156-credentials-cache-worker.har"
"""Chromium 156's own DevTools frontend, "Export HAR (with sensitive data)", of lab
scenarios (catalogue ids in the URLs): a credentialed PUT whose preflight answered ACAO *,
a copy cached for one port of a site answering the next, a worker's synthetic answer and
one from its Cache Storage; then, from a second export, a dedicated worker's GET (logged
on the worker, without a page) whose preflight the page logged, and whose answer failed
CORS (Allow-Origin `null`) and is not in the export."""


def _devtools_exchange(tail: str, nth: int = -1) -> Exchange:
    return [x for x in read(DEVTOOLS_156).exchanges if x.url.endswith(tail)][nth]


def test_devtools_failed_credentialed_preflight_is_named() -> None:
    x = _devtools_exchange("/s/wildcard-with-credentials-preflight")
    assert x.first.preflight is not None and x.first.actual is not None
    assert x.first.actual.response is None and x.context.never_sent
    v = decide(x)
    assert (v.blocked, v.reason, v.credentials) == (
        True,
        "PreflightWildcardOriginNotAllowed",
        "include",
    )


def _importscripts_answer(tmp_path: Path, error: str | None, creator: str) -> Exchange:
    """A worker's importScripts() of a script whose body the export did not keep."""
    response = [("Content-Type", "text/javascript")]
    entry = har_entry("GET", f"{API}/lib.js", [("Referer", PAGE + "/")], response_headers=response)
    entry["_resourceType"] = "other"
    if error is not None:
        entry["response"]["_error" if creator == "WebInspector" else "_failureText"] = error
    [x] = read(entries_of(tmp_path, entry, creator={"name": creator})).exchanges
    return x


@pytest.mark.parametrize("creator", ["WebInspector", "Playwright"])
def test_a_browser_export_says_orb_let_through_a_load_it_logged_without_an_error(
    tmp_path: Path, creator: str
) -> None:
    x = _importscripts_answer(tmp_path, None, creator)
    assert x.context.finished
    assert decide(x).blocked is False
    blocked = _importscripts_answer(tmp_path, "net::ERR_BLOCKED_BY_ORB", creator)
    assert not blocked.context.finished
    assert decide(blocked).blocked is True


def test_an_export_that_records_no_errors_leaves_orb_undecided(tmp_path: Path) -> None:
    x = _importscripts_answer(tmp_path, None, "Firefox")
    assert not x.context.finished
    assert decide(x).condition == "orb-body-unknown"


def _never_sent_by_call(loaded: Loaded) -> dict[tuple[str, str], bool | None]:
    """Each transaction's `never_sent` hint, by method and the URL's last path segment."""
    return {
        (c.tx.request.method, c.tx.request.url.rsplit("/", 1)[1]): c.hints.get("never_sent")
        for c in loaded.captured
    }


def test_devtools_page_request_failed_with_no_answer_was_never_sent() -> None:
    for reader in (read_har, read_har_document):
        sent = _never_sent_by_call(reader(DEVTOOLS_156))
        assert sent[("PUT", "wildcard-with-credentials-preflight")] is True
        assert sent[("OPTIONS", "wildcard-with-credentials-preflight")] is None
        # A dedicated worker's: logged without a page, its preflight with one.
        assert sent[("GET", "cw-0053")] is None


def test_a_never_sent_request_is_found_in_a_har_listed_by_end_time(tmp_path: Path) -> None:
    # A writer that lists entries as they ended: a preflight that ended before the request
    # it failed comes first in the file, though it started after it (measured, Chromium
    # 156: a GET logged for 77 ms, its preflight from 2 ms later for 72 ms).
    doc = json.loads(DEVTOOLS_156.read_text(encoding="utf-8"))
    entries = doc["log"]["entries"]
    put, options = (
        next(
            e
            for e in entries
            if e["request"]["method"] == method
            and e["request"]["url"].endswith("/wildcard-with-credentials-preflight")
        )
        for method in ("PUT", "OPTIONS")
    )
    put["time"] = 1000.0
    entries.remove(put)
    entries.insert(entries.index(options) + 1, put)
    path = write_json(tmp_path / "by-end.har", doc)
    for reader in (read_har, read_har_document):
        sent = _never_sent_by_call(reader(path))
        assert sent[("PUT", "wildcard-with-credentials-preflight")] is True
        assert sent[("GET", "cw-0053")] is None


def test_devtools_worker_request_failed_with_no_answer_may_have_had_one() -> None:
    x = _devtools_exchange("/s/cw-0053")
    assert x.first.preflight is not None and x.first.actual is not None
    assert x.first.actual.response is None and not x.context.never_sent
    v = decide(x)
    # Not the credentialed preflight check: the GET went without credentials, and failed.
    assert (v.blocked, v.reason) == (True, None)


def test_devtools_failed_cache_hit_is_checked_on_the_copy_stored_for_another_port() -> None:
    stored, reused = [x for x in read(DEVTOOLS_156).exchanges if "/s/browser-cache" in x.url]
    assert decide(stored).blocked is False
    assert reused.first.stored is not None
    v = decide(reused)
    assert (v.blocked, v.reason, v.failed_parameter, v.source) == (
        True,
        "AllowOriginMismatch",
        "http://127.0.0.1:37159",
        "http-cache",
    )


def test_devtools_worker_answers_were_delivered_and_not_from_the_http_cache() -> None:
    for tail in ("/s/sw-synthetic-answer", "/s/sw-cache-storage-answer"):
        x = _devtools_exchange(tail)
        # A Cache Storage answer comes with `_fromCache: "disk"` too: the worker answered.
        assert x.context.source == "service-worker"
        assert x.context.browser == BrowserVerdict(blocked=False)
        v = decide(x)
        assert (v.blocked, v.condition) == (False, None)


def test_a_worker_redirect_is_not_the_pages_outcome(tmp_path: Path) -> None:
    # The page follows a worker's redirect itself: what it got there decides, not the 302.
    sw = har_entry(status=302, response_headers=[("Location", f"{API}/next")])
    sw["response"].update(_fetchedViaServiceWorker=True, redirectURL=f"{API}/next")
    [c] = read_har(entries_of(tmp_path, sw)).captured
    assert c.hints.get("source") == "service-worker"
    assert "browser" not in c.hints


def test_chrome_preflighted_put_and_a_disk_cache_hit() -> None:
    put, cached = only_cross_origin(DATA / "chrome-preflight-put-ok-then-cached.har")
    assert put.method == "PUT"
    assert put.first.preflight is not None and put.first.actual is not None
    assert put.first.actual.response is not None and put.first.actual.response.status == 200
    assert put.context.source is None
    assert cached.context.source == "http-cache"
    assert cached.first.actual is not None and cached.first.actual.server_ip is None


def test_chrome_redirect_chain_with_a_preflight_at_each_url() -> None:
    [x] = only_cross_origin(DATA / "chrome-redirect-chain.har")
    assert [s.url for s in x.steps] == [f"{API}/api/v1/items/7", f"{API}/api/v2/items/7"]
    assert all(s.preflight is not None and s.actual is not None for s in x.steps)
    assert x.first.actual is not None and x.first.actual.response is not None
    assert x.first.actual.response.status == 301


def test_chrome_navigation_is_kept_for_the_engine_to_filter() -> None:
    result = read(DATA / "chrome-missing-acao.har")
    doc = result.exchanges[0]
    assert doc.url == f"{PAGE}/"
    assert doc.context.mode == "navigate"
    assert doc.context.resource_type == "document"


# --- entry details ------------------------------------------------------------------------


def test_headers_in_file_order_with_duplicates_and_no_pseudo_headers(tmp_path: Path) -> None:
    entry = har_entry(
        headers=[(":authority", "127.0.0.3:8000"), (":method", "GET"), ("Origin", PAGE)],
        response_headers=[
            (":status", "200"),
            ("Access-Control-Allow-Origin", PAGE),
            ("Vary", "Accept"),
            ("access-control-allow-origin", PAGE),
        ],
    )
    [c] = read_har(entries_of(tmp_path, entry)).captured
    assert c.tx.request.headers.fields == (("Origin", PAGE),)
    assert c.tx.response is not None
    assert c.tx.response.headers.fields == (
        ("Access-Control-Allow-Origin", PAGE),
        ("Vary", "Accept"),
        ("access-control-allow-origin", PAGE),
    )


def test_a_header_name_is_one_string_however_varied_its_values(tmp_path: Path) -> None:
    """Fields with values that never repeat (request ids) still share their name."""
    entries = [har_entry(response_headers=[("X-Request-Id", f"r{i}")]) for i in range(3)]
    loaded = read_har(entries_of(tmp_path, *entries))
    first, *others = [c.tx.response.headers.fields[0][0] for c in loaded.captured if c.tx.response]
    assert len(others) == 2 and all(name is first for name in others)


def test_status_zero_without_headers_is_no_response(tmp_path: Path) -> None:
    entry = har_entry(status=0)
    entry["response"]["_error"] = "net::ERR_CONNECTION_REFUSED"
    [c] = read_har(entries_of(tmp_path, entry)).captured
    assert c.tx.response is None
    assert c.tx.error == "net::ERR_CONNECTION_REFUSED"
    assert c.hints["browser_error"] == "net::ERR_CONNECTION_REFUSED"


@pytest.mark.parametrize(
    ("validator", "body_size", "content_size", "status"),
    [
        ("If-None-Match", 0, 12, 304),
        ("If-Modified-Since", 0, 12, 304),
        (None, 0, 12, 200),  # no validator: the cache answered without asking
        ("If-None-Match", 12, 12, 200),  # the body came over the wire
        ("If-None-Match", -1, 12, 200),  # unknown
        ("If-None-Match", 0, 0, 200),  # an empty 200
        # a dedicated worker's fetch: Playwright kept no body (o-499, o-269, server 304s)
        ("If-None-Match", 0, -1, 304),
        (None, 0, -1, 200),
    ],
)
def test_a_revalidation_recorded_as_the_stored_response_is_the_304_it_was(
    tmp_path: Path, validator: str | None, body_size: int, content_size: int, status: int
) -> None:
    """Playwright writes a 304 that refreshed a cached response as a 200 with the 304's
    headers and no body on the wire (measured with the lab's revalidation scenario)."""
    request_headers = [("Origin", PAGE)] + ([(validator, '"v1"')] if validator else [])
    entry = har_entry(headers=request_headers, response_headers=[("ETag", '"v1"')])
    entry["response"]["bodySize"] = body_size
    entry["response"]["content"]["size"] = content_size
    [c] = read_har(entries_of(tmp_path, entry)).captured
    assert c.tx.response is not None and c.tx.response.status == status


PLAYWRIGHT = {"name": "Playwright", "version": "1.65.1"}
PLAYWRIGHT_CHROMIUM = {"name": "chromium", "version": "156.0.8078.108"}


def _sized_as_playwright(
    status: int, body: int, transfer: int, headers: int, ip: str | None, **extra: Any
) -> dict:
    entry = har_entry(headers=[("Referer", f"{PAGE}/")], status=status, **extra)
    if status == -1:
        entry["response"]["_failureText"] = "net::ERR_FAILED"
    else:
        entry["response"]["headers"] = [{"name": "Cache-Control", "value": "max-age=600"}]
    entry["response"].update(bodySize=body, _transferSize=transfer, headersSize=headers)
    entry["response"]["content"]["size"] = 360
    if ip is not None:
        entry["serverIPAddress"] = ip
    return entry


# Each shape as Playwright 1.65 recorded it from Chromium 156 (status, bodySize,
# _transferSize, headersSize, serverIPAddress), the same in 6 runs.
@pytest.mark.parametrize(
    ("shape", "source"),
    [
        ((200, -264, 0, 264, "127.0.0.2"), "http-cache"),  # fresh copy: fetch, img, script
        ((200, 360, 624, 264, "127.0.0.2"), None),  # from the network
        ((200, 0, 242, 242, "127.0.0.2"), None),  # a 304 written as the stored 200
        ((304, 0, 165, 165, "127.0.0.2"), None),  # a 304 written as one (<img>)
        ((301, 0, 295, 295, "127.0.0.2"), None),  # a cached 301 looks like a fetched one
        ((204, 0, 153, 153, "127.0.0.2"), None),  # no body at all
        # a service worker's answer, as the page saw it: synthetic or the worker's fetch
        ((200, -91, 0, 91, None), "service-worker"),
        ((200, 0, 70, 70, None), None),  # Playwright's own route.fulfill
        ((200, -1, -1, -1, None), None),  # aborted, or unfinished when the HAR was saved
        ((-1, -1, -1, -1, None), None),  # blocked, refused: no answer
    ],
)
def test_playwright_marks_an_http_cache_answer_by_its_sizes(
    tmp_path: Path, shape: tuple[int, int, int, int, str | None], source: str | None
) -> None:
    path = entries_of(
        tmp_path, _sized_as_playwright(*shape), creator=PLAYWRIGHT, browser=PLAYWRIGHT_CHROMIUM
    )
    for reader in (read_har, read_har_document):
        [c] = reader(path).captured
        assert c.hints.get("source") == source


@pytest.mark.parametrize(
    "log",
    [
        {"creator": {"name": "WebInspector", "version": "537.36"}},  # writes `_fromCache`
        {"creator": PLAYWRIGHT, "browser": {"name": "firefox", "version": "142.0"}},
        {"creator": PLAYWRIGHT},  # no browser named
    ],
)
def test_sizes_mark_cache_answers_only_in_playwrights_chromium_hars(
    tmp_path: Path, log: dict[str, Any]
) -> None:
    entry = _sized_as_playwright(200, -264, 0, 264, "127.0.0.2")
    [c] = read_har(entries_of(tmp_path, entry, **log)).captured
    assert "source" not in c.hints


def test_playwright_sizes_give_way_to_what_the_entry_says(tmp_path: Path) -> None:
    worker = _sized_as_playwright(200, -264, 0, 264, "127.0.0.2")
    worker["response"]["_fetchedViaServiceWorker"] = True
    probed = _sized_as_playwright(200, -264, 0, 264, "127.0.0.2", _cors={"source": "cdn-cache"})
    path = entries_of(tmp_path, worker, probed, creator=PLAYWRIGHT, browser=PLAYWRIGHT_CHROMIUM)
    assert [c.hints["source"] for c in read_har(path).captured] == ["service-worker", "cdn-cache"]


def test_playwrights_browser_named_before_or_after_the_entries(tmp_path: Path) -> None:
    entry = _sized_as_playwright(200, -264, 0, 264, "127.0.0.2")
    before = {"creator": PLAYWRIGHT, "browser": PLAYWRIGHT_CHROMIUM, "entries": [entry]}
    after = {"entries": [entry], "creator": PLAYWRIGHT, "browser": PLAYWRIGHT_CHROMIUM}
    for n, log in enumerate((before, after)):
        path = write_json(tmp_path / f"{n}.har", {"log": {"version": "1.2", **log}})
        [c] = read_har(path).captured
        assert c.hints.get("source") == "http-cache"


def _document(url: str, csp: str | None = None, dest: str = "document", **extra: Any) -> dict:
    headers = [("Content-Security-Policy", csp)] if csp else []
    return har_entry(url=url, headers=[("Sec-Fetch-Dest", dest)], response_headers=headers, **extra)


def _blocked_as_playwright_keeps_it(url: str, **extra: Any) -> dict:
    # What script could see: no Origin, an empty Referer; no answer, Chromium's ERR_FAILED.
    entry = har_entry(url=url, headers=[("Referer", ""), ("User-Agent", "x")], status=-1, **extra)
    entry["response"]["_failureText"] = "net::ERR_FAILED"
    return entry


@pytest.mark.parametrize(
    ("csp", "origin"),
    [
        ("sandbox allow-scripts", "null"),
        ("default-src 'self'; sandbox", "null"),
        ("sandbox allow-scripts allow-same-origin", PAGE),
        (None, PAGE),
    ],
)
def test_a_request_without_origin_or_referer_takes_the_pages_document(
    tmp_path: Path, csp: str | None, origin: str
) -> None:
    """A Playwright HAR of a sandboxed (or no-referrer) page keeps a blocked request with
    neither header; the document the page showed says whose it was (measured: 67 of 750
    random scenarios were dropped as not cross-origin)."""
    path = entries_of(
        tmp_path,
        _document(PAGE + "/app", csp, pageref="p1"),
        _blocked_as_playwright_keeps_it(API + "/data", pageref="p1"),
    )
    [x] = only_cross_origin(path)
    assert x.context.page_origin == origin
    assert decide(x).blocked is True


def test_only_the_same_pages_top_level_document_counts(tmp_path: Path) -> None:
    path = entries_of(
        tmp_path,
        _document(PAGE + "/app", "sandbox", pageref="p1"),
        _document("http://frame.test/f", dest="iframe", pageref="p2"),
        _blocked_as_playwright_keeps_it(API + "/data", pageref="p2"),
        _blocked_as_playwright_keeps_it(API + "/other", pageref="p3"),
    )
    requests = [x for x in only_cross_origin(path) if x.url.startswith(API)]
    assert [x.context.page_origin for x in requests] == [None, None]


def _http_document(url: str, frame: str, csp: str | None = None) -> dict:
    # Playwright's entry for a document at a URL that is not potentially trustworthy:
    # Chromium sent no Sec-Fetch-* (measured: http://www.app.test pages of the lab).
    headers = [("Content-Security-Policy", csp)] if csp else []
    return har_entry(
        url=url,
        headers=[("Upgrade-Insecure-Requests", "1")],
        response_headers=headers,
        pageref="p1",
        _frameref=frame,
        _resourceType="document",
    )


def test_a_document_without_fetch_metadata_in_the_main_frame_is_the_page(
    tmp_path: Path,
) -> None:
    page = "http://www.app.test:8000"
    path = entries_of(
        tmp_path,
        _document(PAGE + "/app", pageref="p1", _frameref="main", _resourceType="document"),
        _http_document(page + "/next", "main", csp="sandbox allow-scripts"),
        _blocked_as_playwright_keeps_it(API + "/sandboxed", pageref="p1", _frameref="main"),
        _http_document("http://frame.test/f", "child"),
        _blocked_as_playwright_keeps_it(API + "/still", pageref="p1", _frameref="main"),
    )
    for reader in (read_har, read_har_document):
        hints = [c.hints.get("initiator_origin") for c in reader(path).captured]
        assert hints[2:] == ["null", "null", "null"]  # the child frame's document too


def test_a_pages_first_document_without_fetch_metadata_is_the_page(tmp_path: Path) -> None:
    page = "http://www.app.test:8000"
    path = entries_of(
        tmp_path,
        _http_document(page + "/app", "main"),
        _blocked_as_playwright_keeps_it(API + "/data", pageref="p1", _frameref="main"),
    )
    [x] = [x for x in only_cross_origin(path) if x.url.startswith(API)]
    assert x.context.page_origin == page


@pytest.mark.parametrize("sent", [None, "null"])
def test_a_sandboxed_page_is_placed_by_its_documents_address(
    tmp_path: Path, sent: str | None
) -> None:
    """A public page served with CSP `sandbox` reaching a local address: Chromium names
    Local Network Access from the document's address space, whatever its opaque origin
    (measured: 15 of 100 random scenarios, `from origin 'null'`)."""
    document = _http_document("http://www.app.test:8000/app", "main", csp="sandbox allow-scripts")
    document["serverIPAddress"] = "93.184.215.5"
    blocked = _blocked_as_playwright_keeps_it(
        "http://10.0.0.2:9000/data", pageref="p1", _frameref="main", _resourceType="fetch"
    )
    if sent is not None:
        blocked["request"]["headers"].append({"name": "Origin", "value": sent})
    [x] = [x for x in read(entries_of(tmp_path, document, blocked)).exchanges if "10.0" in x.url]
    assert (x.context.page_origin, x.context.page_address) == ("null", "93.184.215.5")
    assert decide(x).reason == "InsecureLocalNetwork"


def test_entry_level_error_is_read_too(tmp_path: Path) -> None:
    entry = har_entry(status=0, _error="net::ERR_FAILED")
    [c] = read_har(entries_of(tmp_path, entry)).captured
    assert c.tx.error == "net::ERR_FAILED"


def test_body_excerpt_only_for_preflights_and_errors(tmp_path: Path) -> None:
    big = "x" * 5000
    ok = har_entry("GET", status=200)
    ok["response"]["content"]["text"] = big
    err = har_entry("GET", status=500)
    err["response"]["content"]["text"] = big
    pre = har_entry("OPTIONS", status=200)
    pre["response"]["content"]["text"] = "ok"
    b64 = har_entry("GET", status=403)
    b64["response"]["content"].update(
        text=base64.b64encode(("é" * 3000).encode()).decode(), encoding="base64"
    )
    got = [
        c.tx.response.body_excerpt
        for c in read_har(entries_of(tmp_path, ok, err, pre, b64)).captured
        if c.tx.response
    ]
    assert got == [None, "x" * 1024, "ok", "é" * 1024]


def test_time_and_date_conversions(tmp_path: Path) -> None:
    a = har_entry(started="2026-11-20T10:30:00.250+01:00", time=-1)
    b = har_entry(started="2026-11-20T09:30:00")  # no zone: taken as UTC
    ca, cb = read_har(entries_of(tmp_path, a, b)).captured
    assert ca.tx.started == pytest.approx(1795167000.25)
    assert ca.tx.duration_ms is None
    assert cb.tx.started == pytest.approx(1795167000.0)


def test_http_versions_are_normalised(tmp_path: Path) -> None:
    entry = har_entry()
    entry["request"]["httpVersion"] = "h2"
    entry["response"]["httpVersion"] = "unknown"
    [c] = read_har(entries_of(tmp_path, entry)).captured
    assert c.tx.request.http_version == "HTTP/2.0"
    assert c.tx.response is not None and c.tx.response.http_version is None


def test_chrome_extras_become_hints(tmp_path: Path) -> None:
    sw = har_entry(_resourceType="xhr", _initiator={"type": "script"}, pageref="page_1")
    sw["response"]["_fetchedViaServiceWorker"] = True
    mem = har_entry(_fromCache="memory")
    path = entries_of(
        tmp_path,
        sw,
        mem,
        pages=[
            {"id": "page_1", "title": f"{PAGE}/shop", "startedDateTime": "2026-11-20T09:30:00Z"}
        ],
    )
    a, b = read_har(path).captured
    assert a.hints == {
        "source": "service-worker",
        "resource_type": "xhr",
        "initiator_type": "script",
        "har_page_url": f"{PAGE}/shop",
        # A worker's answer with a status and no error reached the page.
        "browser": BrowserVerdict(blocked=False),
    }
    assert b.hints == {"source": "http-cache"}


def test_cors_extension_overrides_chrome_extras(tmp_path: Path) -> None:
    entry = har_entry(
        _fromCache="disk",
        _resourceType="fetch",
        _corscope_id="c42",
        _cors={
            "initiatorOrigin": PAGE,
            "mode": "cors",
            "credentials": "include",
            "source": "cdn-cache",
            "browser": {
                "blocked": True,
                "reason": "WildcardOriginNotAllowed",
                "failed_parameter": None,
            },
        },
    )
    [x] = read(entries_of(tmp_path, entry)).exchanges
    assert x.id == "c42"
    assert x.context.credentials == "include"
    assert x.context.source == "cdn-cache"
    assert x.context.browser is not None and x.context.browser.reason == "WildcardOriginNotAllowed"


def test_firefox_shaped_har(tmp_path: Path) -> None:
    entry = {
        "pageref": "page_1",
        "startedDateTime": "2026-11-20T10:30:00.123+01:00",
        "request": {
            "bodySize": 0,
            "method": "GET",
            "url": f"{API}/api/profile",
            "httpVersion": "HTTP/2",
            "headers": [
                {"name": "Origin", "value": PAGE},
                {"name": "Sec-Fetch-Mode", "value": "cors"},
            ],
            "cookies": [],
            "queryString": [],
            "headersSize": 312,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/2",
            "headers": [{"name": "content-type", "value": "application/json"}],
            "cookies": [],
            "content": {"mimeType": "application/json", "size": 27, "text": "{}"},
            "redirectURL": "",
            "headersSize": 120,
            "bodySize": 150,
        },
        "cache": {},
        "timings": {
            "blocked": 0,
            "dns": 0,
            "connect": 0,
            "ssl": 0,
            "send": 0,
            "wait": 3,
            "receive": 0,
        },
        "time": 3,
        "_securityState": "insecure",
        "serverIPAddress": "127.0.0.3",
        "connection": "8000",
    }
    path = entries_of(
        tmp_path,
        entry,
        creator={"name": "Firefox", "version": "140.0"},
        browser={"name": "Firefox", "version": "140.0"},
        pages=[
            {
                "startedDateTime": "2026-11-20T10:29:59+01:00",
                "id": "page_1",
                "title": "Shop",
                "pageTimings": {},
            }
        ],
    )
    [x] = read(path).exchanges
    assert x.context.page_origin == PAGE
    assert x.context.page_url is None  # Firefox titles are document titles, not URLs
    assert x.first.actual is not None
    assert x.first.actual.request.http_version == "HTTP/2.0"


def test_entries_without_optional_fields(tmp_path: Path) -> None:
    bare = {"request": {"method": "GET", "url": f"{API}/a"}}
    no_response = {"request": {"method": "GET", "url": f"{API}/b", "headers": []}, "response": None}
    result = read(entries_of(tmp_path, bare, no_response))
    assert [x.url for x in result.exchanges] == [f"{API}/a", f"{API}/b"]
    assert all(x.first.actual and x.first.actual.response is None for x in result.exchanges)
    assert result.exchanges[0].started is None


# --- mitmproxy's own HAR export -----------------------------------------------------------


def test_mitmproxy_har_export_round_trip(tmp_path: Path) -> None:
    from mitmproxy import http
    from mitmproxy.addons.savehar import SaveHar
    from mitmproxy.test import taddons, tflow, tutils

    ok = tflow.tflow(
        req=tutils.treq(
            method=b"OPTIONS",
            host="127.0.0.3",
            port=8000,
            path=b"/api/items",
            headers=http.Headers(
                [
                    (b"Origin", PAGE.encode()),
                    (b"Access-Control-Request-Method", b"PUT"),
                    (b"X-Dup", b"1"),
                    (b"X-Dup", b"2"),
                ]
            ),
            content=b"",
        ),
        resp=tutils.tresp(
            status_code=204,
            reason=b"No Content",
            headers=http.Headers([(b"Access-Control-Allow-Origin", PAGE.encode())]),
            content=b"",
        ),
    )
    failed = tflow.tflow(
        req=tutils.treq(
            method=b"PUT",
            host="127.0.0.3",
            port=8000,
            path=b"/api/items",
            headers=http.Headers([(b"Origin", PAGE.encode())]),
        ),
        err=True,
    )
    failed.request.timestamp_start += 1
    path = tmp_path / "mitm.har"
    addon = SaveHar()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, hardump=str(path))
        addon.response(ok)
        addon.error(failed)
        addon.done()

    assert json.loads(path.read_text())["log"]["creator"]["name"] == "mitmproxy"
    result = read(path)
    assert result.format == "har"
    [x] = result.exchanges
    pre = x.first.preflight
    assert pre is not None and pre.transaction is not None
    assert pre.transaction.request.url == "http://127.0.0.3:8000/api/items"
    assert pre.transaction.request.headers.get_all("x-dup") == ["1", "2"]
    assert pre.transaction.response is not None and pre.transaction.response.status == 204
    assert pre.transaction.server_ip == "192.168.0.1"
    put = x.first.actual
    assert put is not None and put.response is None
    assert put.error == "error"
    # The proxy's error is not something the browser said.
    assert "browser_error" not in result.hints.get(x.id, {})


# --- malformed input ----------------------------------------------------------------------


def expect_error(path: Path, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return info.value


def test_truncated_har(tmp_path: Path) -> None:
    text = (DATA / "chrome-missing-acao.har").read_text()
    path = tmp_path / "cut.har"
    path.write_text(text[: len(text) // 2])
    expect_error(path, "truncated")


def test_garbled_har(tmp_path: Path) -> None:
    path = tmp_path / "garbled.har"
    path.write_text('{"log": {"entries": [}, }}')
    expect_error(path, "not valid JSON", "line 1")


def test_non_utf8_har(tmp_path: Path) -> None:
    path = tmp_path / "latin1.har"
    path.write_bytes(
        json.dumps(har_doc([har_entry()]))
        .replace("OK", "Ö")
        .encode("utf-8")
        .replace("Ö".encode(), b"\xd6")
    )
    expect_error(path, "not UTF-8")


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda d: d["log"].update(entries={}), ["log.entries must be an array"]),
        (lambda d: d["log"].update(pages="p"), ["log.pages must be an array"]),
        (lambda d: d["log"]["entries"].append(7), ["log.entries[1]", "must be an object"]),
        (
            lambda d: d["log"]["entries"][0].pop("request"),
            ["log.entries[0]", "request must be an object"],
        ),
        (
            lambda d: d["log"]["entries"][0]["request"].update(url=3),
            ["log.entries[0]", "request.url"],
        ),
        (
            lambda d: d["log"]["entries"][0]["request"].update(headers={}),
            ["request.headers must be an array"],
        ),
        (
            lambda d: d["log"]["entries"][0]["request"]["headers"].append(
                {"name": "A", "value": 1}
            ),
            ["request.headers[1].value must be a string"],
        ),
        (
            lambda d: d["log"]["entries"][0]["response"].update(status="200"),
            ["response.status must be a number"],
        ),
        (
            lambda d: d["log"]["entries"][0]["response"].update(status=200.5),
            ["response.status must be a whole"],
        ),
        (
            lambda d: d["log"]["entries"][0].update(startedDateTime="yesterday"),
            ["startedDateTime", "ISO 8601"],
        ),
        (lambda d: d["log"]["entries"][0].update(time="fast"), ["time must be a number"]),
        (
            lambda d: d["log"]["entries"][0].update(time=10**400),
            ["time must be a finite", "digits"],
        ),
        (lambda d: d["log"]["entries"][0].update(time=float("inf")), ["time must be a finite"]),
        (lambda d: d["log"]["entries"][0].update(time=float("nan")), ["not nan"]),
        (
            lambda d: d["log"]["entries"][0]["response"].update(status=10**30),
            ["response.status must be an HTTP status code"],
        ),
        (
            # -1 is Playwright's "no answer"; with headers beside it, it is no status at all.
            lambda d: d["log"]["entries"][0]["response"].update(
                status=-1, headers=[{"name": "X-A", "value": "b"}]
            ),
            ["response.status must be an HTTP status code, not -1"],
        ),
        (
            lambda d: d["log"]["entries"][0]["response"].update(status=-2, headers=[]),
            ["response.status must be an HTTP status code, not -2"],
        ),
        (lambda d: d["log"]["entries"][0].update(_fromCache=True), ["_fromCache must be a string"]),
        (
            lambda d: d["log"]["entries"][0].update(_cors=[]),
            ["log.entries[0]", "_cors must be an object"],
        ),
        (
            lambda d: d["log"]["entries"][0].update(_cors={"mode": 1}),
            ["log.entries[0]", "_cors.mode"],
        ),
        (lambda d: d["log"]["entries"][0].update(_cors={"mode": "cros"}), ["_cors.mode is 'cros'"]),
        (
            lambda d: d["log"]["entries"][0].update(_cors={"browser": {"blocked": "yes"}}),
            ["_cors.browser.blocked"],
        ),
        (
            lambda d: d["log"]["entries"][0].update(_corscope_id=[1]),
            ["_corscope_id must be a string"],
        ),
    ],
)
def test_wrong_types_are_input_errors(tmp_path: Path, mutate: Any, fragments: list[str]) -> None:
    doc = har_doc([har_entry(headers=[("Origin", PAGE)])])
    mutate(doc)
    expect_error(write_json(tmp_path / "bad.har", doc), *fragments)


def test_json_without_log_is_not_a_har(tmp_path: Path) -> None:
    expect_error(write_json(tmp_path / "x.json", {"version": 1}), 'no "log" object')


def test_playwright_never_marks_a_preflight_as_cached(tmp_path: Path) -> None:
    # A service worker's preflight, as Playwright 1.65 recorded it: `_transferSize` 0 and
    # the server's address, like a cached answer; but responses to OPTIONS are not stored,
    # and the browser logged it after the request it guards, as DevTools does.
    entry = _sized_as_playwright(204, -349, 0, 349, "127.0.0.2", method="OPTIONS")
    entry["request"]["headers"].append({"name": "Access-Control-Request-Method", "value": "PUT"})
    path = entries_of(tmp_path, entry, creator=PLAYWRIGHT, browser=PLAYWRIGHT_CHROMIUM)
    for reader in (read_har, read_har_document):
        [c] = reader(path).captured
        assert c.hints.get("source") is None
        assert c.hints.get("initiator_type") == "preflight"


def test_playwright_service_worker_answer_was_delivered(tmp_path: Path) -> None:
    # Playwright writes an answer the browser refused as status -1 with `_failureText`; a
    # worker's answer with a status and none reached the page (not CORS-checked again).
    path = entries_of(
        tmp_path,
        _sized_as_playwright(200, -91, 0, 91, None),
        creator=PLAYWRIGHT,
        browser=PLAYWRIGHT_CHROMIUM,
    )
    for reader in (read_har, read_har_document):
        [c] = reader(path).captured
        assert c.hints.get("source") == "service-worker"
        assert c.hints.get("browser") == BrowserVerdict(blocked=False)


def _redirect_then_hop_as_playwright(hop_error: str) -> list[dict]:
    # A fetch with redirect: "manual" as Playwright 1.65 recorded it from Chromium 156
    # (lab r-00, o-196): the 302 the page got as an opaque-redirect response, then the
    # redirect's target, never sent (only the headers script set or Blink adds, no answer)
    # and "canceled" (net::ERR_ABORTED); Chromium fails a CORS check with net::ERR_FAILED.
    cors = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]
    first = har_entry(
        url=f"{API}/go",
        headers=[("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "cross-site")],
        status=302,
        response_headers=[("Location", f"{API}/go/final"), *cors],
        _resourceType="fetch",
    )
    first["response"]["redirectURL"] = f"{API}/go/final"
    hop = har_entry(
        url=f"{API}/go/final",
        headers=[("User-Agent", "x"), ("Referer", f"{PAGE}/")],
        status=-1,
        started="2026-11-20T09:30:00.020Z",
        _resourceType="fetch",
    )
    hop["response"]["_failureText"] = hop_error
    return [first, hop]


@pytest.mark.parametrize(
    ("hop_error", "blocked"),
    [
        ("net::ERR_ABORTED", False),  # redirect: "manual" (or the page's abort)
        ("net::ERR_FAILED", True),  # a refused hop: blocked, the check unknown
    ],
)
def test_a_canceled_redirect_target_is_not_a_cors_failure(
    tmp_path: Path, hop_error: str, blocked: bool
) -> None:
    path = entries_of(
        tmp_path,
        *_redirect_then_hop_as_playwright(hop_error),
        creator=PLAYWRIGHT,
        browser=PLAYWRIGHT_CHROMIUM,
    )
    [x] = only_cross_origin(path)
    assert [s.url for s in x.steps] == [f"{API}/go", f"{API}/go/final"]
    v = decide(x)
    assert v.blocked is blocked
    assert v.condition is None


def test_a_canceled_request_without_a_redirect_stays_open(tmp_path: Path) -> None:
    # Canceled before any answer, with no redirect before it: nothing says what the page got.
    [_, hop] = _redirect_then_hop_as_playwright("net::ERR_ABORTED")
    [x] = only_cross_origin(
        entries_of(tmp_path, hop, creator=PLAYWRIGHT, browser=PLAYWRIGHT_CHROMIUM)
    )
    v = decide(x)
    assert (v.blocked, v.condition) == (None, "response-not-captured")


# --- Opaque Response Blocking: the class of the body's first KiB (analysis/orb.py) -------


def _no_cors_entry(content: dict[str, Any], content_type: str = "application/json") -> dict:
    entry = har_entry(
        url=f"{API}/img",
        headers=[("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")],
        response_headers=[("Content-Type", content_type)],
    )
    entry["response"]["content"] = {"mimeType": content_type, **content}
    return entry


@pytest.mark.parametrize(
    ("content", "content_type", "sniffed"),
    [
        ({"size": 8, "text": '{"a": 1}'}, "application/json", "json"),
        ({"size": 9, "text": "<p>hello!"}, "text/plain", "html"),
        (
            {
                "size": 8,
                "text": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(),
                "encoding": "base64",
            },
            "text/html",
            "image",
        ),
        ({"size": 0, "text": ""}, "text/html", "other"),
        ({"size": 8}, "application/json", None),
        ({"size": 8, "_sniffed": "xml"}, "application/json", "xml"),
        ({"size": 8, "_sniffed": "nonsense"}, "application/json", None),
        ({"size": 8, "text": '{"a": 1}'}, "text/css", None),
    ],
)
def test_an_answer_orb_sniffs_keeps_the_class_of_its_body(
    tmp_path: Path, content: dict[str, Any], content_type: str, sniffed: str | None
) -> None:
    path = entries_of(tmp_path, _no_cors_entry(content, content_type))
    for reader in (read_har, read_har_document):
        (captured,) = reader(str(path)).captured
        assert captured.tx.response is not None
        assert captured.tx.response.sniffed == sniffed, reader.__name__
