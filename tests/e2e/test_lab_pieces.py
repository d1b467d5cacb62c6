"""The lab's own logic that needs no browser: how verdicts are compared, how the servers
answer. Fast, so a broken comparison shows up even where Chromium is missing."""

from __future__ import annotations

import itertools
from dataclasses import replace

from analysis.lab import js
from analysis.lab.browser import NetLog, NetRecord
from analysis.lab.catalogue.build import REFLECT, ok
from analysis.lab.compare import (
    ExchangeIndex,
    Verdict,
    agree,
    call_mode,
    compare,
    condition_holds,
    resolve,
)
from analysis.lab.responder import SharedCache, pick_route, render
from analysis.lab.runner import (
    PROBE_REPORT_PATH,
    GroundTruth,
    _beacon_redirect_refused,
    _body_failed_after_answer,
    _dropped_by_client,
    probe_report_url,
)
from analysis.lab.scenarios import SCENARIOS, by_id
from analysis.lab.spec import ROOT_CAUSES, Call, Reply, Route, Visit

VALUES = {"app": "http://127.0.0.1:5173", "path": "/s/x"}


def _truth(blocked: bool, error: str | None = None, parameter: str | None = "") -> GroundTruth:
    return GroundTruth(
        "x",
        "http://127.0.0.2:8000/s/x",
        "GET",
        blocked,
        error,
        parameter,
        {},
        "http://127.0.0.1:5173/lab/page/x",
    )


def _exchange(**verdict: object) -> dict[str, object]:
    return {"url": "http://127.0.0.2:8000/s/x", "method": "GET", "verdict": verdict}


def test_catalogue_covers_every_root_cause() -> None:
    assert {s.cause for s in SCENARIOS} == ROOT_CAUSES
    assert len(SCENARIOS) >= 45
    assert len({s.path for s in SCENARIOS}) == len(SCENARIOS)


def test_empty_parameter_equals_null() -> None:
    index = ExchangeIndex.of(
        {
            "exchanges": [
                _exchange(blocked=True, reason="MissingAllowOriginHeader", failed_parameter=None)
            ]
        }
    )
    assert compare(_truth(True, "MissingAllowOriginHeader"), index).agrees


def test_parameter_not_utf8_is_what_chromium_reports_empty() -> None:
    # mitmproxy's HAR keeps a 0xE9 byte as the surrogate escape "\udce9"; DevTools
    # reports such a value as "".
    bad = "http://caf\udce9"
    assert agree(
        Verdict(True, "InvalidAllowOriginValue", None),
        Verdict(True, "InvalidAllowOriginValue", bad),
    )
    assert not agree(
        Verdict(True, "AllowOriginMismatch", None), Verdict(True, "InvalidAllowOriginValue", bad)
    )
    assert not agree(
        Verdict(True, "AllowOriginMismatch", None),
        Verdict(True, "AllowOriginMismatch", "http://café"),
    )
    assert not agree(
        Verdict(True, "AllowOriginMismatch", "http://a.test"),
        Verdict(True, "AllowOriginMismatch", bad),
    )


def test_wrong_reason_disagrees_and_names_both() -> None:
    index = ExchangeIndex.of([_exchange(blocked=True, reason="AllowOriginMismatch")])
    result = compare(_truth(True, "MissingAllowOriginHeader"), index)
    assert not result.agrees
    assert "MissingAllowOriginHeader" in result.explain()
    assert "AllowOriginMismatch" in result.explain()


def test_missing_exchange_disagrees() -> None:
    result = compare(_truth(False), ExchangeIndex.of([]))
    assert not result.agrees and "no exchange" in result.explain()


def test_a_call_refused_before_any_request_agrees_with_no_exchange() -> None:
    # new Worker(crossOriginURL) throws a SecurityError: no request, nothing to judge.
    refused = GroundTruth(
        "x",
        "http://127.0.0.2:8000/s/x",
        "GET",
        True,
        None,
        None,
        {"error": "SecurityError: Failed to construct 'Worker'"},
        "http://127.0.0.1:5173/lab/page/x",
        details={"observed": False, "server_hits": []},
    )
    result = compare(refused, ExchangeIndex.of([]))
    assert result.agrees and "sent no request" in result.explain()
    assert not compare(refused, ExchangeIndex.of([_exchange(blocked=False)])).agrees
    # A request DevTools missed but the server saw is still judged.
    reached = GroundTruth(
        **{**refused.__dict__, "details": {"observed": False, "server_hits": ["GET /s/x"]}}
    )
    assert not compare(reached, ExchangeIndex.of([])).agrees


