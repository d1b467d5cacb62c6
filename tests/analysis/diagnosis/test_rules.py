"""Each root-cause rule, from exchanges shaped like the failure modes met in the field."""

from __future__ import annotations

from dataclasses import replace

from analysis.api import Decided
from analysis.diagnosis import rules, table
from analysis.model import Context, Exchange, Preflight, Step
from analysis.verdict import decide
from tests.factories import API, PAGE, exchange, preflight_tx, preflighted, simple_get, tx

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"


def _causes(*exchanges: Exchange) -> dict[str, set[str]]:
    """Exchange index → the root causes assigned to it."""
    renamed = [Exchange(f"x{i}", e.steps, e.context) for i, e in enumerate(exchanges)]
    frame = table.build([Decided(e, decide(e)) for e in renamed])
    found: dict[str, set[str]] = {}
    for a in rules.assign(frame):
        found.setdefault(a.exchange, set()).add(a.root_cause)
    return found


def _get(path: str, headers: list[tuple[str, str]], status: int = 200, **kw: object) -> Exchange:
    return simple_get(headers, status=status, url=API + path, **kw)


def test_no_headers_anywhere_is_cors_not_enabled() -> None:
    found = _causes(_get("/a", []), _get("/b", []))
    assert found == {"x0": {"cors-not-enabled"}, "x1": {"cors-not-enabled"}}


def test_some_routes_with_headers_is_cors_after_routes() -> None:
    found = _causes(_get("/users", [(ACAO, PAGE)]), _get("/orders", []))
    assert found["x1"] == {"cors-after-routes"}
    assert "x0" not in found


def test_errors_without_headers_while_successes_have_them() -> None:
    found = _causes(_get("/users", [(ACAO, PAGE)]), _get("/users/7", [], status=500))
    assert found["x1"] == {"error-responses-without-cors"}


def test_options_404_without_any_cors_is_preflight_not_handled() -> None:
    found = _causes(preflighted("PUT", 404, [], url=API + "/items"))
    assert found["x0"] == {"preflight-not-handled"}


def test_options_404_while_routes_carry_headers_is_per_route_cors() -> None:
    found = _causes(_get("/items", [(ACAO, PAGE)]), preflighted("PUT", 404, [], url=API + "/items"))
    assert found["x1"] == {"per-route-cors-without-options"}


def test_preflight_ok_without_headers_while_app_sends_them_is_a_gateway() -> None:
    found = _causes(_get("/items", [(ACAO, PAGE)]), preflighted("PUT", 200, [], url=API + "/items"))
    assert found["x1"] == {"gateway-preflight-differs"}


def test_framework_refusal_body_names_the_allow_list() -> None:
    url = API + "/items"
    pf = preflight_tx(url, "PUT", 400, [("Content-Type", "text/plain")])
    from dataclasses import replace

    assert pf.response is not None
    pf = replace(pf, response=replace(pf.response, body_excerpt="Disallowed CORS origin"))
    found = _causes(exchange(Step(url, Preflight(pf), None)))
    assert found["x0"] == {"origin-allowlist-mismatch"}


def test_credentials_rules() -> None:
    found = _causes(
        _get("/a", [(ACAO, "*")], credentials="include"),
        _get("/b", [(ACAO, PAGE)], credentials="include"),
    )
    assert found == {"x0": {"wildcard-with-credentials"}, "x1": {"credentials-not-allowed"}}


def test_allow_list_near_misses_are_named() -> None:
    assert rules.near_miss(PAGE + "/", PAGE) == "trailing slash"
    assert rules.near_miss("http://localhost:5174", PAGE) == "port"
    assert rules.near_miss("https://localhost:5173", PAGE) == "scheme (http vs https)"
    assert rules.near_miss("https://www.app.test", "https://app.test") == "www. prefix"
    assert rules.near_miss("https://App.test", "https://app.test") == "letter case"
    assert rules.near_miss("https://other.test", "https://app.test") == "a different origin"


