"""Fixes: every cause on every stack, the right layer, the seen values, nothing unsafe."""

from __future__ import annotations

import dataclasses

import pytest

from analysis.diagnosis.fixes import (
    CHROMIUM_MAX_AGE,
    PLACEHOLDER_ORIGIN,
    ROOT_CAUSES,
    Fix,
    FixParams,
    fix_for,
    near_miss,
)
from analysis.diagnosis.stacks import STACK_IDS, Stack

PAGE = "http://localhost:5173"
OTHER = "https://app.example.test"
API = "https://api.example.test"

# The causes the product brief names; the catalogue may hold more, never fewer.
BRIEF_CAUSES = (
    "cors-not-enabled",
    "cors-after-routes",
    "preflight-not-handled",
    "per-route-cors-without-options",
    "error-responses-without-cors",
    "wildcard-with-credentials",
    "credentials-not-allowed",
    "origin-allowlist-mismatch",
    "null-origin",
    "allow-headers-missing",
    "allow-methods-missing",
    "duplicate-allow-origin",
    "gateway-preflight-differs",
    "preflight-redirected",
    "redirect-tainted-origin",
    "cdn-cache-wrong-origin",
    "cache-missing-vary-origin",
    "browser-cache-wrong-origin",
    "service-worker-response",
    "expose-headers-missing",
    "preflight-not-cached",
    "proxy-or-upstream-fault",
    "browser-block",
    "reflected-origin-with-credentials",
    "null-origin-allowed-with-credentials",
    "regex-allowlist-lookalike",
    "wildcard-on-cookie-response",
)

# Causes about a preflight: the method and the header it asked for must be named.
PREFLIGHT_CAUSES = (
    "cors-not-enabled",
    "preflight-not-handled",
    "per-route-cors-without-options",
    "allow-headers-missing",
    "allow-methods-missing",
    "gateway-preflight-differs",
    "preflight-not-cached",
)


def stack(stack_id: str, *layers: str, evidence: tuple[str, ...] = ()) -> Stack:
    chosen = layers or ((stack_id,) if stack_id != "generic" else ())
    return Stack(stack_id, stack_id, evidence, chosen)


def params(**overrides: object) -> FixParams:
    base: dict[str, object] = {
        "api_origin": API,
        "origins": (PAGE, OTHER),
        "methods": ("PUT",),
        "headers": ("content-type", "x-request-id"),
        "expose": ("x-total-count",),
        "credentials": True,
        "paths": ("/api/users/{id}",),
        "detail": {},
    }
    base.update(overrides)
    return FixParams(**base)  # type: ignore[arg-type]


def everything(fix: Fix) -> str:
    return fix.text + "\n" + fix.snippet


def test_every_cause_in_the_brief_is_known() -> None:
    assert set(BRIEF_CAUSES) <= set(ROOT_CAUSES)


@pytest.mark.parametrize("stack_id", STACK_IDS)
@pytest.mark.parametrize("cause", ROOT_CAUSES)
def test_every_cause_renders_for_every_stack(cause: str, stack_id: str) -> None:
    fix = fix_for(cause, stack(stack_id), params())
    assert isinstance(fix, Fix)
    assert fix.stack == stack_id
    assert fix.layer
    assert len(fix.text) > 80, "plain English, not a label"
    assert PAGE in everything(fix), "names the origin that was seen"
    # The origin is known, so no stand-in for it may appear.
    assert PLACEHOLDER_ORIGIN not in fix.snippet
    assert "<origin>" not in everything(fix)
    assert "\r" not in fix.text and "\n" not in fix.text


@pytest.mark.parametrize("stack_id", STACK_IDS)
@pytest.mark.parametrize("cause", PREFLIGHT_CAUSES)
def test_preflight_causes_name_the_method_and_headers(cause: str, stack_id: str) -> None:
    fix = fix_for(cause, stack(stack_id), params())
    text = everything(fix)
    assert "PUT" in text
    assert "x-request-id" in text


@pytest.mark.parametrize("stack_id", [s for s in STACK_IDS if s != "generic"])
def test_config_snippets_carry_the_values(stack_id: str) -> None:
    fix = fix_for("cors-not-enabled", stack(stack_id), params())
    for value in (PAGE, OTHER, "x-request-id", "x-total-count"):
        assert value in fix.snippet, (stack_id, value)


