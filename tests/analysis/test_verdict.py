"""The engine against the cases of shared/browser-cors-reference.md, one per reason/warning."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis.model import (
    BrowserVerdict,
    Exchange,
    Headers,
    Preflight,
    Request,
    Response,
    Step,
    Transaction,
)
from analysis.verdict import BROWSER_BLOCKS, decide, request_mode
from tests.factories import API, PAGE, exchange, preflight_tx, preflighted, simple_get, tx

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"


# --- The CORS check on a response (reference §1.6) ----------------------------------------


def test_missing_allow_origin_on_simple_get() -> None:
    v = decide(simple_get([("Content-Type", "application/json")]))
    assert (v.cors, v.blocked, v.stage, v.reason) == (
        True,
        True,
        "response",
        "MissingAllowOriginHeader",
    )
    assert v.failed_parameter is None
    assert v.chrome_message == (
        f"Access to fetch at '{API}/data' from origin '{PAGE}' has been blocked by CORS policy:"
        " No 'Access-Control-Allow-Origin' header is present on the requested resource."
    )
    assert v.firefox_code == "CORSMissingAllowOrigin"
    assert v.firefox_message is not None and v.firefox_message.endswith("Status code: 200.")


def test_server_error_without_headers_is_a_cors_failure_not_a_500() -> None:
    v = decide(simple_get([], status=500))
    assert (v.blocked, v.reason) == (True, "MissingAllowOriginHeader")


def test_matching_origin_passes() -> None:
    v = decide(simple_get([(ACAO, PAGE)]))
    assert (v.cors, v.blocked, v.reason) == (True, False, None)


def test_whitespace_around_the_value_is_not_part_of_it() -> None:
    assert decide(simple_get([(ACAO, "  *  ")])).blocked is False


def test_a_folded_allow_origin_is_judged_as_chromium_joins_it() -> None:
    # Measured, Chromium 156: a continuation line before the port reads as one space.
    host, _, port = PAGE.rpartition(":")
    v = decide(simple_get([(ACAO, f"{host}:\r\n {port}")]))
    assert (v.blocked, v.reason, v.failed_parameter) == (
        True,
        "MultipleAllowOriginValues",
        f"{host}: {port}",
    )
    assert decide(simple_get([(ACAO, "\r\n " + PAGE)])).blocked is False


def test_a_folded_allow_methods_list_is_one_list() -> None:
    # Measured, Chromium 156: `GET,\r\n PUT` and `GET,PUT\r\n ,` allow PUT.
    for listed in ("GET,\r\n PUT", "GET,PUT\r\n ,"):
        headers = [(ACAO, PAGE), (ACAM, listed)]
        v = decide(
            preflighted("PUT", 204, headers, actual_status=200, actual_headers=[(ACAO, PAGE)])
        )
        assert v.blocked is False, listed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (PAGE + "/", "AllowOriginMismatch"),
        ("http://localhost:5174", "AllowOriginMismatch"),
        ("https://localhost:5173", "AllowOriginMismatch"),
        ("HTTP://localhost:5173", "AllowOriginMismatch"),
        ("http://LOCALHOST:5173", "AllowOriginMismatch"),
        ("null", "AllowOriginMismatch"),
        ("localhost.test", "InvalidAllowOriginValue"),
        ("", "InvalidAllowOriginValue"),
        ('"*"', "InvalidAllowOriginValue"),
        ("**", "InvalidAllowOriginValue"),
        ("127.0.0.1:5173", "InvalidAllowOriginValue"),
        ("http://", "InvalidAllowOriginValue"),
        # Measured in the lab: GURL decodes escapes and drops tabs before it judges a host,
        # and a host ending in a number must be an IPv4 address.
        ("http://localhost.%74est:5173", "AllowOriginMismatch"),
        ("http://localhost:\t5173", "AllowOriginMismatch"),
        ("http://127.0.0.300:5173", "InvalidAllowOriginValue"),
        ("http://[zz]:5173", "InvalidAllowOriginValue"),
        (f"{PAGE}, {PAGE}", "MultipleAllowOriginValues"),
        (f"{PAGE} http://other.test", "MultipleAllowOriginValues"),
    ],
)
def test_allow_origin_value_rules(value: str, reason: str) -> None:
    v = decide(simple_get([(ACAO, value)]))
    assert (v.blocked, v.reason, v.failed_parameter) == (True, reason, value.strip())


def test_two_allow_origin_lines_are_joined_and_fail_as_multiple() -> None:
    v = decide(simple_get([(ACAO, PAGE), ("Server", "nginx"), (ACAO, PAGE)]))
    assert (v.reason, v.failed_parameter) == ("MultipleAllowOriginValues", f"{PAGE}, {PAGE}")
    # Firefox counts header lines before it compares values.
    assert v.firefox_code == "CORSMultipleAllowOriginNotAllowed"


def test_one_line_list_is_not_matching_in_firefox() -> None:
    v = decide(simple_get([(ACAO, f"{PAGE}, {PAGE}")]))
    assert v.firefox_code == "CORSAllowOriginNotMatchingOrigin"


def test_wildcard_with_credentials() -> None:
    v = decide(simple_get([(ACAO, "*"), (ACAC, "true")], credentials="include"))
    assert (v.blocked, v.reason) == (True, "WildcardOriginNotAllowed")
    assert v.firefox_code == "CORSNotSupportingCredentials"


def test_wildcard_without_credentials_passes() -> None:
    assert decide(simple_get([(ACAO, "*")], credentials="same-origin")).blocked is False


@pytest.mark.parametrize(("value", "hint"), [(None, ""), ("True", "True"), ("yes", "yes")])
def test_credentials_need_allow_credentials_true(value: str | None, hint: str) -> None:
    sent = [(ACAO, PAGE)] + ([(ACAC, value)] if value is not None else [])
    v = decide(simple_get(sent, credentials="include"))
    assert (v.blocked, v.reason, v.failed_parameter) == (True, "InvalidAllowCredentials", hint)
    assert v.firefox_code == "CORSMissingAllowCredentials"


def test_duplicated_allow_credentials_fails() -> None:
    v = decide(simple_get([(ACAO, PAGE), (ACAC, "true"), (ACAC, "true")], credentials="include"))
    assert (v.reason, v.failed_parameter) == ("InvalidAllowCredentials", "true, true")


def test_credentials_with_exact_origin_and_true_passes() -> None:
    v = decide(simple_get([(ACAO, PAGE), (ACAC, "true")], credentials="include"))
    assert v.blocked is False


def test_null_origin_matches_allow_origin_null() -> None:
    v = decide(simple_get([(ACAO, "null")], origin="null"))
    assert v.blocked is False


def test_xhr_wording_for_credentials_errors() -> None:
    v = decide(simple_get([(ACAO, "*")], credentials="include", resource_type="xhr"))
    assert v.chrome_message is not None
    assert v.chrome_message.startswith(f"Access to XMLHttpRequest at '{API}/data'")
    assert v.chrome_message.endswith("controlled by the withCredentials attribute.")


# --- Credentials mode unknown: conditional verdicts ---------------------------------------


def test_unknown_credentials_with_wildcard_is_conditional() -> None:
    v = decide(simple_get([(ACAO, "*")], credentials=None))
    assert (v.blocked, v.condition) == (None, "credentials-include")
    assert v.reason == "WildcardOriginNotAllowed"


def test_cookie_on_the_request_means_credentials_include() -> None:
    v = decide(simple_get([(ACAO, "*")], credentials=None, request_headers=[("Cookie", "a=b")]))
    assert (v.blocked, v.reason, v.credentials) == (True, "WildcardOriginNotAllowed", "include")


def test_storage_access_header_means_credentials_include() -> None:
    sent = [("Sec-Fetch-Storage-Access", "none")]
    v = decide(simple_get([(ACAO, "*")], credentials=None, request_headers=sent))
    assert (v.blocked, v.credentials) == (True, "include")


CHROME_156 = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/156.0.0.0"


def test_cross_site_chromium_request_without_storage_access_is_not_credentialed() -> None:
    sent = [("Sec-Fetch-Site", "cross-site"), ("User-Agent", CHROME_156)]
    v = decide(simple_get([(ACAO, "*")], credentials=None, request_headers=sent))
    assert (v.blocked, v.condition, v.credentials) == (False, None, "same-origin")


def test_a_later_hop_s_storage_access_outweighs_an_earlier_hop_without_it() -> None:
    # Measured (hA qj family, Chromium 156): a data: worker's credentialed fetch to its
    # page's own site sent no Sec-Fetch-Storage-Access (the header follows the site for
    # cookies, the top-level page's, not the opaque initiator that makes Sec-Fetch-Site
    # "cross-site"), the hop to another site one; its redirect's
    # `Access-Control-Allow-Credentials: TRUE` failed it.
    first, hop = "http://127.0.0.1:9000/x", API + "/h1"
    cross = [("Origin", "null"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "cross-site")]
    cross.append(("User-Agent", CHROME_156))
    out = tx("GET", first, cross, 303, [("Location", hop), (ACAO, "null"), (ACAC, "true")])
    bad = [("Location", API + "/h2"), (ACAO, "null"), (ACAC, "TRUE")]
    on = tx("GET", hop, [*cross, ("Sec-Fetch-Storage-Access", "none")], 307, bad)
    steps = (Step(first, None, out), Step(hop, None, on))
    v = decide(exchange(*steps, origin="null", credentials=None))
    assert (v.blocked, v.reason, v.credentials) == (True, "InvalidAllowCredentials", "include")


def test_a_stored_redirect_shows_the_earlier_fetch_s_credentials_not_this_one_s() -> None:
    # Measured (m15 hA mz-027c, Chromium 156): a credentialed fetch's 301 was stored; a
    # crossorigin script then took it from the HTTP cache. The flow file shows that hop's
    # request as the fetch's that stored it (sent earlier, with Sec-Fetch-Storage-Access);
    # the script's own requests say "not credentialed", and the 301's `*` let it on.
    first, hop, final = API + "/s", API + "/s/h1", API + "/s/h2"
    cross = [("Origin", PAGE), ("Sec-Fetch-Site", "cross-site"), ("User-Agent", CHROME_156)]
    out = tx("GET", first, cross, 307, [("Location", hop), (ACAO, PAGE), (ACAC, "true")])
    stored = tx(
        "GET", hop, [*cross, ("Sec-Fetch-Storage-Access", "none")], 301,
        [("Location", final), (ACAO, "*"), (ACAC, "false")],
    )  # fmt: skip
    last = tx("GET", final, cross, 200, [(ACAO, PAGE), (ACAO, "*")])
    steps = (
        Step(first, None, replace(out, started=100.0)),
        Step(hop, None, replace(stored, started=99.0)),
        Step(final, None, replace(last, started=100.2)),
    )
    v = decide(exchange(*steps, credentials=None))
    assert (v.blocked, v.reason) == (True, "MultipleAllowOriginValues")
    assert v.credentials == "same-origin"


def test_same_site_request_gives_no_credentials_evidence() -> None:
    sent = [("Sec-Fetch-Site", "same-site"), ("User-Agent", CHROME_156)]
    v = decide(simple_get([(ACAO, "*")], credentials=None, request_headers=sent))
    assert (v.blocked, v.condition) == (None, "credentials-include")


def _back_home(cookie_on: str) -> Exchange:
    """PAGE -> API (307) -> PAGE again, each hop without storage-access evidence (same-site
    hops send none); a cookie on the hop named by `cookie_on` ("first", "back", "")."""
    first, back = PAGE + "/start", API + "/hop"
    home = PAGE + "/data"
    cookie = [("Cookie", "b=1")]
    hop0 = tx("GET", first, cookie if cookie_on == "first" else [], 307, [("Location", back)])
    hop1 = tx(
        "GET", back, [("Origin", PAGE)], 307, [("Location", home), (ACAO, PAGE), (ACAC, "true")]
    )
    hop2 = tx(
        "GET",
        home,
        [("Origin", "null"), *(cookie if cookie_on == "back" else [])],
        200,
        [(ACAO, "*")],
    )
    steps = (Step(first, None, hop0), Step(back, None, hop1), Step(home, None, hop2))
    return exchange(*steps, credentials=None)


def test_cookie_back_at_the_page_origin_after_leaving_it_means_credentials_include() -> None:
    # Measured, Chromium 156: a redirect back to the page's origin carries its cookies only
    # for credentials "include" (response tainting is "cors" by then).
    v = decide(_back_home("back"))
    assert (v.blocked, v.reason, v.credentials) == (True, "WildcardOriginNotAllowed", "include")
    assert v.condition is None


def test_cookie_before_leaving_the_page_origin_says_nothing_about_credentials() -> None:
    for cookie_on in ("first", ""):
        v = decide(_back_home(cookie_on))
        assert (v.blocked, v.condition) == (None, "credentials-include")


def test_unknown_credentials_blocked_either_way_is_not_conditional() -> None:
    v = decide(simple_get([], credentials=None))
    assert (v.blocked, v.condition, v.reason) == (True, None, "MissingAllowOriginHeader")
    assert v.with_credentials is None  # the same check fails first either way


def test_unknown_credentials_names_the_check_credentials_add_first() -> None:
    # Measured, Chromium 156: a preflight that leaves out both Allow-Credentials and the
    # method is PreflightInvalidAllowCredentials for a credentialed fetch, and
    # MethodDisallowedByPreflightResponse for one without credentials.
    answer = [(ACAO, PAGE), (ACAM, "GET")]
    v = decide(preflighted("PUT", 204, answer, credentials=None))
    assert (v.blocked, v.condition, v.stage) == (True, None, "preflight")
    assert (v.reason, v.failed_parameter) == ("MethodDisallowedByPreflightResponse", "PUT")
    alternative = v.with_credentials
    assert alternative is not None
    assert (alternative.stage, alternative.reason) == (
        "preflight",
        "PreflightInvalidAllowCredentials",
    )
    assert alternative.failed_parameter == ""
    assert "'Access-Control-Allow-Credentials'" in alternative.chrome_message


def test_known_credentials_give_no_alternative() -> None:
    answer = [(ACAO, PAGE), (ACAM, "GET")]
    for mode, reason in (
        ("include", "PreflightInvalidAllowCredentials"),
        ("same-origin", "MethodDisallowedByPreflightResponse"),
    ):
        v = decide(preflighted("PUT", 204, answer, credentials=mode))
        assert (v.reason, v.with_credentials) == (reason, None)


def test_browser_naming_the_credentialed_check_settles_the_mode() -> None:
    answer = [(ACAO, PAGE), (ACAM, "GET")]
    said = BrowserVerdict(blocked=True, reason="PreflightInvalidAllowCredentials")
    v = decide(preflighted("PUT", 204, answer, credentials=None, browser=said))
    assert (v.reason, v.with_credentials, v.confirmed) == (
        "PreflightInvalidAllowCredentials",
        None,
        True,
    )


# --- Preflight (reference §1.5) -------------------------------------------------------------


def test_preflight_404_without_cors_headers_is_missing_allow_origin() -> None:
    v = decide(preflighted("POST", 404, [], announced="content-type"))
    assert (v.blocked, v.stage, v.reason) == (
        True,
        "preflight",
        "PreflightMissingAllowOriginHeader",
    )
    assert v.chrome_message is not None
    assert "Response to preflight request doesn't pass access control check: No 'Access" in (
        v.chrome_message
    )
    assert v.firefox_code == "CORSMissingAllowOrigin"


def test_preflight_404_with_cors_headers_is_invalid_status() -> None:
    v = decide(preflighted("POST", 404, [(ACAO, PAGE)], announced="content-type"))
    assert (v.reason, v.stage) == ("PreflightInvalidStatus", "preflight")
    assert v.chrome_message is not None and v.chrome_message.endswith(
        "Response to preflight request doesn't pass access control check: It does not have"
        " HTTP ok status."
    )
    assert v.firefox_code == "CORSPreflightDidNotSucceed"


def test_preflight_3xx_without_location_is_not_a_redirect() -> None:
    v = decide(preflighted("PUT", 301, [(ACAO, PAGE)]))
    assert v.reason == "PreflightInvalidStatus"


def test_preflight_redirect_is_disallowed() -> None:
    v = decide(preflighted("PUT", 301, [("Location", API + "/items/"), (ACAO, "*")]))
    assert v.reason == "PreflightDisallowedRedirect"
    assert v.firefox_code == "CORSExternalRedirectNotAllowed"


@pytest.mark.parametrize(
    ("sent", "include", "reason", "hint"),
    [
        ([(ACAO, "*")], True, "PreflightWildcardOriginNotAllowed", None),
        ([(ACAO, PAGE)], True, "PreflightInvalidAllowCredentials", ""),
        ([(ACAO, PAGE + "/")], False, "PreflightAllowOriginMismatch", PAGE + "/"),
        ([(ACAO, "api.test")], False, "PreflightInvalidAllowOriginValue", "api.test"),
        (
            [(ACAO, PAGE), (ACAO, PAGE)],
            False,
            "PreflightMultipleAllowOriginValues",
            f"{PAGE}, {PAGE}",
        ),
    ],
)
def test_preflight_flavoured_allow_origin_errors(
    sent: list[tuple[str, str]], include: bool, reason: str, hint: str | None
) -> None:
    credentials = "include" if include else "omit"
    v = decide(preflighted("PUT", 204, [*sent, (ACAM, "PUT")], credentials=credentials))
    assert (v.reason, v.failed_parameter) == (reason, hint)


def test_method_not_allowed() -> None:
    v = decide(preflighted("DELETE", 204, [(ACAO, PAGE), (ACAM, "GET, POST, PUT")]))
    assert (v.reason, v.failed_parameter) == ("MethodDisallowedByPreflightResponse", "DELETE")
    assert v.chrome_message is not None and v.chrome_message.endswith(
        "Method DELETE is not allowed by Access-Control-Allow-Methods in preflight response."
    )


def test_method_matching_is_case_sensitive() -> None:
    v = decide(preflighted("patch", 204, [(ACAO, PAGE), (ACAM, "GET, PATCH")]))
    assert (v.reason, v.failed_parameter) == ("MethodDisallowedByPreflightResponse", "patch")


def test_method_wildcard_only_without_credentials() -> None:
    assert (
        decide(
            preflighted(
                "PUT",
                204,
                [(ACAO, PAGE), (ACAM, "*")],
                actual_status=200,
                actual_headers=[(ACAO, PAGE)],
            )
        ).blocked
        is False
    )
    v = decide(
        preflighted("PUT", 204, [(ACAO, PAGE), (ACAC, "true"), (ACAM, "*")], credentials="include")
    )
    assert v.reason == "MethodDisallowedByPreflightResponse"


def test_header_not_allowed_names_the_first_in_sorted_order() -> None:
    v = decide(
        preflighted(
            "POST", 204, [(ACAO, PAGE), (ACAM, "POST")], announced="content-type,x-request-id"
        )
    )
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", "content-type")
    assert v.firefox_code == "CORSMissingAllowHeaderFromPreflight"


def test_header_matching_is_case_insensitive() -> None:
    ok = preflighted(
        "POST",
        204,
        [(ACAO, PAGE), (ACAH, "Content-Type, X-Request-ID")],
        announced="content-type,x-request-id",
        actual_status=200,
        actual_headers=[(ACAO, PAGE)],
    )
    assert decide(ok).blocked is False


def test_authorization_under_wildcard_passes_with_a_warning() -> None:
    v = decide(
        preflighted(
            "GET",
            204,
            [(ACAO, "*"), (ACAH, "*")],
            announced="authorization",
            actual_status=200,
            actual_headers=[(ACAO, "*")],
        )
    )
    assert v.blocked is False
    assert "authorization-covered-by-wildcard" in {w.id for w in v.warnings}


def test_header_wildcard_does_not_apply_with_credentials() -> None:
    v = decide(
        preflighted(
            "GET",
            204,
            [(ACAO, PAGE), (ACAC, "true"), (ACAH, "*")],
            announced="x-token",
            credentials="include",
        )
    )
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", "x-token")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (ACAM, "InvalidAllowMethodsPreflightResponse"),
        (ACAH, "InvalidAllowHeadersPreflightResponse"),
    ],
)
def test_unparsable_allow_lists(name: str, reason: str) -> None:
    v = decide(preflighted("PUT", 204, [(ACAO, PAGE), (name, "PUT, [bad]")]))
    assert v.reason == reason


def test_empty_list_elements_are_ignored() -> None:
    v = decide(
        preflighted(
            "PUT",
            204,
            [(ACAO, PAGE), (ACAM, "GET,, PUT,")],
            actual_status=200,
            actual_headers=[(ACAO, PAGE)],
        )
    )
    assert v.blocked is False


def test_preflight_checks_use_null_origin_when_tainted() -> None:
    v = decide(
        preflighted(
            "PUT",
            204,
            [(ACAO, "null"), (ACAM, "PUT")],
            origin="null",
            actual_status=200,
            actual_headers=[(ACAO, "null")],
        )
    )
    assert v.blocked is False


def test_successful_preflight_then_missing_header_on_the_actual_response() -> None:
    v = decide(
        preflighted(
            "PUT",
            204,
            [(ACAO, PAGE), (ACAM, "PUT"), ("Access-Control-Max-Age", "600")],
            actual_status=200,
            actual_headers=[],
        )
    )
    assert (v.stage, v.reason) == ("response", "MissingAllowOriginHeader")
    assert v.preflight_required and not v.preflight_cached


def test_needed_preflight_missing_from_capture_came_from_the_cache() -> None:
    url = API + "/items"
    step = Step(url, None, tx("PUT", url, [("Origin", PAGE)], 200, [(ACAO, PAGE)]))
    v = decide(exchange(step))
    assert (v.blocked, v.preflight_required, v.preflight_cached) == (False, True, True)


def test_simple_request_needs_no_preflight() -> None:
    url = API + "/form"
    sent = [
        ("Origin", PAGE),
        ("Content-Type", "text/plain;charset=UTF-8"),
        ("Accept", "*/*"),
        ("User-Agent", "Mozilla/5.0"),
        ("Sec-Fetch-Mode", "cors"),
        ("Accept-Language", "en"),
    ]
    v = decide(exchange(Step(url, None, tx("POST", url, sent, 200, [(ACAO, "*")]))))
    assert (v.blocked, v.preflight_required) == (False, False)


def test_lone_surrogates_in_request_headers_are_judged_not_fatal() -> None:
    # A HAR may say "\ud800"; readers keep undecodable bytes as "\udcff"-style escapes.
    url = API + "/x"
    for value in ("text/plain\ud800", "\udcff" * 100):
        sent = [("Origin", PAGE), ("Content-Type", value)]
        v = decide(exchange(Step(url, None, tx("POST", url, sent, 200, [(ACAO, "*")]))))
        assert v.preflight_required is True


# --- Redirects (reference §1.7) ------------------------------------------------------------


def test_cross_origin_redirect_taints_origin_to_null() -> None:
    first = API + "/old"
    second = "http://cdn.test/new"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", second), (ACAO, PAGE)])
    hop2 = tx("GET", second, [("Origin", "null")], 200, [(ACAO, PAGE)])
    v = decide(exchange(Step(first, None, hop1), Step(second, None, hop2)))
    assert (v.blocked, v.reason, v.failed_parameter) == (True, "AllowOriginMismatch", PAGE)
    assert v.stage == "response"
    assert v.chrome_message is not None
    assert f"at '{second}' (redirected from '{first}') from origin '{PAGE}'" in v.chrome_message


def test_tainted_request_passes_with_allow_origin_null_or_wildcard() -> None:
    first, second = API + "/old", "http://cdn.test/new"
    for value in ("null", "*"):
        hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", second), (ACAO, PAGE)])
        hop2 = tx("GET", second, [("Origin", "null")], 200, [(ACAO, value)])
        assert decide(exchange(Step(first, None, hop1), Step(second, None, hop2))).blocked is False


def test_redirect_response_itself_needs_cors_headers() -> None:
    first, second = API + "/old", API + "/new"
    hop1 = tx("GET", first, [("Origin", PAGE)], 301, [("Location", "/new")])
    hop2 = tx("GET", second, [("Origin", PAGE)], 200, [(ACAO, PAGE)])
    v = decide(exchange(Step(first, None, hop1), Step(second, None, hop2)))
    assert (v.stage, v.reason) == ("redirect", "MissingAllowOriginHeader")


@pytest.mark.parametrize(
    "location", ["http://[zz::1]/x", "http://[::1/x", "http://h.test:99999/x", "http://h]/x"]
)
def test_redirect_to_a_location_that_is_not_a_url_is_a_network_error(location: str) -> None:
    # §4.4 HTTP-redirect fetch step 3: a location URL that is failure is a network error.
    # Chromium's network stack fails it (ERR_INVALID_REDIRECT) before its CORS layer
    # sees the redirect, so the redirect's own CORS headers do not matter.
    url = API + "/old"
    for headers in ([("Location", location), (ACAO, PAGE)], [("Location", location)]):
        hop = tx("GET", url, [("Origin", PAGE)], 302, headers)
        v = decide(exchange(Step(url, None, hop)))
        assert (v.blocked, v.stage, v.reason) == (True, "redirect", None)
        assert v.fault is not None and "ERR_INVALID_REDIRECT" in v.fault


def test_the_twenty_first_redirect_is_a_network_error_whatever_its_headers() -> None:
    # Chromium stops at the 21st redirect (ERR_TOO_MANY_REDIRECTS) in its network stack:
    # the capture never holds the target, and the redirect's CORS headers are not read.
    def hops(count: int, last_headers: list[tuple[str, str]]) -> list[Step]:
        steps = []
        for i in range(count + 1):
            url = f"{API}/r{i}"
            headers = [("Location", f"/r{i + 1}"), (ACAO, PAGE)] if i < count else last_headers
            steps.append(Step(url, None, tx("GET", url, [("Origin", PAGE)], 302, headers)))
        return steps

    for last in ([("Location", "/next"), (ACAO, PAGE)], [("Location", "/next")]):
        v = decide(exchange(*hops(20, last)))
        assert (v.blocked, v.stage, v.reason, v.condition) == (True, "redirect", None, None)
        assert v.fault is not None and "ERR_TOO_MANY_REDIRECTS" in v.fault
    twentieth = hops(19, [("Location", "/next"), (ACAO, PAGE)])
    assert decide(exchange(*twentieth)).condition == "redirect-target-not-captured"


# Measured with `corscope lab` (headless Chromium 156 through mitmproxy): a CORS GET
# answered 302 to each Location, with and without CORS headers on the 302.
@pytest.mark.parametrize(
    ("location", "with_cors", "reason", "error"),
    [
        ("data:text/plain,hi", True, None, "net::ERR_UNSAFE_REDIRECT"),
        ("data:text/plain,hi", False, "MissingAllowOriginHeader", None),
        ("file:///etc/hosts", True, None, "net::ERR_UNSAFE_REDIRECT"),
        ("blob:http://127.0.0.9/abc", True, None, "net::ERR_UNSAFE_REDIRECT"),
        ("about:blank", True, None, "net::ERR_UNSAFE_REDIRECT"),
        ("ws://127.0.0.9/x", True, None, "net::ERR_UNKNOWN_URL_SCHEME"),
        ("ftp://127.0.0.9/x", True, "CorsDisabledScheme", None),
        ("ftp://127.0.0.9/x", False, "MissingAllowOriginHeader", None),
        ("javascript:alert(1)", True, "CorsDisabledScheme", None),
        ("foo://bar/x", True, "CorsDisabledScheme", None),
        ("http://[zz::1]/x", True, None, "net::ERR_INVALID_REDIRECT"),
    ],
)
def test_redirect_to_a_scheme_the_browser_does_not_follow(
    location: str, with_cors: bool, reason: str | None, error: str | None
) -> None:
    url = API + "/old"
    headers = [("Location", location)] + ([(ACAO, PAGE)] if with_cors else [])
    v = decide(exchange(Step(url, None, tx("GET", url, [("Origin", PAGE)], 302, headers))))
    assert (v.blocked, v.stage, v.reason, v.condition) == (True, "redirect", reason, None)
    assert (v.fault is not None and error in v.fault) if error else v.fault is None
    if reason == "CorsDisabledScheme":
        assert v.failed_url == location and v.chrome_message is not None
        assert f"(redirected from '{url}')" in v.chrome_message


def test_same_origin_cors_fetch_redirected_to_a_non_cors_scheme() -> None:
    # Measured: Chromium names the redirect CorsDisabledScheme, as for a cross-origin fetch.
    url = PAGE + "/old"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "cors")], 302, [("Location", "ftp://cdn.test/x")])
    v = decide(exchange(Step(url, None, hop)))
    assert (v.cors, v.blocked, v.stage, v.reason) == (True, True, "redirect", "CorsDisabledScheme")
    assert v.failed_url == "ftp://cdn.test/x"
    no_cors_hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", "ftp://x/")])
    assert decide(exchange(Step(url, None, no_cors_hop))).cors is False


def test_same_origin_redirect_keeps_the_origin() -> None:
    first, second = API + "/old", API + "/new"
    hop1 = tx("GET", first, [("Origin", PAGE)], 301, [("Location", "/new"), (ACAO, PAGE)])
    hop2 = tx("GET", second, [("Origin", PAGE)], 200, [(ACAO, PAGE)])
    assert decide(exchange(Step(first, None, hop1), Step(second, None, hop2))).blocked is False


def test_redirect_with_credentials_in_location() -> None:
    first = API + "/old"
    hop1 = tx(
        "GET",
        first,
        [("Origin", PAGE)],
        302,
        [("Location", "http://user:pw@cdn.test/x"), (ACAO, PAGE)],
    )
    v = decide(exchange(Step(first, None, hop1), Step("http://user:pw@cdn.test/x", None, None)))
    assert (v.reason, v.stage) == ("RedirectContainsCredentials", "redirect")


def test_userinfo_back_to_the_page_origin_after_leaving_it() -> None:
    # Measured: Chromium fails the chain once its response tainting is "cors", even though
    # the Location's origin is the page's own.
    first, back = API + "/old", "http://user:pw@localhost:5173/x"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", back), (ACAO, PAGE)])
    v = decide(exchange(Step(first, None, hop1), Step(back, None, None)))
    assert (v.blocked, v.reason, v.stage) == (True, "RedirectContainsCredentials", "redirect")


def test_userinfo_on_a_same_origin_chain_is_followed() -> None:
    first, second = PAGE + "/old", "http://user:pw@localhost:5173/new"
    hop1 = tx("GET", first, [], 302, [("Location", second)])
    hop2 = tx("GET", PAGE + "/new", [], 200, [])
    v = decide(exchange(Step(first, None, hop1), Step(PAGE + "/new", None, hop2), mode="cors"))
    assert (v.cors, v.blocked) == (False, False)


def test_same_origin_start_then_cross_origin_redirect_is_checked() -> None:
    first, second = PAGE + "/api", API + "/data"
    hop1 = tx("GET", first, [], 302, [("Location", second)])
    hop2 = tx("GET", second, [("Origin", PAGE)], 200, [])
    v = decide(exchange(Step(first, None, hop1), Step(second, None, hop2), mode="cors"))
    assert (v.cors, v.reason) == (True, "MissingAllowOriginHeader")


def test_back_to_the_page_origin_after_leaving_is_still_checked() -> None:
    first, second = API + "/bounce", PAGE + "/data"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", second), (ACAO, PAGE)])
    hop2 = tx("GET", second, [("Origin", "null")], 200, [])
    v = decide(exchange(Step(first, None, hop1), Step(second, None, hop2)))
    assert v.reason == "MissingAllowOriginHeader"


def test_redirected_preflighted_request_is_preflighted_again() -> None:
    first, second = API + "/v1/items", "http://other.test/items"
    pf1 = Preflight(preflight_tx(first, "PUT", 204, [(ACAO, PAGE), (ACAM, "PUT")]))
    hop1 = tx("PUT", first, [("Origin", PAGE)], 307, [("Location", second), (ACAO, PAGE)])
    pf2 = Preflight(preflight_tx(second, "PUT", 204, [(ACAO, PAGE), (ACAM, "PUT")], origin="null"))
    v = decide(exchange(Step(first, pf1, hop1), Step(second, pf2, None)))
    assert (v.stage, v.reason, v.failed_parameter) == (
        "preflight",
        "PreflightAllowOriginMismatch",
        PAGE,
    )


# --- Modes and schemes (reference §1.1) ---------------------------------------------------


def test_same_origin_request_is_not_cors() -> None:
    url = PAGE + "/api"
    v = decide(exchange(Step(url, None, tx("GET", url, [("Sec-Fetch-Mode", "cors")], 200, []))))
    assert (v.cors, v.blocked) == (False, False)


def test_mode_same_origin_to_another_origin() -> None:
    v = decide(simple_get([(ACAO, "*")], mode="same-origin"))
    assert v.reason == "DisallowedByMode"


def test_cors_disabled_scheme() -> None:
    url = "file:///tmp/data.json"
    v = decide(exchange(Step(url, None, None), origin="null", mode="cors"))
    assert (v.reason, v.firefox_code) == ("CorsDisabledScheme", "CORSRequestNotHttp")


def test_no_cors_is_allowed_but_opaque() -> None:
    v = decide(simple_get([], mode="no-cors"))
    assert (v.cors, v.blocked) == (False, False)
    assert [w.id for w in v.warnings] == ["no-cors-opaque"]


# --- Opaque Response Blocking on a no-cors answer (analysis/orb.py) ------------------------
# Measured with `corscope lab` (Chromium 156): <img>, <script> and <link rel=stylesheet>
# fail with net::ERR_BLOCKED_BY_ORB; a no-cors fetch() gets an empty response instead.

_ORB_FAULT = BROWSER_BLOCKS["net::ERR_BLOCKED_BY_ORB"]


def _no_cors_answer(
    response_headers: list[tuple[str, str]], sniffed: str | None, url: str = API + "/data"
) -> Transaction:
    answer = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 200, response_headers)
    assert answer.response is not None
    return replace(answer, response=replace(answer.response, sniffed=sniffed))


def test_orb_blocks_an_image_load_of_json() -> None:
    answer = _no_cors_answer([("Content-Type", "application/json")], "json")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
    assert (v.cors, v.blocked, v.reason, v.fault) == (True, True, None, _ORB_FAULT)
    assert (v.stage, v.failed_url) == ("response", API + "/data")


def test_orb_allows_what_its_sniffers_do_not_recognise() -> None:
    answer = _no_cors_answer([("Content-Type", "application/json")], "other")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="script"))
    assert (v.cors, v.blocked, v.fault) == (False, False, None)


def test_orb_hands_fetch_an_empty_response_not_an_error() -> None:
    answer = _no_cors_answer([("Content-Type", "text/html")], "html")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="fetch"))
    assert (v.blocked, v.fault) == (False, None)
    assert [w.id for w in v.warnings] == ["no-cors-opaque"]


def test_orb_on_an_unknown_destination_depends_on_it() -> None:
    answer = _no_cors_answer([("Content-Type", "application/pdf")], None)
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type=None))
    assert (v.cors, v.blocked, v.condition, v.fault) == (True, None, "orb-not-fetch", _ORB_FAULT)


def test_orb_without_the_body_it_needs_says_so() -> None:
    answer = _no_cors_answer([("Content-Type", "text/plain")], None)
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
    assert (v.blocked, v.condition) == (None, "orb-body-unknown")


def test_orb_let_through_what_the_browser_loaded_without_an_error() -> None:
    # A browser's HAR that records each load's own error wrote none: ORB did not block, what
    # the body (not kept) or the destination ("other") would have said.
    answer = _no_cors_answer([("Content-Type", "text/javascript")], None)
    for kind in ("script", "other", None):
        x = exchange(Step(answer.request.url, None, answer), resource_type=kind)
        undecided = decide(x)
        assert (undecided.blocked, undecided.fault) == (None, _ORB_FAULT)
        v = decide(replace(x, context=replace(x.context, finished=True)))
        assert (v.blocked, v.condition, v.fault) == (False, None, None)


def test_orb_decided_by_the_headers_is_not_overruled_by_a_finished_load() -> None:
    headers = [("Content-Type", "text/html"), ("X-Content-Type-Options", "nosniff")]
    answer = _no_cors_answer(headers, None)
    x = exchange(Step(answer.request.url, None, answer), resource_type="image")
    v = decide(replace(x, context=replace(x.context, finished=True)))
    assert (v.blocked, v.fault) == (True, _ORB_FAULT)


def test_orb_blocks_on_the_headers_alone_without_a_body() -> None:
    headers = [("Content-Type", "text/html"), ("X-Content-Type-Options", "nosniff")]
    answer = _no_cors_answer(headers, None)
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="stylesheet"))
    assert (v.blocked, v.fault) == (True, _ORB_FAULT)


def test_orb_looks_only_at_the_final_url_against_the_page() -> None:
    # Chromium compares the initiator with the final URL only: back home, nothing blocks.
    hop = tx("GET", API + "/old", [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", PAGE)])
    home = _no_cors_answer([("Content-Type", "application/json")], "json", url=PAGE + "/")
    v = decide(exchange(Step(API + "/old", None, hop), Step(PAGE + "/", None, home)))
    assert v.blocked is False
    v = decide(
        exchange(Step(API + "/old", None, hop), Step(PAGE + "/", None, home), resource_type="image")
    )
    assert v.blocked is False


def test_orb_on_a_later_range_of_media_depends_on_the_first_one() -> None:
    headers = [("Content-Type", "application/octet-stream"), ("Content-Range", "bytes 9-19/99")]
    answer = _no_cors_answer(headers, "other")
    assert answer.response is not None
    answer = replace(answer, response=replace(answer.response, status=206))
    step = Step(answer.request.url, None, answer)
    v = decide(exchange(step, resource_type="video"))
    assert (v.blocked, v.condition) == (None, "orb-range-not-sniffed")
    assert decide(exchange(step, resource_type="image")).blocked is True


# Measured with the lab (Chromium 156, through mitmdump; hA nc-*): <img>, <script>, <video>,
# <link rel=stylesheet> and importScripts() whose upstream refused, closed, reset or cut the
# body short got mitmproxy's own 502 page (text/html), which ORB blocked; a no-cors fetch()
# and a beacon got an empty response.
_UPSTREAM_FAILURES = [
    # refused before any answer: no response recorded
    (None, [], "Connection refused"),
    # cut short: the upstream's head recorded beside the error
    (
        200,
        [("Content-Type", "text/javascript"), ("Content-Length", "110")],
        "HTTP/1 protocol error: peer closed connection without sending complete message body",
    ),
]


@pytest.mark.parametrize(("status", "headers", "error"), _UPSTREAM_FAILURES)
def test_orb_judges_the_proxy_error_page_an_upstream_failure_left(
    status: int | None, headers: list[tuple[str, str]], error: str
) -> None:
    answer = tx("GET", API + "/x.js", [("Sec-Fetch-Mode", "no-cors")], status, headers, error=error)
    step = Step(answer.request.url, None, answer)
    for kind in ("script", "image"):
        v = decide(exchange(step, resource_type=kind))
        assert (v.cors, v.blocked, v.reason, v.fault) == (True, True, None, _ORB_FAULT)
    # fetch(), a beacon: ORB hands the empty destination an empty response, no error
    assert decide(exchange(step, resource_type="fetch")).blocked is False
    # a page the wire does not name (an importScripts in a blob: worker sends no Referer)
    unplaced = replace(
        answer,
        request=replace(
            answer.request,
            headers=Headers.of([("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")]),
        ),
    )
    v = decide(_unplaced_exchange(unplaced, kind="script"))
    assert (v.cors, v.blocked, v.fault) == (True, True, _ORB_FAULT)


def test_orb_judges_a_redirect_cut_short_as_the_proxy_error_page() -> None:
    # The upstream's 302 head arrived, its body did not: the browser got the proxy's 502.
    moved = tx(
        "GET",
        API + "/x.js",
        [("Sec-Fetch-Mode", "no-cors")],
        302,
        [("Location", API + "/y.js"), ("Content-Length", "100")],
        error="HTTP/1 protocol error: peer closed connection without sending complete message body",
    )
    v = decide(exchange(Step(moved.request.url, None, moved), resource_type="script"))
    assert (v.blocked, v.fault) == (True, _ORB_FAULT)


def test_orb_is_not_applied_to_a_service_worker_answer() -> None:
    answer = _no_cors_answer([("Content-Type", "application/json")], "json")
    v = decide(
        exchange(
            Step(answer.request.url, None, answer), resource_type="image", source="service-worker"
        )
    )
    assert v.fault is None


# Measured with `corscope lab` (Chromium 156): fetch(url, {mode: "no-cors"}) answered 302.
@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("ftp://127.0.0.4/x", "net::ERR_UNKNOWN_URL_SCHEME"),
        ("javascript:1", "net::ERR_UNKNOWN_URL_SCHEME"),
        ("ws://127.0.0.4:1/x", "net::ERR_UNKNOWN_URL_SCHEME"),
        ("data:text/plain,hi", "net::ERR_UNSAFE_REDIRECT"),
        ("about:blank", "net::ERR_UNSAFE_REDIRECT"),
        ("file:///etc/hosts", "net::ERR_UNSAFE_REDIRECT"),
    ],
)
def test_no_cors_redirect_to_a_scheme_the_browser_does_not_follow(
    location: str, error: str
) -> None:
    url = API + "/old"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", location)])
    v = decide(exchange(Step(url, None, hop), mode="no-cors"))
    assert (v.cors, v.blocked, v.stage, v.reason) == (False, True, "redirect", None)
    assert v.fault is not None and error in v.fault
    assert [w.id for w in v.warnings] == ["no-cors-opaque"]


def test_no_cors_redirect_modes() -> None:
    # Fetch §4.1 main fetch step 12: a no-cors fetch of another origin with redirect mode
    # "manual" or "error" is a network error before it is sent (measured, Chromium 156: a
    # TypeError, no request in DevTools). Of the page's own origin it goes out, and §4.3
    # HTTP fetch makes its redirect a network error with "error" and opaque with "manual".
    from dataclasses import replace

    for url, target in ((API + "/old", API + "/new"), (PAGE + "/old", API + "/new")):
        hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 301, [("Location", target)])
        ex = exchange(Step(url, None, hop), mode="no-cors")
        erroring = decide(replace(ex, context=replace(ex.context, redirect_mode="error")))
        manual = decide(replace(ex, context=replace(ex.context, redirect_mode="manual")))
        assert (erroring.blocked, erroring.reason, manual.reason) == (True, None, None)
        if url.startswith(API):
            assert erroring.fault == manual.fault and "must follow redirects" in manual.fault
            assert manual.blocked is True
        else:
            assert erroring.stage == "redirect" and "redirect: 'error'" in erroring.fault
            assert manual.blocked is False


def test_no_cors_twenty_first_redirect_is_a_network_error() -> None:
    steps = []
    for n in range(21):
        url = f"{API}/{n}"
        hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", f"/{n + 1}")])
        steps.append(Step(url, None, hop))
    v = decide(exchange(*steps, mode="no-cors"))
    assert v.blocked is True and v.fault is not None and "ERR_TOO_MANY_REDIRECTS" in v.fault
    assert decide(exchange(*steps[:20], mode="no-cors")).blocked is False


# Measured with `corscope lab` (Chromium 156): Blink cancels these redirects before the
# target is asked (net::ERR_ABORTED, no CORS error) and the page's fetch() rejects.
def test_no_cors_redirect_to_a_url_with_credentials_is_refused() -> None:
    url, target = API + "/old", "http://lab:secret@cdn.test/x"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", target)])
    v = decide(exchange(Step(url, None, hop), mode="no-cors"))
    assert (v.cors, v.blocked, v.stage, v.reason) == (False, True, "redirect", None)
    assert v.fault is not None and "net::ERR_ABORTED" in v.fault


def test_a_browsers_har_logs_the_refused_target_without_an_answer() -> None:
    url, target = API + "/old", "http://lab:secret@cdn.test/x"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", target)])
    cancelled = Transaction(Request("GET", "http://cdn.test/x"), None, "net::ERR_ABORTED")
    ex = exchange(Step(url, None, hop), Step("http://cdn.test/x", None, cancelled), mode="no-cors")
    assert decide(ex).blocked is True


def test_a_redirect_to_credentials_the_capture_followed_was_not_refused() -> None:
    # The target on the wire: the request was one Blink lets through (an XHR looks alike).
    url, target = API + "/old", "http://lab:secret@cdn.test/x"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", target)])
    then = tx("GET", "http://cdn.test/x", [("Sec-Fetch-Mode", "no-cors")], 200, [])
    followed = exchange(Step(url, None, hop), Step("http://cdn.test/x", None, then), mode="no-cors")
    assert decide(followed).blocked is False


def test_the_pages_own_credentials_in_a_location_are_let_through() -> None:
    page = "http://lab:secret@localhost:5173/app"
    url, target = API + "/old", "http://lab:secret@localhost:5173/x"
    hop = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", target)])
    ex = exchange(Step(url, None, hop), mode="no-cors")
    assert decide(replace(ex, context=replace(ex.context, page_url=page))).blocked is False
    assert decide(ex).blocked is True


def test_same_origin_mode_redirected_to_another_origin_is_not_followed() -> None:
    url = PAGE + "/old"
    sent = [("Sec-Fetch-Mode", "same-origin")]
    away = tx("GET", url, sent, 302, [("Location", API + "/x")])
    v = decide(exchange(Step(url, None, away), mode="same-origin"))
    assert (v.cors, v.blocked, v.stage, v.reason) == (True, True, "redirect", None)
    assert v.fault is not None and "net::ERR_ABORTED" in v.fault
    home = tx("GET", url, sent, 302, [("Location", PAGE + "/new")])
    then = tx("GET", PAGE + "/new", sent, 200, [])
    stayed = decide(
        exchange(Step(url, None, home), Step(PAGE + "/new", None, then), mode="same-origin")
    )
    assert (stayed.cors, stayed.blocked) == (False, False)


def test_navigation_is_not_cors() -> None:
    assert decide(simple_get([], mode="navigate")).cors is False


@pytest.mark.parametrize(
    ("url", "announced", "client", "chromium"),
    [
        # Measured in Chromium 156: the first missing header in Blink's header-map order,
        # not the first alphabetically (which Firefox names).
        ("http://127.0.0.2:9000/s", "x-a,x-b,x-c", "fetch", "x-c"),
        ("http://127.0.0.2:9000/s", "authorization,content-type,x-a", "fetch", "authorization"),
        (
            "http://127.0.0.2:9000/s",
            "authorization,content-type,x-api-key,x-request-id",
            "fetch",
            "x-request-id",
        ),
        ("http://127.0.0.2:9000/s", "x-a,x-foo,x-i", "xhr", "x-i"),
        # Not potentially trustworthy: no UA client hints in the map, another order.
        ("http://api.test:9000/s", "if-match,x-j,x-m", "fetch", "x-m"),
    ],
)
def test_the_header_chromium_names_when_several_are_not_allowed(
    url: str, announced: str, client: str, chromium: str
) -> None:
    pf = preflight_tx(url, "PUT", 204, [(ACAO, PAGE), (ACAM, "PUT")], request_headers=announced)
    v = decide(exchange(Step(url, Preflight(pf), None), resource_type=client))
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", chromium)
    assert v.firefox_message is not None and announced.split(",")[0] in v.firefox_message


@pytest.mark.parametrize(
    ("announced", "page_names", "client", "chromium"),
    [
        # Measured in Chromium 156 (ge-049, wa-*): a worker's requests carry no UA client
        # hints, so its header map holds the script's names and User-Agent only.
        ("cache-control,range", ("range", "cache-control"), "fetch", "range"),
        (
            "content-encoding,traceparent,x-b,x-lab",
            ("x-b", "x-lab", "content-encoding", "traceparent"),
            "fetch",
            "traceparent",
        ),
        ("authorization,if-match", ("authorization", "if-match"), "fetch", "if-match"),
    ],
)
def test_a_workers_call_is_checked_without_ua_client_hints_in_the_map(
    announced: str, page_names: tuple[str, ...], client: str, chromium: str
) -> None:
    url = "http://127.0.0.2:9000/s"
    pf = preflight_tx(url, "GET", 204, [(ACAO, PAGE), (ACAM, "GET")], request_headers=announced)
    x = exchange(Step(url, Preflight(pf), None), resource_type=client)
    page = replace(x, context=replace(x.context, header_names=page_names))
    worker = replace(page, context=replace(page.context, from_worker=True))
    v = decide(worker)
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", chromium)
    assert decide(page).failed_parameter != chromium


@pytest.mark.parametrize(
    ("url", "page_names", "announced", "chromium"),
    [
        # Measured in Chromium 156: the safelisted headers the script set sit in Blink's
        # header map too and move the others' slots, though the wire never shows them.
        (
            "https://127.0.0.2:9000/s",
            ("range", "accept", "content-language", "x-api-key"),
            "content-language,x-api-key",
            "x-api-key",
        ),
        (
            "http://127.0.0.4:9000/s",
            ("range", "x-a", "dpr", "accept-language"),
            "dpr,x-a",
            "x-a",
        ),
        # A forbidden name the script tried to set never reached the map.
        ("http://127.0.0.4:9000/s", ("cookie", "dpr", "x-a"), "dpr,x-a", "dpr"),
    ],
)
def test_the_script_s_own_header_names_decide_which_one_chromium_names(
    url: str, page_names: tuple[str, ...], announced: str, chromium: str
) -> None:
    pf = preflight_tx(url, "POST", 204, [(ACAO, PAGE), (ACAM, "POST")], request_headers=announced)
    bare = exchange(Step(url, Preflight(pf), None))
    known = replace(bare, context=replace(bare.context, header_names=page_names))
    v = decide(known)
    assert (v.reason, v.failed_parameter) == ("HeaderDisallowedByPreflightResponse", chromium)


# --- Faults that are not CORS failures ------------------------------------------------------


def test_upstream_failure_is_a_fault_not_a_missing_header() -> None:
    url = API + "/down"
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error="Connection refused"))
    v = decide(exchange(step))
    assert (v.blocked, v.reason) == (True, None)
    assert v.fault is not None and "Connection refused" in v.fault
    assert v.browser_reason == "MissingAllowOriginHeader"
    # What Chromium 156 printed for the proxy's 502 (measured in the lab): the line a user
    # searches for, though no CORS rule failed.
    assert v.chrome_message == (
        f"Access to fetch at '{url}' from origin '{PAGE}' has been blocked by CORS policy:"
        " No 'Access-Control-Allow-Origin' header is present on the requested resource."
    )


def test_a_request_the_browser_hung_up_on_is_no_proxy_502() -> None:
    # Measured (Chromium 156 through mitmdump): fetch() aborted by its AbortSignal before an
    # answer; mitmproxy records "Client disconnected." and answers no one. The page got an
    # AbortError (net::ERR_ABORTED), no CORS error.
    url = API + "/slow"
    for error in ("Client disconnected.", "client disconnected"):
        step = Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error=error))
        v = decide(exchange(step))
        assert (v.blocked, v.fault, v.browser_reason) == (None, None, None), error
        assert v.condition == "response-not-captured"
        early = replace(preflight_tx(url, "DELETE", None), error=error)
        v = decide(exchange(Step(url, Preflight(early), None)))
        assert (v.blocked, v.fault, v.condition) == (None, None, "preflight-response-not-captured")
    # Headers that arrived before the browser went away are what it judged.
    late = Step(url, None, tx("GET", url, [("Origin", PAGE)], 200, [], error="client disconnected"))
    v = decide(exchange(late))
    assert (v.blocked, v.reason, v.fault) == (True, "MissingAllowOriginHeader", None)


def test_a_preflight_the_proxy_answered_itself_is_worded_as_chromium_words_it() -> None:
    url = API + "/down"
    refused = preflight_tx(url, "DELETE", None)
    refused = replace(refused, error="Connection refused")
    step = Step(url, Preflight(refused), None)
    v = decide(exchange(step))
    assert (v.blocked, v.stage, v.browser_reason) == (
        True,
        "preflight",
        "PreflightMissingAllowOriginHeader",
    )
    assert v.chrome_message == (
        f"Access to fetch at '{url}' from origin '{PAGE}' has been blocked by CORS policy:"
        " Response to preflight request doesn't pass access control check: No"
        " 'Access-Control-Allow-Origin' header is present on the requested resource."
    )


def test_a_response_cut_short_by_the_server_is_a_fault() -> None:
    # Measured in the lab: the server sent its headers (ACAO fine) and 12 of 112 body
    # bytes; mitmproxy kept both and the error, and answered Chromium with its own 502.
    url = API + "/data"
    cut = "HTTP/1 protocol error: peer closed connection without sending complete message body"
    sent = [("Origin", PAGE)]
    step = Step(url, None, tx("GET", url, sent, 200, [(ACAO, PAGE)], error=cut))
    v = decide(exchange(step))
    assert (v.blocked, v.reason, v.browser_reason) == (True, None, "MissingAllowOriginHeader")
    assert v.fault is not None and "peer closed connection" in v.fault


def test_proxy_made_502_is_a_fault() -> None:
    v = decide(
        simple_get([("Server", "mitmproxy 11.0.2"), ("Content-Type", "text/html")], status=502)
    )
    assert (v.reason, v.browser_reason) == (None, "MissingAllowOriginHeader")
    assert v.fault is not None


def test_browser_side_failure_without_response_uses_the_browsers_word() -> None:
    url = API + "/x"
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error="net::ERR_FAILED"))
    browser = BrowserVerdict(True, "MissingAllowOriginHeader")
    v = decide(exchange(step, browser=browser))
    assert (v.blocked, v.reason, v.confirmed) == (True, "MissingAllowOriginHeader", True)


def _redirected_then_failed(**context: object) -> Exchange:
    # A cached redirect that allows the origin without Allow-Credentials, then the browser's
    # generic failure on the next hop (a Playwright HAR of a font, y-081): blocked whether
    # or not credentials were sent, at the redirect with them, at the next hop without.
    url, final = API + "/font", "https://cdn.test/font"
    allow = [("Location", final), ("Access-Control-Allow-Origin", PAGE)]
    hop = tx("GET", url, [("Origin", PAGE)], 301, allow)
    failed = tx("GET", final, [("Referer", PAGE + "/")], None)
    base = exchange(Step(url, None, hop), Step(final, None, failed), credentials=None)
    return Exchange(base.id, base.steps, replace(base.context, **context))  # type: ignore[arg-type]


def test_blocked_either_way_is_not_conditional() -> None:
    v = decide(_redirected_then_failed(browser_error="net::ERR_FAILED"))
    assert (v.blocked, v.condition, v.reason) == (True, None, None)
    named = BrowserVerdict(True, "AllowOriginMismatch", "https://other.test")
    v = decide(_redirected_then_failed(browser=named))
    assert (v.blocked, v.reason, v.failed_parameter) == (
        True,
        "AllowOriginMismatch",
        "https://other.test",
    )


def test_a_failed_later_hop_leaves_the_mode_open() -> None:
    # A Playwright HAR (y-463): the first request as script saw it (no Origin), a 303 the
    # export kept, then the browser's generic failure at the next hop. Without the failure
    # that would read as an opaque no-cors load; with it, the fetch failed whatever its mode.
    url, final = API + "/go", "https://auth.test/there"
    hop = tx("GET", url, [("Accept", "*/*")], 303, [("Location", final)])
    failed = tx("GET", final, [("Accept", "*/*")], None)
    base = exchange(Step(url, None, hop), Step(final, None, failed), credentials=None)
    assert request_mode(base, PAGE) == "no-cors"
    failing = Exchange(base.id, base.steps, replace(base.context, browser_error="net::ERR_FAILED"))
    assert request_mode(failing, PAGE) is None
    assert decide(failing).blocked is not False


def test_a_later_hops_sec_fetch_mode_says_the_mode_the_first_request_does_not() -> None:
    # A Playwright HAR (nc-037b): an <img> of the page's own origin whose 301 came from the
    # HTTP cache, stored by an earlier fetch() with its `Access-Control-Allow-Origin: *`,
    # then the cross-origin target on the network, which says no-cors.
    url, final = PAGE + "/img", API + "/img"
    cached = tx("GET", url, [("Referer", PAGE + "/")], 301, [("Location", final), (ACAO, "*")])
    sent = [("Referer", PAGE + "/"), ("Sec-Fetch-Mode", "no-cors")]
    x = exchange(
        Step(url, None, cached),
        Step(final, None, tx("GET", final, sent, 200, [("Content-Type", "image/svg+xml")])),
        credentials=None,
        resource_type="image",
    )
    assert request_mode(x, PAGE) == "no-cors"
    assert decide(x).blocked is False


@pytest.mark.parametrize(("resource_type", "mode"), [("xhr", "cors"), ("eventsource", "cors")])
def test_xhr_and_eventsource_are_cors_mode_without_the_wires_headers(
    resource_type: str, mode: str
) -> None:
    # A dedicated worker's XHR in Chrome DevTools' HAR (lab cw-0018): the script's own
    # headers only, no Origin, and the answer the browser let through.
    url = API + "/data"
    answer = [(ACAO, PAGE), (ACAC, "true")]
    sent = tx("GET", url, [("User-Agent", "x"), ("Referer", PAGE + "/")], 200, answer)
    x = exchange(Step(url, None, sent), credentials=None, resource_type=resource_type)
    assert request_mode(x, PAGE) == mode
    v = decide(x)
    assert (v.cors, v.blocked, v.mode) == (True, False, mode)
    fetched = exchange(Step(url, None, sent), credentials=None, resource_type="fetch")
    assert request_mode(fetched, PAGE) == "no-cors"  # a fetch() may have asked for it


NAMED_PAGE = "http://www.app.test:8080"
"""A page on a plain-http name: Chromium sends it (and its calls to names) no Sec-Fetch-*."""


def test_a_proxied_get_without_origin_is_no_cors_whatever_its_accept() -> None:
    # Lab nh-0041: `<link rel=prefetch>` from http://www.app.test to http://api.test sends
    # a navigation's Accept (CORS-unsafe by its length) and no Origin: a no-cors load.
    url = API + "/next"
    accept = (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
    )
    sent = [("Sec-Purpose", "prefetch"), ("Accept", accept), ("Referer", NAMED_PAGE + "/")]
    answer = tx("GET", url, sent, 200, [("Content-Type", "text/css")])
    x = exchange(Step(url, None, answer), origin=NAMED_PAGE, credentials=None, resource_type=None)
    assert request_mode(x, NAMED_PAGE) == "cors"  # an export's headers may lack Origin
    v = decide(_proxied(x))
    assert (v.mode, v.blocked, v.reason) == ("no-cors", False, None)


def _named_post(content_type: str, answer: list[tuple[str, str]], **sent: str) -> Exchange:
    url = API + "/collect"
    headers = [("Content-Type", content_type), ("Origin", NAMED_PAGE), *sent.items()]
    step = Step(url, None, tx("POST", url, headers, 200, answer))
    return _proxied(exchange(step, origin=NAMED_PAGE, credentials=None, resource_type=None))


def test_a_safelisted_post_without_fetch_metadata_fails_only_in_cors_mode() -> None:
    # Lab nh-0038 (a beacon) and nh-0058 (a fetch): both POST text/plain with Origin from
    # http://www.app.test to http://api.test; Chromium let the beacon through and blocked
    # the fetch. §3.1 gives a no-cors POST Origin too, so the wire cannot tell them apart.
    v = decide(_named_post("text/plain", []))
    assert (v.blocked, v.condition, v.reason, v.mode) == (
        None,
        "cors-mode",
        "MissingAllowOriginHeader",
        None,
    )
    credentialed = decide(_named_post("text/plain", [(ACAO, NAMED_PAGE)]))
    assert (credentialed.blocked, credentialed.condition, credentialed.reason) == (
        None,
        "cors-mode-credentials-include",
        "InvalidAllowCredentials",
    )
    passed = decide(_named_post("text/plain", [(ACAO, NAMED_PAGE), (ACAC, "true")]))
    assert (passed.blocked, passed.condition, passed.mode) == (False, None, None)


def test_a_get_from_an_opaque_origin_without_fetch_metadata_fails_only_in_cors_mode() -> None:
    # Lab nr-0074 (hE, Chromium 156): a sandboxed frame on http://www.app.test made a no-cors
    # fetch of another named host; its GET carried `Origin: null` and no Sec-Fetch-Mode, and
    # Chromium let it through. A CORS-mode fetch from there looks the same on the wire.
    url = API + "/pixel"
    sent = [("Origin", "null"), ("Accept", "*/*")]
    step = Step(url, None, tx("GET", url, sent, 200, [("Content-Type", "image/png")]))
    v = decide(_proxied(exchange(step, origin=None, credentials=None, resource_type=None)))
    assert (v.blocked, v.condition, v.reason) == (None, "cors-mode", "MissingAllowOriginHeader")
    # A named page's GET with Origin is CORS mode: no-cors never sends Origin with a GET.
    named = [("Origin", NAMED_PAGE), ("Accept", "*/*")]
    step = Step(url, None, tx("GET", url, named, 200, [("Content-Type", "image/png")]))
    v = decide(_proxied(exchange(step, origin=NAMED_PAGE, credentials=None, resource_type=None)))
    assert (v.blocked, v.condition, v.mode) == (True, None, "cors")


@pytest.mark.parametrize(
    ("content_type", "sent"),
    [
        ("application/json", {}),  # no no-cors request may carry it
        ("text/plain", {"Sec-Fetch-Mode": "cors"}),  # a potentially trustworthy URL's
        ("text/plain", {"X-Requested-With": "XMLHttpRequest"}),
    ],
)
def test_a_post_only_a_cors_request_could_send_is_cors_mode(
    content_type: str, sent: dict[str, str]
) -> None:
    v = decide(_named_post(content_type, [], **sent))
    assert (v.blocked, v.condition, v.mode) == (True, None, "cors")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_document_load_without_fetch_metadata_is_a_navigation(method: str) -> None:
    # A Playwright HAR of a lab page on http://www.app.test: Chromium sends no Sec-Fetch-*
    # to a URL that is not potentially trustworthy, and Upgrade-Insecure-Requests (or a
    # form POST's Origin) would otherwise read as a CORS request with no ACAO (measured).
    url = "http://www.app.test:8000/lab/page/x"
    sent = [("Upgrade-Insecure-Requests", "1")] + ([("Origin", PAGE)] if method == "POST" else [])
    step = Step(url, None, tx(method, url, sent, 200, [("Content-Type", "text/html")]))
    v = decide(exchange(step, resource_type="document", credentials=None))
    assert (v.mode, v.cors, v.blocked) == ("navigate", False, False)


def test_response_not_captured_without_browser_word_is_unknown() -> None:
    url = API + "/x"
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], None, error="net::ERR_FAILED"))
    v = decide(exchange(step))
    assert (v.blocked, v.condition) == (None, "response-not-captured")


# --- Confirmation by the browser's own verdict ----------------------------------------------


def test_confirmed_when_the_browser_agrees() -> None:
    v = decide(simple_get([], browser=BrowserVerdict(True, "MissingAllowOriginHeader")))
    assert v.confirmed is True
    v = decide(simple_get([], browser=BrowserVerdict(False)))
    assert v.confirmed is False


# --- Warnings -----------------------------------------------------------------------------


def test_unexposed_response_headers() -> None:
    v = decide(
        simple_get([(ACAO, "*"), ("X-Total-Count", "3"), ("Content-Type", "a/b"), ("Date", "x")])
    )
    warning = {w.id: w.message for w in v.warnings}
    assert "X-Total-Count" in warning["expose-headers-missing"]
    assert "Content-Type" not in warning["expose-headers-missing"]


def test_a_servers_own_304_hides_unexposed_headers_too() -> None:
    # Measured, Chromium 156 (ga-007): an XHR answered 304, unasked, read X-Secret as null.
    v = decide(simple_get([(ACAO, "*"), ("X-Secret", "s1")], status=304))
    assert (v.blocked, [w.id for w in v.warnings]) == (False, ["expose-headers-missing"])


def test_exposed_headers_give_no_warning() -> None:
    v = decide(
        simple_get(
            [
                (ACAO, "*"),
                ("X-Total-Count", "3"),
                ("Access-Control-Expose-Headers", "x-total-count"),
            ]
        )
    )
    assert v.warnings == ()


def test_expose_wildcard_does_not_count_with_credentials() -> None:
    v = decide(
        simple_get(
            [(ACAO, PAGE), (ACAC, "true"), ("ETag", "1"), ("Access-Control-Expose-Headers", "*")],
            credentials="include",
        )
    )
    assert [w.id for w in v.warnings] == ["expose-headers-missing"]


def test_reflected_origin_on_cacheable_response_without_vary() -> None:
    v = decide(simple_get([(ACAO, PAGE), ("Cache-Control", "public, max-age=600")]))
    assert "vary-origin-missing" in {w.id for w in v.warnings}
    v = decide(
        simple_get(
            [
                (ACAO, PAGE),
                ("Cache-Control", "public, max-age=600"),
                ("Vary", "Accept-Encoding, Origin"),
            ]
        )
    )
    assert "vary-origin-missing" not in {w.id for w in v.warnings}


@pytest.mark.parametrize(
    ("max_age", "warned"),
    [(None, True), ("0", True), ("-1", True), ("10s", True), ("600", False), ("86400", False)],
)
def test_preflight_cache_warning(max_age: str | None, warned: bool) -> None:
    sent = [(ACAO, PAGE), (ACAM, "PUT")] + (
        [("Access-Control-Max-Age", max_age)] if max_age else []
    )
    v = decide(preflighted("PUT", 204, sent, actual_status=200, actual_headers=[(ACAO, PAGE)]))
    assert v.blocked is False
    assert ("preflight-not-cached" in {w.id for w in v.warnings}) is warned


# --- Provenance -------------------------------------------------------------------------------


def test_cdn_hit_is_the_source() -> None:
    v = decide(simple_get([(ACAO, "http://other.test"), ("X-Cache", "HIT"), ("Age", "12")]))
    assert (v.source, v.reason) == ("cdn-cache", "AllowOriginMismatch")


def test_hinted_source_wins() -> None:
    assert decide(simple_get([(ACAO, "*")], source="service-worker")).source == "service-worker"


# --- Local Network Access -------------------------------------------------------------------


def test_public_page_to_loopback_not_sent_needs_permission() -> None:
    url = "http://127.0.0.1:9000/status"
    step = Step(
        url, None, tx("GET", url, [("Origin", "https://8.8.8.8")], None, error="net::ERR_FAILED")
    )
    v = decide(exchange(step, origin="https://8.8.8.8"))
    # Chromium leaves the failed parameter empty and names the space in its console line.
    assert (v.reason, v.failed_parameter) == ("LocalNetworkAccessPermissionDenied", None)
    assert v.chrome_message is not None and "`loopback` address space" in v.chrome_message


def test_insecure_public_page_to_private_address() -> None:
    url = "http://192.168.1.1/api"
    step = Step(url, None, tx("GET", url, [("Origin", "http://8.8.4.4")], None))
    v = decide(exchange(step, origin="http://8.8.4.4"))
    assert (v.reason, v.failed_parameter) == ("InsecureLocalNetwork", None)
    assert v.chrome_message is not None and "more-private address space `local`" in (
        v.chrome_message
    )


def test_no_local_network_access_through_a_proxy() -> None:
    # A proxied Chromium cannot place the server, so LNA never stops the request: an
    # unanswered one in a flow file is the proxy's failure, not the browser's refusal.
    url = "http://192.168.1.1/api"
    step = Step(url, None, tx("GET", url, [("Origin", "http://8.8.4.4")], None))
    proxied = exchange(step, origin="http://8.8.4.4")
    proxied = Exchange(proxied.id, proxied.steps, replace(proxied.context, via_proxy=True))
    assert decide(proxied).reason is None


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("https://app.example", "LocalNetworkAccessPermissionDenied"),
        ("http://app.example", "InsecureLocalNetwork"),
    ],
)
def test_a_page_served_under_a_name_is_placed_by_its_documents_address(
    page: str, reason: str
) -> None:
    url = "http://localhost:3000/status"
    step = Step(url, None, tx("GET", url, [("Origin", page)], None, error="net::ERR_FAILED"))
    unplaced = exchange(step, origin=page)
    assert decide(unplaced).reason is None
    placed = Exchange(
        unplaced.id, unplaced.steps, replace(unplaced.context, page_address="93.184.215.14")
    )
    assert decide(placed).reason == reason


@pytest.mark.parametrize(
    ("page", "target"),
    [
        ("http://192.168.1.5", "http://127.0.0.1:9000/status"),  # local page to loopback
        ("http://192.0.2.7", "http://203.0.113.9/api"),  # documentation ranges are public
        ("http://127.0.0.1:5173", "http://192.168.1.1/api"),  # loopback page
    ],
)
def test_no_local_network_access_unless_a_public_page_reaches_inwards(
    page: str, target: str
) -> None:
    step = Step(target, None, tx("GET", target, [("Origin", page)], None))
    assert decide(exchange(step, origin=page)).reason is None


def test_local_network_request_that_got_an_answer_was_permitted() -> None:
    url = "http://192.168.1.1/api"
    step = Step(url, None, tx("GET", url, [("Origin", "https://8.8.8.8")], 200, [(ACAO, "*")]))
    assert decide(exchange(step, origin="https://8.8.8.8")).blocked is False


def test_unplaceable_names_give_no_local_network_verdict() -> None:
    url = "https://printer.lan/api"
    step = Step(url, None, tx("GET", url, [("Origin", "https://app.test")], None))
    v = decide(exchange(step, origin="https://app.test"))
    assert v.reason is None and v.condition == "response-not-captured"


# --- Service-worker answers -------------------------------------------------------------


def _worker_answer(kind: str | None, browser: BrowserVerdict | None = None) -> Exchange:
    from dataclasses import replace

    base = simple_get(
        [("Content-Type", "application/json")], source="service-worker", browser=browser
    )
    return replace(base, context=replace(base.context, worker_response_type=kind))


def test_worker_answers_are_not_cors_checked_again() -> None:
    for kind in ("cors", "basic", "default"):
        v = decide(_worker_answer(kind))
        assert (v.cors, v.blocked, v.reason) == (True, False, None)


def test_opaque_worker_answer_to_a_cors_request_fails_without_a_cors_error() -> None:
    v = decide(_worker_answer("opaque"))
    assert (v.blocked, v.reason, v.stage) == (True, None, "response")
    assert v.chrome_message is not None and "opaque" in v.chrome_message


def test_unknown_worker_answer_takes_the_browsers_word() -> None:
    assert decide(_worker_answer(None)).blocked is None
    assert decide(_worker_answer(None, BrowserVerdict(True))).blocked is True


def _refused_by_the_browser(kind: str, failure: str | None, mode: str = "cors") -> Exchange:
    base = _worker_answer(kind, BrowserVerdict(True))
    context = replace(base.context, worker_failure=failure, mode=mode)
    return replace(base, context=context)


def test_a_worker_answer_the_browser_refused_is_blocked_in_blinks_words() -> None:
    # Measured: a worker followed a redirect for a page fetch made with redirect: 'manual'.
    v = decide(_refused_by_the_browser("basic", "redirected-response"))
    assert (v.blocked, v.reason) == (True, None)
    assert v.chrome_message == (
        f'The FetchEvent for "{API}/data" resulted in a network error response: a redirected'
        ' response was used for a request whose redirect mode is not "follow".'
    )
    v = decide(_worker_answer("error"))
    assert v.chrome_message is not None
    assert v.chrome_message.endswith("the promise was resolved with an error response object.")


def test_a_worker_promise_rejected_after_its_fetch_passed_is_blocked() -> None:
    # The wire's answer allows the page; the worker's respondWith() promise rejected.
    v = decide(_refused_by_the_browser("cors", "rejected"))
    assert (v.blocked, v.reason, v.stage) == (True, None, "response")
    assert v.chrome_message == (
        f'The FetchEvent for "{API}/data" resulted in a network error response: the promise'
        " was rejected."
    )


def test_a_no_cors_page_fetch_the_browser_saw_fail_under_a_worker_is_blocked() -> None:
    # The worker re-fetched in cors mode and the browser failed the page's no-cors fetch.
    assert decide(_refused_by_the_browser("cors", None, mode="no-cors")).blocked is True
    opaque = replace(
        _worker_answer("opaque"), context=replace(_worker_answer("opaque").context, mode="no-cors")
    )
    assert decide(opaque).blocked is False  # an opaque answer is what no-cors asks for


def test_hops_after_a_worker_redirect_answer_are_checked() -> None:
    # Response.redirect() in the worker: the page follows the redirect itself (measured).
    worker = tx("GET", API + "/data", [("Origin", PAGE)], 302, [("Location", API + "/final")])
    final = tx("GET", API + "/final", [("Origin", PAGE)], 200, [])
    base = exchange(Step(API + "/data", None, worker), Step(API + "/final", None, final))
    answered = replace(
        base,
        context=replace(
            base.context,
            source="service-worker",
            worker_response_type="default",
            browser=BrowserVerdict(False),
        ),
    )
    v = decide(answered)
    assert (v.blocked, v.reason, v.source) == (True, "MissingAllowOriginHeader", "service-worker")


def test_manual_redirect_mode_stops_at_the_checked_redirect() -> None:
    from dataclasses import replace

    first = API + "/old"
    hop1 = tx(
        "GET", first, [("Origin", PAGE)], 302, [("Location", "http://cdn.test/"), (ACAO, PAGE)]
    )
    ex = exchange(Step(first, None, hop1))
    manual = replace(ex, context=replace(ex.context, redirect_mode="manual"))
    assert decide(manual).blocked is False
    erroring = replace(ex, context=replace(ex.context, redirect_mode="error"))
    v = decide(erroring)
    assert (v.blocked, v.reason) == (True, None) and v.fault is not None


def test_integrity_metadata_fails_an_opaque_redirect() -> None:
    # Measured (Chromium 156): fetch(url, {redirect: "manual", integrity}) whose redirect
    # passes CORS rejects with a TypeError (net::ERR_ABORTED) and no CORS error; without
    # integrity the page gets its opaque-redirect response.
    from dataclasses import replace

    first = API + "/old"
    hop1 = tx("GET", first, [("Origin", PAGE)], 307, [("Location", API + "/new"), (ACAO, PAGE)])
    ex = exchange(Step(first, None, hop1))
    manual = replace(ex, context=replace(ex.context, redirect_mode="manual", integrity=True))
    v = decide(manual)
    assert (v.blocked, v.reason, v.stage) == (True, None, "redirect")
    assert v.fault is not None and "integrity" in v.fault
    followed = replace(manual, context=replace(manual.context, redirect_mode=None))
    assert decide(followed).condition == "redirect-target-not-captured"
    refused = tx("GET", first, [("Origin", PAGE)], 307, [("Location", API + "/new")])
    cors_first = replace(manual, steps=(Step(first, None, refused),))
    assert decide(cors_first).reason == "MissingAllowOriginHeader"


def test_a_redirect_the_browser_did_not_follow_through_a_proxy_is_the_fetch_redirect_mode() -> None:
    # Measured (Chromium 156, through mitmdump): a fetch with redirect: "error" fails on a
    # redirect that passed CORS (net::ERR_FAILED, no CORS error) and "manual" resolves with
    # it; neither asks for the target, which a proxy would otherwise have recorded.
    from dataclasses import replace

    first = API + "/old"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", API + "/new"), (ACAO, PAGE)])
    ex = exchange(Step(first, None, hop1))
    proxied = replace(ex, context=replace(ex.context, via_proxy=True))
    v = decide(proxied)
    assert (v.blocked, v.condition, v.reason, v.fault) == (None, "redirect-error", None, None)
    known = replace(proxied, context=replace(proxied.context, redirect_mode="follow"))
    assert decide(known).condition == "redirect-target-not-captured"
    element = replace(proxied, context=replace(proxied.context, resource_type="image"))
    assert decide(element).condition == "redirect-target-not-captured"
    assert decide(ex).condition == "redirect-target-not-captured"  # a HAR may miss hops


def test_a_browser_failure_logged_on_a_redirect_passing_cors_is_the_fetch_redirect_mode() -> None:
    # Measured (Chromium 156, DevTools' HAR): redirect: "error" logs the 302 itself with
    # net::ERR_FAILED and no later hop; a later hop's failure would be logged on that hop.
    from dataclasses import replace

    first = API + "/old"
    hop1 = tx("GET", first, [("Origin", PAGE)], 302, [("Location", API + "/new"), (ACAO, PAGE)])
    ex = exchange(Step(first, None, hop1))
    logged = replace(ex, context=replace(ex.context, browser_error="net::ERR_FAILED"))
    v = decide(logged)
    assert (v.blocked, v.condition, v.reason) == (None, "redirect-error", None)
    aborted = replace(ex, context=replace(ex.context, browser_error="net::ERR_ABORTED"))
    assert decide(aborted).condition != "redirect-error"


def test_https_page_fetching_http_is_mixed_content() -> None:
    url = "http://api.test/data"
    step = Step(url, None, tx("GET", url, [("Origin", "https://app.test")], None))
    v = decide(exchange(step, origin="https://app.test"))
    assert (v.blocked, v.reason) == (True, None)
    assert v.fault is not None and "mixed content" in v.fault
    local = "http://127.0.0.1:8000/data"
    step = Step(local, None, tx("GET", local, [("Origin", "https://app.test")], None))
    assert decide(exchange(step, origin="https://app.test")).condition == "response-not-captured"


def test_redirect_from_an_https_page_to_plain_http_is_mixed_content() -> None:
    """Blink checks mixed content on every redirect it follows: an https API redirecting an
    https page's fetch to a plain http name is cancelled before the target is asked
    (measured, Chromium 156: net::ERR_ABORTED, Playwright's HAR says mixed-content)."""
    page = "https://app.test"
    first, target = "https://api.test/old", "http://api.test/new"
    hop = tx("GET", first, [("Origin", page)], 301, [("Location", target), (ACAO, page)])
    v = decide(exchange(Step(first, None, hop), origin=page))
    assert (v.blocked, v.reason, v.stage) == (True, None, "redirect")
    assert v.fault is not None and v.fault.startswith("blocked as mixed content")
    # The redirect itself fails CORS first (the network service checks it before Blink).
    bare = tx("GET", first, [("Origin", page)], 301, [("Location", target)])
    assert decide(exchange(Step(first, None, bare), origin=page)).reason == (
        "MissingAllowOriginHeader"
    )
    # No-cors (a script element) is blocked the same way, and listed: it left the page.
    plain = tx("GET", first, [], 302, [("Location", target)])
    v = decide(exchange(Step(first, None, plain), origin=page, mode="no-cors"))
    assert (v.cors, v.blocked) == (True, True)
    assert v.fault is not None and "mixed content" in v.fault


def test_redirect_to_plain_http_that_is_not_mixed_content_waits_for_its_target() -> None:
    """Loopback is potentially trustworthy, an http page restricts nothing, and an image
    is upgraded to https rather than blocked: the target's absence proves nothing."""
    first = "https://api.test/old"
    for page, target, kind in (
        ("https://app.test", "http://127.0.0.1:8000/new", "fetch"),
        ("http://app.test", "http://api.test/new", "fetch"),
        ("https://app.test", "http://api.test/new", "image"),
    ):
        hop = tx("GET", first, [("Origin", page)], 301, [("Location", target), (ACAO, page)])
        v = decide(exchange(Step(first, None, hop), origin=page, resource_type=kind, mode="cors"))
        assert (v.blocked, v.condition) == (None, "redirect-target-not-captured"), (page, kind)


def test_a_mocked_answer_from_the_proxy_is_judged_like_any_response() -> None:
    url = API + "/mocked"
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], 200, [], made_by_proxy=True))
    v = decide(exchange(step))
    assert (v.fault, v.reason) == (None, "MissingAllowOriginHeader")
    step = Step(url, None, tx("GET", url, [("Origin", PAGE)], 403, [], made_by_proxy=True))
    assert decide(exchange(step)).fault is not None


