from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from analysis.model import BrowserVerdict, Context, Headers, Request, Transaction
from analysis.readers import _load
from analysis.readers.assemble import (
    MAX_REDIRECTS,
    _build,
    _chain,
    _in_time_order,
    _pair,
    assemble,
)
from analysis.readers.captured import Captured, Hints
from analysis.verdict import decide

from ..test_fetch import PAST_1024
from .builders import API, PAGE, cap, caps, preflight_tx, tx

API2 = "http://127.0.0.4:8000"

ORIGIN = [("Origin", PAGE)]


def shape(captured: list[Captured]) -> list[list[tuple[str, str | None, str | None]]]:
    """Each exchange as its steps: (url, preflight's ACRM or None, actual method or None)."""
    out = []
    for x in assemble(captured).exchanges:
        steps = []
        for s in x.steps:
            pre = s.preflight.transaction if s.preflight else None
            steps.append(
                (
                    s.url,
                    pre.request.headers.get("access-control-request-method") if pre else None,
                    s.actual.request.method if s.actual else None,
                )
            )
        out.append(steps)
    return out


# --- preflight pairing ------------------------------------------------------------------


def test_preflight_pairs_with_the_request_it_guarded() -> None:
    url = f"{API}/items"
    got = shape(caps(preflight_tx(url, "PUT"), tx("PUT", url, ORIGIN)))
    assert got == [[(url, "PUT", "PUT")]]


def test_failed_preflight_stands_alone() -> None:
    url = f"{API}/orders"
    got = shape(caps(preflight_tx(url, "POST", status=404), tx("GET", f"{API}/other", ORIGIN)))
    assert got == [[(url, "POST", None)], [(f"{API}/other", None, "GET")]]


def _announcing(url: str, method: str, names: str, **kw: object) -> Transaction:
    t = preflight_tx(url, method, **kw)  # type: ignore[arg-type]
    fields = [*t.request.headers.fields, ("Access-Control-Request-Headers", names)]
    request = Request(t.request.method, url, Headers(tuple(fields)))
    return Transaction(request, t.response, t.error, t.started, t.duration_ms)


def test_a_refused_preflight_is_not_taken_by_a_later_request_that_announced_nothing() -> None:
    # Measured in the lab: the first fetch (with X-Request-Id) stopped at its refused
    # preflight; a later plain GET to the URL went out alone and Chromium allowed it.
    url = f"{API}/items"
    refused = _announcing(url, "GET", "x-request-id", status=404)
    got = shape(caps(refused, tx("GET", url, ORIGIN)))
    assert got == [[(url, "GET", None)], [(url, None, "GET")]]


def test_a_refused_preflight_is_not_taken_by_a_request_whose_header_became_safelisted() -> None:
    url = f"{API}/form"
    refused = _announcing(url, "POST", "content-type", status=404)
    plain = tx("POST", url, [*ORIGIN, ("Content-Type", "text/plain")])
    assert shape(caps(refused, plain)) == [[(url, "POST", None)], [(url, None, "POST")]]


def test_a_preflight_pairs_with_the_request_that_carries_what_it_announced() -> None:
    url = f"{API}/items"
    announced = _announcing(url, "GET", "content-type,x-request-id")
    sent = [*ORIGIN, ("X-Request-Id", "1"), ("Content-Type", "application/json")]
    assert shape(caps(announced, tx("GET", url, sent))) == [[(url, "GET", "GET")]]


def test_a_preflight_pairs_with_a_request_whose_range_the_http_cache_rewrote() -> None:
    # Measured, Chromium 156: the script's `Range: Bytes=5-10` is not safelisted, so the
    # preflight announced it; the HTTP cache then sent it re-serialized as `bytes=5-10`.
    url = f"{API}/video"
    announced = _announcing(url, "GET", "range")
    sent = tx("GET", url, [*ORIGIN, ("Range", "bytes=5-10")])
    assert shape(caps(announced, sent)) == [[(url, "GET", "GET")]]


def test_a_preflight_pairs_with_a_request_over_the_total_by_its_client_hints() -> None:
    # Measured, Chromium 156: client hints the script set count towards the 1024 bytes of
    # safelisted values; past them the preflight announced every safelisted name too.
    url = f"{API}/items"
    sent = PAST_1024
    names = ",".join(sorted(name.lower() for name, _ in sent))
    got = shape(caps(_announcing(url, "PUT", names), tx("PUT", url, [*ORIGIN, *sent])))
    assert got == [[(url, "PUT", "PUT")]]


def test_failed_preflight_exchange_reports_the_method_it_asked_for() -> None:
    x = assemble(caps(preflight_tx(f"{API}/orders", "DELETE", status=403))).exchanges[0]
    assert x.method == "DELETE"
    assert x.first.actual is None


def test_two_preflights_then_one_request_pairs_the_later_one() -> None:
    url = f"{API}/items"
    first = preflight_tx(url, "PUT", started=1.0)
    second = preflight_tx(url, "PUT", started=2.0)
    actual = tx("PUT", url, ORIGIN, started=3.0)
    xs = assemble(caps(first, second, actual)).exchanges
    assert len(xs) == 2
    assert xs[0].first.preflight is not None and xs[0].first.preflight.transaction is first
    assert xs[0].first.actual is None
    assert xs[1].first.preflight is not None and xs[1].first.preflight.transaction is second
    assert xs[1].first.actual is actual


def test_preflight_does_not_pair_with_another_method_url_or_origin() -> None:
    url = f"{API}/items"
    got = shape(
        caps(
            preflight_tx(url, "PUT"),
            tx("DELETE", url, ORIGIN),
            tx("PUT", f"{url}/2", ORIGIN),
            tx("PUT", url, [("Origin", "http://127.0.0.9:1")]),
        )
    )
    assert got == [
        [(url, "PUT", None)],
        [(url, None, "DELETE")],
        [(f"{url}/2", None, "PUT")],
        [(url, None, "PUT")],
    ]


def test_request_before_its_preflight_is_not_paired_for_proxy_captures() -> None:
    # A proxy never sees a request before its preflight: the request is another fetch.
    url = f"{API}/items"
    got = shape(caps(tx("PUT", url, ORIGIN), preflight_tx(url, "PUT")))
    assert got == [[(url, None, "PUT")], [(url, "PUT", None)]]


def test_browser_logged_preflight_after_its_request_pairs_backwards() -> None:
    # Chrome logs the fetch first and its preflight after, inside the fetch's own time.
    url = f"{API}/orders"
    actual = tx(
        "POST", url, [], status=None, error="net::ERR_FAILED", started=10.0, duration_ms=8.0
    )
    pre = preflight_tx(url, "POST", status=404, started=10.002, duration_ms=3.0)
    captured = [
        cap(actual, 0, Hints(resource_type="fetch", browser_error="net::ERR_FAILED")),
        cap(pre, 1, Hints(resource_type="preflight", initiator_type="preflight")),
    ]
    [x] = assemble(captured).exchanges
    assert x.first.actual is actual
    assert x.first.preflight is not None and x.first.preflight.transaction is pre
    assert x.context.mode == "cors"
    assert x.context.resource_type == "fetch"


def test_browser_logged_preflight_pairs_with_a_failed_request_whose_time_ended_first() -> None:
    # DevTools' export (Chromium 156): a redirect's next hop that its preflight failed is
    # logged with 5.8 ms of queueing, and the preflight starts 27 ms after the hop did.
    url = f"{API}/final"
    actual = tx(
        "PUT", url, [], status=None, error="net::ERR_FAILED", started=10.169, duration_ms=5.8
    )
    pre = preflight_tx(url, "PUT", origin="null", started=10.196, duration_ms=2.5)
    captured = [
        cap(actual, 0, Hints(resource_type="fetch", browser_error="net::ERR_FAILED")),
        cap(pre, 1, Hints(resource_type="preflight", initiator_type="preflight")),
    ]
    [x] = assemble(captured).exchanges
    assert x.first.preflight is not None and x.first.preflight.transaction is pre


def test_browser_logged_preflight_pairs_despite_the_log_placing_it_after_the_answer() -> None:
    # DevTools' export of a busy Chromium 156: the preflight of a PUT answered 307 at
    # 21.7406 s is logged as started at 21.859 s.
    url = f"{API}/start"
    actual = tx("PUT", url, ORIGIN, status=307, started=21.733, duration_ms=7.59)
    pre = preflight_tx(url, "PUT", started=21.859, duration_ms=3.06)
    captured = [cap(actual, 0), cap(pre, 1, Hints(initiator_type="preflight"))]
    [x] = assemble(captured).exchanges
    assert x.first.preflight is not None and x.first.preflight.transaction is pre


def test_a_preflight_a_har_did_not_mark_pairs_with_the_request_whose_time_covers_it() -> None:
    # A Chrome HAR stripped of its `_initiator`s: the request is still logged first and its
    # preflight after, inside the request's own time.
    url = f"{API}/orders"
    actual = tx("GET", url, [*ORIGIN, ("X-Lab", "1")], started=10.0, duration_ms=80.0)
    pre = tx(
        "OPTIONS",
        url,
        [
            *ORIGIN,
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-lab"),
        ],
        status=204,
        started=10.002,
        duration_ms=50.0,
    )
    [x] = assemble([cap(actual, 0), cap(pre, 1)]).exchanges
    assert x.first.actual is actual
    assert x.first.preflight is not None and x.first.preflight.transaction is pre


def test_an_unmarked_preflight_after_a_request_that_ended_or_announced_else_stands_alone() -> None:
    url = f"{API}/orders"
    headers = [*ORIGIN, ("Access-Control-Request-Method", "GET")]
    other = [*headers, ("Access-Control-Request-Headers", "x-other")]
    ended = tx("GET", url, [*ORIGIN, ("X-Lab", "1")], started=10.0, duration_ms=5.0)
    late = tx(
        "OPTIONS",
        url,
        [*headers, ("Access-Control-Request-Headers", "x-lab")],
        status=204,
        started=10.5,
        duration_ms=1.0,
    )
    assert len(assemble([cap(ended, 0), cap(late, 1)]).exchanges) == 2
    open_ = tx("GET", url, [*ORIGIN, ("X-Lab", "1")], started=10.0, duration_ms=80.0)
    elsewhere = tx("OPTIONS", url, other, status=204, started=10.002, duration_ms=1.0)
    assert len(assemble([cap(open_, 0), cap(elsewhere, 1)]).exchanges) == 2
    # A proxy sees no request before its preflight, however the times fall.
    within = replace(late, started=10.002)
    assert len(assemble([cap(open_, 0), cap(within, 1)], via_proxy=True).exchanges) == 2


def test_a_preflight_listed_first_at_its_requests_very_start_is_still_its() -> None:
    # Measured (hB he-001b, Chromium 156's DevTools export): a redirect's next hop and its
    # preflight logged at the same millisecond; a writer listing entries as they ended puts
    # the preflight first. It is not the earlier fetch's, whose hop is still "in flight"
    # within the log's skew.
    url = f"{API}/h1"
    earlier = tx("GET", url, ORIGIN, status=308, started=10.313, duration_ms=17.0)
    hop = tx("GET", url, [("Referer", PAGE + "/")], status=None, started=10.469, duration_ms=27.0)
    pre = preflight_tx(url, "GET", started=10.469, duration_ms=17.0)
    captured = [
        cap(earlier, 0),
        cap(pre, 1, Hints(initiator_type="preflight")),
        cap(hop, 2, Hints(browser_error="net::ERR_FAILED")),
    ]
    xs = assemble(captured).exchanges
    assert [x.first.actual for x in xs] == [earlier, hop]
    assert xs[0].first.preflight is None
    assert xs[1].first.preflight is not None and xs[1].first.preflight.transaction is pre


def test_browser_logged_preflight_skips_a_request_that_already_ended() -> None:
    url = f"{API}/orders"
    old = tx("POST", url, ORIGIN, started=10.0, duration_ms=5.0)
    pre = preflight_tx(url, "POST", started=20.0, duration_ms=1.0)
    actual = tx("POST", url, ORIGIN, started=20.5)
    captured = [
        cap(old, 0),
        cap(pre, 1, Hints(initiator_type="preflight")),
        cap(actual, 2),
    ]
    xs = assemble(captured).exchanges
    assert [x.first.actual for x in xs] == [old, actual]
    assert xs[1].first.preflight is not None and xs[1].first.preflight.transaction is pre


def test_unsent_request_without_origin_pairs_with_its_preflight() -> None:
    # A browser records a request it never sent with provisional headers: no Origin.
    url = f"{API}/orders"
    pre = preflight_tx(url, "POST", status=404, started=1.0)
    actual = tx(
        "POST",
        url,
        [("Content-Type", "application/json")],
        status=None,
        started=1.5,
        error="net::ERR_FAILED",
    )
    captured = [cap(pre, 0), cap(actual, 1, Hints(browser_error="net::ERR_FAILED"))]
    [x] = assemble(captured).exchanges
    assert x.first.actual is actual
    assert x.context.page_origin == PAGE