IDIOMS = {
    "express": ("app.use(cors(corsOptions))", "credentials: true"),
    "nginx": ("map $http_origin $cors_origin", "always;", "return 204;"),
    "caddy": ("@cors_preflight", "respond @cors_preflight 204"),
    "apache": ("Header always set", "RewriteRule"),
    "aws-api-gateway": ("GatewayResponses", "DEFAULT_4XX", "DEFAULT_5XX"),
    "cloudflare": ("export default", "Access-Control-Allow-Origin"),
    "starlette": ("app.add_middleware(", "allow_credentials=True", "allow_methods="),
    "django": ("CORS_ALLOWED_ORIGINS", "CORS_ALLOW_CREDENTIALS = True", "CorsMiddleware"),
    "flask": ("CORS(", "supports_credentials=True"),
    "spring": ("CorsConfigurationSource", "http.cors("),
    "aspnet": ("AddCors", ".AllowCredentials()", "app.UseCors()"),
    "s3": ("put-bucket-cors", '"CORSRules"', '"AllowedMethods": ["GET", "HEAD", "POST", "PUT"]'),
    "generic": ("Access-Control-Allow-Credentials: true", "Vary: Origin"),
}


@pytest.mark.parametrize("stack_id", STACK_IDS)
def test_stack_idioms(stack_id: str) -> None:
    snippet = fix_for("cors-not-enabled", stack(stack_id), params()).snippet
    for idiom in IDIOMS[stack_id]:
        assert idiom in snippet, (stack_id, idiom)


def test_api_gateway_http_api_uses_cors_configuration() -> None:
    gw = stack("aws-api-gateway", evidence=("apigw-requestid header (API Gateway HTTP API)",))
    snippet = fix_for("cors-not-enabled", gw, params()).snippet
    assert "CorsConfiguration" in snippet
    assert "AllowOrigins" in snippet and PAGE in snippet


def test_s3_names_only_methods_a_bucket_rule_accepts() -> None:
    fix = fix_for("allow-methods-missing", stack("s3"), params(methods=("PATCH", "PUT")))
    assert '"AllowedMethods": ["GET", "HEAD", "POST", "PUT"]' in fix.snippet
    assert "cannot name PATCH" in fix.snippet


def test_s3_behind_cloudfront_keys_the_cache_by_origin() -> None:
    alone = fix_for("cors-not-enabled", stack("s3"), params()).snippet
    fronted = fix_for("cors-not-enabled", stack("s3", "cloudfront", "s3"), params())
    assert "CloudFront" not in alone
    assert "Managed-CORS-S3Origin" in fronted.snippet
    assert "cache policy" in fronted.snippet


def test_a_revalidated_copy_asks_for_cors_headers_on_304s() -> None:
    stored = fix_for("browser-cache-wrong-origin", stack("express"), params(detail={}))
    assert "Nothing reached the network" in stored.text
    revalidated = fix_for(
        "browser-cache-wrong-origin",
        stack("express"),
        params(detail={"value": OTHER, "revalidated": "304"}),
    )
    assert "304" in revalidated.text and "Nothing reached the network" not in revalidated.text
    assert "Vary: Origin" in revalidated.text


def test_fix_is_frozen() -> None:
    fix = fix_for("cors-not-enabled", stack("express"), params())
    with pytest.raises(dataclasses.FrozenInstanceError):
        fix.layer = "nginx"  # type: ignore[misc]


# --- Which layer ----------------------------------------------------------------------------


def test_duplicate_keeps_the_app_and_changes_the_proxy() -> None:
    fix = fix_for("duplicate-allow-origin", stack("express", "nginx", "express"), params())
    assert (fix.layer, fix.leave_alone) == ("nginx", "express")
    assert "add_header" in fix.snippet
    assert "proxy_hide_header Access-Control-Allow-Origin" in fix.snippet  # the other way round
    assert "nginx" in fix.text and "Express" in fix.text


def test_duplicate_behind_cloudflare_and_nginx_blames_the_proxy_next_to_the_app() -> None:
    fix = fix_for(
        "duplicate-allow-origin", stack("express", "cloudflare", "nginx", "express"), params()
    )
    assert (fix.layer, fix.leave_alone) == ("nginx", "express")