def test_a_chain_from_the_pages_own_url_matches_its_first_cross_origin_hop() -> None:
    page = "http://127.0.0.1:5173"
    hop = {"url": "http://127.0.0.2:8000/s/x/final", "method": "GET", "verdict": {"blocked": True}}
    truth = GroundTruth(
        "x",
        page + "/s/x",
        "GET",
        True,
        None,
        None,
        {},
        page + "/lab/page/x",
        details={"redirects": [hop["url"]]},
    )
    assert compare(truth, ExchangeIndex.of([hop])).agrees
    # Only from the page's own origin: a cross-origin first URL is in any capture.
    away = GroundTruth(**{**truth.__dict__, "url": "http://127.0.0.4:8000/s/x"})
    assert compare(away, ExchangeIndex.of([hop])).corscope is None


def test_a_call_refused_before_any_request_agrees_with_the_block_the_probe_saw() -> None:
    # fetch() refused by the page's CSP: DevTools reports no request, the probe saw the
    # violation. Naming the browser's block agrees; naming a CORS error does not.
    from analysis.verdict import BROWSER_BLOCKS

    refused = GroundTruth(
        "x",
        "http://127.0.0.2:8000/s/x",
        "GET",
        True,
        None,
        None,
        {"error": "TypeError: Failed to fetch"},
        "http://127.0.0.1:5173/lab/page/x",
        details={"observed": False, "server_hits": []},
    )
    csp = _exchange(blocked=True, fault=BROWSER_BLOCKS["csp"])
    assert compare(refused, ExchangeIndex.of([csp])).agrees
    cors = _exchange(blocked=True, reason="MissingAllowOriginHeader")
    assert not compare(refused, ExchangeIndex.of([cors])).agrees
    other = _exchange(blocked=True, fault="the proxy answered 502")
    assert not compare(refused, ExchangeIndex.of([other])).agrees
    # {mode: 'no-cors', redirect: 'manual'} to another origin: refused before sending too.
    mode = _exchange(blocked=True, fault=BROWSER_BLOCKS["no-cors-redirect-mode"])
    assert compare(refused, ExchangeIndex.of([mode])).agrees


def test_browser_reason_is_what_chromium_names() -> None:
    index = ExchangeIndex.of(
        [
            _exchange(
                blocked=True, reason=None, fault="502", browser_reason="MissingAllowOriginHeader"
            )
        ]
    )
    assert compare(_truth(True, "MissingAllowOriginHeader"), index).agrees


def test_crossorigin_of_a_font_or_a_preload_is_not_the_compared_requests() -> None:
    # Lab nh-0076 (a FontFace load, credentials same-origin whatever the Call says) and
    # nh-0048 (a use-credentials preload, then a fetch with credentials omit).
    conditional = Verdict(None, "WildcardOriginNotAllowed", None, "credentials-include")
    font = Call(client="font", cross_origin="use-credentials")
    assert resolve(conditional, font).blocked is False
    preload = Call(client="preload", cross_origin="use-credentials", credentials="omit")
    assert resolve(conditional, preload).blocked is False
    assert resolve(conditional, replace(preload, credentials="include")).blocked is True


def test_cors_mode_condition_resolved_by_the_calls_mode() -> None:
    # A POST with Origin and no Sec-Fetch-Mode: a fetch() or a beacon (verdict.py).
    beacon = Call(client="beacon", method="POST", headers=(("Content-Type", "text/plain"),))
    cors = Verdict(None, "MissingAllowOriginHeader", None, "cors-mode")
    assert resolve(cors, Call(method="POST")) == Verdict(True, "MissingAllowOriginHeader", None)
    assert resolve(cors, Call(method="POST", mode="no-cors")).blocked is False
    assert resolve(cors, beacon).blocked is False
    both = Verdict(None, "InvalidAllowCredentials", None, "cors-mode-credentials-include")
    assert resolve(both, Call(method="POST", credentials="include")).blocked is True
    assert resolve(both, Call(method="POST")).blocked is False
    assert resolve(both, beacon).blocked is False