def test_sent_request_without_origin_does_not_take_a_preflight() -> None:
    url = f"{API}/orders"
    got = shape(caps(preflight_tx(url, "POST"), tx("POST", url, [])))
    assert got == [[(url, "POST", None)], [(url, None, "POST")]]
    # Nor does one the proxy saw fail: it was sent, with whatever headers it had.
    got = shape(caps(preflight_tx(url, "POST"), tx("POST", url, [], status=None, error="reset")))
    assert got == [[(url, "POST", None)], [(url, None, "POST")]]


def test_non_preflight_options_is_an_ordinary_request() -> None:
    url = f"{API}/items"
    got = shape(caps(tx("OPTIONS", url, ORIGIN), tx("OPTIONS", url, ORIGIN)))
    assert got == [[(url, None, "OPTIONS")], [(url, None, "OPTIONS")]]


# --- ordering -----------------------------------------------------------------------------


def test_sorted_by_start_time_stable_on_file_order() -> None:
    a = tx("GET", f"{API}/a", ORIGIN, started=5.0)
    b = tx("GET", f"{API}/b", ORIGIN, started=1.0)
    c = tx("GET", f"{API}/c", ORIGIN, started=5.0)
    d = tx("GET", f"{API}/d", ORIGIN, started=None)  # keeps its place after c
    xs = assemble([cap(a, 0), cap(b, 1), cap(c, 2), cap(d, 3)]).exchanges
    assert [x.url.rsplit("/", 1)[1] for x in xs] == ["b", "a", "c", "d"]


# --- redirects ----------------------------------------------------------------------------


def redirect(
    method: str,
    url: str,
    location: str,
    status: int = 302,
    started: float | None = None,
    duration_ms: float | None = None,
) -> Transaction:
    return tx(
        method,
        url,
        ORIGIN,
        status=status,
        response_headers=[("Location", location)],
        started=started,
        duration_ms=duration_ms,
    )


@pytest.mark.parametrize(
    ("location", "followed"),
    [
        # Measured, Chromium 156 (la-*): the URL parser's reading of each Location, not
        # RFC 3986's, names the hop the browser went to.
        ("http:\\\\127.0.0.4:8000\\s\\h1", "http://127.0.0.4:8000/s/h1"),
        ("\\\\127.0.0.4:8000/s/h1", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4:8000/s/x/../h1", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4:8000/s/./h1", "http://127.0.0.4:8000/s/h1"),
        ("http://%3127.0.0.4:8000/s/h1", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4.:8000/s/h1", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4:8000/s/h1\x01", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4:8000/s\t/h1", "http://127.0.0.4:8000/s/h1"),
        ("http://127.0.0.4:8000/s/h1?q=\udce9", "http://127.0.0.4:8000/s/h1?q=%E9"),
    ],
)
def test_a_redirect_leads_where_the_url_parser_reads_its_location(
    location: str, followed: str
) -> None:
    url = f"{API}/r"
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors")]
    hop = tx("GET", followed, tainted, response_headers=[("Access-Control-Allow-Origin", "*")])
    chain = caps(
        redirect("GET", url, location, started=1.0, duration_ms=5), replace(hop, started=1.01)
    )
    assert shape(chain) == [[(url, None, "GET"), (followed, None, "GET")]]


def test_a_redirect_the_browser_refused_leaves_the_next_hop_to_the_fetch_that_followed() -> None:
    """Measured in Chromium 156: a credentialed fetch whose 302 allowed no credentials is
    never followed; a later uncredentialed fetch to the same URL follows its 302. The hop
    is the later one's, though the refused one waited longer."""
    url, final = f"{API}/r", "http://127.0.0.4:8000/final"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    answer = [("Location", final), ("Access-Control-Allow-Origin", PAGE)]
    refused = tx(
        "GET", url, [*cors, ("Cookie", "s=1")], status=302, response_headers=answer,
        started=1.0, duration_ms=5,
    )  # fmt: skip
    followed = tx("GET", url, cors, status=302, response_headers=answer, started=2.0, duration_ms=5)
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors")]  # after a cross-origin hop
    hop = tx("GET", final, tainted, response_headers=[("Access-Control-Allow-Origin", "*")])
    hop = replace(hop, started=2.01)
    assert shape(caps(refused, followed, hop)) == [
        [(url, None, "GET")],
        [(url, None, "GET"), (final, None, "GET")],
    ]


def test_a_chain_s_credentials_shown_at_its_first_request_refuse_a_later_redirect() -> None:
    """Measured in Chromium 156 (hA qh family): a credentialed fetch redirected to the
    page's own origin (no Sec-Fetch-Storage-Access there), whose 303 said
    `Access-Control-Allow-Credentials: TRUE`, stopped there; an uncredentialed fetch of
    the same URL a moment later followed it. The next hop is the later fetch's."""
    url, back, final = f"{API}/r", f"{PAGE}/h1", f"{API}/h2"
    creds = ("Access-Control-Allow-Credentials", "true")
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    to_page = [("Location", back), ("Access-Control-Allow-Origin", PAGE), creds]
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors")]
    to_api = [("Location", final), ("Access-Control-Allow-Origin", "null"),
              ("Access-Control-Allow-Credentials", "TRUE")]  # fmt: skip
    txs = [
        tx("GET", url, [*cors, ("Sec-Fetch-Storage-Access", "none")], status=307,
           response_headers=to_page, started=1.0, duration_ms=5),
        tx("GET", back, tainted, status=303, response_headers=to_api, started=1.01,
           duration_ms=5),
        tx("GET", url, cors, status=307, response_headers=to_page, started=1.2, duration_ms=5),
        tx("GET", back, tainted, status=303, response_headers=to_api, started=1.21,
           duration_ms=5),
        tx("GET", final, tainted, response_headers=[("Access-Control-Allow-Origin", "null")],
           started=1.22),
    ]  # fmt: skip
    assert shape(caps(*txs)) == [
        [(url, None, "GET"), (back, None, "GET")],
        [(url, None, "GET"), (back, None, "GET"), (final, None, "GET")],
    ]


@pytest.mark.parametrize(
    ("status", "control", "from_the_cache"),
    [
        (308, None, True),  # permanent: stored by default
        (301, "max-age=3600", True),
        (302, "max-age=60", True),
        (302, None, False),  # a temporary redirect without freshness is not reused
        (308, "no-store", False),
    ],
)
def test_a_redirect_the_browser_stored_is_the_hop_a_later_fetch_took_from_its_cache(
    status: int, control: str | None, from_the_cache: bool
) -> None:
    """Measured in Chromium 156: the same fetch twice, the second time the stored 308 is
    not on the wire, and its own CORS headers decide (here: none, so blocked)."""
    url, hop, final = f"{API}/r", f"{API}/h1", f"{API}/final"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    first = [("Location", hop), ("Access-Control-Allow-Origin", "*")]
    stored = [("Location", final), *([("Cache-Control", control)] if control else [])]
    captured = caps(
        tx("GET", url, cors, status=302, response_headers=first, started=1.0, duration_ms=5),
        tx("GET", hop, cors, status=status, response_headers=stored, started=1.01),
        tx("GET", url, cors, status=302, response_headers=first, started=5.0, duration_ms=5),
    )
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == ([url, hop] if from_the_cache else [url])
    verdict = decide(later)
    if from_the_cache:
        assert (verdict.blocked, verdict.reason) == (True, "MissingAllowOriginHeader")
    else:
        assert verdict.blocked is None  # undecided: the next hop is not in the capture


@pytest.mark.parametrize(
    ("status", "answer", "taken"),
    [
        (200, [("Cache-Control", "max-age=600")], True),
        (404, [("Cache-Control", "max-age=600")], True),  # measured: a 404 is reused too
        (401, [("Cache-Control", "max-age=600")], False),  # measured: asked again
        (200, [], False),  # no explicit freshness: the cache's own guess, not shown
        (200, [("Cache-Control", "no-cache")], False),
        (200, [("Cache-Control", "max-age=2")], False),  # stale by the time of the redirect
        (200, [("Cache-Control", "max-age=600"), ("Vary", "Origin")], True),
        (200, [("Cache-Control", "max-age=600"), ("Vary", "Cookie")], False),
    ],
)
def test_a_redirect_whose_target_the_cache_held_fresh_ends_at_that_copy(
    status: int, answer: list[tuple[str, str]], taken: bool
) -> None:
    """Measured in Chromium 156 (mx-025b): the same load twice through a 302; the second
    time the 302 is on the wire, its target is not: the HTTP cache answered it, and the
    CORS check read that copy."""
    url, hop = f"{API}/r", f"{API}/h1"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    first = [("Location", hop), ("Access-Control-Allow-Origin", PAGE)]
    stored = [("Access-Control-Allow-Origin", PAGE), *answer]
    captured = caps(
        tx("GET", url, cors, status=302, response_headers=first, started=1.0, duration_ms=5),
        tx("GET", hop, cors, status=status, response_headers=stored, started=1.01),
        tx("GET", url, cors, status=302, response_headers=first, started=5.0, duration_ms=5),
    )
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == ([url, hop] if taken else [url])
    if taken:  # decided on the copy: allowed unless credentials went, unseen here
        assert decide(later).condition == "credentials-include"


@pytest.mark.parametrize(
    ("answer", "blocked_by_orb"),
    [
        ([("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")], True),
        ([("Content-Type", "text/html"), ("X-Content-Type-Options", "nosniff")], True),
        ([("Content-Type", "image/png")], False),  # ORB lets an image through: kept whole
    ],
)
def test_a_no_cors_answer_orb_blocked_leaves_no_copy_for_a_later_redirect(
    answer: list[tuple[str, str]], blocked_by_orb: bool
) -> None:
    """Measured in Chromium 156 (rc-021d, then a run over ORB's verdicts): a no-cors fetch
    through a 303 and a 301 got an answer ORB blocked, with `max-age`; a CORS fetch of the
    same URL, its 301 from the cache, reached the server again for the last hop, and the
    CORS check read that answer. Had ORB let the first answer through, the cache would have
    answered with it."""
    url, hop, final = f"{API}/r", f"{API2}/h1", f"{API}/h2"
    no_cors = [("Sec-Fetch-Mode", "no-cors"), ("Referer", PAGE + "/")]
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")]
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")]
    other = [("Location", hop), ("Access-Control-Allow-Origin", PAGE)]
    moved = [("Location", final), ("Access-Control-Allow-Origin", "*")]
    stored = [*answer, ("Cache-Control", "max-age=600")]
    captured = caps(
        tx("GET", url, no_cors, status=303, response_headers=other, started=1.0, duration_ms=5),
        tx("GET", hop, no_cors, status=301, response_headers=moved, started=1.01, duration_ms=5),
        tx("GET", final, no_cors, response_headers=stored, started=1.02, duration_ms=5),
        tx("GET", url, cors, status=303, response_headers=other, started=2.0, duration_ms=5),
        *(
            [tx("GET", final, tainted, response_headers=[*stored, ("Access-Control-Allow-Origin",
                "null")], started=2.01)]
            if blocked_by_orb
            else []
        ),
    )  # fmt: skip
    later = [x for x in assemble(captured).exchanges if x.url == url][-1]
    assert [s.url for s in later.steps] == [url, hop, final]
    last = later.steps[-1].actual
    assert last is not None and last.started == (2.01 if blocked_by_orb else 1.02)
    verdict = decide(later)
    if blocked_by_orb:
        assert verdict.blocked is not True
    else:  # the no-cors copy names no origin
        assert (verdict.blocked, verdict.reason) == (True, "MissingAllowOriginHeader")


@pytest.mark.parametrize(("status", "taken"), [(500, True), (200, True), (401, False)])
def test_a_request_a_passed_preflight_cleared_may_be_answered_by_the_cache(
    status: int, taken: bool
) -> None:
    """Measured in Chromium 156 (nf-029b): a preflighted GET made twice; the second time
    only the preflight is on the wire, and the HTTP cache answered the request with the
    first one's answer, a 500 with `max-age` (a 401 with it is not kept)."""
    url = f"{API}/items"
    allowed = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "x-lab")]
    sent = [*ORIGIN, ("Sec-Fetch-Mode", "cors"), ("X-Lab", "1")]
    answer = [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "max-age=600")]
    first = tx("GET", url, sent, status=status, response_headers=answer, started=1.01)
    captured = caps(
        preflight_tx(url, "GET", status=204, response_headers=allowed, started=1.0),
        first,
        preflight_tx(url, "GET", status=204, response_headers=allowed, started=5.0),
    )
    later = assemble(captured).exchanges[-1]
    step = later.steps[-1]
    assert step.preflight is not None and step.actual is None
    assert (step.stored is not None and step.stored.status == status) is taken