def test_duplicate_names_the_layers_the_rule_found() -> None:
    fix = fix_for(
        "duplicate-allow-origin",
        stack("express", "cloudflare", "nginx", "express"),
        params(detail={"layers": "cloudflare, express"}),
    )
    assert (fix.layer, fix.leave_alone) == ("cloudflare", "express")
    assert "Transform Rules" in fix.snippet


def test_duplicate_behind_api_gateway() -> None:
    fix = fix_for(
        "duplicate-allow-origin", stack("express", "aws-api-gateway", "express"), params()
    )
    assert (fix.layer, fix.leave_alone) == ("aws-api-gateway", "express")


def test_duplicate_with_only_a_proxy_known_keeps_the_proxy_header() -> None:
    fix = fix_for("duplicate-allow-origin", stack("nginx"), params())
    assert fix.layer == "nginx"
    assert fix.leave_alone is None
    assert "proxy_hide_header" in fix.snippet


def test_duplicate_inside_the_app() -> None:
    fix = fix_for("duplicate-allow-origin", stack("express"), params())
    assert fix.layer == "express"
    assert "res.append" in fix.snippet


def test_gateway_preflight_differs_changes_the_gateway() -> None:
    fix = fix_for(
        "gateway-preflight-differs", stack("express", "aws-api-gateway", "express"), params()
    )
    assert (fix.layer, fix.leave_alone) == ("aws-api-gateway", "express")
    assert "OPTIONS" in fix.text


def test_gateway_preflight_differs_picks_the_proxy_next_to_the_app() -> None:
    fix = fix_for(
        "gateway-preflight-differs", stack("express", "cloudflare", "nginx", "express"), params()
    )
    assert (fix.layer, fix.leave_alone) == ("nginx", "express")
    assert "if ($request_method = OPTIONS)" in fix.snippet


def test_gateway_preflight_differs_without_a_proxy_blames_the_framework() -> None:
    fix = fix_for("gateway-preflight-differs", stack("express"), params())
    assert fix.layer == "express"
    assert "Express answers it by itself" in fix.text


def test_proxy_fault_from_the_recording_proxy_certificate() -> None:
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "nginx", "express"),
        params(detail={"fault": "the proxy answered 502 itself (certificate verify failed)"}),
    )
    assert (fix.layer, fix.leave_alone) == ("mitmproxy", "express")
    assert "ssl_insecure" in fix.snippet
    assert "no CORS setting can fix" in fix.text


def test_proxy_fault_behind_nginx_points_at_its_upstream() -> None:
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "nginx", "express"),
        params(detail={"made_by": "nginx", "status": "502"}),
    )
    assert fix.layer == "express"
    assert fix.leave_alone is None  # the app is the one to look at; its CORS is not the issue
    assert "nginx" in fix.text


def test_proxy_fault_connection_refused_names_the_first_layer() -> None:
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "cloudflare", "nginx", "express"),
        params(detail={"fault": "upstream failed: connection refused"}),
    )
    assert (fix.layer, fix.leave_alone) == ("cloudflare", "express")
    assert fix.snippet.splitlines()[-1].startswith("curl -v")


def test_a_redirect_the_browser_does_not_follow_is_fixed_at_the_redirect() -> None:
    fault = "redirected to a URL of scheme ftp: (net::ERR_UNKNOWN_URL_SCHEME)"
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "nginx", "express"),
        params(detail={"fault": fault, "stage": "redirect"}),
    )
    assert fix.layer == "nginx"
    assert "redirect the browser does not follow" in fix.text and fault in fix.text
    assert "certificate" not in fix.text and "connection" not in fix.text


def test_a_407_from_the_server_is_fixed_where_it_is_sent() -> None:
    fault = (
        "the server answered 407 … the browser failed the request (net::ERR_UNEXPECTED_PROXY_AUTH)"
    )
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "nginx", "express"),
        params(detail={"fault": fault}),
    )
    assert fix.layer == "express"
    assert "401" in fix.text and "reports no CORS error" in fix.text
    assert "certificate" not in fix.text and "error page" not in fix.text


def test_proxy_fault_on_an_unknown_stack() -> None:
    fix = fix_for("proxy-or-upstream-fault", stack("generic"), params())
    assert fix.layer == "server"