def test_conditional_verdict_resolved_by_the_real_call() -> None:
    conditional = Verdict(None, "InvalidAllowCredentials", None, "credentials-include")
    assert resolve(conditional, Call(credentials="include")) == Verdict(
        True, "InvalidAllowCredentials", None
    )
    assert resolve(conditional, Call()) == Verdict(False, None, None)
    # A beacon always carries credentials; an element by its crossorigin attribute.
    held = Verdict(True, "InvalidAllowCredentials", None)
    assert resolve(conditional, Call(client="beacon")) == held
    assert resolve(conditional, Call(client="image", cross_origin="use-credentials")) == held
    assert resolve(conditional, Call(client="image", cross_origin="anonymous")).blocked is False
    assert resolve(conditional, None) is None
    assert resolve(Verdict(None, "X", None, "some-new-condition"), Call()) is None
    orb = Verdict(None, None, None, "orb-not-fetch")
    assert resolve(orb, Call(client="image")) == Verdict(True, None, None)
    assert resolve(orb, Call(mode="no-cors")) == Verdict(False, None, None)
    # A CORS-mode script: the wire does not tell a module script from <script crossorigin>.
    module = Verdict(None, None, None, "module-script")
    assert resolve(module, Call(client="module")) == Verdict(True, None, None)
    assert resolve(module, Call(client="import")) == Verdict(True, None, None)
    assert resolve(module, Call(client="script", cross_origin="anonymous")).blocked is False
    classic = Verdict(None, None, None, "classic-script")
    assert resolve(classic, Call(client="script", cross_origin="anonymous")).blocked is True
    assert resolve(classic, Call(client="modulepreload")).blocked is False


def test_call_mode_of_beacons_and_elements_follows_their_request_mode() -> None:
    text, json_ = ("Content-Type", "text/plain"), ("Content-Type", "application/json")
    assert call_mode(Call(client="beacon", method="POST", body="hi")) == "no-cors"
    assert call_mode(Call(client="beacon", method="POST", headers=(text,))) == "no-cors"
    assert call_mode(Call(client="beacon", method="POST", headers=(json_,))) == "cors"
    assert call_mode(Call(client="image")) == "no-cors"
    assert call_mode(Call(client="image", cross_origin="anonymous")) == "cors"
    assert call_mode(Call(client="font")) == "cors"  # CORS whatever its attribute
    assert call_mode(Call(client="xhr")) == "cors"
    assert call_mode(Call(mode="no-cors")) == "no-cors"
    assert call_mode(Call(client="prefetch")) == "no-cors"
    assert call_mode(Call(client="prefetch", cross_origin="anonymous")) == "cors"


def test_blocked_either_way_names_the_credentialed_check_for_a_credentialed_call() -> None:
    alternative = ("PreflightInvalidAllowCredentials", None)
    either = Verdict(True, "MethodDisallowedByPreflightResponse", "PUT", None, None, alternative)
    credentialed = resolve(either, Call(method="PUT", credentials="include"))
    assert credentialed == Verdict(True, "PreflightInvalidAllowCredentials", None)
    assert resolve(either, Call(method="PUT")) == either
    assert resolve(either, None) == either


def test_opaque_worker_failure_compares_decision_only() -> None:
    assert agree(Verdict(True, None, None), Verdict(True, "Anything", None))
    assert not agree(Verdict(True, None, None), Verdict(False, None, None))


def test_allow_list_drops_echo_for_other_origins() -> None:
    route = Route("GET", ok(REFLECT), allow_origins=("{app}",))
    assert render(route, "http://127.0.0.1:5173", VALUES).headers[0] == (
        "Access-Control-Allow-Origin",
        "http://127.0.0.1:5173",
    )
    assert all(
        n != "Access-Control-Allow-Origin"
        for n, _ in render(route, "http://127.0.0.1:5174", VALUES).headers
    )