@pytest.mark.parametrize(("validator", "taken"), [(None, True), ('"v1"', False)])
def test_a_304_to_a_request_without_validator_is_stored_as_it_came(
    validator: str | None, taken: bool
) -> None:
    """Measured in Chromium 156 (rh-009b): a GET answered 304 though it named no validator
    (a broken cache in front of the app), with `max-age`; a later preflighted GET was
    answered by the HTTP cache with that 304. A 304 to a revalidation only updates a copy,
    here one the capture never saw."""
    url = f"{API}/items"
    allowed = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "x-lab")]
    plain = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    asked = [*plain, *([("If-None-Match", validator)] if validator else [])]
    answer = [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "max-age=60"),
              ("ETag", '"v1"')]  # fmt: skip
    captured = caps(
        tx("GET", url, asked, status=304, response_headers=answer, started=1.0),
        preflight_tx(url, "GET", status=204, response_headers=allowed, started=5.0),
    )
    later = assemble(captured).exchanges[-1]
    step = later.steps[-1]
    assert step.preflight is not None and step.actual is None
    assert (step.stored is not None and step.stored.status == 304) is taken


def test_a_later_hops_preflight_then_a_stored_redirect_lead_on_to_the_wire() -> None:
    """Measured in Chromium 156 (ng-055b): a preflighted fetch through two 308s, made
    twice. The second time only the preflights and the last request are on the wire: the
    cache answered both redirects, each after its own preflight passed."""
    url, hop, final = f"{API}/r", f"{API}/h1", f"{API}/h2"
    allowed = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "x-lab")]
    sent = [*ORIGIN, ("Sec-Fetch-Mode", "cors"), ("X-Lab", "1")]

    def pf(at: str, when: float) -> Transaction:
        return preflight_tx(at, "GET", status=204, response_headers=allowed, started=when,
                            duration_ms=1)  # fmt: skip

    def moved(at: str, to: str, when: float) -> Transaction:
        answer = [("Location", to), ("Access-Control-Allow-Origin", PAGE)]
        return tx("GET", at, sent, status=308, response_headers=answer, started=when,
                  duration_ms=1)  # fmt: skip

    done = [("Access-Control-Allow-Origin", PAGE)]
    captured = caps(
        pf(url, 1.0), moved(url, hop, 1.01), pf(hop, 1.02), moved(hop, final, 1.03),
        pf(final, 1.04), tx("GET", final, sent, response_headers=done, started=1.05),
        pf(url, 5.0), pf(hop, 5.02), pf(final, 5.04),
        tx("GET", final, sent, response_headers=done, started=5.05),
    )  # fmt: skip
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == [url, hop, final]
    last = later.steps[-1].actual
    assert last is not None and last.started == 5.05


def test_a_redirect_from_the_cache_leads_on_to_the_fresh_copy_of_its_target() -> None:
    """Measured in Chromium 156 (my-024b): a 307 on the wire, then a stored 301 and the
    fresh answer at its target, neither on the wire; the copy was stored for the request
    the first load made with `Origin: null`, which the second one makes too."""
    url, hop, final = f"{API}/r", f"{PAGE}/h1", f"{API}/h2"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors"), ("Referer", PAGE + "/")]
    first = [("Location", hop), ("Access-Control-Allow-Origin", "*")]
    moved = [("Location", final), ("Access-Control-Allow-Origin", "*")]
    answer = [("Access-Control-Allow-Origin", "null"), ("Cache-Control", "max-age=600"),
              ("Vary", "Origin")]  # fmt: skip
    captured = caps(
        tx("GET", url, cors, status=307, response_headers=first, started=1.0, duration_ms=5),
        tx("GET", hop, cors, status=301, response_headers=moved, started=1.01, duration_ms=5),
        tx("GET", final, tainted, response_headers=answer, started=1.02),
        tx("GET", url, cors, status=307, response_headers=first, started=5.0, duration_ms=5),
    )
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == [url, hop, final]
    verdict = decide(later)
    assert (verdict.blocked, verdict.condition) == (None, "credentials-include")


def test_a_copy_a_304_made_fresh_answers_the_next_redirect_with_the_304s_headers() -> None:
    """Measured in Chromium 156 (rj-020c): a font through a 307 three times; its target's
    `no-cache` 200 was revalidated by a 304 with `max-age=600` and another Allow-Origin;
    the third time the cache answered the target with the updated copy, and the CORS check
    failed on the Allow-Origin the 304 had put in."""
    url, hop, other = f"{API}/r", f"{API}/h1", "http://127.0.0.9:7000"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    moved = [("Location", hop), ("Access-Control-Allow-Origin", PAGE)]
    answer = [("Access-Control-Allow-Origin", PAGE), ("ETag", '"v1"'),
              ("Cache-Control", "no-cache"), ("Vary", "Origin")]  # fmt: skip
    same = [("Access-Control-Allow-Origin", other), ("ETag", '"v1"'),
            ("Cache-Control", "max-age=600")]  # fmt: skip
    captured = caps(
        tx("GET", url, cors, status=307, response_headers=moved, started=1.0, duration_ms=5),
        tx("GET", hop, cors, response_headers=answer, started=1.01, duration_ms=5),
        tx("GET", url, cors, status=307, response_headers=moved, started=2.0, duration_ms=5),
        tx("GET", hop, [*cors, ("If-None-Match", '"v1"')], status=304, response_headers=same,
           started=2.01, duration_ms=5),
        tx("GET", url, cors, status=307, response_headers=moved, started=3.0, duration_ms=5),
    )  # fmt: skip
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == [url, hop]
    verdict = decide(later)
    assert (verdict.blocked, verdict.reason) == (True, "AllowOriginMismatch")


def test_a_fresh_copy_stored_for_a_tainted_hop_without_referer_answers_the_same_page() -> None:
    """Measured in Chromium 156 (rg-008b, `referrerPolicy: 'no-referrer'`): the first load
    reached the page's own origin through a redirect with `Origin: null` and no Referer;
    the second load's redirect there was answered by that fresh copy, kept for the page of
    the fetch that stored it."""
    url, hop = f"{API}/r", f"{PAGE}/h1"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    tainted = [("Origin", "null"), ("Sec-Fetch-Mode", "cors")]
    moved = [("Location", hop), ("Access-Control-Allow-Origin", "*")]
    answer = [("Access-Control-Allow-Origin", "*"), ("Cache-Control", "private, max-age=60")]
    captured = caps(
        tx("GET", url, cors, status=307, response_headers=moved, started=1.0, duration_ms=5),
        tx("GET", hop, tainted, response_headers=answer, started=1.01),
        tx("GET", url, cors, status=307, response_headers=moved, started=5.0, duration_ms=5),
    )
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == [url, hop]
    assert decide(later).condition == "credentials-include"  # not redirect-target-not-captured


@pytest.mark.parametrize(
    ("stored_range", "sent_range", "taken"),
    [
        (None, None, True),  # measured, Chromium 156: rg-036b
        ("bytes=0-3", "bytes=0-3", True),
        (None, "bytes=0-3", False),
        ("bytes=0-3", None, False),
    ],
)
def test_vary_range_compares_the_range_the_fetch_carried_through_its_redirect(
    stored_range: str | None, sent_range: str | None, taken: bool
) -> None:
    """A redirect leaves the request's Range as the fetch sent it (Fetch §4.4), so a stored
    copy with `Vary: Range` answers the redirected request only if both agree (RFC 9111
    §4.1). Measured in Chromium 156 (rg-036b): a stylesheet twice through a 307, neither
    with Range; the second time the cache answered the target with `Vary: Range`."""
    url, hop = f"{API}/r", f"{API}/h1"

    def sent(value: str | None) -> list[tuple[str, str]]:
        return [*ORIGIN, ("Sec-Fetch-Mode", "cors"), *([("Range", value)] if value else [])]

    moved = [("Location", hop), ("Access-Control-Allow-Origin", PAGE)]
    answer = [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "max-age=600"),
              ("Vary", "Range")]  # fmt: skip
    captured = caps(
        tx("GET", url, sent(stored_range), status=307, response_headers=moved, started=1.0,
           duration_ms=5),
        tx("GET", hop, sent(stored_range), response_headers=answer, started=1.01),
        tx("GET", url, sent(sent_range), status=307, response_headers=moved, started=5.0,
           duration_ms=5),
    )  # fmt: skip
    later = assemble(captured).exchanges[-1]
    assert [s.url for s in later.steps] == ([url, hop] if taken else [url])


def _twice_through_a_stored_301(
    second_hop: Transaction, hints: Hints | None = None
) -> list[Captured]:
    """A 307 to a 301 to the final URL, loaded twice: the second time the 301 comes from
    the HTTP cache, and the final URL's request goes out at once (`second_hop`)."""
    url, hop, final = f"{API}/r", f"{API}/h1", f"{API}/h2"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    first = [("Location", hop), ("Access-Control-Allow-Origin", PAGE)]
    moved = [("Location", final), ("Access-Control-Allow-Origin", "*")]
    return [
        *caps(
            tx("GET", url, cors, status=307, response_headers=first, started=1.0, duration_ms=5),
            tx("GET", hop, cors, status=301, response_headers=moved, started=1.01, duration_ms=5),
            tx("GET", final, cors, response_headers=[("Access-Control-Allow-Origin", "*")],
               started=1.02),
        ),
        cap(tx("GET", url, cors, status=307, response_headers=first, started=5.0, duration_ms=5),
            3, hints),
        cap(second_hop, 4),
    ]  # fmt: skip


def test_the_request_after_a_stored_redirect_continues_the_fetch() -> None:
    """Measured in Chromium 156 (mz-027c): the request the stored 301 led to is the rest of
    the second fetch, not a fetch of its own, and its answer decides."""
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    final = tx("GET", f"{API}/h2", cors, response_headers=[("Access-Control-Allow-Origin", "*"),
               ("Access-Control-Allow-Origin", PAGE)], started=5.01)  # fmt: skip
    exchanges = assemble(_twice_through_a_stored_301(final)).exchanges
    assert [[s.url.rsplit("/", 1)[1] for s in x.steps] for x in exchanges] == [
        ["r", "h1", "h2"],
        ["r", "h1", "h2"],
    ]
    assert decide(exchanges[-1]).reason == "MultipleAllowOriginValues"


def test_the_request_after_a_redirect_the_probe_saw_come_from_the_cache_continues_it() -> None:
    """The capture's probe reports a stored redirect it saw answer the page (source
    http-cache) with its own time, here a moment after the next hop's request (measured,
    mz-002b): that request still continues the fetch."""
    url, hop, final = f"{API}/r", f"{API}/h1", f"{API}/h2"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    moved = [("Location", hop), ("Access-Control-Allow-Origin", "*")]
    found = [("Location", final), ("Access-Control-Allow-Origin", "*")]
    done = [("Access-Control-Allow-Origin", PAGE)]
    captured = [
        *caps(
            tx("GET", url, cors, status=308, response_headers=moved, started=1.0, duration_ms=5),
            tx("GET", hop, cors, status=302, response_headers=found, started=1.01, duration_ms=5),
            tx("GET", final, cors, response_headers=done, started=1.02),
            tx("GET", hop, cors, status=302, response_headers=found, started=4.98, duration_ms=5),
            tx("GET", final, cors, response_headers=done, started=4.99),
        ),
        cap(tx("GET", url, cors, status=308, response_headers=moved, started=5.0, duration_ms=0),
            5, Hints(source="http-cache")),
    ]  # fmt: skip
    later = assemble(captured).exchanges[-1]
    assert [(s.url, s.actual and s.actual.started) for s in later.steps] == [
        (url, 5.0),
        (hop, 4.98),
        (final, 4.99),
    ]


def test_a_probed_cache_answer_then_a_stored_redirect_lead_to_the_request_on_the_wire() -> None:
    """Measured (nb-037b): the probe reports the stored 308, the cache's 301 follows unseen,
    and the request to the 301's target is on the wire before the probe's time."""
    url, hop, final = f"{API}/r", f"{API}/h1", f"{API}/h2"
    cors = [*ORIGIN, ("Sec-Fetch-Mode", "cors")]
    moved = [("Location", hop), ("Access-Control-Allow-Origin", "*")]
    stored = [("Location", final), ("Access-Control-Allow-Origin", "*")]
    done = [("Access-Control-Allow-Origin", PAGE)]
    captured = [
        *caps(
            tx("GET", url, cors, status=308, response_headers=moved, started=1.0, duration_ms=5),
            tx("GET", hop, cors, status=301, response_headers=stored, started=1.01),
            tx("GET", final, cors, response_headers=done, started=1.02),
            tx("GET", final, cors, response_headers=done, started=4.98),
        ),
        cap(tx("GET", url, cors, status=308, response_headers=moved, started=5.0, duration_ms=0),
            4, Hints(source="http-cache")),
    ]  # fmt: skip
    later = assemble(captured).exchanges[-1]
    assert [(s.url, s.actual and s.actual.started) for s in later.steps] == [
        (url, 5.0),
        (hop, 1.01),
        (final, 4.98),
    ]


