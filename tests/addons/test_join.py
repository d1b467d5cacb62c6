"""Probe reports joined to recorded exchanges, and answers the proxy never saw."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from mitmproxy import http

from addons.beacon import PageRecord, Timing, WorkerRecord
from addons.capture import entry_for
from addons.join import Annotate, Joiner, NewEntry, browser_may_cache
from analysis.readers.har import entry_to_captured
from analysis.readers.hints import cors_hints

from .flows import API, PAGE, T0, cors_get, preflight

URL = API + "/data"
PAGE_URL = PAGE + "/orders"


def joiner() -> Joiner:
    ids = itertools.count(1)
    return Joiner(lambda: f"n{next(ids)}")


def page(**over: Any) -> PageRecord:
    fields: dict[str, Any] = dict(
        kind="fetch",
        url=URL,
        method="GET",
        mode="cors",
        credentials="include",
        redirect="follow",
        t=T0 - 0.001,
        failed=False,
        aborted=False,
        status=200,
        response_type="cors",
        controlled=False,
        timing=None,
    )
    fields.update(over)
    return PageRecord(**fields)


def worker(**over: Any) -> WorkerRecord:
    fields: dict[str, Any] = dict(
        url=URL,
        method="GET",
        mode="cors",
        credentials="same-origin",
        redirect="follow",
        destination="",
        t=T0 + 0.002,
        answer="cache",
        response_type="cors",
        status=200,
        status_text="OK",
        headers=(("content-type", "application/json"),),
        request_headers=(("x-id", "1"),),
        failure=None,
    )
    fields.update(over)
    return WorkerRecord(**fields)


def valid(entry: dict[str, Any]) -> None:
    """Every entry the joiner makes must be one the capture reader accepts."""
    entry_to_captured(entry, where="-", path="-", order=0)


def test_page_record_annotates_the_wire_entry() -> None:
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    (action,) = j.page(page(failed=True, status=0), PAGE_URL)
    assert isinstance(action, Annotate) and action.entry_id == "w1"
    assert action.cors == {
        "mode": "cors",
        "credentials": "include",
        "initiatorOrigin": PAGE,
        "pageUrl": PAGE_URL,
        "resourceType": "fetch",
        "redirect": "follow",
        "browser": {"blocked": True, "reason": None},
    }
    cors_hints(action.cors, "-", "-")


def test_a_sandboxed_page_s_calls_come_from_an_opaque_origin() -> None:
    # A no-cors fetch from a sandboxed frame carries no Origin; its URL's origin is not its.
    j = joiner()
    j.note(entry_for(cors_get(origin="null"), "w1"))
    (action,) = j.page(page(), PAGE_URL, opaque=True)
    assert isinstance(action, Annotate) and action.entry_id == "w1"
    assert (action.cors["initiatorOrigin"], action.cors["pageUrl"]) == ("null", PAGE_URL)
    cors_hints(action.cors, "-", "-")


def test_the_header_names_a_call_set_go_with_its_annotation() -> None:
    j = joiner()
    j.note(entry_for(cors_get(extra=[("X-B", "1")]), "w1"))
    (action,) = j.page(page(header_names=("x-b", "accept")), PAGE_URL)
    assert isinstance(action, Annotate) and action.cors["headerNames"] == ["x-b", "accept"]
    assert cors_hints(action.cors, "-", "-")["header_names"] == ("x-b", "accept")


def test_request_beats_its_preflight_and_each_entry_is_claimed_once() -> None:
    j = joiner()
    j.note(entry_for(preflight(at=T0), "p1"))
    j.note(entry_for(cors_get(method="PUT", at=T0 + 0.01), "a1"))
    (first,) = j.page(page(method="PUT"), PAGE_URL)
    assert isinstance(first, Annotate) and first.entry_id == "a1"
    (second,) = j.page(page(method="PUT"), PAGE_URL)
    assert isinstance(second, Annotate) and second.entry_id == "p1"
    assert j.page(page(method="PUT"), PAGE_URL) == []


def test_concurrent_calls_join_the_entries_that_carry_their_headers() -> None:
    # Measured (Chromium 156, one page): GETs to one URL at once, with X-B+X-Slow, with
    # X-Trace, with none; both preflights refused, so no request follows them. Reports
    # arrive in any order; each joins the preflight announcing its own header names, or
    # the request showing none, whatever the start times say.
    j = joiner()
    j.note(entry_for(preflight(method="GET", request_headers="x-b,x-slow", at=T0), "p-b"))
    j.note(entry_for(preflight(method="GET", request_headers="x-trace", at=T0 + 0.01), "p-t"))
    j.note(entry_for(cors_get(at=T0 + 0.02, extra=[("Accept", "*/*")]), "a"))
    joined = {}
    for names in (("accept",), ("x-trace",), ("x-slow", "x-b")):
        (action,) = j.page(page(header_names=names, failed=True, status=0), PAGE_URL)
        assert isinstance(action, Annotate)
        joined[names] = action.entry_id
    assert joined == {("accept",): "a", ("x-trace",): "p-t", ("x-slow", "x-b"): "p-b"}


def test_a_request_with_a_content_type_from_its_body_is_still_the_calls() -> None:
    # A Blob body sets Content-Type without script naming it; a safelisted header script
    # set does not show as unsafe.
    j = joiner()
    j.note(entry_for(preflight(request_headers="content-type,x-a", at=T0), "p"))
    (action,) = j.page(page(method="PUT", header_names=("x-a", "accept")), PAGE_URL)
    assert isinstance(action, Annotate) and action.entry_id == "p"


CHROMIUM_156 = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0")


def test_the_request_sent_with_the_calls_credentials_is_its_own() -> None:
    # Measured: two fetches to one URL at once, one with credentials. Chromium marks the
    # credentialed request (Sec-Fetch-Storage-Access); the other goes without.
    j = joiner()
    j.note(
        entry_for(
            cors_get(at=T0, extra=[CHROMIUM_156, ("Sec-Fetch-Storage-Access", "none")]), "a-include"
        )
    )
    j.note(entry_for(cors_get(at=T0 + 0.001, extra=[CHROMIUM_156]), "a-omit"))
    (omit,) = j.page(page(credentials="omit"), PAGE_URL)
    (include,) = j.page(page(credentials="include", failed=True, status=0), PAGE_URL)
    assert isinstance(omit, Annotate) and omit.entry_id == "a-omit"
    assert isinstance(include, Annotate) and include.entry_id == "a-include"


def test_a_call_without_credentials_never_takes_a_credentialed_request() -> None:
    # Measured (Chromium 156): an `omit` GET aborted before it went out reported first;
    # the only request to the URL is the credentialed call's, reported later.
    j = joiner()
    marked = [CHROMIUM_156, ("Sec-Fetch-Storage-Access", "none")]
    j.note(entry_for(cors_get(at=T0, extra=marked), "a-include"))
    assert j.page(page(credentials="omit", failed=True, aborted=True, status=0), PAGE_URL) == []
    (include,) = j.page(page(credentials="include"), PAGE_URL)
    assert isinstance(include, Annotate) and include.entry_id == "a-include"


def test_a_credentialed_call_never_takes_a_cross_site_request_sent_without() -> None:
    # Measured (Chromium 156): a credentialed GET answered from the HTTP cache reported
    # before the `omit` GET whose request (unmarked) is the only one on the wire. Chromium
    # marks every credentialed cross-site request to a trustworthy URL.
    url = "https://api.test/data"
    j = joiner()
    j.note(entry_for(cors_get(url, at=T0, extra=[CHROMIUM_156]), "a-omit"))
    include = j.page(page(url=url, credentials="include", failed=True, status=0), PAGE_URL)
    assert not any(isinstance(a, Annotate) for a in include)
    (omit,) = j.page(page(url=url, credentials="omit"), PAGE_URL)
    assert isinstance(omit, Annotate) and omit.entry_id == "a-omit"
    # Not where the mark would be missing anyway: a plain http URL.
    j = joiner()
    j.note(entry_for(cors_get(at=T0, extra=[CHROMIUM_156]), "a-http"))
    (taken,) = j.page(page(credentials="include"), PAGE_URL)
    assert isinstance(taken, Annotate) and taken.entry_id == "a-http"


def test_a_credentialed_call_refused_at_its_preflight_leaves_the_other_request() -> None:
    j = joiner()
    j.note(entry_for(preflight(at=T0), "p-include"))
    j.note(entry_for(preflight(at=T0 + 0.001), "p-omit"))
    j.note(entry_for(cors_get(method="PUT", at=T0 + 0.01, extra=[CHROMIUM_156]), "a-omit"))
    (include,) = j.page(page(method="PUT", credentials="include", failed=True, status=0), PAGE_URL)
    (omit,) = j.page(page(method="PUT", credentials="omit"), PAGE_URL)
    assert isinstance(include, Annotate) and include.entry_id == "p-include"
    assert isinstance(omit, Annotate) and omit.entry_id == "a-omit"


def test_failed_preflight_alone_is_found() -> None:
    j = joiner()
    j.note(entry_for(preflight(), "p1"))
    (action,) = j.page(page(method="PUT", failed=True, status=0), PAGE_URL)
    assert isinstance(action, Annotate) and action.entry_id == "p1"


def test_no_join_across_origins_modes_or_time() -> None:
    j = joiner()
    j.note(entry_for(cors_get(origin="http://other.test"), "o1"))
    j.note(entry_for(cors_get(at=T0 - 30), "old"))
    assert j.page(page(), PAGE_URL) == []
    j.note(entry_for(cors_get(), "w1"))
    assert j.page(page(mode="no-cors"), PAGE_URL) == []
    assert j.unseen == 2


def cacheable_for(origin: str, at: float) -> http.HTTPFlow:
    """A CORS GET from `origin`, answered for it alone and cacheable without Vary: Origin."""
    return cors_get(
        origin=origin,
        at=at,
        response_headers=[
            ("Access-Control-Allow-Origin", origin),
            ("Cache-Control", "public, max-age=600"),
        ],
    )


def cached_for_another_origin() -> Joiner:
    """A joiner that saw origin A's response, cacheable without Vary: Origin, as "w1"."""
    j = joiner()
    j.note(entry_for(cacheable_for("http://localhost:5174", T0 - 5), "w1"))
    return j