def test_mismatch_is_an_allow_list_problem_unless_a_cache_replayed_it() -> None:
    found = _causes(
        _get("/a", [(ACAO, PAGE + "/")]),
        _get("/b", [(ACAO, "http://other.test"), ("X-Cache", "HIT"), ("Age", "30")]),
        _get("/c", [(ACAO, "http://other.test")], source="http-cache"),
    )
    assert found["x0"] == {"origin-allowlist-mismatch"}
    assert found["x1"] == {"cdn-cache-wrong-origin"}
    assert found["x2"] == {"browser-cache-wrong-origin"}


def test_a_mismatch_the_304_did_not_send_is_the_stored_responses() -> None:
    from dataclasses import replace

    from analysis.model import Headers, Response

    revalidating = [("If-None-Match", '"v1"')]
    stored = Response(200, Headers.of([(ACAO, "http://other.test"), ("ETag", '"v1"')]))
    bare = _get("/a", [("ETag", '"v1"')], 304, request_headers=revalidating)
    own = _get("/b", [(ACAO, "http://other.test")], 304, request_headers=revalidating)
    revalidated = replace(bare, steps=(replace(bare.steps[0], stored=stored),))
    found = _causes(revalidated, replace(own, steps=(replace(own.steps[0], stored=stored),)))
    assert found["x0"] == {"browser-cache-wrong-origin"}
    assert found["x1"] == {"origin-allowlist-mismatch"}
    [assigned] = rules.assign(table.build([Decided(revalidated, decide(revalidated))]))
    assert assigned.detail == {"value": "http://other.test", "revalidated": "304"}


def test_null_allow_origin() -> None:
    assert _causes(_get("/a", [(ACAO, "null")]))["x0"] == {"null-origin"}


def test_duplicate_header_and_allow_list_sent_whole() -> None:
    found = _causes(
        _get("/a", [(ACAO, PAGE), (ACAO, PAGE)]),
        _get("/b", [(ACAO, f"{PAGE}, https://admin.test")]),
    )
    assert found["x0"] == {"duplicate-allow-origin"}
    assert found["x1"] == {"origin-allowlist-mismatch"}


def test_methods_headers_and_redirects() -> None:
    found = _causes(
        preflighted("PATCH", 204, [(ACAO, PAGE), (ACAM, "GET, POST")], url=API + "/m"),
        preflighted("POST", 204, [(ACAO, PAGE)], announced="content-type", url=API + "/h"),
        preflighted("PUT", 301, [("Location", API + "/r/")], url=API + "/r"),
    )
    assert found["x0"] == {"allow-methods-missing"}
    assert found["x1"] == {"allow-headers-missing"}
    assert found["x2"] == {"preflight-redirected"}


def test_tainted_redirect() -> None:
    first, second = API + "/old", "http://cdn.test/new"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", second), (ACAO, PAGE)])
    hop2 = tx("GET", second, [("Origin", "null")], 200, [(ACAO, PAGE)])
    found = _causes(exchange(Step(first, None, hop1), Step(second, None, hop2)))
    assert found["x0"] == {"redirect-tainted-origin"}


def test_upstream_fault_and_service_worker() -> None:
    url = API + "/down"
    down = exchange(Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error="refused")))
    found = _causes(down, _get("/sw", [], source="service-worker"))
    assert found == {"x0": {"proxy-or-upstream-fault"}, "x1": {"service-worker-response"}}


def test_warnings_become_their_own_causes() -> None:
    found = _causes(
        _get("/a", [(ACAO, PAGE), ("X-Total-Count", "1"), ("Cache-Control", "max-age=60")]),
        preflighted(
            "PUT",
            204,
            [(ACAO, PAGE), (ACAM, "PUT")],
            actual_status=200,
            actual_headers=[(ACAO, PAGE)],
            url=API + "/p",
        ),
    )
    assert found["x0"] == {"expose-headers-missing", "cache-missing-vary-origin"}
    assert found["x1"] == {"preflight-not-cached"}