def test_redirect_chain_with_a_new_preflight_at_the_target() -> None:
    a, b = f"{API}/v1/items/7", f"{API}/v2/items/7"
    got = shape(
        caps(
            preflight_tx(a, "PUT"),
            redirect("PUT", a, b, status=307),
            preflight_tx(b, "PUT"),
            tx("PUT", b, ORIGIN),
        )
    )
    assert got == [[(a, "PUT", "PUT"), (b, "PUT", "PUT")]]


@pytest.mark.parametrize("logged_preflight", [True, False])
def test_a_hop_logged_with_provisional_headers_joins_the_redirect_that_led_to_it(
    logged_preflight: bool,
) -> None:
    # Chromium 156's DevTools export (with the hop's preflight) and Playwright's HAR
    # (without): a redirect's next hop that failed shows only Referer, not the X-Lab
    # script set, which its preflight announced.
    a, b = f"{API}/start", "http://127.0.0.4:9000/next"
    moved = tx(
        "GET",
        a,
        [*ORIGIN, ("X-Lab", "1")],
        status=302,
        response_headers=[("Location", b), ("Access-Control-Allow-Origin", PAGE)],
        started=10.0,
        duration_ms=20.0,
    )
    hop = tx("GET", b, [("Referer", PAGE + "/")], status=None, started=10.03, duration_ms=10.0)
    sent = [
        ("Origin", "null"),
        ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Headers", "x-lab"),
    ]
    refused = tx("OPTIONS", b, sent, status=404, started=10.032, duration_ms=4.0)
    failed = Hints(browser_error="net::ERR_FAILED")
    captured = [cap(moved, 0), cap(hop, 1, failed)]
    if logged_preflight:
        captured.append(cap(refused, 2, Hints(initiator_type="preflight")))
    [x] = assemble(captured).exchanges
    assert [s.url for s in x.steps] == [a, b]
    assert (x.steps[1].preflight is not None) is logged_preflight


def test_hops_whose_logged_headers_lack_what_their_preflights_announced_join() -> None:
    # Measured (hB hh-021b, Chromium 156's DevTools export of a dedicated worker's fetch):
    # an answered hop logged with the Referer alone, then the failed next hop; both of
    # their preflights announced the X-Lab script set.
    a, b = f"{API}/h1", f"{API}/h2"
    sent = [("Origin", "null"), ("Access-Control-Request-Method", "GET")]
    announced = [*sent, ("Access-Control-Request-Headers", "x-lab")]
    moved = tx(
        "GET",
        a,
        [("Referer", PAGE + "/")],
        status=308,
        response_headers=[("Location", b), ("Access-Control-Allow-Origin", "null")],
        started=10.0,
        duration_ms=25.0,
    )
    hop = tx("GET", b, [("Referer", PAGE + "/")], status=None, started=10.025, duration_ms=16.0)
    captured = [
        cap(moved, 0),
        cap(tx("OPTIONS", a, announced, status=204, started=10.0, duration_ms=7.0), 1,
            Hints(initiator_type="preflight")),
        cap(hop, 2, Hints(browser_error="net::ERR_FAILED")),
        cap(tx("OPTIONS", b, announced, status=204, started=10.026, duration_ms=10.0), 3,
            Hints(initiator_type="preflight")),
    ]  # fmt: skip
    [x] = assemble(captured).exchanges
    assert [s.url for s in x.steps] == [a, b]


def test_relative_location_is_resolved_against_the_request_url() -> None:
    a = f"{API}/v1/items/7?x=1"
    got = shape(
        caps(redirect("GET", a, "../../v2/items/7"), tx("GET", f"{API}/v2/items/7", ORIGIN))
    )
    assert got == [[(a, None, "GET"), (f"{API}/v2/items/7", None, "GET")]]


def test_cross_origin_redirect_taints_the_origin_to_null() -> None:
    other = "http://127.0.0.4:9000/data"
    got = assemble(
        caps(
            redirect("GET", f"{API}/data", other),
            tx("GET", other, [("Origin", "null")]),
        )
    ).exchanges
    assert len(got) == 1
    assert [s.url for s in got[0].steps] == [f"{API}/data", other]
    assert got[0].context.page_origin == PAGE  # from the first request, not the tainted one


def test_303_turns_post_into_get() -> None:
    got = shape(
        caps(redirect("POST", f"{API}/form", "/done", status=303), tx("GET", f"{API}/done", ORIGIN))
    )
    assert got == [[(f"{API}/form", None, "POST"), (f"{API}/done", None, "GET")]]


def test_redirect_target_from_another_page_origin_starts_its_own_exchange() -> None:
    got = shape(
        caps(
            redirect("GET", f"{API}/a", "/b"),
            tx("GET", f"{API}/b", [("Origin", "http://127.0.0.9:1")]),
        )
    )
    assert len(got) == 2


def test_redirect_target_long_after_the_redirect_is_another_fetch() -> None:
    got = shape(
        caps(
            redirect("GET", f"{API}/a", "/b", started=0.0, duration_ms=5.0),
            tx("GET", f"{API}/b", ORIGIN, started=3600.0),
        )
    )
    assert len(got) == 2


def test_redirect_url_from_har_is_used_without_location_header() -> None:
    a = tx("GET", f"{API}/a", ORIGIN, status=302)
    b = tx("GET", f"{API}/b", ORIGIN)
    captured = [cap(a, 0, Hints(redirect_url="/b")), cap(b, 1)]
    assert len(assemble(captured).exchanges) == 1


def test_preflight_answered_with_a_redirect_is_not_followed() -> None:
    a = f"{API}/a"
    pre = preflight_tx(a, "PUT", status=301, response_headers=[("Location", "/b")])
    got = shape(caps(pre, tx("PUT", f"{API}/b", ORIGIN)))
    assert got == [[(a, "PUT", None)], [(f"{API}/b", None, "PUT")]]


def test_redirect_chains_stop_after_twenty_redirects() -> None:
    txs = [redirect("GET", f"{API}/r{i}", f"/r{i + 1}") for i in range(MAX_REDIRECTS + 3)]
    xs = assemble(caps(*txs)).exchanges
    assert len(xs[0].steps) == MAX_REDIRECTS + 1
    assert xs[1].url == f"{API}/r{MAX_REDIRECTS + 1}"


def test_concurrent_identical_redirects_each_get_a_target() -> None:
    got = shape(
        caps(
            redirect("GET", f"{API}/a", "/b"),
            redirect("GET", f"{API}/a", "/b"),
            tx("GET", f"{API}/b", ORIGIN),
            tx("GET", f"{API}/b", ORIGIN),
        )
    )
    assert [len(x) for x in got] == [2, 2]


# --- context ------------------------------------------------------------------------------


def context_of(t: Transaction, hints: Hints | None = None) -> Context:
    return assemble([cap(t, 0, hints)]).exchanges[0].context


def test_page_origin_prefers_the_probe_over_headers() -> None:
    ctx = context_of(
        tx("GET", f"{API}/a", ORIGIN), Hints(initiator_origin="https://app.example:443")
    )
    assert ctx.page_origin == "https://app.example"


def test_page_origin_from_origin_header() -> None:
    assert context_of(tx("GET", f"{API}/a", ORIGIN)).page_origin == PAGE


def test_page_origin_null_stays_opaque_despite_the_referer() -> None:
    # A sandboxed page still sends its URL as Referer, but its origin is opaque: the browser
    # compares Access-Control-Allow-Origin with "null", so must the engine.
    t = tx("GET", f"{API}/a", [("Origin", "null"), ("Referer", f"{PAGE}/shop/cart?x=1")])
    ctx = context_of(t)
    assert ctx.page_origin == "null"
    assert ctx.page_url == f"{PAGE}/shop/cart?x=1"


def test_bare_origin_referer_gives_no_page_url() -> None:
    ctx = context_of(tx("GET", f"{API}/a", [("Referer", f"{PAGE}/")]))
    assert ctx.page_origin == PAGE
    assert ctx.page_url is None


def test_page_origin_from_sec_fetch_site_same_origin() -> None:
    ctx = context_of(tx("GET", f"{API}/a", [("Sec-Fetch-Site", "same-origin")]))
    assert ctx.page_origin == API


def test_page_origin_and_url_from_the_har_page() -> None:
    ctx = context_of(tx("GET", f"{API}/a"), Hints(har_page_url=f"{PAGE}/app"))
    assert ctx.page_origin == PAGE
    assert ctx.page_url == f"{PAGE}/app"


def test_har_page_of_another_origin_is_not_the_page_url() -> None:
    ctx = context_of(tx("GET", f"{API}/a", ORIGIN), Hints(har_page_url="http://127.0.0.8/"))
    assert ctx.page_origin == PAGE
    assert ctx.page_url is None


def test_unknown_page_stays_none() -> None:
    ctx = context_of(tx("GET", f"{API}/a"))
    assert ctx.page_origin is None and ctx.page_url is None


def test_mode_from_probe_then_sec_fetch_mode() -> None:
    t = tx("GET", f"{API}/a", [("Sec-Fetch-Mode", "no-cors")])
    assert context_of(t).mode == "no-cors"
    assert context_of(t, Hints(mode="cors")).mode == "cors"
    assert context_of(tx("GET", f"{API}/a", [("Sec-Fetch-Mode", "bogus")])).mode is None


def test_credentials_only_from_the_probe() -> None:
    t = tx("GET", f"{API}/a", [("Cookie", "sid=1")])
    assert context_of(t).credentials is None
    assert context_of(t, Hints(credentials="include")).credentials == "include"


def test_source_browser_verdict_and_redirect_mode_ride_along() -> None:
    verdict = BrowserVerdict(blocked=True, reason="MissingAllowOriginHeader")
    ctx = context_of(
        tx("GET", f"{API}/a"),
        Hints(source="service-worker", browser=verdict, redirect_mode="manual"),
    )
    assert ctx.source == "service-worker"
    assert ctx.browser == verdict
    assert ctx.redirect_mode == "manual"


def test_source_comes_from_the_final_step() -> None:
    a = redirect("GET", f"{API}/a", "/b")
    b = tx("GET", f"{API}/b", ORIGIN)
    captured = [cap(a, 0, Hints(source="network")), cap(b, 1, Hints(source="http-cache"))]
    assert assemble(captured).exchanges[0].context.source == "http-cache"


def test_resource_type_from_hint_then_sec_fetch_dest() -> None:
    assert context_of(tx("GET", "u", [("Sec-Fetch-Dest", "empty")])).resource_type == "fetch"
    assert context_of(tx("GET", "u", [("Sec-Fetch-Dest", "style")])).resource_type == "stylesheet"
    assert (
        context_of(
            tx("GET", "u", [("Sec-Fetch-Dest", "font")]), Hints(resource_type="xhr")
        ).resource_type
        == "xhr"
    )
    assert context_of(tx("GET", "u")).resource_type is None


def test_the_script_s_header_names_reach_the_context() -> None:
    names = ("x-b", "accept")
    assert context_of(tx("GET", "u"), Hints(header_names=names)).header_names == names
    assert context_of(tx("GET", "u")).header_names is None


def test_resource_types_chromium_words_apart() -> None:
    # An EventSource is an empty destination too; its Accept tells it from fetch().
    stream = [("Sec-Fetch-Dest", "empty"), ("Accept", "text/event-stream")]
    assert context_of(tx("GET", "u", stream)).resource_type == "eventsource"
    assert context_of(tx("GET", "u", [("Sec-Fetch-Dest", "audio")])).resource_type == "audio"
    assert context_of(tx("GET", "u", [("Sec-Fetch-Dest", "video")])).resource_type == "video"
    # Chrome's HAR calls both "media"; the request's own destination says which (measured:
    # Chromium words an <audio>'s failure "Access to audio").
    audio = tx("GET", "u", [("Sec-Fetch-Dest", "audio")])
    assert context_of(audio, Hints(resource_type="media")).resource_type == "audio"
    assert context_of(tx("GET", "u"), Hints(resource_type="media")).resource_type == "media"
    # <link rel=prefetch crossorigin>: an empty destination, and Sec-Purpose (measured:
    # "Access to link prefetch resource").
    prefetch = [("Sec-Fetch-Dest", "empty"), ("Sec-Purpose", "prefetch")]
    assert context_of(tx("GET", "u", prefetch)).resource_type == "prefetch"
    assert context_of(tx("GET", "u", prefetch), Hints(resource_type="xhr")).resource_type == "xhr"