def test_http_cache_answer_replays_the_cached_response() -> None:
    """Origin A's response, cached without Vary: Origin, answered origin B of the same site."""
    j = cached_for_another_origin()
    (action,) = j.page(page(failed=True, status=0, credentials="same-origin"), PAGE_URL)
    assert isinstance(action, NewEntry)
    entry = action.entry
    valid(entry)
    assert entry["_cors"]["source"] == "http-cache"
    assert entry["_cors"]["replayOf"] == "w1"
    assert entry["_cors"]["browser"] == {"blocked": True, "reason": None}
    assert {"name": "Origin", "value": PAGE} in entry["request"]["headers"]
    assert entry["response"]["status"] == 200
    assert entry["_corscope_id"] == "n1"


def test_each_http_cache_answer_is_an_entry_of_its_own() -> None:
    """Two calls of one page answered from the cache, the second with credentials: the
    second is not taken for the first one's entry (measured in the lab, Chromium 156)."""
    j = cached_for_another_origin()
    (first,) = j.page(page(failed=True, status=0, credentials="same-origin"), PAGE_URL)
    (second,) = j.page(page(failed=True, status=0, t=T0 + 0.2), PAGE_URL)
    assert isinstance(first, NewEntry) and isinstance(second, NewEntry)
    assert first.entry["_cors"]["credentials"] == "same-origin"
    assert second.entry["_cors"]["credentials"] == "include"
    assert second.entry["_cors"]["replayOf"] == "w1"