def test_security_smells() -> None:
    found = _causes(
        _get("/n", [(ACAO, "null"), (ACAC, "true")], origin="null", credentials="include"),
        _get("/w", [(ACAO, "*"), ("Set-Cookie", "sid=1")]),
        _get(
            "/r",
            [(ACAO, "https://app.test"), (ACAC, "true")],
            origin="https://app.test",
            credentials="include",
        ),
        _get(
            "/r",
            [(ACAO, "https://evil.example"), (ACAC, "true")],
            origin="https://evil.example",
            credentials="include",
        ),
        _get(
            "/r",
            [(ACAO, "https://app.test.evil.example"), (ACAC, "true")],
            origin="https://app.test.evil.example",
            credentials="include",
        ),
    )
    assert "null-origin-allowed-with-credentials" in found["x0"]
    assert "wildcard-on-cookie-response" in found["x1"]
    assert "reflected-origin-with-credentials" in found["x3"]
    assert "regex-allowlist-lookalike" in found["x4"]


def test_conditional_failures_are_warnings_about_credentials() -> None:
    frame = table.build(
        [Decided(e, decide(e)) for e in [_get("/a", [(ACAO, "*")], credentials=None)]]
    )
    [assignment] = rules.assign(frame)
    assert (assignment.root_cause, assignment.severity) == ("wildcard-with-credentials", "warning")
    assert assignment.detail["condition"] == "credentials"


def test_a_failure_only_in_cors_mode_is_a_warning_about_the_mode() -> None:
    # An http page on a name (no Sec-Fetch-Mode): its text/plain POST may be a beacon.
    named = "http://www.app.test:8080"
    url = API + "/collect"
    sent = [("Origin", named), ("Content-Type", "text/plain")]
    x = exchange(Step(url, None, tx("POST", url, sent, 200, [])), origin=named, credentials=None)
    x = replace(x, context=replace(x.context, via_proxy=True, resource_type=None))
    frame = table.build([Decided(x, decide(x))])
    [assignment] = rules.assign(frame)
    assert (assignment.root_cause, assignment.severity) == ("cors-not-enabled", "warning")
    assert assignment.detail["condition"] == "cors-mode"
    echoed = replace(x, steps=(Step(url, None, tx("POST", url, sent, 200, [(ACAO, named)])),))
    [credentials] = rules.assign(table.build([Decided(echoed, decide(echoed))]))
    assert credentials.detail["condition"] == "cors-mode-credentials"


# --- What the lab's deployments showed: one test per rule --------------------------------

OTHER_PORT = "http://localhost:5174"
EXPRESS = ("X-Powered-By", "Express")
NGINX = ("Server", "nginx/1.25.3")


def _assigned(*exchanges: Exchange) -> dict[str, list[rules.Assignment]]:
    renamed = [Exchange(f"x{i}", e.steps, e.context) for i, e in enumerate(exchanges)]
    frame = table.build([Decided(e, decide(e)) for e in renamed])
    found: dict[str, list[rules.Assignment]] = {}
    for a in rules.assign(frame):
        found.setdefault(a.exchange, []).append(a)
    return found


def _one(found: dict[str, list[rules.Assignment]], key: str) -> rules.Assignment:
    [assignment] = found[key]
    return assignment


def _with_body(e: Exchange, body: str, *, preflight: bool = False) -> Exchange:
    from dataclasses import replace

    step = e.steps[-1]
    if preflight:
        assert step.preflight is not None and step.preflight.transaction is not None
        pf_tx = step.preflight.transaction
        assert pf_tx.response is not None
        pf_tx = replace(pf_tx, response=replace(pf_tx.response, body_excerpt=body))
        step = replace(step, preflight=replace(step.preflight, transaction=pf_tx))
    else:
        assert step.actual is not None and step.actual.response is not None
        actual = replace(step.actual, response=replace(step.actual.response, body_excerpt=body))
        step = replace(step, actual=actual)
    return Exchange(e.id, (*e.steps[:-1], step), e.context)


