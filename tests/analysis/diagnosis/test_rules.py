"""Each root-cause rule, from exchanges shaped like the failure modes met in the field."""

from __future__ import annotations

from analysis.api import Decided
from analysis.diagnosis import rules, table
from analysis.model import Exchange, Preflight, Step
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