# --- 304: who revalidated decides what is checked --------------------------------------------

REVALIDATING = [("If-None-Match", '"v1"')]


@pytest.mark.parametrize(
    ("answered", "credentials", "reason", "hint"),
    [
        # Measured in the lab: the HTTP cache's revalidation puts the 304's headers in place
        # of the stored ones, and the CORS check reads the result.
        (
            [(ACAO, "https://prod.example.com")],
            "omit",
            "AllowOriginMismatch",
            "https://prod.example.com",
        ),
        ([(ACAO, "*")], "include", "WildcardOriginNotAllowed", None),
        ([(ACAO, PAGE), (ACAC, "false")], "include", "InvalidAllowCredentials", "false"),
        # Without its own ACAO, the stored one stands (not in the capture), but the 304's
        # ACAC replaces the stored one (measured, h2-13 and h3-03: 'false' and 'TRUE').
        ([(ACAC, "false")], "include", "InvalidAllowCredentials", "false"),
        ([(ACAC, "TRUE")], "include", "InvalidAllowCredentials", "TRUE"),
        ([(ACAC, "false")], "omit", None, None),
        # Without its own ACAO or ACAC, the stored response's values stand.
        ([("ETag", '"v1"')], "include", None, None),
        ([(ACAO, PAGE)], "include", None, None),
        ([(ACAO, "*")], "omit", None, None),
    ],
)
def test_a_304_from_the_http_cache_is_checked_with_its_own_cors_headers(
    answered: list[tuple[str, str]], credentials: str, reason: str | None, hint: str | None
) -> None:
    x = simple_get(answered, status=304, request_headers=REVALIDATING, credentials=credentials)
    v = decide(x)
    assert (v.blocked, v.reason) == (reason is not None, reason)
    if hint is not None:
        assert v.failed_parameter == hint