def test_vary_origin_without_acao_is_an_allow_list_that_refused() -> None:
    # Express's cors package and django-cors-headers leave Vary: Origin on a refusal.
    a = _one(_assigned(_get("/a", [("Vary", "Origin"), EXPRESS])), "x0")
    assert a.root_cause == "origin-allowlist-mismatch"
    assert a.detail == {"near_miss": "not in the allow-list"}


def test_refused_origin_is_compared_with_the_ones_let_in() -> None:
    found = _assigned(
        _get("/a", [(ACAO, PAGE), ("Vary", "Origin")]),
        _get("/a", [("Vary", "Origin")], origin=OTHER_PORT),
    )
    assert "x0" not in found
    assert _one(found, "x1").detail == {"near_miss": "port", "configured": PAGE}


def test_endpoint_that_lets_others_in_but_never_this_page_is_the_allow_list() -> None:
    found = _assigned(_get("/a", [(ACAO, OTHER_PORT)], origin=OTHER_PORT), _get("/a", []))
    assert _one(found, "x1").root_cause == "origin-allowlist-mismatch"


def test_refused_opaque_origin_is_null_origin() -> None:
    found = _assigned(_get("/a", [("Vary", "Origin")], origin="null"))
    assert _one(found, "x0").root_cause == "null-origin"


def test_framework_answer_to_options_is_per_route_cors() -> None:
    # Express answers OPTIONS itself (200, Allow) when cors() sits on the PUT route only.
    found = _assigned(
        _get("/items", [(ACAO, PAGE), EXPRESS]),
        preflighted("PUT", 200, [("Allow", "PUT"), EXPRESS], url=API + "/items"),
    )
    assert _one(found, "x1").root_cause == "per-route-cors-without-options"


def test_preflight_answered_in_front_of_the_app_is_the_gateway() -> None:
    gateway = ("apigw-requestid", "abc=")
    found = _assigned(
        _get("/items", [(ACAO, PAGE), (ACAC, "true"), EXPRESS, gateway], credentials="include"),
        preflighted(
            "PUT",
            200,
            [(ACAO, "*"), (ACAC, "true"), gateway],
            url=API + "/items",
            credentials="include",
        ),
    )
    a = _one(found, "x1")
    assert (a.root_cause, a.detail["preflight_layer"]) == (
        "gateway-preflight-differs",
        "aws-api-gateway",
    )


def test_preflight_the_app_answered_itself_is_not_a_gateway() -> None:
    found = _assigned(
        _get("/items", [(ACAO, PAGE), (ACAC, "true"), EXPRESS], credentials="include"),
        preflighted(
            "PUT",
            204,
            [(ACAO, "*"), (ACAC, "true"), EXPRESS],
            url=API + "/items",
            credentials="include",
        ),
    )
    assert _one(found, "x1").root_cause == "wildcard-with-credentials"


def test_proxy_header_list_in_front_of_the_app_is_the_gateway() -> None:
    found = _assigned(
        _get("/items", [(ACAO, PAGE), NGINX, EXPRESS]),
        preflighted(
            "GET", 204, [(ACAO, PAGE), (ACAH, "content-type"), NGINX], announced="x-api-key"
        ),
    )
    a = _one(found, "x1")
    assert (a.root_cause, a.detail["preflight_layer"]) == ("gateway-preflight-differs", "nginx")


def test_proxy_error_page_is_an_upstream_fault_made_by_the_proxy() -> None:
    page = "<html><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></html>"
    found = _assigned(
        _get("/items", [(ACAO, PAGE), NGINX, EXPRESS]),
        _with_body(_get("/down", [NGINX], status=502), page),
    )
    a = _one(found, "x1")
    assert a.root_cause == "proxy-or-upstream-fault"
    assert (a.detail["made_by"], a.detail["status"]) == ("nginx", "502")