def test_concurrent_fetches_take_a_permanent_redirect_from_the_http_cache() -> None:
    # Measured (Chromium 156): three credentialed GETs of one URL at once, answered 308
    # without Cache-Control: one reaches the wire, the others wait for it and replay the
    # stored redirect (and fail on it as it did).
    j = joiner()
    marked = [CHROMIUM_156, ("Sec-Fetch-Storage-Access", "none")]
    moved = [("Location", API + "/final"), ("Access-Control-Allow-Origin", PAGE)]
    j.note(entry_for(cors_get(at=T0, status=308, response_headers=moved, extra=marked), "r1"))
    (first,) = j.page(page(failed=True, status=0), PAGE_URL)
    (second,) = j.page(page(failed=True, status=0, t=T0 + 0.02), PAGE_URL)
    assert isinstance(first, Annotate) and first.entry_id == "r1"
    assert isinstance(second, NewEntry)
    valid(second.entry)
    assert (second.entry["_cors"]["source"], second.entry["_cors"]["replayOf"]) == (
        "http-cache",
        "r1",
    )
    assert second.entry["response"]["status"] == 308


def test_only_a_redirect_the_cache_may_keep_is_replayed() -> None:
    def kept(status: int, **fields: str) -> bool:
        return browser_may_cache(status, fields.get)

    assert kept(301) and kept(308)
    assert not kept(308, **{"cache-control": "no-store"})
    assert not kept(302) and not kept(307)
    assert kept(302, **{"cache-control": "max-age=60"})
    assert not kept(301, **{"cache-control": "max-age=0"})
    assert kept(307, expires="Thu, 01 Jan 2099 00:00:00 GMT")