def test_methods_match_case_sensitively() -> None:
    scenario = by_id("allow-methods-patch-lower-case")
    assert pick_route(scenario, "patch", "", "api") is not None
    assert pick_route(scenario, "PATCH", "", "api") is None


def test_shared_cache_replays_without_vary_and_keys_with_it() -> None:
    route = Route("GET", ok(REFLECT))
    cache = SharedCache()
    first = cache.answer(("x",), "http://a", render(route, "http://a", VALUES))
    second = cache.answer(("x",), "http://b", render(route, "http://b", VALUES))
    assert ("X-Cache", "MISS") in first.headers
    assert ("Access-Control-Allow-Origin", "http://a") in second.headers
    assert ("X-Cache", "HIT") in second.headers

    varying = Route("GET", ok(REFLECT, ("Vary", "Origin")))
    cache = SharedCache()
    cache.answer(("y",), "http://a", render(varying, "http://a", VALUES))
    other = cache.answer(("y",), "http://b", render(varying, "http://b", VALUES))
    assert ("Access-Control-Allow-Origin", "http://b") in other.headers


def _record(status: int | None, canceled: bool = True) -> NetRecord:
    return NetRecord(
        source="page",
        request_id="r",
        seq=0,
        url="http://127.0.0.2:8000/s/x",
        method="GET",
        resource_type="Script",
        initiator_type=None,
        preflight_for=None,
        status=status,
        done=True,
        failed=True,
        canceled=canceled,
    )


def test_element_that_gave_up_on_its_answer_is_not_a_cors_verdict() -> None:
    # A <script crossorigin> answered 404: Chromium cancels the load and fires `error`.
    assert _dropped_by_client(Call(client="script", cross_origin="anonymous"), _record(404))
    assert _dropped_by_client(Call(client="eventsource"), _record(200))
    # A dynamic import() or a <link rel=modulepreload> of a module answered 404.
    assert _dropped_by_client(Call(client="import"), _record(404))
    assert _dropped_by_client(Call(client="modulepreload", cross_origin="anonymous"), _record(404))


def test_cancelled_redirect_and_fetch_failures_stay_failures() -> None:
    # A redirect the browser refused to follow, and fetch() whose promise rejected.
    assert not _dropped_by_client(Call(client="image"), _record(302))
    assert not _dropped_by_client(Call(client="font"), _record(None))
    assert not _dropped_by_client(Call(client="script"), _record(404, canceled=False))
    assert not _dropped_by_client(Call(), _record(404))
    assert not _dropped_by_client(Call(client="xhr"), _record(500))


def test_a_beacon_cancelled_on_a_redirect_was_refused() -> None:
    # sendBeacon() learns nothing; the cancel at the 301 is the browser's refusal.
    assert _beacon_redirect_refused(Call(client="beacon"), _record(301))
    assert not _beacon_redirect_refused(Call(client="beacon"), _record(200))
    assert not _beacon_redirect_refused(Call(client="beacon"), _record(301, canceled=False))
    assert not _beacon_redirect_refused(Call(client="image"), _record(302))


def test_a_body_that_fails_after_the_answer_passed_cors_is_not_a_verdict() -> None:
    fetched = {"status": 200, "error": None, "body_error": "TypeError: Failed to fetch"}
    assert _body_failed_after_answer(fetched, _record(None, canceled=False))
    xhr = {"status": 0, "error": "XMLHttpRequest error event"}
    undecodable = replace(
        _record(200, canceled=False), error_text="net::ERR_CONTENT_DECODING_FAILED"
    )
    assert _body_failed_after_answer(xhr, undecodable)
    # Measured without a proxy (dh15-fa-0105): an XHR whose body was cut short.
    assert _body_failed_after_answer(
        xhr, replace(undecodable, error_text="net::ERR_CONTENT_LENGTH_MISMATCH")
    )
    assert not _body_failed_after_answer(
        xhr, replace(undecodable, cors_error="MissingAllowOriginHeader")
    )
    assert not _body_failed_after_answer(xhr, replace(undecodable, status=None))
    assert not _body_failed_after_answer(xhr, replace(undecodable, error_text="net::ERR_FAILED"))