def test_merged_hints_keep_the_browser_error() -> None:
    result = assemble(
        [cap(tx("GET", f"{API}/a", ORIGIN), 0, Hints(browser_error="net::ERR_FAILED"))]
    )
    [x] = result.exchanges
    assert result.hints[x.id]["browser_error"] == "net::ERR_FAILED"


def test_a_finished_load_is_said_of_the_chain_only_by_its_final_answer() -> None:
    # The ORB check reads it of the final answer: an earlier hop's finished load is not
    # the chain's, whose last request the browser may have failed.
    hop = redirect("GET", f"{API}/r", f"{API}/final", started=1.0)
    final = tx("GET", f"{API}/final", ORIGIN, started=2.0)
    finished = Hints(finished=True)
    failed = Hints(browser_error="net::ERR_BLOCKED_BY_ORB")
    [x] = assemble([cap(hop, 0, finished), cap(final, 1, failed)]).exchanges
    assert len(x.steps) == 2 and not x.context.finished
    [x] = assemble([cap(hop, 0), cap(final, 1, finished)]).exchanges
    assert len(x.steps) == 2 and x.context.finished


# --- ids ----------------------------------------------------------------------------------


def test_generated_ids_are_sequential_in_assembled_order() -> None:
    xs = assemble(caps(tx("GET", f"{API}/a"), tx("GET", f"{API}/b"))).exchanges
    assert [x.id for x in xs] == ["x0001", "x0002"]


def test_capture_ids_are_kept_and_made_unique() -> None:
    captured = [
        cap(tx("GET", f"{API}/a", started=1.0), 0, id="e7"),
        cap(tx("GET", f"{API}/b", started=2.0), 1, id="e7"),
        cap(tx("GET", f"{API}/c", started=3.0), 2),
    ]
    assert [x.id for x in assemble(captured).exchanges] == ["e7", "e7-2", "x0003"]


def test_origin_file_is_set() -> None:
    [x] = assemble(caps(tx("GET", f"{API}/a")), origin_file="/tmp/s.har").exchanges
    assert x.origin_file == "/tmp/s.har"