def test_an_error_answer_with_explicit_freshness_is_kept() -> None:
    def kept(status: int, **fields: str) -> bool:
        return browser_may_cache(status, fields.get)

    assert kept(500, **{"cache-control": "max-age=600"}) and kept(404, expires="Thu, 01 Jan 2099")
    assert not kept(500) and not kept(404, **{"last-modified": "Thu, 01 Jan 2020"})
    assert not kept(500, **{"cache-control": "max-age=0"})
    assert not kept(500, **{"cache-control": "no-store, max-age=600"})
    assert kept(200, **{"last-modified": "Thu, 01 Jan 2020"})


def test_a_call_aborted_before_any_request_is_no_http_cache_answer() -> None:
    # Measured (Chromium 156): a fetch aborted 50 ms in, before its request left, beside
    # others to the same URL; its report must not replay the URL's stored answer, which
    # would then take the next hop another call made.
    j = cached_for_another_origin()
    assert j.page(page(failed=True, aborted=True, status=0), PAGE_URL) == []
    assert j.unseen == 1


def test_a_same_origin_mode_call_to_another_origin_is_no_http_cache_answer() -> None:
    # Measured (Chromium 156): fetch(url, {mode: "same-origin"}) after a fetch of the same
    # cross-origin URL had stored its 301. Blink refuses the call before any cache is asked;
    # replaying the stored 301 made an exchange blamed on CORS (DisallowedByMode).
    j = cached_for_another_origin()
    refused = page(mode="same-origin", failed=True, status=0, response_type=None)
    assert j.page(refused, PAGE_URL) == []
    assert j.unseen == 1


def test_a_no_cors_call_that_would_not_follow_redirects_is_no_http_cache_answer() -> None:
    # Measured (Chromium 156): fetch(url, {mode: "no-cors", redirect: "manual"}) (or
    # "error") to another origin rejects before any request, though the URL's 301 was
    # stored; the replayed 301 made an allowed exchange of it.
    for redirect in ("manual", "error"):
        j = cached_for_another_origin()
        refused = page(mode="no-cors", redirect=redirect, failed=True, status=0)
        assert j.page(refused, PAGE_URL) == []
        assert j.unseen == 1
    followed = page(mode="no-cors", failed=False, status=0, response_type="opaque")
    (replayed,) = cached_for_another_origin().page(followed, PAGE_URL)
    assert isinstance(replayed, NewEntry)


def test_integrity_metadata_goes_with_the_annotation() -> None:
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    (action,) = j.page(page(redirect="manual", integrity=True), PAGE_URL)
    assert isinstance(action, Annotate) and action.cors["integrity"] is True
    assert cors_hints(action.cors, "-", "-")["integrity"] is True
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    (plain,) = j.page(page(), PAGE_URL)
    assert isinstance(plain, Annotate) and "integrity" not in plain.cors


def test_a_workers_call_says_so_in_the_annotation() -> None:
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    (action,) = j.page(page(from_worker=True), PAGE_URL)
    assert isinstance(action, Annotate) and action.cors["fromWorker"] is True
    assert cors_hints(action.cors, "-", "-")["from_worker"] is True
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    (plain,) = j.page(page(), PAGE_URL)
    assert isinstance(plain, Annotate) and "fromWorker" not in plain.cors


def test_element_load_from_the_http_cache_is_an_entry_of_its_kind() -> None:
    """A font another origin of the site had cached: the page's Resource Timing entry
    (status 0) is all there is, and the entry says it was a font."""
    j = cached_for_another_origin()
    record = page(kind="element", destination="font", failed=True, status=0, response_type=None)
    (action,) = j.page(record, PAGE_URL)
    assert isinstance(action, NewEntry)
    valid(action.entry)
    cors = action.entry["_cors"]
    assert (cors["source"], cors["resourceType"], cors["replayOf"]) == ("http-cache", "font", "w1")
    assert cors["browser"] == {"blocked": True, "reason": None}