def _revalidated(stored: list[tuple[str, str]], answered: list[tuple[str, str]]) -> Exchange:
    x = simple_get(answered, status=304, request_headers=REVALIDATING, credentials="include")
    held = Response(200, Headers.of([("ETag", '"v1"'), *stored]))
    return replace(x, steps=(replace(x.steps[0], stored=held),))


@pytest.mark.parametrize(
    ("stored", "answered", "reason", "hint"),
    [
        # The stored answer was for another origin of the page's site, without Vary: Origin;
        # a 304 without CORS headers leaves its Allow-Origin in place (measured, h3-00).
        (
            [(ACAO, "https://other.example"), (ACAC, "true")],
            [],
            "AllowOriginMismatch",
            "https://other.example",
        ),
        # The 304's Allow-Credentials replaces the stored 'true' (measured, h2-13).
        ([(ACAO, PAGE), (ACAC, "true")], [(ACAC, "false")], "InvalidAllowCredentials", "false"),
        # The 304's Allow-Origin replaces the stored one, whose Allow-Credentials stays.
        ([(ACAO, "https://other.example"), (ACAC, "true")], [(ACAO, PAGE)], None, None),
        ([(ACAO, PAGE), (ACAC, "true")], [("X-Frame-Options", "DENY")], None, None),
    ],
)
def test_a_304_is_checked_on_the_stored_response_it_updates(
    stored: list[tuple[str, str]],
    answered: list[tuple[str, str]],
    reason: str | None,
    hint: str | None,
) -> None:
    v = decide(_revalidated(stored, answered))
    assert (v.blocked, v.reason, v.failed_parameter) == (reason is not None, reason, hint)