@pytest.mark.parametrize(
    ("layers", "expected", "marker"),
    [
        (("cloudflare", "nginx", "express"), "cloudflare", "Cache Rules"),
        (("cloudfront", "aws-api-gateway"), "cloudfront", "HeaderBehavior: whitelist"),
        (("fastly", "nginx"), "fastly", "req.hash += req.http.Origin"),
        (("nginx", "express"), "nginx", "proxy_cache_key"),
        ((), "cdn", "Origin"),
    ],
)
def test_cdn_cache_names_the_cache_layer(
    layers: tuple[str, ...], expected: str, marker: str
) -> None:
    owner = next((x for x in reversed(layers) if x in STACK_IDS), "generic")
    fix = fix_for("cdn-cache-wrong-origin", Stack(owner, owner, (), layers), params())
    assert fix.layer == expected
    assert marker in fix.snippet
    assert "Vary: Origin" in fix.text


def test_fix_goes_into_the_app_and_leaves_the_proxy_alone() -> None:
    fix = fix_for("cors-not-enabled", stack("express", "nginx", "express"), params())
    assert (fix.layer, fix.leave_alone) == ("express", "nginx")
    assert "Leave nginx alone" in fix.text


def test_page_side_causes_change_the_page() -> None:
    fix = fix_for(
        "preflight-redirected",
        stack("django"),
        params(detail={"redirect_to": "https://api.example.test/api/users/7/?token=s3cret"}),
    )
    assert fix.layer == "page"
    assert "https://api.example.test/api/users/7/" in fix.snippet
    assert "s3cret" not in fix.snippet, "tokens in captured URLs stay out of snippets"
    assert "APPEND_SLASH" in fix.text
    assert fix_for("service-worker-response", stack("flask"), params()).layer == "service-worker"
    assert fix_for("redirect-tainted-origin", stack("flask"), params()).layer == "page"


# --- Cause-specific content -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "origin", "expected"),
    [
        ("http://localhost:5173/", PAGE, "trailing slash"),
        ("http://localhost:3000", PAGE, "port"),
        ("https://localhost:5173", PAGE, "scheme"),
        ("https://www.example.test", "https://example.test", "www."),
        ("https://App.Example.test", "https://app.example.test", "case"),
        ("http://a.test, http://b.test", "http://b.test", "whole allow-list"),
        ("https://other.test", PAGE, "different origin"),
    ],
)
def test_near_miss(configured: str, origin: str, expected: str) -> None:
    assert expected in near_miss(configured, origin)
    fix = fix_for(
        "origin-allowlist-mismatch",
        stack("express"),
        params(origins=(origin,), detail={"configured": configured}),
    )
    assert expected in fix.text
    assert configured in fix.text
    assert f'origin: ["{origin.lower()}"]' in fix.snippet or origin in fix.snippet


def test_near_miss_from_the_rule_wins() -> None:
    fix = fix_for(
        "origin-allowlist-mismatch",
        stack("django"),
        params(detail={"near_miss": "port", "configured": "http://localhost:3000"}),
    )
    assert "differ by: port" in fix.text
    assert "list every port" in fix.text


def test_allowlist_that_echoed_nothing_reads_as_a_sentence() -> None:
    # The allow-list left the header out (MissingAllowOriginHeader): nothing to compare.
    fix = fix_for(
        "origin-allowlist-mismatch",
        stack("express"),
        params(detail={"near_miss": "not in the allow-list"}),
    )
    assert "it leaves Access-Control-Allow-Origin out for them." in fix.text
    assert "it which" not in fix.text
    assert "differ by" not in fix.text
    assert "The origin is not on the allow-list: add it." in fix.text


def test_wildcard_with_credentials_never_suggests_a_wildcard() -> None:
    for stack_id in STACK_IDS:
        fix = fix_for("wildcard-with-credentials", stack(stack_id), params(credentials=False))
        assert '"*"' not in fix.snippet, stack_id
        assert "Access-Control-Allow-Credentials" in fix.text


def test_null_origin_is_never_allowed() -> None:
    for cause in ("null-origin", "null-origin-allowed-with-credentials"):
        for stack_id in STACK_IDS:
            fix = fix_for(cause, stack(stack_id), params(origins=("null", PAGE)))
            assert '"null"' not in fix.snippet, (cause, stack_id)
            assert "Origin: null" in fix.text or "Origin: null" in fix.snippet