def test_http_cache_answer_replays_the_copy_of_the_pages_own_site() -> None:
    """The HTTP cache is partitioned by top-level site: another site's later copy of the
    URL is not what answered this page (measured in the lab, Chromium 156)."""
    j = cached_for_another_origin()
    j.note(entry_for(cacheable_for("http://127.0.0.3:5173", T0 - 2), "s2"))
    (action,) = j.page(page(failed=True, status=0), PAGE_URL)
    assert isinstance(action, NewEntry)
    assert action.entry["_cors"]["replayOf"] == "w1"


def test_http_cache_answer_replays_the_copy_without_its_no_cache_fields() -> None:
    """`no-cache="Access-Control-Allow-Origin"` keeps that field out of the stored copy:
    the page answered from the cache never sees it (measured in the lab, Chromium 156)."""
    j = joiner()
    cached = cors_get(
        at=T0 - 5,
        response_headers=[
            ("Access-Control-Allow-Origin", PAGE),
            ("Cache-Control", 'max-age=600, no-cache="Access-Control-Allow-Origin"'),
        ],
    )
    j.note(entry_for(cached, "w1"))
    (action,) = j.page(page(failed=True, status=0, credentials="same-origin"), PAGE_URL)
    assert isinstance(action, NewEntry)
    valid(action.entry)
    names = [h["name"].lower() for h in action.entry["response"]["headers"]]
    assert "access-control-allow-origin" not in names
    assert "cache-control" in names


def test_uncacheable_response_is_no_evidence() -> None:
    j = joiner()
    j.note(entry_for(cors_get(at=T0 - 5, response_headers=[("Cache-Control", "no-store")]), "w1"))
    assert j.page(page(failed=True, status=0), PAGE_URL) == []


def test_resource_timing_alone_says_http_cache() -> None:
    j = joiner()
    (action,) = j.page(page(timing=Timing(delivery_type="cache", transfer_size=0)), PAGE_URL)
    assert isinstance(action, NewEntry)
    valid(action.entry)
    assert action.entry["response"]["status"] == 0
    assert action.entry["_cors"]["browser"] == {"blocked": False, "reason": None}


def test_worker_cache_storage_answer_becomes_an_entry() -> None:
    j = joiner()
    (action,) = j.worker(worker(), PAGE + "/sw.js")
    assert isinstance(action, NewEntry)
    entry = action.entry
    valid(entry)
    cors = entry["_cors"]
    assert cors["source"] == "service-worker"
    assert cors["worker"] == {"answer": "cache-storage", "type": "cors", "failure": None}
    assert cors["browser"] == {"blocked": False, "reason": None}
    assert {"name": "Origin", "value": PAGE} in entry["request"]["headers"]
    assert {"name": "x-id", "value": "1"} in entry["request"]["headers"]
    # A page record about the same fetch then joins the worker's entry.
    (join,) = j.page(page(controlled=True), PAGE_URL)
    assert isinstance(join, Annotate) and join.entry_id == entry["_corscope_id"]
    assert join.cors == {"pageUrl": PAGE_URL, "resourceType": "fetch"}


def test_opaque_answer_to_a_cors_request_is_a_failure_without_a_response() -> None:
    j = joiner()
    pending = j.page(page(controlled=True, failed=True, status=0, t=T0), PAGE_URL)
    assert pending == [] and j.waiting == 1
    (action,) = j.worker(
        worker(
            answer="network",
            t=T0 + 0.001,
            response_type="opaque",
            status=0,
            failure="opaque-response-for-cors-request",
        ),
        PAGE + "/sw.js",
    )
    # An opaque response came from the worker's own no-cors fetch: that one is on the wire,
    # but it is still the worker's answer that failed the page's fetch.
    valid(action.entry)
    assert action.entry["response"]["status"] == 0
    assert action.entry["_cors"]["browser"]["blocked"] is True
    assert action.entry["_cors"]["pageUrl"] == PAGE_URL
    assert j.waiting == 0


def test_every_worker_answer_is_one_the_readers_accept() -> None:
    for answer, failure in [("cache", None), ("synthetic", None), ("invalid", "not-a-response"),
                            ("network", "opaque-response-for-cors-request"),
                            ("rejected", "rejected")]:  # fmt: skip
        (action,) = joiner().worker(worker(answer=answer, failure=failure), PAGE + "/sw.js")
        assert isinstance(action, NewEntry)
        valid(action.entry)