def test_a_304_to_an_element_with_the_caches_copy_in_the_capture_is_checked() -> None:
    # Measured (r-28): an image stored for another origin of the site, then a bare 304.
    x = _revalidated([(ACAO, "https://other.example")], [])
    x = replace(x, context=replace(x.context, resource_type="image"))
    v = decide(x)
    assert (v.blocked, v.reason) == (True, "AllowOriginMismatch")


@pytest.mark.parametrize(
    ("resource_type", "sent", "blocked"),
    [
        # Blink's memory cache set the validator among the renderer's own headers, before
        # the network stack's Accept-Encoding: Chromium skips the check on the 304
        # (measured, my-054b: a stylesheet's 304 naming another origin, allowed).
        ("stylesheet", [("If-None-Match", '"v1"'), ("Accept-Encoding", "gzip")], False),
        ("image", [("If-Modified-Since", "x"), ("Accept-Encoding", "gzip")], False),
        # The HTTP cache appends its validator after them: the updated copy is checked.
        ("stylesheet", [("Accept-Encoding", "gzip"), ("If-None-Match", '"v1"')], True),
        # fetch() is never in Blink's memory cache, wherever the validator travels.
        ("fetch", [("If-None-Match", '"v1"'), ("Accept-Encoding", "gzip")], True),
    ],
)
def test_a_304_to_blinks_memory_cache_revalidation_is_not_checked(
    resource_type: str, sent: list[tuple[str, str]], blocked: bool
) -> None:
    x = simple_get([(ACAO, "null")], status=304, request_headers=sent, credentials="omit")
    held = Response(200, Headers.of([("ETag", '"v1"'), (ACAO, "*")]))
    x = replace(x, steps=(replace(x.steps[0], stored=held),))
    x = replace(x, context=replace(x.context, resource_type=resource_type))
    assert decide(x).blocked is blocked