def test_null_origin_alone_suggests_public_wildcard_without_credentials() -> None:
    fix = fix_for("null-origin", stack("express"), params(origins=("null",)))
    assert 'origin: "*"' in fix.snippet
    assert "credentials: true" not in fix.snippet
    assert "sandboxed iframe" in fix.text


def test_lookalike_is_dropped_from_the_allow_list() -> None:
    fix = fix_for(
        "regex-allowlist-lookalike",
        stack("starlette"),
        params(
            origins=("https://example.test.evil.test", "https://example.test"),
            detail={
                "accepted": "https://example.test.evil.test",
                "resembles": "https://example.test",
            },
        ),
    )
    assert "https://example.test.evil.test" in fix.text
    assert "evil" not in fix.snippet
    assert r"^(https://example\.test)$" in fix.snippet


def test_reflection_names_the_setting_that_reflects() -> None:
    fix = fix_for("reflected-origin-with-credentials", stack("django"), params())
    assert "CORS_ALLOW_ALL_ORIGINS" in fix.text
    fix = fix_for("reflected-origin-with-credentials", stack("nginx"), params())
    assert "$http_origin" in fix.text


def test_preflight_cache_asks_for_chromiums_cap() -> None:
    for stack_id in STACK_IDS:
        fix = fix_for("preflight-not-cached", stack(stack_id), params())
        assert str(CHROMIUM_MAX_AGE) in fix.snippet, stack_id
    assert "2 hours" in fix.text


def test_lower_case_method_gets_the_case_hint() -> None:
    fix = fix_for("allow-methods-missing", stack("express"), params(methods=("patch",), detail={}))
    assert "'PATCH'" in fix.text
    assert "case-sensitive" in fix.text


def test_authorization_is_listed_by_name() -> None:
    fix = fix_for("allow-headers-missing", stack("flask"), params(headers=("authorization",)))
    assert '"authorization"' in fix.snippet
    assert "never covers Authorization" in fix.text


def test_error_responses_idioms() -> None:
    nginx = fix_for("error-responses-without-cors", stack("nginx"), params()).snippet
    assert nginx.count("always;") >= 4
    starlette = fix_for("error-responses-without-cors", stack("starlette"), params()).snippet
    assert "asgi_app = CORSMiddleware(" in starlette
    express = fix_for("error-responses-without-cors", stack("express"), params()).snippet
    assert express.index("app.use(cors(corsOptions))") < express.index("app.use(errorHandler)")


def test_per_route_express_routes_options() -> None:
    fix = fix_for(
        "per-route-cors-without-options",
        stack("express"),
        params(paths=("/api/users/{id}", "/api/items")),
    )
    assert 'app.options("/api/users/:id", cors(corsOptions));' in fix.snippet
    assert 'app.options("/api/items", cors(corsOptions));' in fix.snippet


def test_unknown_cause_degrades_to_generic_advice() -> None:
    fix = fix_for("some-new-cause", stack("express"), params())
    assert "some-new-cause" in fix.text
    assert "app.use(cors(" in fix.snippet


def test_no_origins_seen_uses_a_visible_placeholder() -> None:
    fix = fix_for("cors-not-enabled", stack("express"), params(origins=()))
    assert PLACEHOLDER_ORIGIN in fix.snippet


# --- Values from the network ---------------------------------------------------------------

HOSTILE_ORIGIN = 'http://evil.test"); require("child_process").exec("id'
HOSTILE_HEADER = "x-a$(id)"


@pytest.mark.parametrize("stack_id", STACK_IDS)
@pytest.mark.parametrize("cause", ROOT_CAUSES)
def test_hostile_values_stay_out_of_snippets(cause: str, stack_id: str) -> None:
    fix = fix_for(
        cause,
        stack(stack_id),
        params(
            origins=(PAGE, HOSTILE_ORIGIN, "http://x.test\r\nSet-Cookie: a=b"),
            headers=("content-type", HOSTILE_HEADER, "x-b\nx-c"),
            expose=("x-total-count", "x-${jndi}"),
            paths=("/api/a\r\nInjected: 1",),
            detail={
                "configured": "a\nb",
                "value": "v\u2028w",
                "redirect_to": "javascript:alert(1)",
            },
        ),
    )
    for bad in ("child_process", "$(id)", "${jndi}", "javascript:", "Set-Cookie: a=b"):
        assert bad not in fix.snippet, (bad, fix.snippet)
    assert "\r" not in fix.text and "\n" not in fix.text and "\u2028" not in fix.text
    assert all("\r" not in line for line in fix.snippet.splitlines())
    assert PAGE in everything(fix)