def test_an_apps_own_503_through_a_quiet_proxy_is_no_upstream_fault() -> None:
    # Nothing shows the app, and the page does not name nginx: it may be the app's 503.
    found = _assigned(_with_body(_get("/down", [NGINX], status=503), '{"error": "maintenance"}'))
    assert _one(found, "x0").root_cause == "cors-not-enabled"


def test_redirect_to_a_login_page_is_the_auth_layers_error_path() -> None:
    login = API + "/accounts/login/?next=/me"
    found = _assigned(
        _get("/items", [(ACAO, PAGE)]),
        _get("/me", [("Location", login)], status=302),
        _get("/old", [("Location", API + "/new")], status=301),
    )
    a = _one(found, "x1")
    assert (a.root_cause, a.detail["redirect_to"]) == ("error-responses-without-cors", login)
    b = _one(found, "x2")
    assert (b.root_cause, b.detail["redirect_to"]) == ("redirect-without-cors", API + "/new")


def test_starlette_refusals_name_what_they_refused() -> None:
    def refused(body: str) -> str:
        e = preflighted("PUT", 400, [(ACAO, PAGE), ("Server", "uvicorn")], url=API + "/i")
        return _one(_assigned(_with_body(e, body, preflight=True)), "x0").root_cause

    assert refused("Disallowed CORS method") == "allow-methods-missing"
    assert refused("Disallowed CORS headers") == "allow-headers-missing"
    assert refused("Disallowed CORS origin, method") == "origin-allowlist-mismatch"
    assert refused("Bad Request") == "preflight-not-handled"


def test_preflight_refused_after_a_cross_origin_redirect_is_the_redirect() -> None:
    first, second = API + "/old", "http://other.test/new"
    answer = [(ACAO, PAGE), (ACAM, "PUT"), ("Access-Control-Max-Age", "600")]
    pf1 = Preflight(preflight_tx(first, "PUT", 204, answer))
    hop = tx("PUT", first, [("Origin", PAGE)], 307, [("Location", second), (ACAO, PAGE)])
    pf2 = Preflight(preflight_tx(second, "PUT", 204, [("Vary", "Origin")], origin="null"))
    a = _one(_assigned(exchange(Step(first, pf1, hop), Step(second, pf2, None))), "x0")
    assert (a.root_cause, a.detail["redirect_to"]) == ("redirect-tainted-origin", second)


def test_duplicate_header_names_the_layers_that_sent_it() -> None:
    a = _one(_assigned(_get("/a", [NGINX, (ACAO, PAGE), EXPRESS, (ACAO, PAGE)])), "x0")
    assert (a.root_cause, a.detail["layers"]) == ("duplicate-allow-origin", "nginx, express")


def test_cdn_hit_names_the_cache() -> None:
    hit = [(ACAO, "http://other.test"), ("Via", "1.1 varnish (Varnish/7.4)"), ("X-Cache", "HIT")]
    a = _one(_assigned(_get("/a", [*hit, ("Age", "3")])), "x0")
    assert (a.root_cause, a.detail["cache"]) == ("cdn-cache-wrong-origin", "varnish")


def test_redirected_preflight_names_where_it_was_sent() -> None:
    e = preflighted("PUT", 301, [("Location", "https://api.test/items")], url=API + "/items")
    a = _one(_assigned(e), "x0")
    assert a.detail == {"status": "301", "redirect_to": "https://api.test/items"}


def test_uncached_preflight_names_its_max_age() -> None:
    e = preflighted(
        "PUT",
        204,
        [(ACAO, PAGE), (ACAM, "PUT"), ("Access-Control-Max-Age", "0")],
        actual_status=200,
        actual_headers=[(ACAO, PAGE)],
        url=API + "/p",
    )
    [a] = [x for x in _assigned(e)["x0"] if x.root_cause == "preflight-not-cached"]
    assert a.detail == {"max_age": "0"}