def test_a_304_to_a_subresource_may_be_blinks_own_revalidation_and_is_not_checked() -> None:
    x = simple_get(
        [(ACAO, "https://prod.example.com")],
        status=304,
        request_headers=REVALIDATING,
        resource_type="font",
    )
    assert decide(x).blocked is False


def test_a_304_to_a_validator_script_sent_itself_is_checked_as_it_is() -> None:
    allowed = [(ACAO, PAGE), ("Access-Control-Allow-Headers", "if-none-match")]
    x = preflighted("GET", 204, allowed, announced="if-none-match", actual_status=304)
    v = decide(x)
    assert (v.blocked, v.reason, v.stage) == (True, "MissingAllowOriginHeader", "response")


@pytest.mark.parametrize(
    ("answered", "credentials", "reason"),
    [
        ([], "omit", "MissingAllowOriginHeader"),
        ([(ACAO, PAGE)], "include", "InvalidAllowCredentials"),
    ],
)
def test_a_304_nobody_asked_for_is_checked_as_it_is(
    answered: list[tuple[str, str]], credentials: str, reason: str
) -> None:
    # Measured in Chromium 156: a server's 304 to a request without a validator.
    x = simple_get(answered, status=304, credentials=credentials)
    assert (decide(x).blocked, decide(x).reason) == (True, reason)