def test_contexts_are_made_first_then_sent_the_call() -> None:
    # Made in a step of their own, so that the runner can wait for DevTools on their target.
    assert js.context_setup("page", "w.js", "f") is None
    frame = js.context_setup("sandboxed-frame", "w.js", "http://www.app.test:1/lab/frame/x")
    assert frame is not None and 'f.sandbox = "allow-scripts"' in frame
    assert "http://www.app.test:1/lab/frame/x" in frame
    data = js.context_setup("data-worker", "w.js", "f")
    assert data is not None and "data:text/javascript," in data and "w.js" not in data
    assert js.in_context("async () => 1").startswith("async () => window.__lab(")


def test_a_frame_context_outlives_its_answer_for_a_while() -> None:
    # A beacon from the frame is a keepalive request that settles after sendBeacon()
    # returned: with the frame removed at once DevTools lost its preflight and CORS check
    # (lab pn-0021, pn-0045: the truth read "allowed" for a preflight answered 404).
    for context in ("frame", "sandboxed-frame", "srcdoc"):
        frame = js.context_setup(context, "w.js", "http://www.app.test:1/lab/frame/x")
        assert frame is not None
        assert "f.remove();" not in frame
        assert "setTimeout(() => f.remove(), FRAME_LINGER_MS)" in frame
        assert f"const FRAME_LINGER_MS = {js.FRAME_LINGER_MS};" in frame


def test_a_fetch_takes_its_cache_mode_into_its_init() -> None:
    # force-cache answers a stale stored redirect the default mode would ask again for
    # (lab redirect-force-cache-stale-307-tainted-preflight).
    url = "http://127.0.0.2:8000/s/x"
    assert '"cache": "force-cache"' in js.render(Call(cache="force-cache"), url)
    assert '"cache"' not in js.render(Call(), url)


def test_a_reply_body_carries_bytes_that_are_not_utf8() -> None:
    png = b"\x89PNG\r\n\x1a\n"
    route = Route("GET", Reply(200, (), png.decode("utf-8", "surrogateescape"), "image/png"))
    assert render(route, None, VALUES).body == png


def test_media_elements_load_in_no_cors_mode_and_settle_on_metadata() -> None:
    from analysis.lab.js import render as script

    assert call_mode(Call(client="video")) == "no-cors"
    assert call_mode(Call(client="audio", cross_origin="anonymous")) == "cors"
    assert "onloadedmetadata" in script(Call(client="audio"), "http://127.0.0.2:8000/s/x")


def test_a_later_range_in_the_lab_was_never_sniffed_as_media_before() -> None:
    later = Verdict(None, None, None, "orb-range-not-sniffed")
    assert resolve(later, Call(client="video")) == Verdict(True, None, None)


def test_a_route_for_one_header_answers_only_requests_that_carry_or_announce_it() -> None:
    slow = Route("OPTIONS", replace(ok(REFLECT), delay_ms=300), carries="X-Slow")
    scenario = replace(by_id("allow-methods-patch-lower-case"), routes=(slow, Route("*", ok())))
    assert pick_route(scenario, "OPTIONS", "", "api", header_names=frozenset({"x-slow"})) is slow
    assert pick_route(scenario, "OPTIONS", "", "api") is not slow
    assert render(slow, "http://a", VALUES).delay_ms == 300


def test_shared_cache_replays_a_slow_answer_at_once() -> None:
    route = Route("GET", replace(ok(REFLECT), delay_ms=300), shared_cache=True)
    cache = SharedCache()
    first = cache.answer(("x",), "http://a", render(route, "http://a", VALUES))
    second = cache.answer(("x",), "http://a", render(route, "http://a", VALUES))
    assert (first.delay_ms, second.delay_ms) == (300, 0)


def test_console_refusals_for_a_mime_type_are_read_as_such() -> None:
    log = NetLog("page", itertools.count())
    lines = [
        "Refused to apply style from 'http://127.0.0.2:8000/s/x' because its MIME type"
        " ('text/plain') is not a supported stylesheet MIME type, and strict MIME checking"
        " is enabled.",
        "Refused to execute script from 'http://127.0.0.2:8000/s/x' because its MIME type"
        " ('image/png') is not executable.",
        "Failed to load module script: Expected a JavaScript-or-Wasm module script but the"
        ' server responded with a MIME type of "text/css". Strict MIME type checking is'
        " enforced for module scripts per HTML spec.",
        # A warning about a script that ran, and a CORS failure: not refusals for the type.
        "Deprecated: Future versions will refuse to execute script from 'x' because its MIME"
        " type ('text/plain') is not executable.",
        "Access to script at 'x' from origin 'y' has been blocked by CORS policy: ...",
    ]
    for text in lines:
        log.handle("Log.entryAdded", {"entry": {"level": "error", "text": text}})
    assert log.mime_lines() == lines[:3]
    assert log.mime_lines(after=1) == lines[2:3]