def test_odd_origins_are_named_in_the_text() -> None:
    fix = fix_for("cors-not-enabled", stack("express"), params(origins=(PAGE, HOSTILE_ORIGIN)))
    assert "Not put into the snippet" in fix.text
    assert HOSTILE_ORIGIN in fix.text  # shown as text: the HTML renderer escapes it


def test_redirect_to_a_non_http_scheme_is_fixed_where_the_redirect_is_made() -> None:
    fix = fix_for(
        "non-http-scheme",
        stack("nginx"),
        params(detail={"redirect_to": "ftp://files.test/x", "status": "302"}),
    )
    assert fix.layer == "nginx"
    assert "ftp://files.test/x" in fix.text and "Location:" in fix.snippet


def test_a_body_that_broke_off_is_fixed_where_the_answer_is_made() -> None:
    fault = (
        "the body's transfer failed after headers that passed CORS:"
        " net::ERR_CONTENT_LENGTH_MISMATCH"
    )
    fix = fix_for(
        "proxy-or-upstream-fault",
        stack("express", "nginx", "express"),
        params(detail={"fault": fault, "stage": "transfer"}),
    )
    assert fix.layer == "nginx"
    assert "passed CORS, but the body broke off" in fix.text and fault in fix.text
    assert "certificate" not in fix.text and "error page" not in fix.text


def test_mixed_content_on_a_redirect_is_fixed_in_the_server_that_redirects() -> None:
    """The page called https; the API's Location sent it to plain http."""
    fix = fix_for(
        "browser-block",
        stack("express", "nginx", "express"),
        params(detail={"fault": "blocked as …", "block": "mixed-content", "stage": "redirect"}),
    )
    assert fix.layer == "express" and "redirect to https URLs" in fix.text
    assert "not a CORS failure" in fix.text


@pytest.mark.parametrize(
    ("block", "layer", "needle"),
    [
        ("mixed-content", "page", "over https"),
        ("csp", "page", "connect-src"),
        ("net::ERR_BLOCKED_BY_ORB", "express", "Express answer with the image"),
        ("net::ERR_BLOCKED_BY_RESPONSE", "express", "Cross-Origin-Resource-Policy: cross-origin"),
        # CORP blocks predicted from the wire name the value to change.
        ("corp-not-same-origin", "express", "cross-origin (same-site where"),
        ("corp-not-same-site", "express", "cross-origin instead of same-site"),
        (
            "corp-not-same-origin-after-defaulted-to-same-origin-by-coep",
            "express",
            "sends Cross-Origin-Embedder-Policy",
        ),
        ("origin", "page", "mode 'cors'"),
        ("not-a-known-block", "page", "console says why"),
    ],
)
def test_a_block_the_browser_made_itself_is_fixed_where_it_comes_from(
    block: str, layer: str, needle: str
) -> None:
    fix = fix_for(
        "browser-block",
        stack("express", "nginx", "express"),
        params(detail={"fault": "blocked by …", "block": block}),
    )
    assert fix.layer == layer and needle in fix.text
    assert "not a CORS failure" in fix.text
    assert "certificate" not in fix.text and "error page" not in fix.text


@pytest.mark.parametrize(
    ("blocks", "layer", "needles"),
    [
        # Measured (lab catalogue, Chromium 156): one API's answers to a sandboxed page's
        # scripts, one refused by ORB, one by its CORP: both fixed in the API's server.
        (
            "net::ERR_BLOCKED_BY_ORB, corp-not-same-origin",
            "express",
            ("Express answer with the image", "cross-origin (same-site where"),
        ),
        ("csp, corp-not-same-site", "page", ("connect-src", "cross-origin instead of same-site")),
    ],
)
def test_a_finding_of_several_blocks_names_each_and_one_layer_only_if_all_agree(
    blocks: str, layer: str, needles: tuple[str, ...]
) -> None:
    fix = fix_for(
        "browser-block",
        stack("express", "nginx", "express"),
        params(detail={"fault": "blocked by …, blocked by …", "block": blocks}),
    )
    assert fix.layer == layer
    assert all(needle in fix.text for needle in needles), fix.text
    assert "console says why" not in fix.text