def _proxied(x: Exchange) -> Exchange:
    return Exchange(x.id, x.steps, replace(x.context, via_proxy=True))


def test_a_407_to_a_plain_http_request_through_a_proxy_is_cors_checked() -> None:
    # Measured in Chromium 156: the proxy's 407 without a challenge reaches CORS as it is.
    wildcard = _proxied(simple_get([("Access-Control-Allow-Origin", "*")], status=407))
    allowed = _proxied(simple_get([("Access-Control-Allow-Origin", PAGE)], status=407))
    credentialed = replace(wildcard.context, credentials="include")
    verdict = decide(Exchange(wildcard.id, wildcard.steps, credentialed))
    assert (verdict.blocked, verdict.reason) == (True, "WildcardOriginNotAllowed")
    assert decide(allowed).blocked is False


@pytest.mark.parametrize(
    ("url", "via_proxy"),
    [("https://api.example/data", True), (API + "/data", False)],
)
def test_any_other_407_is_a_network_error(url: str, via_proxy: bool) -> None:
    # Measured in Chromium 156: a 407 inside an https tunnel is net::ERR_UNEXPECTED_PROXY_AUTH,
    # with no CORS error, whatever CORS headers it carries.
    x = simple_get([("Access-Control-Allow-Origin", "*")], status=407, url=url)
    verdict = decide(_proxied(x) if via_proxy else x)
    assert (verdict.blocked, verdict.reason, verdict.browser_reason) == (True, None, None)
    assert verdict.fault is not None and "ERR_UNEXPECTED_PROXY_AUTH" in verdict.fault


def test_a_407_to_a_preflight_in_a_tunnel_is_a_network_error() -> None:
    x = preflighted("PUT", 407, [("Access-Control-Allow-Origin", PAGE)], url="https://a.test/x")
    verdict = decide(_proxied(x))
    assert (verdict.blocked, verdict.reason, verdict.stage) == (True, None, "preflight")


# --- Requests not made by fetch() or XHR (measured in Chromium 156) -------------------------


EVENT_STREAM = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache")]


def test_event_source_reconnect_needs_no_preflight() -> None:
    # Blink prevents the preflight: Last-Event-ID goes out on a plain GET.
    v = decide(
        simple_get(
            [(ACAO, PAGE)],
            request_headers=[*EVENT_STREAM, ("Last-Event-ID", "42")],
            resource_type="eventsource",
        )
    )
    assert (v.blocked, v.preflight_required) == (False, False)


def test_last_event_id_from_script_still_needs_a_preflight() -> None:
    v = decide(simple_get([(ACAO, PAGE)], request_headers=[("Last-Event-ID", "42")]))
    assert v.preflight_required is True


@pytest.mark.parametrize("resource_type", ["image", "script", "font", "eventsource", "audio"])
def test_no_expose_headers_warning_where_script_cannot_read_headers(resource_type: str) -> None:
    # A JavaScript type: a CORS-mode script may be a module script, which needs one.
    answer = [(ACAO, "*"), ("X-Request-Id", "7"), ("Content-Type", "text/javascript")]
    v = decide(simple_get(answer, resource_type=resource_type))
    assert (v.blocked, [w.id for w in v.warnings]) == (False, [])


@pytest.mark.parametrize("resource_type", ["fetch", "xhr", None])
def test_expose_headers_warning_where_script_reads_headers(resource_type: str | None) -> None:
    v = decide(simple_get([(ACAO, "*"), ("X-Request-Id", "7")], resource_type=resource_type))
    assert [w.id for w in v.warnings] == ["expose-headers-missing"]


# --- Blocks that are not CORS's ---------------------------------------------------------------


def _unanswered(url: str, error: str, *, origin: str = "https://app.test") -> Exchange:
    # As a Playwright HAR records it: script's view of the headers, no Origin, no answer.
    step = Step(url, None, tx("GET", url, [("Accept", "*/*")], None))
    base = exchange(step, origin=origin, credentials=None)
    return Exchange(base.id, base.steps, replace(base.context, browser_error=error))


def test_mixed_content_is_the_browser_block_it_is_not_an_allowed_no_cors_load() -> None:
    v = decide(_unanswered("http://api.test/x", "mixed-content"))
    assert (v.blocked, v.reason, v.mode) == (True, None, None)
    assert v.fault is not None and v.fault.startswith("blocked as mixed content")