def test_fault_the_recording_proxy_answered_names_it() -> None:
    url = API + "/down"
    down = exchange(Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error="refused")))
    a = _one(_assigned(down), "x0")
    assert a.root_cause == "proxy-or-upstream-fault" and a.detail.get("made_by") == "mitmproxy"


def test_a_body_that_broke_off_after_passing_is_a_transfer_fault() -> None:
    from dataclasses import replace

    answered = _get("/big", [(ACAO, PAGE), EXPRESS])
    failed = replace(answered.context, browser_error="net::ERR_CONTENT_LENGTH_MISMATCH")
    a = _one(_assigned(Exchange(answered.id, answered.steps, failed)), "x0")
    assert a.root_cause == "proxy-or-upstream-fault" and a.detail.get("stage") == "transfer"
    assert a.severity == "warning"  # the answer passed: the fetch resolved
    assert "made_by" not in a.detail


def test_a_407_the_browser_failed_is_no_transfer_fault() -> None:
    # Answered with a status at the response stage too, but blocked: the body never mattered.
    refused = _get("/auth", [(ACAO, PAGE)], status=407)
    a = _one(_assigned(refused), "x0")
    assert (
        a.root_cause == "proxy-or-upstream-fault"
        and "ERR_UNEXPECTED_PROXY_AUTH" in (a.detail["fault"])
    )
    assert "stage" not in a.detail


def test_a_block_the_browser_made_itself_names_its_kind() -> None:
    from dataclasses import replace

    answered = _get("/data.json", [EXPRESS], mode="no-cors", resource_type="image")
    orb = replace(answered.context, browser_error="net::ERR_BLOCKED_BY_ORB")
    a = _one(_assigned(Exchange(answered.id, answered.steps, orb)), "x0")
    assert a.root_cause == "browser-block"
    assert a.detail.get("block") == "net::ERR_BLOCKED_BY_ORB" and "stage" not in a.detail


def test_mixed_content_on_a_redirect_says_it_was_the_redirect() -> None:
    page, first = "https://app.test", "https://api.test/old"
    hop = tx(
        "GET", first, [("Origin", page)], 301, [("Location", "http://api.test/new"), (ACAO, page)]
    )
    a = _one(_assigned(exchange(Step(first, None, hop), origin=page)), "x0")
    assert a.root_cause == "browser-block"
    assert a.detail.get("block") == "mixed-content" and a.detail.get("stage") == "redirect"


def test_allowed_null_origin_is_a_warning() -> None:
    a = _one(_assigned(_get("/a", [(ACAO, "null")], origin="null")), "x0")
    assert (a.root_cause, a.severity) == ("null-origin", "warning")


def test_answer_the_worker_built_itself_is_a_warning() -> None:
    url = API + "/sw"
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], 200, []))
    context = Context(
        page_origin=PAGE, mode="cors", source="service-worker", worker_response_type="default"
    )
    a = _one(_assigned(Exchange("x", (step,), context)), "x0")
    assert (a.root_cause, a.severity) == ("service-worker-response", "warning")


def test_lookalike_admitted_by_a_pattern_is_not_reflecting_every_origin() -> None:
    def cred(origin: str) -> Exchange:
        return _get("/r", [(ACAO, origin), (ACAC, "true")], origin=origin, credentials="include")

    found = _assigned(cred("https://app.test"), cred("https://evilapp.test"))
    assert "x0" not in found
    assert [a.root_cause for a in found["x1"]] == ["regex-allowlist-lookalike"]


def test_same_origin_request_has_no_cors_cause() -> None:
    url = PAGE + "/__corscope__/probe.js"
    sent = [("Referer", PAGE + "/")]
    step = Step(url, None, tx("GET", url, sent, 200, [], made_by_proxy=True))
    assert _assigned(exchange(step)) == {}