def test_same_origin_and_navigation_traffic_is_kept() -> None:
    doc = tx("GET", f"{PAGE}/", [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")])
    same = tx("GET", f"{PAGE}/app.js", [("Sec-Fetch-Site", "same-origin")])
    xs = assemble(caps(doc, same)).exchanges
    assert len(xs) == 2
    assert xs[0].context.mode == "navigate"
    assert xs[0].context.resource_type == "document"


def test_many_transactions_assemble_in_one_pass() -> None:
    # Many requests share URL keys: a quadratic pairing would stall here.
    txs = []
    for i in range(3000):
        url = f"{API}/items/{i % 7}"
        txs += [preflight_tx(url, "PUT"), tx("PUT", url, ORIGIN)]
    xs = assemble(caps(*txs)).exchanges
    assert len(xs) == 3000
    assert all(x.first.preflight and x.first.actual for x in xs)


# --- at scale: every pass must stay linear (no timing asserts: a quadratic pass simply
# --- does not finish; at 50,000 transactions it would take hours) --------------------------

N = 50_000


def test_one_capture_id_on_every_transaction() -> None:
    captured = [
        cap(tx("GET", f"{API}/a/{i}", ORIGIN, started=float(i)), i, id="same") for i in range(N)
    ]
    ids = [x.id for x in assemble(captured).exchanges]
    assert ids[:3] == ["same", "same-2", "same-3"]
    assert ids[-1] == f"same-{N}"
    assert len(set(ids)) == N


def test_generated_ids_that_collide_with_capture_ids() -> None:
    # Capture ids that look like generated ones push every generated id along.
    captured = [cap(tx("GET", f"{API}/a/{i}", started=float(i)), i, id="x0003") for i in range(3)]
    captured += [cap(tx("GET", f"{API}/b/{i}", started=10.0 + i), 3 + i) for i in range(3)]
    ids = [x.id for x in assemble(captured).exchanges]
    assert ids == ["x0003", "x0003-2", "x0003-3", "x0004", "x0005", "x0006"]


def test_many_preflights_for_one_url_and_their_requests() -> None:
    url = f"{API}/items"
    txs = [preflight_tx(url, "PUT") for _ in range(N // 2)]
    txs += [tx("PUT", url, ORIGIN) for _ in range(N // 2)]
    xs = assemble(caps(*txs)).exchanges
    # Only the newest few wait for a request; the others stand alone.
    assert len(xs) == N - 32


def test_many_unsent_requests_without_origin_and_their_preflights() -> None:
    url = f"{API}/items"
    captured = [cap(preflight_tx(url, "PUT", started=float(i)), i) for i in range(N // 2)]
    captured += [
        cap(
            tx("PUT", url, status=None, started=float(N + i)),
            N + i,
            Hints(browser_error="net::ERR_FAILED"),
        )
        for i in range(N // 2)
    ]
    # Each unsent request takes the newest preflight not yet taken.
    assert len(assemble(captured).exchanges) == N // 2


def test_browser_logged_preflights_after_many_requests() -> None:
    url = f"{API}/items"
    captured = [
        cap(tx("PUT", url, ORIGIN, started=float(i), duration_ms=500), 2 * i) for i in range(N // 2)
    ]
    captured += [
        cap(preflight_tx(url, "PUT", started=i + 0.1), 2 * i + 1, Hints(initiator_type="preflight"))
        for i in range(N // 2)
    ]
    xs = assemble(captured).exchanges
    assert len(xs) == N // 2
    assert all(x.first.preflight is not None for x in xs)


def test_many_cached_redirects_and_lone_preflights_for_one_url_stay_linear() -> None:
    # Every lone preflight looks up the stored redirects by time, never walks them all.
    half = N // 2
    moved = [("Location", "/target"), ("Access-Control-Allow-Origin", PAGE)]
    captured = [
        cap(
            tx(
                "GET",
                f"{API}/r",
                ORIGIN,
                status=308,
                response_headers=moved,
                started=float(i),
                duration_ms=1.0,
            ),
            i,
        )
        for i in range(half)
    ]
    captured += [cap(_passed(f"{API}/r", half + i + 0.5, "x-a"), half + i) for i in range(half)]
    assert len(assemble(captured).exchanges) == N


def test_many_redirects_to_one_target_nobody_followed() -> None:
    captured = [
        cap(
            tx(
                "GET",
                f"{API}/r/{i}",
                ORIGIN,
                status=302,
                response_headers=[("Location", "/target")],
                started=float(i),
            ),
            i,
        )
        for i in range(N // 2)
    ]
    # Requests for the target from another page origin: each looks at the waiting chains.
    captured += [
        cap(tx("GET", f"{API}/target", [("Origin", "http://other.test")], started=N + i), N + i)
        for i in range(N // 2)
    ]
    assert len(assemble(captured).exchanges) == N


def test_many_transactions_without_start_times() -> None:
    captured = [cap(tx("GET", f"{API}/a/{i % 5}", ORIGIN), i) for i in range(N)]
    assert len(assemble(captured).exchanges) == N


def test_a_single_transaction_assembles_as_through_the_whole_pass() -> None:
    # The addon's live display assembles one transaction at a time, on a shortcut.
    examples = Path(__file__).resolve().parents[3] / "examples"
    singles = _load("capture", str(examples / "lab-session.capture.jsonl"), None).captured
    singles += caps(
        preflight_tx(API + "/a", "PUT"),
        preflight_tx(API + "/a", "PUT", origin=None),
        tx("GET", API + "/b", [("Origin", "null")]),
        tx("OPTIONS", API + "/c"),
        tx("GET", API + "/d", status=302, response_headers=[("Location", "/e")]),
    )
    singles.append(cap(preflight_tx(API + "/f", "PUT"), 9, Hints(initiator_type="preflight")))
    assert len(singles) > 100
    for c in singles:
        whole = _build(_chain(_pair(_in_time_order([c]))), "f", False, {}, {})
        assert assemble([c], "f") == whole


def _page_and_fetch(*, via_proxy: bool) -> Context:
    document = replace(
        tx("GET", f"{PAGE}/", [("Sec-Fetch-Dest", "document")]), server_ip="93.184.215.14"
    )
    fetch = tx("GET", "http://localhost:3000/status", ORIGIN, status=None)
    captured = [cap(document, 0, Hints(resource_type="document")), cap(fetch, 1)]
    exchanges = assemble(captured, via_proxy=via_proxy).exchanges
    return next(x for x in exchanges if x.url.startswith("http://localhost")).context


def test_the_page_is_placed_by_the_address_its_document_came_from() -> None:
    assert _page_and_fetch(via_proxy=False).page_address == "93.184.215.14"
    # Behind a proxy the browser never knew it, and Local Network Access never applied.
    assert _page_and_fetch(via_proxy=True).page_address is None


def _image_after_pages(*policies: str | None, page: str = PAGE) -> Context:
    """Documents of the page's origin answered with these embedder policies, one a second,
    then an image the page loads from the API, a second after the last one."""
    documents = [
        tx(
            "GET",
            f"{page}/p{n}",
            [("Sec-Fetch-Dest", "document")],
            response_headers=[] if value is None else [("Cross-Origin-Embedder-Policy", value)],
        )
        for n, value in enumerate(policies)
    ]
    image = tx(
        "GET",
        f"{API}/logo.png",
        [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"), ("Referer", f"{page}/")],
    )
    exchanges = assemble(caps(*documents, image)).exchanges
    return next(x for x in exchanges if x.url.startswith(API)).context


def test_the_page_s_embedder_policy_is_its_last_document_s() -> None:
    assert _image_after_pages('require-corp; report-to="r"').embedder_policy == "require-corp"
    assert _image_after_pages("credentialless").embedder_policy == "credentialless"
    # The page the request came from is the one loaded last before it.
    assert _image_after_pages("require-corp", None).embedder_policy is None
    assert _image_after_pages(None, "require-corp").embedder_policy == "require-corp"
    # A token, case-sensitive, one of them: anything else is no policy.
    for value in ("Require-Corp", "require-corp, credentialless", "unsafe-none"):
        assert _image_after_pages(value).embedder_policy is None, value
    # Chromium ignores it on a page that is not a secure context (measured, Chromium 156).
    insecure = _image_after_pages("require-corp", page="http://www.app.test:5173")
    assert insecure.embedder_policy is None


def test_an_embedder_policy_makes_a_no_cors_answer_without_corp_blocked() -> None:
    documents = tx(
        "GET",
        f"{PAGE}/",
        [("Sec-Fetch-Dest", "document")],
        response_headers=[("Cross-Origin-Embedder-Policy", "require-corp")],
    )
    image = tx(
        "GET",
        f"{API}/logo.png",
        [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"), ("Referer", f"{PAGE}/")],
        response_headers=[("Content-Type", "image/png")],
    )
    (exchange,) = [x for x in assemble(caps(documents, image)).exchanges if x.url.startswith(API)]
    verdict = decide(exchange)
    assert verdict.blocked is True
    assert verdict.fault is not None and "Cross-Origin-Embedder-Policy" in verdict.fault


# --- Concurrent fetches to one URL (measured in Chromium 156 through mitmproxy) -----------

OK_PREFLIGHT = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "X-A")]


def _pf(url: str, at: float, ms: float, status: int, announced: str = "x-a") -> Transaction:
    t = _announcing(url, "PUT", announced, status=status, started=at, duration_ms=ms)
    if status < 300:
        t = replace(t, response=replace(t.response, headers=Headers.of(OK_PREFLIGHT)))
    return t


def _put(url: str, at: float, tag: str, header: str = "X-A") -> Transaction:
    sent = [*ORIGIN, (header, "1"), ("Accept-Language", tag)]
    return tx("PUT", url, sent, status=200, started=at, duration_ms=5.0)


def _pairs(txs: list[Transaction]) -> list[tuple[float | None, str | None]]:
    """(start of the preflight, tag of the request) per exchange."""
    out = []
    for x in assemble([cap(t, i) for i, t in enumerate(txs)]).exchanges:
        step = x.first
        pf = (
            step.preflight.transaction.started
            if step.preflight and step.preflight.transaction
            else None
        )
        tag = step.actual.request.headers.get("accept-language") if step.actual else None
        out.append((pf, tag))
    return sorted(out, key=lambda p: (p[0] is None, p[0] or 0.0, p[1] or ""))


def test_a_request_follows_the_preflight_answered_before_it_started() -> None:
    # A load balancer: the first preflight passes, the second (another fetch's) gets a 500.
    url = f"{API}/lb"
    got = _pairs([_pf(url, 0.000, 9, 204), _pf(url, 0.007, 12, 500), _put(url, 0.018, "t1")])
    assert got == [(0.0, "t1"), (0.007, None)]
    # A slow passing preflight and a fast refused one: timing, not order, tells them apart.
    got = _pairs([_pf(url, 0.000, 400, 204), _pf(url, 0.003, 4, 403), _put(url, 0.405, "t1")])
    assert got == [(0.0, "t1"), (0.003, None)]


def test_concurrent_identical_fetches_each_keep_their_preflight() -> None:
    url = f"{API}/same"
    txs = [
        _pf(url, 0.000, 5, 204),
        _pf(url, 0.001, 5, 204),
        _put(url, 0.010, "t1"),
        _put(url, 0.011, "t2"),
    ]
    assert [pf is not None and tag is not None for pf, tag in _pairs(txs)] == [True, True]


def test_concurrent_fetches_with_other_headers_pair_by_what_they_announced() -> None:
    url = f"{API}/headers"
    txs = [
        _pf(url, 0.000, 5, 204),
        _pf(url, 0.001, 5, 204, announced="x-b"),
        _put(url, 0.010, "t1"),
    ]
    assert _pairs(txs) == [(0.0, "t1"), (0.001, None)]


def _redirect(at: float, tag: str) -> Transaction:
    sent = [*ORIGIN, ("Accept-Language", tag)]
    answer = [("Location", "http://127.0.0.4:9000/t"), ("Access-Control-Allow-Origin", PAGE)]
    return tx(
        "GET", f"{API}/r", sent, status=307, response_headers=answer, started=at, duration_ms=5.0
    )


def _target(at: float, tag: str, origin: str) -> Transaction:
    sent = [("Origin", origin), ("Accept-Language", tag)]
    return tx("GET", "http://127.0.0.4:9000/t", sent, status=200, started=at, duration_ms=5.0)


def _chains(txs: list[Transaction]) -> list[list[str | None]]:
    xs = assemble([cap(t, i) for i, t in enumerate(txs)]).exchanges
    tags = [
        [s.actual.request.headers.get("accept-language") if s.actual else None for s in x.steps]
        for x in xs
    ]
    return sorted(tags)


def test_redirects_are_followed_first_in_first_out() -> None:
    # The second redirect had not arrived when the first one's follow-up started.
    txs = [
        _redirect(0.000, "t1"),
        _redirect(0.014, "t2"),
        _target(0.015, "t1", "null"),
        _target(0.050, "t2", "null"),
    ]
    assert _chains(txs) == [["t1", "t1"], ["t2", "t2"]]


def test_a_direct_request_is_not_taken_for_a_tainted_redirects_next_hop() -> None:
    # After a cross-origin redirect from a cross-origin URL the next hop says Origin: null.
    txs = [_redirect(0.000, "t1"), _target(0.007, "t2", PAGE), _target(0.026, "t1", "null")]
    assert _chains(txs) == [["t1", "t1"], ["t2"]]


def _traced(url: str, at: float, rid: str, origin: str, status: int = 200) -> Transaction:
    sent = [("Origin", origin), ("Accept", "*/*"), ("X-Request-Id", rid)]
    answer = [("Access-Control-Allow-Origin", PAGE)]
    if status == 307:
        answer.append(("Location", "http://127.0.0.4:9000/t"))
    return tx("GET", url, sent, status=status, response_headers=answer, started=at, duration_ms=5.0)


def _traced_chains(txs: list[Transaction]) -> list[list[str | None]]:
    xs = assemble([cap(t, i) for i, t in enumerate(txs)]).exchanges
    ids = [
        [s.actual.request.headers.get("x-request-id") if s.actual else None for s in x.steps]
        for x in xs
    ]
    return sorted(ids)


def test_a_redirect_hop_joins_the_fetch_whose_headers_it_carries() -> None:
    # Measured (Chromium 156): fetches redirected to one URL at once; the first was aborted
    # before its next hop went out, and the second one's hop, which carries the same
    # headers its first request did, arrives after both redirects.
    txs = [
        _traced(f"{API}/r", 0.000, "t1", PAGE, 307),
        _traced(f"{API}/r", 0.010, "t2", PAGE, 307),
        _traced("http://127.0.0.4:9000/t", 0.300, "t2", "null"),
    ]
    assert _traced_chains(txs) == [["t1"], ["t2", "t2"]]
    # Without a header that tells them apart, the one that waited longest still goes first.
    same = [
        replace(
            t,
            request=replace(
                t.request,
                headers=Headers.of(
                    [(k, "t" if k == "X-Request-Id" else v) for k, v in t.request.headers.fields]
                ),
            ),
        )
        for t in txs
    ]
    xs = assemble([cap(t, i) for i, t in enumerate(same)]).exchanges
    assert [len(x.steps) for x in xs] == [2, 1]


def test_a_redirect_hop_joins_the_fetch_just_redirected_not_one_long_dropped() -> None:
    # Measured (Chromium 156 through mitmdump): an EventSource redirected to a stream that
    # was still open when the capture ended, so its next hop never reached the capture;
    # 11 s later the same URL's redirect, then at once its hop. FIFO would hand that hop to
    # the first fetch and leave the decisive one without its target.
    txs = [
        _traced(f"{API}/r", 0.000, "t", PAGE, 307),
        _traced(f"{API}/r", 11.000, "t", PAGE, 307),
        _traced("http://127.0.0.4:9000/t", 11.010, "t", "null"),
    ]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)]).exchanges
    assert [(x.steps[0].actual.started, len(x.steps)) for x in xs if x.steps[0].actual] == [
        (0.000, 1),
        (11.000, 2),
    ]


def test_a_stored_redirect_answers_only_pages_of_the_site_it_was_stored_for() -> None:
    # Measured (Chromium 156, hA rg-025d): the HTTP cache is partitioned by site; a page's
    # fetch redirected to a URL whose 308 pages of two sites had stored took its own
    # site's copy, not the latest one.
    other = "http://www.app.test:5173"
    final = "http://127.0.0.4:9000/final"

    def moved(url: str, origin: str, to: str, status: int, at: float) -> Transaction:
        answer = [("Location", to), ("Access-Control-Allow-Origin", origin)]
        sent = [("Origin", origin), ("Sec-Fetch-Mode", "cors")]
        return tx("GET", url, sent, status=status, response_headers=answer, started=at)

    def target(at: float) -> Transaction:
        return tx("GET", final, [("Origin", "null"), ("Sec-Fetch-Mode", "cors")], started=at)

    txs = [
        moved(f"{API}/h1", PAGE, final, 308, 0.000),
        target(0.010),
        moved(f"{API}/h1", other, final, 308, 1.000),
        target(1.010),
        moved(f"{API}/r", PAGE, f"{API}/h1", 303, 2.000),
        target(2.010),
    ]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)], via_proxy=True).exchanges
    (fetch_,) = [x for x in xs if x.url == f"{API}/r"]
    hop = fetch_.steps[1].actual
    assert hop is not None and hop.response is not None
    assert hop.response.headers.get("access-control-allow-origin") == PAGE
    assert [s.url for s in fetch_.steps] == [f"{API}/r", f"{API}/h1", final]


def test_a_refused_hop_without_fetch_metadata_is_known_cors_from_its_chain() -> None:
    # Measured (Chromium 156, hA ri-011b): a credentialed EventSource redirected to a host
    # that is not potentially trustworthy (no Sec-Fetch-* there) was refused at that hop
    # (Allow-Credentials "TRUE"); the next EventSource's hop to the target is its own.
    plain = "http://plain.test:9000"

    def hop(url: str, to: str, at: float, sent: list[tuple[str, str]]) -> Transaction:
        allowed, value = ("null", "TRUE") if url.startswith(plain) else (PAGE, "true")
        answer = [
            ("Location", to),
            ("Access-Control-Allow-Origin", allowed),
            ("Access-Control-Allow-Credentials", value),
        ]
        return tx("GET", url, sent, status=303, response_headers=answer, started=at)

    def fetch_(at: float, credentialed: bool) -> list[Transaction]:
        first = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
        if credentialed:
            first.append(("Sec-Fetch-Storage-Access", "none"))
        return [
            hop(f"{API}/r", f"{plain}/h", at, first),
            hop(f"{plain}/h", f"{plain}/end", at + 0.05, [("Origin", "null")]),
        ]

    end = tx("GET", f"{plain}/end", [("Origin", "null")], started=0.35)
    txs = [*fetch_(0.0, True), *fetch_(0.2, False), end]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)], via_proxy=True).exchanges
    assert sorted((x.steps[0].actual.started, len(x.steps)) for x in xs if x.steps[0].actual) == [
        (0.0, 2),
        (0.2, 3),
    ]


def test_a_no_cors_request_is_not_the_next_hop_of_a_cors_fetch() -> None:
    # Measured (Chromium 156, hA re-030): a CORS image's redirect waited for a target the
    # HTTP cache could not answer; a later <img> without crossorigin followed the same
    # stored redirects and its no-cors request reached the target. The mode stays across
    # redirects, so that request is not the CORS fetch's next hop.
    final = "http://127.0.0.4:9000/final"
    moved = tx(
        "GET",
        f"{API}/r",
        [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")],
        status=308,
        response_headers=[("Location", final), ("Access-Control-Allow-Origin", PAGE)],
        started=0.000,
        duration_ms=5.0,
    )
    no_cors = tx("GET", final, [("Sec-Fetch-Mode", "no-cors")], started=0.010)
    xs = assemble([cap(moved, 0), cap(no_cors, 1)], via_proxy=True).exchanges
    assert sorted(len(x.steps) for x in xs) == [1, 1]
    # The same hop in CORS mode is the fetch's.
    cors = replace(
        no_cors,
        request=replace(
            no_cors.request, headers=Headers.of([("Origin", "null"), ("Sec-Fetch-Mode", "cors")])
        ),
    )
    xs = assemble([cap(moved, 0), cap(cors, 1)], via_proxy=True).exchanges
    assert [len(x.steps) for x in xs] == [2]


def _refused_hop(at: float, announced: str) -> Transaction:
    sent = [
        ("Origin", PAGE),
        ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Headers", announced),
    ]
    return tx("OPTIONS", f"{API}/final", sent, status=204, started=at, duration_ms=5.0)


def _moved(at: float, name: str, duration_ms: float = 5.0) -> Transaction:
    sent = [("Origin", PAGE), ("Accept", "*/*"), (name, "1")]
    answer = [("Location", "/final"), ("Access-Control-Allow-Origin", PAGE)]
    return tx(
        "GET",
        f"{API}/r",
        sent,
        status=308,
        response_headers=answer,
        started=at,
        duration_ms=duration_ms,
    )


def _hops(txs: list[Transaction], *, via_proxy: bool = True) -> list[list[str]]:
    """What a proxy recorded (measured through mitmdump), unless `via_proxy` is False."""
    out = []
    for x in assemble([cap(t, i) for i, t in enumerate(txs)], via_proxy=via_proxy).exchanges:
        hop = []
        for s in x.steps:
            if s.actual is not None:
                custom = [n for n, _ in s.actual.request.headers.fields if n.startswith("X-")]
                hop.append(f"{s.actual.request.method} {s.url.rsplit('/', 1)[1]} {custom[0]}")
            else:
                assert s.preflight is not None and s.preflight.transaction is not None
                names = s.preflight.transaction.request.headers.get(
                    "access-control-request-headers"
                )
                hop.append(f"OPTIONS {s.url.rsplit('/', 1)[1]} {names}")
        out.append(hop)
    return sorted(out)


def test_a_refused_preflight_at_the_target_joins_the_fetch_whose_headers_it_announced() -> None:
    # Measured (Chromium 156): GETs with X-A and with X-B redirected to one URL at once; each
    # needs a preflight there, and both are refused.
    txs = [
        _moved(0.000, "X-A"),
        _moved(0.001, "X-B"),
        _refused_hop(0.010, "x-b"),
        _refused_hop(0.012, "x-a"),
    ]
    assert _hops(txs) == [
        ["GET r X-A", "OPTIONS final x-a"],
        ["GET r X-B", "OPTIONS final x-b"],
    ]


def test_a_hop_that_started_before_the_redirect_arrived_is_another_fetch() -> None:
    # Measured (Chromium 156): a GET whose redirect was answered from the HTTP cache went on
    # to the target's preflight before a slow redirect of another fetch arrived.
    txs = [_moved(0.000, "X-A", duration_ms=500.0), _refused_hop(0.100, "x-a")]
    assert _hops(txs) == [["GET r X-A"], ["OPTIONS final x-a"]]


def test_a_browser_log_may_place_the_next_hop_just_before_its_redirect_ended() -> None:
    # Playwright's HAR of Chromium 156: the 302 logged as ending at 48.2102 s, its next
    # hop as starting at 48.207 s. A browser's log is not as exact as a proxy's clock.
    txs = [_moved(48.195, "X-A", duration_ms=15.24), _refused_hop(48.207, "x-a")]
    assert _hops(txs, via_proxy=False) == [["GET r X-A", "OPTIONS final x-a"]]
    assert _hops(txs) == [["GET r X-A"], ["OPTIONS final x-a"]]


def test_a_307_or_308_is_followed_with_the_same_method() -> None:
    # Measured (Chromium 156): a POST answered 308, and a GET whose own redirect came from
    # the HTTP cache reaching the target first: the GET is not the POST's next hop.
    answer = [("Location", "/final"), ("Access-Control-Allow-Origin", "*")]
    sent = [("Origin", PAGE)]
    post = tx(
        "POST", f"{API}/r", sent, status=308, response_headers=answer, started=0.0, duration_ms=5.0
    )
    get = tx("GET", f"{API}/final", sent, started=0.010, duration_ms=5.0)
    post_on = tx("POST", f"{API}/final", sent, started=0.012, duration_ms=5.0)
    xs = assemble([cap(t, i) for i, t in enumerate([post, get, post_on])]).exchanges
    assert sorted([s.actual.request.method for s in x.steps if s.actual] for x in xs) == [
        ["GET"],
        ["POST", "POST"],
    ]
    # A 302 does turn the POST into a GET.
    moved = replace(post, response=replace(post.response, status=302))
    xs = assemble([cap(t, i) for i, t in enumerate([moved, get])]).exchanges
    assert [len(x.steps) for x in xs] == [2]


def _passed(url: str, at: float, announced: str) -> Transaction:
    sent = [
        ("Origin", PAGE),
        ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Headers", announced),
    ]
    allowed = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Headers", "*")]
    return tx(
        "OPTIONS", url, sent, status=204, response_headers=allowed, started=at, duration_ms=5.0
    )


def test_a_fetch_whose_redirect_came_from_the_http_cache_goes_on_to_the_target() -> None:
    # Measured (Chromium 156): a GET answered 308 and, at once, a GET with X-Slow to the
    # same URL; its preflight passed, its request took the stored 308 from the cache
    # (nothing on the wire), and its preflight at the target was refused.
    txs = [
        _moved(0.000, "X-A", duration_ms=20.0),
        _passed(f"{API}/r", 0.001, "x-slow"),
        _refused_hop(0.030, "x-slow"),
    ]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)]).exchanges
    assert len(xs) == 2
    (followed,) = [x for x in xs if x.steps[0].preflight is not None]
    assert [s.url.rsplit("/", 1)[1] for s in followed.steps] == ["r", "final"]
    first = followed.steps[0].actual
    assert first is not None and first.response is not None and first.response.status == 308
    # The stored answer is another fetch's: its request's headers are not this one's.
    assert first.request.headers.fields == (("Origin", PAGE),)
    # A hop announcing other headers is another fetch's: the preflight stays alone.
    other = [*txs[:2], _refused_hop(0.030, "x-b")]
    assert len(assemble([cap(t, i) for i, t in enumerate(other)]).exchanges) == 3


def test_a_stored_redirect_refused_for_a_later_hops_page_is_not_followed() -> None:
    # Measured (Chromium 156, hA rd-024): a page of another port left a 301 in the shared
    # cache; this page's fetch preflighted that hop, took the 301 from the cache and failed
    # its CORS check there. The target's request that follows is the next fetch's.
    other = "http://127.0.0.1:5174"
    final = "http://127.0.0.4:9000/final"

    def moved(url: str, origin: str, to: str, status: int, at: float) -> Transaction:
        answer = [("Location", to), ("Access-Control-Allow-Origin", origin)]
        sent = [("Origin", origin), ("Authorization", "t")]
        return tx("GET", url, sent, status=status, response_headers=answer, started=at)

    def passed(url: str, at: float) -> Transaction:
        sent = [
            ("Origin", PAGE),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ]
        allowed = [
            ("Access-Control-Allow-Origin", PAGE),
            ("Access-Control-Allow-Headers", "authorization"),
        ]
        return tx("OPTIONS", url, sent, status=204, response_headers=allowed, started=at)

    txs = [
        moved(f"{API}/r", other, f"{API}/h1", 302, 0.000),
        moved(f"{API}/h1", other, final, 301, 0.010),
        tx("GET", final, [("Origin", "null")], started=0.020),
        passed(f"{API}/r", 1.000),
        moved(f"{API}/r", PAGE, f"{API}/h1", 302, 1.010),
        passed(f"{API}/h1", 1.020),
        tx("GET", final, [("Origin", "null")], started=1.040),
    ]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)], via_proxy=True).exchanges
    hops = sorted([s.url.rsplit("/", 1)[1] for s in x.steps] for x in xs)
    assert hops == [["final"], ["r", "h1"], ["r", "h1", "final"]]