def test_blinks_origin_block_is_the_browsers_not_a_proxys() -> None:
    # Playwright's HAR of a mode 'same-origin' fetch redirected to the API (measured): the
    # target's entry has no answer and `_failureText: "origin"`, with no proxy in between.
    url = "http://api.test/s/final"
    step = Step(url, None, tx("GET", url, [("Referer", "https://app.test/")], None, error="origin"))
    base = exchange(step, origin="https://app.test", credentials=None)
    v = decide(Exchange(base.id, base.steps, replace(base.context, browser_error="origin")))
    assert (v.blocked, v.reason, v.browser_reason) == (True, None, None)
    assert v.fault is not None and "mode 'same-origin'" in v.fault and "proxy" not in v.fault


def test_orb_blocks_a_response_chrome_recorded() -> None:
    url = "http://cdn.test/data.json"
    step = Step(url, None, tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], 200, []))
    base = exchange(step, resource_type="image")
    x = Exchange(
        base.id, base.steps, replace(base.context, browser_error="net::ERR_BLOCKED_BY_ORB")
    )
    v = decide(x)
    assert v.blocked is True and v.fault is not None and "Opaque Response Blocking" in v.fault


def test_a_refused_connection_in_a_scripts_view_export_is_a_fault_not_a_no_cors_load() -> None:
    # Playwright's HAR of a fetch() GET whose connection was refused (measured, no proxy):
    # the headers script could see, no answer, net::ERR_CONNECTION_REFUSED. It was read as
    # an allowed no-cors load.
    error = "net::ERR_CONNECTION_REFUSED"
    url = "https://api.test/x"
    step = Step(url, None, tx("GET", url, [("Accept", "*/*")], None, error=error))
    base = exchange(step, origin="https://app.test", credentials=None)
    v = decide(Exchange(base.id, base.steps, replace(base.context, browser_error=error)))
    assert (v.blocked, v.mode, v.fault) == (True, None, f"network error: {error}")
    assert not v.warnings


def _answered_then_failed(error: str | None) -> Exchange:
    base = simple_get([(ACAO, PAGE)])
    return Exchange(base.id, base.steps, replace(base.context, browser_error=error))


def test_a_body_cut_short_after_headers_that_passed_is_a_fault_not_a_block() -> None:
    # A HAR recorded without a proxy (measured, Playwright): 200 with the page's origin, then
    # net::ERR_CONTENT_LENGTH_MISMATCH; fetch() resolved, reading the body failed.
    error = "net::ERR_CONTENT_LENGTH_MISMATCH"
    v = decide(_answered_then_failed(error))
    assert (v.blocked, v.stage, v.reason, v.chrome_message) == (False, "response", None, None)
    assert v.fault is not None and v.fault.endswith(error)


def test_no_transfer_fault_for_generic_canceled_or_no_error() -> None:
    for error in (None, "net::ERR_FAILED", "net::ERR_ABORTED", "network-error"):
        v = decide(_answered_then_failed(error))
        assert (v.blocked, v.fault) == (False, None), error


def test_a_cors_failure_is_named_before_a_broken_body() -> None:
    base = simple_get([])
    failing = replace(base.context, browser_error="net::ERR_CONTENT_LENGTH_MISMATCH")
    v = decide(Exchange(base.id, base.steps, failing))
    assert (v.blocked, v.reason, v.fault) == (True, "MissingAllowOriginHeader", None)


def test_a_generic_failure_is_no_named_block() -> None:
    v = decide(_unanswered("https://api.test/x", "net::ERR_FAILED"))
    assert v.fault is None


# --- A browser's generic failure with no answer recorded (Chrome DevTools' HAR) -----------


def _failed_after(preflight_headers: list[tuple[str, str]]) -> Exchange:
    """A PUT whose preflight answered, then no answer to the PUT and the browser's generic
    net::ERR_FAILED, credentials mode unknown: how DevTools' HAR shows a failed preflight."""
    x = preflighted("PUT", 204, preflight_headers, credentials=None)
    failed = replace(x.context, browser_error="net::ERR_FAILED", never_sent=True)
    return replace(x, context=failed)


@pytest.mark.parametrize(
    ("preflight_headers", "reason", "hint"),
    [
        ([(ACAO, "*"), (ACAC, "true"), (ACAM, "PUT")], "PreflightWildcardOriginNotAllowed", None),
        # Chromium names the missing Allow-Credentials value as "".
        ([(ACAO, PAGE), (ACAM, "PUT")], "PreflightInvalidAllowCredentials", ""),
        # `*` is no wildcard for a credentialed request: a method named only by it fails.
        ([(ACAO, PAGE), (ACAC, "true"), (ACAM, "*")], "MethodDisallowedByPreflightResponse", "PUT"),
    ],
)
def test_a_failure_only_credentials_explain_names_the_credentialed_check(
    preflight_headers: list[tuple[str, str]], reason: str, hint: str | None
) -> None:
    # Measured (DevTools' own HAR export, Chromium 156): without credentials the PUT would
    # have gone out and its answer been kept; none was, so the preflight failed.
    v = decide(_failed_after(preflight_headers))
    assert (v.blocked, v.stage, v.reason, v.failed_parameter) == (True, "preflight", reason, hint)
    assert v.credentials == "include"


def test_without_the_browsers_failure_the_credentialed_check_stays_a_condition() -> None:
    x = preflighted("PUT", 204, [(ACAO, "*"), (ACAC, "true"), (ACAM, "PUT")], credentials=None)
    v = decide(x)
    assert (v.blocked, v.condition) == (None, "credentials-include")


def test_a_request_that_may_have_been_sent_leaves_the_failure_unnamed() -> None:
    # A dedicated worker's request in DevTools' HAR: failed, no answer logged, yet sent.
    x = _failed_after([(ACAO, "*"), (ACAC, "true"), (ACAM, "PUT")])
    v = decide(replace(x, context=replace(x.context, never_sent=False)))
    assert (v.blocked, v.reason, v.condition) == (True, None, None)


def test_a_preflight_that_fails_either_way_is_named_as_before() -> None:
    v = decide(_failed_after([(ACAM, "PUT")]))
    assert (v.blocked, v.reason) == (True, "PreflightMissingAllowOriginHeader")


def _failed_cache_hit(stored: list[tuple[str, str]], credentials: str | None) -> Exchange:
    # DevTools' HAR of a GET answered by the HTTP cache that failed CORS: status 0, no
    # headers, net::ERR_FAILED; the copy is the one the capture saw arrive (`Step.stored`).
    url = API + "/data"
    step = Step(url, None, tx("GET", url, [("Referer", PAGE + "/")], None))
    x = exchange(replace(step, stored=Response(200, Headers.of(stored))), credentials=credentials)
    return replace(x, context=replace(x.context, browser_error="net::ERR_FAILED"))


@pytest.mark.parametrize(
    ("stored", "credentials", "reason", "hint"),
    [
        # A copy stored for another origin of the page's site (catalogue
        # browser-cache-reused-by-other-port, measured with DevTools' own HAR export).
        ([(ACAO, "http://localhost:5174")], None, "AllowOriginMismatch", "http://localhost:5174"),
        ([(ACAO, "*")], "include", "WildcardOriginNotAllowed", None),
        # Passes without credentials, fails with them, and the browser failed it.
        ([(ACAO, "*")], None, "WildcardOriginNotAllowed", None),
    ],
)
def test_a_failed_cache_hit_is_checked_on_the_copy_the_cache_held(
    stored: list[tuple[str, str]], credentials: str | None, reason: str, hint: str | None
) -> None:
    v = decide(_failed_cache_hit(stored, credentials))
    assert (v.blocked, v.stage, v.reason, v.failed_parameter) == (True, "response", reason, hint)
    assert v.source == "http-cache"


def test_a_failed_cache_hit_on_a_stored_redirect_fails_at_the_redirect() -> None:
    # DevTools' HAR (measured, hB he-012b): the 301 the cache held had no Allow-Origin.
    x = _failed_cache_hit([], None)
    moved = Response(301, Headers.of([("Location", API + "/next")]))
    x = replace(x, steps=(replace(x.steps[0], stored=moved),))
    v = decide(x)
    assert (v.blocked, v.stage, v.reason) == (True, "redirect", "MissingAllowOriginHeader")


def test_a_failed_cache_hit_on_a_stored_redirect_that_only_credentials_fail() -> None:
    # DevTools' HAR (measured, catalogue redirect-cached-301-wildcard-credentialed-twice,
    # Chromium 156): a credentialed fetch's second try failed with no answer and provisional
    # headers; the 301 the cache held said `*`, which passes unless credentials went.
    x = _failed_cache_hit([], None)
    moved = Response(301, Headers.of([("Location", API + "/next"), (ACAO, "*")]))
    x = replace(x, steps=(replace(x.steps[0], stored=moved),))
    v = decide(x)
    assert (v.blocked, v.stage, v.reason) == (True, "redirect", "WildcardOriginNotAllowed")
    assert v.credentials == "include"


def test_a_cache_copy_that_passes_leaves_the_failure_unnamed() -> None:
    v = decide(_failed_cache_hit([(ACAO, PAGE), (ACAC, "true")], None))
    assert (v.blocked, v.reason, v.condition) == (True, None, None)


def _cached_after_preflight(stored: Response, browser: BrowserVerdict | None = None) -> Exchange:
    # The preflight on the wire and no request: the HTTP cache answered it with the copy
    # the capture saw arrive earlier (`Step.stored`; measured, hB pc4-pc-0015, 0063).
    url = API + "/data"
    passed = [(ACAO, PAGE), (ACAM, "GET"), (ACAH, "x-lab")]
    pf = Preflight(preflight_tx(url, "GET", 204, passed, request_headers="x-lab"))
    return exchange(Step(url, pf, None, stored), browser=browser)


def test_a_cache_copy_that_passes_answers_the_request_its_preflight_let_through() -> None:
    v = decide(_cached_after_preflight(Response(200, Headers.of([(ACAO, PAGE)]))))
    assert (v.blocked, v.source) == (False, "http-cache")
    # The probe saw the fetch fail: something the copy does not show; its word stands.
    refused = BrowserVerdict(blocked=True)
    v = decide(_cached_after_preflight(Response(200, Headers.of([(ACAO, PAGE)])), refused))
    assert v.blocked is True


def test_a_failed_preflight_leaves_the_cache_copy_unasked() -> None:
    # The example's per-route-cors-custom-header-405: the preflight fails, so no request
    # was made and the copy the cache held for the URL answered nothing.
    url = API + "/data"
    pf = Preflight(preflight_tx(url, "GET", 204, [], request_headers="x-lab"))
    v = decide(exchange(Step(url, pf, None, Response(200, Headers.of([(ACAO, PAGE)])))))
    assert (v.blocked, v.stage, v.source) == (True, "preflight", "network")


def test_a_cache_copy_that_fails_after_the_preflight_names_its_failure() -> None:
    v = decide(_cached_after_preflight(Response(200, Headers.of([(ACAO, "http://other:1")]))))
    assert (v.blocked, v.stage, v.reason) == (True, "response", "AllowOriginMismatch")


def test_a_cached_redirect_after_the_preflight_leads_where_the_capture_does_not_go() -> None:
    moved = Response(301, Headers.of([(ACAO, PAGE), ("Location", API + "/elsewhere")]))
    v = decide(_cached_after_preflight(moved))
    assert (v.blocked, v.condition) == (None, "response-not-captured")


# --- Blink's Content-Type checks of scripts and stylesheets (analysis/mime_block.py) ------
# Measured with the lab (Chromium 156): made after CORS and after ORB; the page's element
# fails though DevTools shows the load finished (a script) or cancelled (a stylesheet).

_NOSNIFF_FAULT = BROWSER_BLOCKS["content-type"]
_MIME_FAULT = BROWSER_BLOCKS["mime-type"]
_NOSNIFF = ("X-Content-Type-Options", "nosniff")


def test_a_stylesheet_under_nosniff_must_be_css() -> None:
    answer = _no_cors_answer([("Content-Type", "text/javascript"), _NOSNIFF], "other")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="stylesheet"))
    assert (v.cors, v.blocked, v.reason, v.fault) == (True, True, None, _NOSNIFF_FAULT)
    assert (v.stage, v.failed_url) == ("response", API + "/data")
    answer = _no_cors_answer([("Content-Type", "text/css"), _NOSNIFF], "other")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="stylesheet"))
    assert (v.blocked, v.fault) == (False, None)


def test_orb_blocks_before_blink_looks_at_the_type() -> None:
    answer = _no_cors_answer([("Content-Type", "text/csv"), _NOSNIFF], None)
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="stylesheet"))
    assert (v.blocked, v.fault) == (True, _ORB_FAULT)


def test_a_script_served_as_an_image_never_runs() -> None:
    answer = _no_cors_answer([("Content-Type", "image/png")], "other")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="script"))
    assert (v.cors, v.blocked, v.fault) == (True, True, _MIME_FAULT)
    image = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
    assert image.blocked is False


def test_a_cors_mode_script_of_another_type_fails_if_it_is_a_module() -> None:
    v = decide(
        simple_get(
            [("Access-Control-Allow-Origin", "*"), ("Content-Type", "text/plain")],
            resource_type="script",
        )
    )
    assert (v.cors, v.blocked, v.condition, v.fault) == (True, None, "module-script", _MIME_FAULT)
    v = decide(
        simple_get(
            [("Access-Control-Allow-Origin", "*"), ("Content-Type", "text/plain"), _NOSNIFF],
            resource_type="script",
        )
    )
    assert (v.blocked, v.condition, v.fault) == (True, None, _NOSNIFF_FAULT)


def test_a_cors_failure_comes_before_the_type() -> None:
    v = decide(simple_get([("Content-Type", "text/plain"), _NOSNIFF], resource_type="script"))
    assert (v.blocked, v.reason, v.fault) == (True, "MissingAllowOriginHeader", None)


def test_a_same_origin_stylesheet_refused_for_its_type_is_not_listed() -> None:
    answer = _no_cors_answer([("Content-Type", "text/plain"), _NOSNIFF], "other", PAGE + "/a.css")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="stylesheet"))
    assert (v.cors, v.blocked, v.fault) == (False, True, _NOSNIFF_FAULT)


def _redirect_then_canceled(resource_type: str) -> Exchange:
    # As a Playwright HAR of Chromium 156 holds it: a redirect that passed its CORS check,
    # then its target "canceled" (net::ERR_ABORTED) with no answer recorded.
    sent = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    hop = tx("GET", API + "/go", sent, 302, [("Location", API + "/go/final"), (ACAO, "*")])
    canceled = Transaction(Request("GET", API + "/go/final"), None, "net::ERR_ABORTED")
    ex = exchange(
        Step(API + "/go", None, hop),
        Step(API + "/go/final", None, canceled),
        mode="cors",
        resource_type=resource_type,
    )
    return replace(ex, context=replace(ex.context, browser_error="net::ERR_ABORTED"))