def test_a_redirect_error_verdict_holds_for_the_redirect_modes_that_fail_a_redirect() -> None:
    # Fetch §4.3: "error" fails the first redirect; "manual" hands over an opaque redirect,
    # which integrity metadata then fails (§4.1). The flow file shows neither option.
    conditional = Verdict(None, None, None, "redirect-error")
    held = Verdict(True, None, None)
    assert resolve(conditional, Call(redirect="error")) == held
    assert resolve(conditional, Call(redirect="manual", integrity="sha256-x")) == held
    assert resolve(conditional, Call(redirect="manual")) == Verdict(False, None, None)
    assert resolve(conditional, Call()).blocked is False


def test_fetch_options_reach_the_page_script() -> None:
    source = js.render(
        Call(redirect="manual", integrity="sha256-x", abort_after_ms=300), "http://a/s/x"
    )
    assert '"redirect": "manual"' in source and '"integrity": "sha256-x"' in source
    assert "ac.abort(), 300" in source and "init.signal = ac.signal" in source
    assert "signal" not in js.render(Call(), "http://a/s/x")


def test_a_fetch_takes_its_referrer_policy_into_its_init() -> None:
    # no-referrer: the wire names no page (lab no-referrer-redirect-target-cached-for-same-page).
    source = js.render(Call(referrer_policy="no-referrer"), "http://a/s/x")
    assert '"referrerPolicy": "no-referrer"' in source
    assert "referrerPolicy" not in js.render(Call(), "http://a/s/x")


def test_import_scripts_is_a_no_cors_script_load_in_the_worker() -> None:
    source = js.render(Call(client="import-scripts"), "http://a/s/x")
    assert 'importScripts("http://a/s/x")' in source
    assert call_mode(Call(client="import-scripts")) == "no-cors"
    assert condition_holds("orb-not-fetch", Call(client="import-scripts")) is True


def test_a_require_corp_page_is_a_document_of_its_own_with_the_policy() -> None:
    from analysis.lab import pages

    path = pages.page_path("require-corp", "x")
    assert path == "/lab/coep/x" and not path.startswith(pages.page_path("plain", ""))
    answer = pages.serve(path, ())
    assert answer is not None
    assert ("Cross-Origin-Embedder-Policy", "require-corp") in answer.headers
    plain = pages.serve(pages.page_path("plain", "x"), ())
    assert plain is not None
    assert all(name != "Cross-Origin-Embedder-Policy" for name, _ in plain.headers)


def test_a_workers_call_waits_for_the_report_of_the_probe_in_that_worker() -> None:
    # The worker's probe reports ~300 ms after the call settles; the last scenario's report
    # was lost when the browser closed at once (worker-range-and-cache-control-refused).
    from addons.probe import REPORT_PATH

    assert PROBE_REPORT_PATH == REPORT_PATH
    app = "http://127.0.0.1:5173"
    for context in ("worker", "module-worker"):
        visit = Visit(call=Call(), context=context)  # type: ignore[arg-type]
        assert probe_report_url(visit, app) == app + "/__corscope__/report"
    # A document's probe reports when the page goes; blob: and data: workers hold none.
    for context in ("page", "blob-worker", "data-worker", "frame"):
        assert probe_report_url(Visit(call=Call(), context=context), app) is None  # type: ignore[arg-type]


def test_a_scenario_the_flow_file_cannot_tell_still_reaches_the_wire() -> None:
    # Its flow source is a strict xfail: a scenario whose decisive request never reached the
    # proxy is skipped on the flow source instead, and must not say so twice.
    assert all(s.wire_decides for s in SCENARIOS if s.flow_cannot_tell)