def test_a_redirect_the_worker_answered_with_leaves_the_outcome_to_the_next_hop() -> None:
    # Response.redirect(): the page follows it itself; whether that passes is not known here.
    redirect = worker(
        answer="synthetic", response_type="default", status=302,
        headers=(("location", URL + "/final"),),
    )  # fmt: skip
    (action,) = joiner().worker(redirect, PAGE + "/sw.js")
    valid(action.entry)
    assert "browser" not in action.entry["_cors"]


def test_network_pass_through_adds_nothing() -> None:
    j = joiner()
    assert j.worker(worker(answer="network"), PAGE + "/sw.js") == []
    # The worker's own fetch failed: the proxy recorded that request and why.
    assert j.worker(worker(answer="rejected", failure="network-error"), PAGE + "/sw.js") == []


def test_a_pass_through_leaves_the_page_record_to_join_the_workers_fetch() -> None:
    # The page's facts (its credentials mode, its outcome) belong to the exchange the
    # proxy recorded for the worker's fetch(event.request).
    j = joiner()
    assert j.page(page(controlled=True), PAGE_URL) == []
    assert j.worker(worker(answer="network"), PAGE + "/sw.js") == []
    assert j.waiting == 1
    j.note(entry_for(cors_get(), "w1"))
    (action,) = j.expire(T0 + 60)
    assert isinstance(action, Annotate) and action.entry_id == "w1"
    assert action.cors["credentials"] == "include"


def test_a_rejection_after_the_workers_fetch_fails_the_recorded_exchange() -> None:
    # Measured: Cache.put() of a POST throws after fetch(event.request) got the API's
    # allowing answer; the page's fetch fails though the wire shows nothing wrong.
    j = joiner()
    j.note(entry_for(cors_get(), "w1"))
    rejected = worker(answer="rejected", failure="rejected", response_type=None, status=None)
    (action,) = j.worker(rejected, PAGE + "/sw.js")
    assert isinstance(action, Annotate) and action.entry_id == "w1"
    assert action.cors["source"] == "service-worker"
    assert action.cors["worker"] == {"answer": None, "type": None, "failure": "rejected"}
    assert action.cors["browser"] == {"blocked": True, "reason": None}
    cors_hints(action.cors, "test", "-")
    # The page's own record then joins that exchange, as any the worker answered.
    (join,) = j.page(page(controlled=True, failed=True, status=0), PAGE_URL)
    assert isinstance(join, Annotate) and join.entry_id == "w1"


def test_a_rejection_with_nothing_on_the_wire_is_an_entry_of_its_own() -> None:
    rejected = worker(answer="rejected", failure="rejected", response_type=None, status=None)
    (action,) = joiner().worker(rejected, PAGE + "/sw.js")
    assert isinstance(action, NewEntry)
    valid(action.entry)
    assert action.entry["_cors"]["browser"]["blocked"] is True


def test_same_origin_worker_answers_are_not_cors() -> None:
    j = joiner()
    assert j.worker(worker(url=PAGE + "/api"), PAGE + "/sw.js") == []


def test_page_record_under_a_worker_without_agent() -> None:
    j = joiner()
    j.page(page(controlled=True, failed=True, status=0, t=T0), PAGE_URL)
    assert j.expire(T0 + 1) == []  # still waiting for the agent
    (action,) = j.expire(T0 + 10)
    assert isinstance(action, NewEntry)
    valid(action.entry)
    assert action.entry["_cors"]["source"] == "service-worker"
    assert action.entry["_cors"]["browser"]["blocked"] is True


def test_page_record_under_a_worker_that_went_to_the_network() -> None:
    j = joiner()
    j.page(page(controlled=True, t=T0), PAGE_URL)
    j.note(entry_for(cors_get(at=T0 + 0.01), "w1"))
    (action,) = j.expire(T0 + 10)
    assert isinstance(action, Annotate) and action.entry_id == "w1"


def test_seen_index_is_bounded() -> None:
    j = Joiner(lambda: "x", max_seen=2)
    for n in range(3):
        j.note(entry_for(cors_get(at=T0 + n * 0.001), f"w{n}"))
    (action,) = j.page(page(), PAGE_URL)
    assert isinstance(action, Annotate) and action.entry_id == "w1"