def test_a_canceled_redirect_target_of_a_stylesheet_stays_open() -> None:
    # A fetch the page took the redirect of (redirect: "manual") or dropped: not blocked.
    assert decide(_redirect_then_canceled("fetch")).blocked is False
    # A stylesheet Blink refused for its type is cancelled before DevTools sees the answer.
    v = decide(_redirect_then_canceled("stylesheet"))
    assert (v.blocked, v.condition) == (None, "response-not-captured")


# --- Cross-Origin-Resource-Policy on a no-cors answer (analysis/corp.py) -------------------
# Measured with the lab (Chromium 156): net::ERR_BLOCKED_BY_RESPONSE on every no-cors
# client (img, script, style, media, no-cors fetch, prefetch, beacon), a redirect's answer
# checked too; never on a CORS request.


def _corp_answer(value: str, url: str = API + "/data", status: int = 200) -> Transaction:
    headers = [("Content-Type", "image/png"), ("Cross-Origin-Resource-Policy", value)]
    answer = tx("GET", url, [("Sec-Fetch-Mode", "no-cors")], status, headers)
    assert answer.response is not None
    return replace(answer, response=replace(answer.response, sniffed="image"))


@pytest.mark.parametrize("kind", ["image", "fetch", "script", "video", None])
def test_corp_same_origin_blocks_every_no_cors_load_from_another_origin(kind: str | None) -> None:
    answer = _corp_answer("same-origin")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type=kind))
    assert (v.cors, v.blocked, v.reason) == (True, True, None)
    assert v.fault == BROWSER_BLOCKS["corp-not-same-origin"]
    assert (v.stage, v.failed_url) == ("response", API + "/data")


def test_corp_values_chromium_does_not_parse_are_no_policy() -> None:
    for value in ("Same-Origin", "same-origin, same-origin", "same-origin;", "none"):
        answer = _corp_answer(value)
        v = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
        assert v.blocked is False, value


def test_corp_same_site_blocks_another_site() -> None:
    # localhost and api.test are two sites.
    answer = _corp_answer("same-site")
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
    assert (v.blocked, v.fault) == (True, BROWSER_BLOCKS["corp-not-same-site"])


def test_corp_is_not_checked_on_a_cors_request() -> None:
    answer = tx(
        "GET",
        API + "/data",
        [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")],
        200,
        [("Access-Control-Allow-Origin", "*"), ("Cross-Origin-Resource-Policy", "same-origin")],
    )
    v = decide(exchange(Step(answer.request.url, None, answer)))
    assert (v.blocked, v.fault) == (False, None)


def test_corp_on_a_redirect_stops_the_chain_there() -> None:
    hop = tx(
        "GET",
        API + "/old",
        [("Sec-Fetch-Mode", "no-cors")],
        302,
        [("Location", PAGE + "/img"), ("Cross-Origin-Resource-Policy", "same-origin")],
    )
    v = decide(exchange(Step(API + "/old", None, hop), resource_type="image"))
    assert (v.blocked, v.stage, v.failed_url) == (True, "redirect", API + "/old")
    assert v.fault == BROWSER_BLOCKS["corp-not-same-origin"]


def test_corp_of_the_page_s_own_origin_passes_after_a_redirect_home() -> None:
    hop = tx("GET", API + "/old", [("Sec-Fetch-Mode", "no-cors")], 302, [("Location", PAGE + "/")])
    home = _corp_answer("same-origin", url=PAGE + "/")
    v = decide(exchange(Step(API + "/old", None, hop), Step(PAGE + "/", None, home)))
    assert v.blocked is False


def test_corp_names_the_block_before_orb_does() -> None:
    # Chromium checks CORP when the headers arrive, ORB later on the body (measured: a JSON
    # answer to <img> with `same-origin` is blocked as corp-not-same-origin).
    answer = _no_cors_answer(
        [("Content-Type", "application/json"), ("Cross-Origin-Resource-Policy", "same-origin")],
        "json",
    )
    v = decide(exchange(Step(answer.request.url, None, answer), resource_type="image"))
    assert (v.blocked, v.fault) == (True, BROWSER_BLOCKS["corp-not-same-origin"])


def test_corp_is_not_applied_to_a_service_worker_answer() -> None:
    answer = _corp_answer("same-origin")
    v = decide(
        exchange(
            Step(answer.request.url, None, answer), resource_type="image", source="service-worker"
        )
    )
    assert v.fault is None


def test_a_recorded_corp_reason_is_named_as_devtools_names_it() -> None:
    answer = _corp_answer("same-site")
    base = exchange(Step(answer.request.url, None, answer), resource_type="image")
    recorded = replace(base.context, browser_error="corp-not-same-site")
    v = decide(Exchange(base.id, base.steps, recorded))
    assert (v.blocked, v.fault) == (True, BROWSER_BLOCKS["corp-not-same-site"])


# --- A no-cors load whose page the wire does not name (no Origin, no Referer) -------------
# Measured with the lab (Chromium 156): a `no-referrer` page, a sandboxed or srcdoc frame, an
# https page's load of an http URL; Sec-Fetch-Site still says the page is of another origin.


def _unplaced(
    site: str, response_headers: list[tuple[str, str]], sniffed: str | None, url: str = API + "/x"
) -> Transaction:
    sent = [("Sec-Fetch-Site", site), ("Sec-Fetch-Mode", "no-cors")]
    answer = tx("GET", url, sent, 200, response_headers)
    assert answer.response is not None
    return replace(answer, response=replace(answer.response, sniffed=sniffed))


def _unplaced_exchange(*steps: Transaction, kind: str = "image") -> Exchange:
    return exchange(
        *(Step(t.request.url, None, t) for t in steps),
        origin=None,
        mode="no-cors",
        resource_type=kind,
    )


@pytest.mark.parametrize(
    ("site", "value", "fault"),
    [
        ("cross-site", "same-origin", "corp-not-same-origin"),
        ("cross-site", "same-site", "corp-not-same-site"),
        ("same-site", "same-origin", "corp-not-same-origin"),
        # Same site to fetch metadata, another port of one IP address: never CORP's.
        ("same-site", "same-site", "corp-not-same-site"),
    ],
)
def test_corp_blocks_a_load_whose_page_only_fetch_metadata_places(
    site: str, value: str, fault: str
) -> None:
    png = [("Content-Type", "image/png"), ("Cross-Origin-Resource-Policy", value)]
    url = "http://127.0.0.2:8000/x"  # an IP address: same site with nothing but itself
    v = decide(_unplaced_exchange(_unplaced(site, png, "image", url)))
    assert (v.cors, v.blocked, v.fault) == (True, True, BROWSER_BLOCKS[fault])
    assert (v.stage, v.failed_url) == ("response", url)


def test_orb_and_blink_refuse_a_load_whose_page_only_fetch_metadata_places() -> None:
    json_ = _unplaced("cross-site", [("Content-Type", "application/json")], "json")
    v = decide(_unplaced_exchange(json_))
    assert (v.cors, v.blocked, v.fault) == (True, True, _ORB_FAULT)
    css = _unplaced("cross-site", [("Content-Type", "text/css"), _NOSNIFF], "other")
    v = decide(_unplaced_exchange(css, kind="script"))
    assert (v.cors, v.blocked, v.fault) == (True, True, _NOSNIFF_FAULT)
    png = _unplaced("cross-site", [("Content-Type", "image/png")], "image")
    v = decide(_unplaced_exchange(png))
    assert (v.cors, v.blocked) == (False, False)


def test_an_unplaced_page_is_not_judged_where_fetch_metadata_cannot_tell() -> None:
    # No Sec-Fetch-Site (an http URL that is not potentially trustworthy): nothing to go by.
    answer = tx(
        "GET",
        API + "/x",
        [("Sec-Fetch-Mode", "no-cors")],
        200,
        [("Content-Type", "application/json")],
    )
    assert decide(_unplaced_exchange(answer)).cors is False
    # A hop to another origin: the later header sums up the chain, not that hop.
    hop = tx(
        "GET",
        API + "/old",
        [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")],
        302,
        [("Location", PAGE + "/x")],
    )
    home = _unplaced("cross-site", [("Content-Type", "application/json")], "json", PAGE + "/x")
    assert decide(_unplaced_exchange(hop, home)).cors is False
    # A cross-site page may be the https page of an http URL's site, which same-site admits.
    http = _unplaced(
        "cross-site",
        [("Cross-Origin-Resource-Policy", "same-site")],
        "image",
        "http://a.localhost/",
    )
    assert decide(_unplaced_exchange(http)).cors is False


@pytest.mark.parametrize(
    ("site", "target", "judged"),
    [
        # A page of another site than 127.0.0.1 is of another site than each of its ports.
        ("cross-site", "http://127.0.0.1:9000/x", True),
        ("cross-site", "https://127.0.0.1:9000/x", False),  # another scheme: the page's own?
        ("cross-site", "http://127.0.0.4:9000/x", False),  # another site: maybe the page's
        ("same-site", "http://127.0.0.1:9000/x", False),  # same site: maybe the page itself
    ],
)
def test_an_unplaced_page_of_another_site_is_so_for_every_hop_in_that_site(
    site: str, target: str, judged: bool
) -> None:
    # Measured (hB rx family): a sandboxed frame's no-cors script load redirected from one
    # port of 127.0.0.1 to another, answered JSON: ORB refused it.
    sent = [("Sec-Fetch-Site", site), ("Sec-Fetch-Mode", "no-cors")]
    hop = tx("GET", "http://127.0.0.1:8000/old", sent, 302, [("Location", target)])
    json_ = _unplaced(site, [("Content-Type", "application/json")], "json", target)
    v = decide(_unplaced_exchange(hop, json_, kind="script"))
    if judged:
        assert (v.cors, v.blocked, v.fault, v.failed_url) == (True, True, _ORB_FAULT, target)
    else:
        assert v.cors is False


def test_an_unplaced_chain_that_comes_back_is_judged_where_it_comes_back() -> None:
    # Measured (hA qa family, Chromium 156): a sandboxed frame's no-cors script load from
    # 127.0.0.2 redirected to 127.0.0.1 and back, whose final answer said CORP same-origin:
    # net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin. The first request's Sec-Fetch-Site places
    # the page away from 127.0.0.2, so from every URL of that site.
    sent = [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")]
    away, back = "http://127.0.0.1:9000/h1", "http://127.0.0.2:8000/h2"
    out = tx("GET", "http://127.0.0.2:8000/x", sent, 301, [("Location", away)])
    hop = tx("GET", away, sent, 301, [("Location", back)])
    js = [("Content-Type", "text/javascript"), ("Cross-Origin-Resource-Policy", "same-origin")]
    final = _unplaced("cross-site", js, "javascript", back)
    v = decide(_unplaced_exchange(out, hop, final, kind="script"))
    fault = BROWSER_BLOCKS["corp-not-same-origin"]
    assert (v.cors, v.blocked, v.fault, v.failed_url) == (True, True, fault, back)
    # A policy on the hop away may be met by the page (it may be of that origin): untold.
    corp_away = [("Location", back), ("Cross-Origin-Resource-Policy", "same-origin")]
    guarded = tx("GET", away, sent, 301, corp_away)
    assert decide(_unplaced_exchange(out, guarded, final, kind="script")).cors is False
    # Ending away from the first URL's site: the page may be the final URL's origin.
    ends_away = _unplaced("cross-site", js, "javascript", away)
    assert decide(_unplaced_exchange(out, ends_away, kind="script")).cors is False


def test_an_unplaced_script_refused_for_its_type_wherever_its_chain_ends() -> None:
    # Measured (hA qf family, Chromium 156): a sandboxed frame's no-cors script load from
    # 127.0.0.2 redirected to 127.0.0.4, answered image/png: ORB let it through, Blink
    # refused to run it. ORB's word is known whatever the page, so is Blink's.
    sent = [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")]
    away = "http://127.0.0.4:9000/h1"
    out = tx("GET", "http://127.0.0.2:8000/x", sent, 308, [("Location", away)])
    png = _unplaced("cross-site", [("Content-Type", "image/png")], "image", away)
    v = decide(_unplaced_exchange(out, png, kind="script"))
    assert (v.cors, v.blocked, v.fault, v.failed_url) == (True, True, _MIME_FAULT, away)
    # JSON there: ORB's word depends on whether the page is of that origin. Untold.
    json_ = _unplaced("cross-site", [("Content-Type", "application/json")], "json", away)
    assert decide(_unplaced_exchange(out, json_, kind="script")).cors is False


def _under_embedder_policy(value: str, *steps: Step) -> Exchange:
    base = exchange(*steps, resource_type="image")
    return Exchange(base.id, base.steps, replace(base.context, embedder_policy=value))


def test_require_corp_refuses_a_no_cors_answer_without_corp() -> None:
    answer = tx("GET", API + "/img", [("Sec-Fetch-Mode", "no-cors")], 200, [])
    v = decide(_under_embedder_policy("require-corp", Step(answer.request.url, None, answer)))
    fault = BROWSER_BLOCKS["corp-not-same-origin-after-defaulted-to-same-origin-by-coep"]
    assert (v.blocked, v.fault, v.stage) == (True, fault, "response")
    # A redirect's answer needs it too (measured: a 307 without CORP, then one with it).
    hop = tx("GET", API + "/a", [("Sec-Fetch-Mode", "no-cors")], 307, [("Location", "/b")])
    v = decide(_under_embedder_policy("require-corp", Step(API + "/a", None, hop)))
    assert (v.blocked, v.fault, v.stage) == (True, fault, "redirect")
    # credentialless sends a no-cors request across origins without credentials: no demand.
    v = decide(_under_embedder_policy("credentialless", Step(answer.request.url, None, answer)))
    assert v.blocked is False


def test_require_corp_is_met_by_cross_origin_and_by_the_page_s_own_origin() -> None:
    answer = _corp_answer("cross-origin")
    v = decide(_under_embedder_policy("require-corp", Step(answer.request.url, None, answer)))
    assert v.blocked is False
    home = tx("GET", PAGE + "/img", [("Sec-Fetch-Mode", "no-cors")], 200, [])
    v = decide(_under_embedder_policy("require-corp", Step(home.request.url, None, home)))
    assert v.blocked is False


@pytest.mark.parametrize(
    ("error", "block"),
    [
        ("net::ERR_BLOCKED_BY_RESPONSE.NotSameSite", "corp-not-same-site"),
        ("net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin", "corp-not-same-origin"),
        (
            "net::ERR_BLOCKED_BY_RESPONSE.NotSameOriginAfterDefaultedToSameOriginByCoep",
            "corp-not-same-origin-after-defaulted-to-same-origin-by-coep",
        ),
        (
            "net::ERR_BLOCKED_BY_RESPONSE.CoepFrameResourceNeedsCoepHeader",
            "net::ERR_BLOCKED_BY_RESPONSE",
        ),
        ("net::ERR_BLOCKED_BY_RESPONSE", "net::ERR_BLOCKED_BY_RESPONSE"),
    ],
)
def test_playwright_s_error_text_names_the_corp_block(error: str, block: str) -> None:
    # Playwright's HAR keeps no answer for it (status -1): the error text is all there is.
    request = tx("GET", API + "/img", [("Sec-Fetch-Mode", "no-cors")], None, [])
    base = exchange(Step(request.request.url, None, request), resource_type="image")
    v = decide(Exchange(base.id, base.steps, replace(base.context, browser_error=error)))
    assert (v.blocked, v.fault) == (True, BROWSER_BLOCKS[block])