def test_the_pages_own_server_redirecting_to_ftp_is_a_non_http_scheme_cause() -> None:
    # Chromium: a same-origin cors-mode fetch redirected to ftp: is CorsDisabledScheme.
    url = PAGE + "/old"
    sent = [("Sec-Fetch-Mode", "cors")]
    step = Step(url, None, tx("GET", url, sent, 302, [("Location", "ftp://files.test/x")]))
    found = _one(_assigned(exchange(step)), "x0")
    assert (found.root_cause, found.api_origin) == ("non-http-scheme", PAGE)


def test_same_origin_mode_redirected_away_is_the_modes_cause() -> None:
    url = PAGE + "/old"
    away = tx("GET", url, [("Sec-Fetch-Mode", "same-origin")], 302, [("Location", API + "/x")])
    found = _one(_assigned(exchange(Step(url, None, away), mode="same-origin")), "x0")
    assert found.root_cause == "same-origin-mode"


def test_a_no_cors_redirect_the_browser_refused_says_where() -> None:
    url = API + "/old"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", "ftp://f.test/")])
    found = _assigned(exchange(Step(url, None, hop), mode="no-cors"))["x0"]
    fault = next(a for a in found if a.root_cause == "proxy-or-upstream-fault")
    assert fault.detail["stage"] == "redirect"


def test_preflight_refused_by_authentication_is_not_handled() -> None:
    found = _assigned(preflighted("PUT", 401, [("WWW-Authenticate", "Bearer")], url=API + "/i"))
    assert _one(found, "x0").detail == {"status": "401"}
    assert _one(found, "x0").root_cause == "preflight-not-handled"


def test_redirect_to_a_non_http_scheme_is_the_redirecting_apis_cause() -> None:
    # Chromium: CorsDisabledScheme at the ftp: URL; the fix belongs to the server that
    # redirected there, not to a page opened from file://.
    hop = _get("/old", [("Location", "ftp://files.test/x"), ("Access-Control-Allow-Origin", PAGE)])
    step = hop.steps[0]
    assert step.actual is not None and step.actual.response is not None
    response = step.actual.response
    redirected = Exchange(
        hop.id,
        (Step(step.url, None, replace(step.actual, response=replace(response, status=302))),),
        hop.context,
    )
    found = _one(_assigned(redirected), "x0")
    assert (found.root_cause, found.api_origin) == ("non-http-scheme", API)
    assert found.detail == {"redirect_to": "ftp://files.test/x", "status": "302"}


def _redirect_passing_cors(**context: object) -> Exchange:
    url = API + "/old"
    sent = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    hop = tx("GET", url, sent, 302, [("Location", API + "/new"), (ACAO, "*")])
    made = exchange(Step(url, None, hop))
    return Exchange(made.id, made.steps, replace(made.context, **context))


def test_a_redirect_the_pages_redirect_mode_refused_is_a_browser_block() -> None:
    # The capture's probe knew the fetch said redirect: 'error': blocked, not an upstream's.
    a = _one(_assigned(_redirect_passing_cors(redirect_mode="error")), "x0")
    assert (a.root_cause, a.severity) == ("browser-block", "blocked")
    assert (a.detail["block"], a.detail["stage"]) == ("redirect-mode-error", "redirect")
    # A flow file cannot show the mode: blocked only if it was 'error', and that condition.
    a = _one(_assigned(_redirect_passing_cors(via_proxy=True)), "x0")
    assert (a.root_cause, a.severity) == ("browser-block", "warning")
    assert (a.detail["block"], a.detail["condition"]) == ("redirect-mode-error", "redirect-error")


def test_a_credentials_condition_is_named_credentials() -> None:
    wildcard = _get("/c", [(ACAO, "*")], credentials=None)
    a = _one(_assigned(wildcard), "x0")
    assert (a.root_cause, a.detail["condition"]) == ("wildcard-with-credentials", "credentials")