def test_waiting_page_records_are_bounded() -> None:
    j = Joiner(lambda: "x", max_pending=3)
    for n in range(5):
        j.page(page(controlled=True, t=T0 + n), PAGE_URL)
    assert j.waiting == 3


@pytest.mark.parametrize("kind", ["fetch", "xhr", "eventsource", "beacon"])
def test_mixed_content_call_the_proxy_never_saw_becomes_a_blocked_entry(kind: str) -> None:
    """An https page's fetch of a plain http name: Chromium blocks it before sending
    (measured, Chromium 156: DevTools blockedReason mixed-content, nothing on the wire;
    sendBeacon() returns false); the entry says so, with no response."""
    j = joiner()
    url = "http://api.example.test:8080/data"
    record = page(kind=kind, url=url, failed=True, status=0)
    (action,) = j.page(record, "https://app.example.test/orders")
    assert isinstance(action, NewEntry)
    valid(action.entry)
    captured = entry_to_captured(action.entry, where="-", path="-", order=0)
    assert captured.hints["browser_error"] == "mixed-content"
    assert action.entry["_cors"]["browser"] == {"blocked": True, "reason": None}
    assert "source" not in action.entry["_cors"]


@pytest.mark.parametrize(
    ("page_url", "blocked"),
    [("https://app.example.test/orders", True), ("http://app.example.test/orders", False)],
)
def test_an_opaque_page_is_judged_for_mixed_content_by_its_urls_scheme(
    page_url: str, blocked: bool
) -> None:
    """A sandboxed document (or a sandboxed srcdoc, which reports its parent's URL) has an
    opaque origin, yet Chromium blocks its http calls as mixed content when it was made from
    an https origin (the precursor's scheme; lab pc-0036: app_https/sandboxed-srcdoc fetch of
    a plain http name, DevTools blockedReason mixed-content, nothing on the wire)."""
    j = joiner()
    record = page(url="http://api.example.test:8080/data", failed=True, status=0)
    actions = j.page(record, page_url, opaque=True)
    if not blocked:
        assert actions == []
        return
    (action,) = actions
    assert isinstance(action, NewEntry)
    captured = entry_to_captured(action.entry, where="-", path="-", order=0)
    assert captured.hints["browser_error"] == "mixed-content"
    assert action.entry["_cors"]["initiatorOrigin"] == "null"


def test_loopback_http_from_an_https_page_is_not_mixed_content() -> None:
    """http://127.0.0.1 is potentially trustworthy: not mixed content, so a call the proxy
    never saw is no evidence of a block."""
    j = joiner()
    record = page(url="http://127.0.0.2:8080/data", failed=True, status=0)
    assert j.page(record, "https://app.example.test/orders") == []


def test_call_the_page_csp_refused_becomes_a_blocked_entry() -> None:
    """The probe saw a securitypolicyviolation for the failed call's URL: Chromium refused
    it before sending (measured, Chromium 156: blockedReason csp, nothing on the wire)."""
    j = joiner()
    record = page(failed=True, status=0, refused_by_csp="connect-src")
    (action,) = j.page(record, PAGE_URL)
    assert isinstance(action, NewEntry)
    valid(action.entry)
    captured = entry_to_captured(action.entry, where="-", path="-", order=0)
    assert captured.hints["browser_error"] == "csp"


def test_call_upgraded_to_https_joins_the_https_entry() -> None:
    """upgrade-insecure-requests (or HSTS) sent the page's http call over https: the page
    record joins the https request the proxy saw (same port unless 80)."""
    j = joiner()
    https_twin = cors_get("https://api.example.test:8080/data", origin="https://app.example.test")
    j.note(entry_for(https_twin, "w1"))
    record = page(url="http://api.example.test:8080/data", failed=True, status=0)
    (action,) = j.page(record, "https://app.example.test/orders")
    assert isinstance(action, Annotate) and action.entry_id == "w1"


def test_an_image_the_proxy_never_saw_is_no_mixed_content_evidence() -> None:
    """Chromium upgrades an https page's http image to https instead of blocking it."""
    j = joiner()
    record = page(
        kind="element",
        destination="image",
        url="http://api.example.test/a.png",
        failed=True,
        status=0,
        response_type=None,
    )
    assert j.page(record, "https://app.example.test/orders") == []