@pytest.mark.parametrize(
    ("control", "followed"),
    [(None, True), ("no-cache", True), ("max-age=0", True), ("no-store", False)],
)
def test_a_stale_redirect_a_lone_preflight_took_from_the_cache_goes_on_to_the_target(
    control: str | None, followed: bool
) -> None:
    # Measured (hB pc4-pc-0037, 0054): cache: 'force-cache' takes a stored 307 without any
    # freshness from the cache; only its preflight and the target's hops reach the wire.
    moved = _moved(0.000, "X-A")
    assert moved.response is not None
    headers = [*moved.response.headers.fields, *([("Cache-Control", control)] if control else [])]
    stale = replace(moved.response, status=307, headers=Headers.of(headers))
    moved = replace(moved, response=stale)
    first = [moved, _refused_hop(0.010, "x-a")]
    txs = [*first, _passed(f"{API}/r", 5.000, "x-a"), _refused_hop(5.010, "x-a")]
    xs = assemble([cap(t, i) for i, t in enumerate(txs)], via_proxy=True).exchanges
    later = [[s.url.rsplit("/", 1)[1] for s in x.steps] for x in xs if x.first.preflight]
    assert later == ([["r", "final"]] if followed else [["r"], ["final"]])


@pytest.mark.parametrize(("gap", "joined"), [(-0.13, True), (0.05, True), (-1.5, False)])
def test_a_capture_replays_a_cached_redirect_and_the_target_it_led_to_follows(
    gap: float, joined: bool
) -> None:
    # Measured (hB pc4-pc-0035): preflight and redirect both cached, so the probe's call
    # becomes a replayed http-cache entry, stamped by the page's clock 0.13 s after the
    # target's requests (Origin: null) that did reach the wire.
    final = "http://127.0.0.4:9000/final"
    moved = tx(
        "GET",
        f"{API}/r",
        [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")],
        status=308,
        response_headers=[("Location", final), ("Access-Control-Allow-Origin", PAGE)],
        started=5.0,
    )
    replayed = cap(moved, 0, Hints(source="http-cache", header_names=("X-A",)))
    sent = [("Origin", "null"), ("Access-Control-Request-Method", "GET")]
    announced = [*sent, ("Access-Control-Request-Headers", "x-a")]
    hop = tx("OPTIONS", final, announced, status=204, started=5.0 + gap, duration_ms=5.0)
    got = tx("GET", final, [("Origin", "null"), ("X-A", "1")], started=5.01 + gap)
    xs = assemble([replayed, cap(hop, 1), cap(got, 2)], via_proxy=True).exchanges
    steps = sorted([s.url.rsplit("/", 1)[1] for s in x.steps] for x in xs)
    assert steps == ([["r", "final"]] if joined else [["final"], ["r"]])


def test_a_request_takes_the_preflight_that_announced_exactly_its_headers() -> None:
    # A PUT with X-A and a plain PUT at once: the plain one's preflight announced nothing,
    # which a subset check would let the X-A request take (Express reflects ACRH, so that
    # pairing reads as "x-a not allowed").
    url = f"{API}/exact"
    plain = replace(_pf(url, 0.001, 5, 204), request=preflight_tx(url, "PUT").request)
    plain_put = tx("PUT", url, [*ORIGIN, ("Accept-Language", "t2")], started=0.011, duration_ms=5.0)
    got = _pairs([_pf(url, 0.000, 5, 204), plain, _put(url, 0.010, "t1"), plain_put])
    assert got == [(0.0, "t1"), (0.001, "t2")]


def test_a_sanitized_har_request_without_its_authorization_still_pairs() -> None:
    # DevTools exports HARs without Authorization and Cookie; the preflight still lists it.
    url = f"{API}/me"
    announced = _announcing(url, "GET", "authorization")
    stripped = tx("GET", url, ORIGIN)
    assert shape(caps(announced, stripped)) == [[(url, "GET", "GET")]]
    # A request that did carry Authorization, and not the announced one, is another fetch.
    other = _announcing(url, "GET", "authorization,x-a")
    assert shape(caps(other, tx("GET", url, [*ORIGIN, ("Authorization", "t")]))) == [
        [(url, "GET", None)],
        [(url, None, "GET")],
    ]


def test_on_the_wire_a_request_without_the_announced_authorization_is_another_fetch() -> None:
    """Measured in Chromium 156: a credentialed call with Authorization, refused at its
    preflight, then a plain credentialed GET. A proxy's capture is never sanitized, and
    an export that kept Cookie was not either: the GET is its own fetch."""
    url = f"{API}/me"
    plain = tx("GET", url, [*ORIGIN, ("Cookie", "sid=1")])
    separate = [[(url, "GET", None)], [(url, None, "GET")]]
    assert shape(caps(_announcing(url, "GET", "authorization"), plain)) == separate

    bare = tx("GET", url, ORIGIN)
    captured = caps(_announcing(url, "GET", "authorization"), bare)
    [first, second] = assemble(captured, via_proxy=True).exchanges
    assert (first.first.actual, second.first.preflight) == (None, None)


# --- the browser's HTTP cache -------------------------------------------------------------

PORT2 = "http://127.0.0.1:5174"  # another origin of the page's site: one cache partition
SITE2 = "http://127.0.0.9:5173"  # another site: a partition of its own
ETAG = [("ETag", '"v1"'), ("Cache-Control", "no-cache")]


def _stored_of(first: Transaction, then: Transaction) -> object:
    [_, revalidated] = assemble(caps(first, then)).exchanges
    return revalidated.steps[0].stored


def _fetched(
    page: str,
    status: int = 200,
    answered: list[tuple[str, str]] | None = None,
    sent: list[tuple[str, str]] | None = None,
    started: float = 0.0,
) -> Transaction:
    headers = [("Origin", page), ("Sec-Fetch-Mode", "cors"), *(sent or [])]
    return tx(
        "GET", f"{API}/data", headers, status=status, response_headers=answered, started=started
    )


def test_a_304_takes_the_stored_response_it_revalidated() -> None:
    # Measured (h3-00): stored for one origin of the site without Vary: Origin, revalidated
    # by another; Chromium checks the stored Allow-Origin, and blocks.
    first = _fetched(PORT2, answered=[*ETAG, ("Access-Control-Allow-Origin", PORT2)])
    then = _fetched(PAGE, 304, [("ETag", '"v1"')], [("If-None-Match", '"v1"')], started=1.0)
    assert _stored_of(first, then) is first.response
    [_, x] = assemble(caps(first, then)).exchanges
    v = decide(x)
    assert (v.blocked, v.reason, v.failed_parameter) == (True, "AllowOriginMismatch", PORT2)


@pytest.mark.parametrize(
    ("page", "answered", "validator"),
    [
        (SITE2, [], '"v1"'),  # another site: another partition, not this response
        (PAGE, [], '"v2"'),  # another validator: not the response the browser held
    ],
)
def test_a_304_without_its_stored_response_in_the_capture(
    page: str, answered: list[tuple[str, str]], validator: str
) -> None:
    first = _fetched(page, answered=[*ETAG, ("Access-Control-Allow-Origin", page), *answered])
    then = _fetched(PAGE, 304, [], [("If-None-Match", validator)], started=1.0)
    assert _stored_of(first, then) is None


def test_the_latest_stored_response_is_the_one_revalidated() -> None:
    old = _fetched(PORT2, answered=[*ETAG, ("Access-Control-Allow-Origin", PORT2)])
    new = _fetched(
        PAGE,
        answered=[
            *ETAG,
            ("Access-Control-Allow-Origin", PAGE),
            ("Access-Control-Allow-Credentials", "true"),
        ],
        started=1.0,
    )
    then = _fetched(PAGE, 304, [], [("If-None-Match", '"v1"')], started=2.0)
    [_, _, x] = assemble(caps(old, new, then)).exchanges
    assert x.steps[0].stored is new.response
    assert decide(x).blocked is False


def test_a_copy_stored_with_vary_origin_is_revalidated_by_another_origin_too() -> None:
    # Measured (r-02): Chromium sends the stored ETag even though Vary: Origin does not
    # match, and checks the copy the 304 updates.
    vary = [*ETAG, ("Vary", "Origin"), ("Access-Control-Allow-Origin", PORT2)]
    first = _fetched(PORT2, answered=vary)
    then = _fetched(PAGE, 304, [], [("If-None-Match", '"v1"')], started=1.0)
    assert _stored_of(first, then) is first.response


def test_each_304_updates_the_stored_copy() -> None:
    # Measured (r-08): a 304 for the other port brought its own Allow-Origin; the copy
    # kept it, and the page's next bare 304 is checked against it.
    first = _fetched(PAGE, answered=[*ETAG, ("Access-Control-Allow-Origin", PAGE)])
    other = _fetched(
        PORT2,
        304,
        [("Access-Control-Allow-Origin", PORT2), ("ETag", '"v2"')],
        [("If-None-Match", '"v1"')],
        started=1.0,
    )
    then = _fetched(PAGE, 304, [], [("If-None-Match", '"v1"')], started=2.0)
    [_, _, x] = assemble(caps(first, other, then)).exchanges
    assert x.steps[0].stored is not None
    assert x.steps[0].stored.headers.get("access-control-allow-origin") == PORT2
    assert x.steps[0].stored.headers.get("etag") == '"v1"'  # Chromium keeps the stored ETag
    assert decide(x).reason == "AllowOriginMismatch"


def test_the_cache_does_not_keep_fields_no_cache_names() -> None:
    # Measured (r-20): Cache-Control: no-cache="Access-Control-Allow-Origin" keeps the
    # header out of the stored copy; a bare 304 then has none to show.
    named = [*ETAG, ("Cache-Control", 'no-cache="Access-Control-Allow-Origin"'),
             ("Access-Control-Allow-Origin", PAGE)]  # fmt: skip
    first = _fetched(PAGE, answered=named)
    then = _fetched(PAGE, 304, [], [("If-None-Match", '"v1"')], started=1.0)
    [_, x] = assemble(caps(first, then)).exchanges
    assert decide(x).reason == "MissingAllowOriginHeader"


# --- a cache hit the browser failed, which its HAR shows without the copy -----------------

FRESH = [("Cache-Control", "public, max-age=600")]
CREDS = ("Access-Control-Allow-Credentials", "true")


def _arrived(page: str, answered: list[tuple[str, str]], started: float = 0.0) -> Captured:
    t = _fetched(page, answered=answered, started=started)
    return cap(replace(t, server_ip="127.0.0.3"), 0)


def _failed_hit(page: str = PAGE, started: float = 5.0, error: str = "net::ERR_FAILED") -> Captured:
    # As Chrome DevTools' HAR writes it (measured, Chromium 156): the Referer alone, no
    # answer, no address, the browser's generic failure.
    t = tx("GET", f"{API}/data", [("Referer", page + "/")], status=None, started=started)
    return cap(t, 1, Hints(browser_error=error))


def _copy_for(first: Captured, then: Captured, *, via_proxy: bool = False) -> object:
    [_, failed] = assemble([first, then], via_proxy=via_proxy).exchanges
    return failed.steps[0].stored


def test_a_failed_cache_hit_takes_the_fresh_copy_stored_for_another_origin_of_the_site() -> None:
    # Measured (catalogue browser-cache-reused-by-other-port, DevTools' own HAR export).
    first = _arrived(PORT2, [("Access-Control-Allow-Origin", PORT2), *FRESH])
    assert _copy_for(first, _failed_hit()) is first.tx.response
    [_, x] = assemble([first, _failed_hit()]).exchanges
    v = decide(x)
    assert (v.blocked, v.reason, v.failed_parameter, v.source) == (
        True,
        "AllowOriginMismatch",
        PORT2,
        "http-cache",
    )


@pytest.mark.parametrize(
    ("answered", "then"),
    [
        ([("Cache-Control", "max-age=3")], _failed_hit()),  # stale by then
        ([("Cache-Control", "max-age=600, no-cache")], _failed_hit()),  # revalidated first
        ([("Cache-Control", "max-age=600"), ("Age", "598")], _failed_hit()),
        ([*FRESH, ("Vary", "Origin")], _failed_hit()),  # keyed by the other Origin
        ([*FRESH, ("Vary", "Cookie")], _failed_hit()),  # a field the capture cannot match
        ([("ETag", '"v1"')], _failed_hit()),  # no explicit lifetime
        (FRESH, _failed_hit(SITE2)),  # another site: another partition
        (FRESH, _failed_hit(error="net::ERR_ABORTED")),  # canceled, not failed
    ],
)
def test_a_failed_request_without_a_copy_the_cache_could_have_used(
    answered: list[tuple[str, str]], then: Captured
) -> None:
    first = _arrived(PORT2, [("Access-Control-Allow-Origin", PORT2), *answered])
    assert _copy_for(first, then) is None


@pytest.mark.parametrize(
    ("status", "control", "reused"),
    [
        (301, None, True),  # a permanent redirect is kept and reused
        (308, None, True),
        (302, None, False),  # a temporary one only with a lifetime
        (307, "max-age=600", True),
        (301, "no-store", False),
        (301, "max-age=0", False),
    ],
)
def test_a_failed_cache_hit_takes_the_redirect_the_browser_refused_before(
    status: int, control: str | None, reused: bool
) -> None:
    # Measured (hB he-012b, DevTools' own HAR export, Chromium 156): a 301 without
    # Allow-Origin, refused on arrival (no server address), then the same GET logged as
    # status 0 with the Referer alone; Chromium named the cached 301's failure.
    answered = [("Location", f"{API}/next"), *([("Cache-Control", control)] if control else [])]
    first = cap(_fetched(PAGE, status, answered), 0, Hints(browser_error="net::ERR_FAILED"))
    copy = _copy_for(first, _failed_hit())
    assert (copy is first.tx.response) is reused
    if reused:
        [_, x] = assemble([first, _failed_hit()]).exchanges
        v = decide(x)
        assert (v.blocked, v.stage, v.reason) == (True, "redirect", "MissingAllowOriginHeader")


def test_a_proxy_never_sees_the_cache_answer() -> None:
    first = _arrived(PORT2, [("Access-Control-Allow-Origin", PORT2), *FRESH])
    assert _copy_for(first, _failed_hit(), via_proxy=True) is None


def test_a_copy_with_vary_origin_answers_its_own_origin() -> None:
    first = _arrived(PAGE, [("Access-Control-Allow-Origin", "*"), ("Vary", "Origin"), *FRESH])
    assert _copy_for(first, _failed_hit()) is first.tx.response


def test_a_failed_cache_hit_takes_the_copy_a_logged_304_made_fresh() -> None:
    # Measured (catalogue font-redirect-target-revalidated-304-names-production, DevTools'
    # own HAR export, Chromium 156): a `no-cache` 200, then a 304 naming production with
    # max-age=600 (logged though CORS refused it), then the GET logged as status 0; Chromium
    # named the Allow-Origin the 304 had put in the copy.
    first = _arrived(PAGE, [("Access-Control-Allow-Origin", PAGE), *ETAG])
    prod = "https://prod.example.com"
    revalidated = _fetched(
        PAGE,
        304,
        [("Access-Control-Allow-Origin", prod), ("ETag", '"v1"'), *FRESH],
        [("If-None-Match", '"v1"')],
        started=2.0,
    )
    second = cap(revalidated, 1, Hints(browser_error="net::ERR_FAILED"))
    third = cap(_failed_hit(started=5.0).tx, 2, Hints(browser_error="net::ERR_FAILED"))
    [_, _, x] = assemble([first, second, third]).exchanges
    stored = x.steps[0].stored
    assert stored is not None and stored.headers.get("access-control-allow-origin") == prod
    v = decide(x)
    assert (v.blocked, v.reason, v.failed_parameter) == (True, "AllowOriginMismatch", prod)
    # A 304 for another validator leaves the copy as it was: stale, so nothing answered.
    other = replace(
        revalidated,
        request=replace(
            revalidated.request,
            headers=Headers.of(
                [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("If-None-Match", '"v0"')]
            ),
        ),
    )
    [_, _, x] = assemble([first, cap(other, 1), third]).exchanges
    assert x.steps[0].stored is None


# --- a preflighted GET the HTTP cache answered: the OPTIONS on the wire, no request -------

PASSES = [
    ("Access-Control-Allow-Methods", "GET"),
    ("Access-Control-Allow-Credentials", "true"),
]


def _preflighted(page: str, started: float, url: str = f"{API}/data") -> Transaction:
    return preflight_tx(
        url,
        "GET",
        origin=page,
        response_headers=[("Access-Control-Allow-Origin", page), *PASSES],
        status=204,
        started=started,
        duration_ms=5.0,
    )


def _stored_get(page: str, answered: list[tuple[str, str]], started: float = 0.1) -> Transaction:
    t = _fetched(page, answered=answered, started=started)
    return replace(t, duration_ms=5.0)


def test_a_preflight_without_its_request_takes_the_copy_the_cache_held() -> None:
    # Measured (hB pc4-pc-0063): 127.0.0.1:P2 preflights, then the HTTP cache answers with
    # the copy stored for 127.0.0.1:P1 (no Vary: Origin); Chromium checks that copy.
    stored = _stored_get(PORT2, [("Access-Control-Allow-Origin", PORT2), *FRESH])
    captured = caps(_preflighted(PORT2, 0.0), stored, _preflighted(PAGE, 5.0))
    [_, x] = assemble(captured, via_proxy=True).exchanges
    assert x.steps[0].actual is None
    assert x.steps[0].stored is not None
    assert x.steps[0].stored.headers.get("access-control-allow-origin") == PORT2
    v = decide(x)
    assert (v.blocked, v.reason, v.failed_parameter, v.source) == (
        True,
        "AllowOriginMismatch",
        PORT2,
        "http-cache",
    )


def test_a_preflight_without_its_request_and_a_copy_that_passes_is_allowed() -> None:
    # Measured (hB pc4-pc-0015): cache: 'force-cache' takes even a no-cache copy, unseen.
    stored = _stored_get(PAGE, [("Access-Control-Allow-Origin", PAGE), CREDS, *ETAG])
    [_, x] = assemble(
        caps(_preflighted(PAGE, 0.0), stored, _preflighted(PAGE, 5.0)), via_proxy=True
    ).exchanges
    v = decide(x)
    assert (v.blocked, v.source) == (False, "http-cache")


def test_a_tainted_hop_takes_the_copy_stored_for_the_page_that_started_the_chain() -> None:
    # Measured (hB pc4-pc-0006): the hop after a cross-origin redirect says Origin: null;
    # the cache partition is still the page's site.
    final = "http://127.0.0.4:9000/final"
    moved = tx(
        "GET",
        f"{API}/data",
        [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")],
        status=301,
        response_headers=[("Location", final), ("Access-Control-Allow-Origin", PAGE)],
    )
    stored = tx(
        "GET",
        final,
        [("Origin", "null")],
        response_headers=[("Access-Control-Allow-Origin", "*"), *FRESH],
        duration_ms=5.0,
    )
    first = [replace(moved, started=0.0), _preflighted("null", 0.1, final)]
    later = [replace(moved, started=5.0), _preflighted("null", 5.1, final)]
    captured = caps(first[0], first[1], replace(stored, started=0.2), *later)
    exchanges = assemble(captured, via_proxy=True).exchanges
    x = next(e for e in exchanges if e.steps[0].actual.started == 5.0)  # type: ignore[union-attr]
    assert [s.url for s in x.steps] == [f"{API}/data", final]
    assert x.steps[1].stored is not None
    v = decide(x)  # passes without credentials; the redirect allows none
    assert (v.blocked, v.condition, v.stage) == (None, "credentials-include", "redirect")


@pytest.mark.parametrize(
    ("page", "answered", "copy_started", "method"),
    [
        (PAGE, [("Access-Control-Allow-Origin", PAGE), ("Cache-Control", "no-store")], 0.1, "GET"),
        (SITE2, [("Access-Control-Allow-Origin", SITE2), *FRESH], 0.1, "GET"),  # other site
        (PAGE, [("Access-Control-Allow-Origin", PAGE), *FRESH], 0.1, "PUT"),  # never cached
    ],
)
def test_a_preflight_without_its_request_and_no_copy_to_answer_it(
    page: str, answered: list[tuple[str, str]], copy_started: float, method: str
) -> None:
    stored = _stored_get(page, answered, started=copy_started)
    lone = replace(
        _preflighted(PAGE, 5.0),
        request=Request(
            method="OPTIONS",
            url=f"{API}/data",
            headers=Headers.of([("Access-Control-Request-Method", method), ("Origin", PAGE)]),
        ),
    )
    exchanges = assemble(caps(stored, lone), via_proxy=True).exchanges
    x = next(e for e in exchanges if e.steps[0].actual is None)
    assert x.steps[0].stored is None
