"""What the preflight answer allows: headers, methods, a gateway answering it instead of
the app, redirects of the preflight, and how long it is cached."""

from __future__ import annotations

from dataclasses import replace

from analysis.lab.catalogue.build import (
    ACAH,
    AWS_HTTP_API,
    AWS_REST_API,
    CADDY,
    CREDS,
    DJANGO,
    EXPRESS,
    JSON_POST,
    JSON_PUT,
    NGINX,
    REFLECT,
    SPRING,
    SPRING_VARY,
    VARY,
    WERKZEUG,
    at,
    blocked,
    call,
    django_preflight,
    express_preflight,
    flask_preflight,
    ok,
    preflight,
    redirect,
    spring_preflight,
)
from analysis.lab.spec import ALLOWED, Route, Scenario

HINTS_PAST_1024 = (
    ("Accept", "a" * 128),
    ("Accept-Language", "a" * 128),
    ("Content-Language", "a" * 128),
    ("Content-Type", "text/plain;x=" + "b" * 115),
    ("DPR", "1." + "0" * 126),
    ("Width", "1" * 128),
    ("Viewport-Width", "1" * 128),
    ("RTT", "1" * 128),
    ("Device-Memory", "8"),
)
"""Four 128-byte values of the spec's safelisted names and 513 bytes of the client hints
Chromium also safelists by value (cors.cc IsCorsSafelistedHeader): 1025 bytes in all, one
past the 1024 that Fetch §4.4 allows, so every one of them is announced."""

ALLOW_HEADERS = (
    Scenario(
        id="allow-headers-missing-content-type",
        title="JSON POST: nginx's hand-written OPTIONS answer has no Access-Control-Allow-Headers",
        cause="allow-headers-missing",
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", preflight(NGINX, methods="GET, POST", allow_headers=None)),
            Route("POST", ok(REFLECT, VARY, NGINX)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "content-type"),
        key_row=True,
        fix_layer="nginx",
    ),
    Scenario(
        id="allow-headers-missing-authorization",
        title="Express cors({allowedHeaders: ['Content-Type']}): Authorization not listed",
        cause="allow-headers-missing",
        visit=at(call(headers=(("Authorization", "Bearer lab-token"),))),
        routes=(
            Route("OPTIONS", express_preflight(allowed_headers="Content-Type")),
            Route("GET", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "authorization"),
        fix_layer="express",
    ),
    Scenario(
        id="allow-headers-missing-custom",
        title="flask-cors allow_headers without the custom X-Request-Id",
        cause="allow-headers-missing",
        visit=at(call(headers=(("X-Request-Id", "lab-3"),))),
        routes=(
            Route(
                "OPTIONS",
                flask_preflight(
                    allow="GET, HEAD, OPTIONS", allow_headers="Content-Type, Authorization"
                ),
            ),
            Route("GET", ok(REFLECT, VARY, WERKZEUG)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-request-id"),
        key_row=True,
        fix_layer="flask",
    ),
    Scenario(
        id="allow-headers-xhr-requested-with",
        title="jQuery-style XHR sends X-Requested-With; CORS_ALLOW_HEADERS replaced the default",
        cause="allow-headers-missing",
        visit=at(call(client="xhr", headers=(("X-Requested-With", "XMLHttpRequest"),))),
        routes=(
            Route("OPTIONS", django_preflight(allow_headers="content-type")),
            Route("GET", ok(REFLECT, ("Vary", "origin"), *DJANGO)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-requested-with"),
        fix_layer="django",
    ),
    Scenario(
        id="allow-headers-wildcard-with-credentials",
        title="Caddy answers ACAH * to a credentialed request: a literal name there",
        cause="allow-headers-missing",
        visit=at(call(credentials="include", headers=(("X-Request-Id", "lab-4"),))),
        routes=(
            Route("OPTIONS", preflight(CADDY, CREDS, allow_headers="*")),
            Route("GET", ok(REFLECT, CREDS, VARY, CADDY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-request-id"),
        fix_layer="caddy",
    ),
    Scenario(
        id="control-allow-headers-wildcard-authorization",
        title="Authorization under ACAH * without credentials: Chromium still accepts it",
        cause="none",
        visit=at(call(headers=(("Authorization", "Bearer lab-token"),))),
        routes=(
            Route("OPTIONS", preflight(allow_headers="*")),
            Route("GET", ok(REFLECT, VARY)),
        ),
        expected=ALLOWED,
        notes="Spec says fail; Chromium (CorsNonWildcardRequestHeadersSupport off) allows.",
    ),
    Scenario(
        id="allow-headers-range-uppercase-unit",
        title="GET with Range: BYTES=0-; the unit is case-sensitive, so it is preflighted",
        cause="allow-headers-missing",
        visit=at(call(headers=(("Range", "BYTES=0-"),))),
        routes=(
            Route("OPTIONS", express_preflight(allowed_headers="Content-Type")),
            Route("GET", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "range"),
        notes="Fetch §2.2.2 simple range header value: `bytes` matched byte for byte.",
        fix_layer="express",
    ),
    Scenario(
        id="allow-headers-range-position-2-63",
        title="GET with Range from 2^63-1: past what Chromium 156 safelists, so preflighted",
        cause="allow-headers-missing",
        visit=at(call(headers=(("Range", "bytes=9223372036854775807-"),))),
        routes=(
            Route(
                "OPTIONS",
                flask_preflight(
                    allow="GET, HEAD, OPTIONS", allow_headers="Content-Type, Authorization"
                ),
            ),
            Route("GET", ok(REFLECT, VARY, WERKZEUG)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "range"),
        notes="The spec safelists any number of digits; Chromium 156 measures unsafe from "
        "2^63-1 on (bytes=9223372036854775806- is still safelisted).",
        fix_layer="flask",
    ),
    Scenario(
        id="allow-headers-safelisted-past-1024-bytes",
        title="Safelisted values and client hints add up to 1025 bytes: Accept is announced",
        cause="allow-headers-missing",
        visit=at(call(headers=HINTS_PAST_1024)),
        routes=(
            Route(
                "OPTIONS",
                preflight(
                    NGINX,
                    methods="GET, POST",
                    allow_headers="Accept-Language, Content-Language, Content-Type, DPR, "
                    "Width, Viewport-Width, RTT, Device-Memory",
                ),
            ),
            Route("GET", ok(REFLECT, VARY, NGINX)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "accept"),
        notes="Every name past the 1024 bytes is unsafe, the spec's safelisted ones too; "
        "nginx lists all of them but Accept.",
        fix_layer="nginx",
    ),
    Scenario(
        id="control-range-reserialized-by-cache",
        title="Range: Bytes=5-10 is preflighted; the HTTP cache sends it on as bytes=5-10",
        cause="none",
        visit=at(call(headers=(("Range", "Bytes=5-10"),))),
        routes=(
            Route("OPTIONS", express_preflight(max_age="600")),
            Route("GET", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=ALLOWED,
        notes="The preflight announces `range`; net/http/partial_data.cc re-serializes the "
        "value after the CORS check, so the actual request on the wire says bytes=5-10.",
    ),
)

ALLOW_METHODS = (
    Scenario(
        id="allow-methods-missing-put",
        title="Express cors({methods: ['GET', 'POST']}): PUT not allowed",
        cause="allow-methods-missing",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", express_preflight(methods="GET,POST")),
            Route("PUT", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "PUT"),
        key_row=True,
        fix_layer="express",
    ),
    Scenario(
        id="allow-methods-missing-delete",
        title="flask-cors methods without DELETE",
        cause="allow-methods-missing",
        visit=at(call(method="DELETE")),
        routes=(
            Route("OPTIONS", flask_preflight(allow="DELETE, OPTIONS", methods="GET, POST, PUT")),
            Route("DELETE", ok(REFLECT, VARY, WERKZEUG)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "DELETE"),
        fix_layer="flask",
    ),
    Scenario(
        id="allow-methods-patch-lower-case",
        title="fetch(method: 'patch') is sent as 'patch'; the cors package's default lists PATCH",
        cause="allow-methods-missing",
        visit=at(replace(JSON_PUT, method="patch")),
        routes=(
            Route("OPTIONS", express_preflight()),
            Route("patch", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "patch"),
        fix_layer="express",
    ),
    Scenario(
        id="allow-methods-wildcard-with-credentials",
        title="nginx answers ACAM * to a credentialed request: a literal method name there",
        cause="allow-methods-missing",
        visit=at(replace(JSON_PUT, credentials="include")),
        routes=(
            Route("OPTIONS", preflight(NGINX, CREDS, methods="*")),
            Route("PUT", ok(REFLECT, CREDS, VARY, NGINX)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "PUT"),
        fix_layer="nginx",
    ),
    Scenario(
        id="control-allow-methods-put",
        title="PUT listed in Access-Control-Allow-Methods",
        cause="none",
        visit=at(JSON_PUT),
        routes=(Route("OPTIONS", preflight()), Route("PUT", ok(REFLECT, VARY))),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-allow-methods-folded",
        title="Access-Control-Allow-Methods folded over two lines: 'GET,' then ' PUT'",
        cause="none",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(methods="GET,\r\n PUT")),
            Route("PUT", ok(REFLECT, VARY)),
        ),
        expected=ALLOWED,
        notes="net/http/http_util.cc AssembleRawHeaders joins a continuation line with one "
        "space: `GET, PUT`, a valid list.",
    ),
)

# API gateways (AWS API Gateway, nginx in front of an app) often answer OPTIONS
# themselves, from their own configuration, while the app behind them answers the actual
# request. Each scenario first makes a simple call that the app answers, as a page does.
GATEWAY = (
    Scenario(
        id="gateway-preflight-wildcard-credentials",
        title="API Gateway REST API's 'Enable CORS' mock answers ACAO *; Express echoes",
        cause="gateway-preflight-differs",
        before=(at(call(credentials="include")),),
        visit=at(replace(JSON_PUT, credentials="include")),
        routes=(
            Route(
                "OPTIONS",
                preflight(
                    *AWS_REST_API,
                    CREDS,
                    origin="*",
                    methods="DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT",
                    allow_headers=(
                        "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"
                    ),
                    max_age=None,
                    status=200,
                ),
            ),
            Route("GET", ok(REFLECT, CREDS, VARY, EXPRESS, *AWS_REST_API)),
            Route("PUT", ok(REFLECT, CREDS, VARY, EXPRESS, *AWS_REST_API)),
        ),
        expected=blocked("PreflightWildcardOriginNotAllowed"),
        fix_layer="aws-api-gateway",
        fix_leave_alone="express",
    ),
    Scenario(
        id="gateway-preflight-missing-header",
        title="nginx answers OPTIONS itself with fewer headers than Express accepts (X-Api-Key)",
        cause="gateway-preflight-differs",
        before=(at(),),
        visit=at(call(headers=(("X-Api-Key", "lab-key"),))),
        routes=(
            Route(
                "OPTIONS",
                preflight(
                    NGINX, allow_headers="Content-Type, Authorization", methods="GET, POST, OPTIONS"
                ),
            ),
            Route("GET", ok(REFLECT, VARY, (ACAH, "*"), NGINX, EXPRESS)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-api-key"),
        fix_layer="nginx",
        fix_leave_alone="express",
    ),
    Scenario(
        id="gateway-preflight-static-origin",
        title="API Gateway HTTP API's CORS config names the production origin; Express echoes",
        cause="gateway-preflight-differs",
        before=(at(),),
        visit=at(JSON_PUT),
        routes=(
            Route(
                "OPTIONS",
                preflight(
                    AWS_HTTP_API,
                    origin="https://app.example.com",
                    methods="GET,PUT",
                    allow_headers="content-type",
                    max_age="300",
                ),
            ),
            Route("GET", ok(REFLECT, VARY, EXPRESS, AWS_HTTP_API)),
            Route("PUT", ok(REFLECT, VARY, EXPRESS, AWS_HTTP_API)),
        ),
        expected=blocked("PreflightAllowOriginMismatch", "https://app.example.com"),
        fix_layer="aws-api-gateway",
        fix_leave_alone="express",
    ),
)

PREFLIGHT_REDIRECT = (
    Scenario(
        id="preflight-redirect-http-to-https",
        title="nginx's http server block redirects OPTIONS to https",
        cause="preflight-redirected",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", redirect(301, "{api_https}{path}", NGINX), on="api"),
            Route("OPTIONS", express_preflight(NGINX), on="api_https"),
            Route("PUT", ok(REFLECT, VARY, NGINX, EXPRESS)),
        ),
        expected=blocked("PreflightDisallowedRedirect"),
        key_row=True,
        fix_layer="page",
    ),
    Scenario(
        id="preflight-redirect-trailing-slash",
        title="Flask strict_slashes: OPTIONS redirected (308) to the path with a trailing slash",
        cause="preflight-redirected",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", redirect(308, "{api}{path}/", REFLECT, VARY, WERKZEUG)),
            Route("OPTIONS", flask_preflight(), sub="/"),
            Route("PUT", ok(REFLECT, VARY, WERKZEUG)),
        ),
        expected=blocked("PreflightDisallowedRedirect"),
        fix_layer="page",
    ),
    Scenario(
        id="control-put-redirected-same-origin",
        title="Preflight fine, PUT answered 301 to the same API origin: followed",
        cause="none",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight()),
            Route("PUT", redirect(301, "{api}{path}/final", REFLECT, VARY)),
            Route("OPTIONS", preflight(), sub="/final"),
            Route("PUT", ok(REFLECT, VARY), sub="/final"),
        ),
        expected=ALLOWED,
    ),
)

PREFLIGHT_CACHE = (
    Scenario(
        id="preflight-without-max-age-repeated",
        title="Three PUTs; the cors package sends no Access-Control-Max-Age: kept only 5 s",
        cause="preflight-not-cached",
        visit=at(replace(JSON_PUT, repeat=3)),
        routes=(Route("OPTIONS", express_preflight()), Route("PUT", ok(REFLECT, VARY, EXPRESS))),
        expected=ALLOWED,
        notes="Within the 5 s default the repeats reuse the first preflight.",
        fix_layer="express",
    ),
    Scenario(
        id="preflight-max-age-zero-repeated",
        title="Three PUTs, Spring's setMaxAge(0): a preflight before every call",
        cause="preflight-not-cached",
        visit=at(replace(JSON_PUT, repeat=3)),
        routes=(
            Route("OPTIONS", spring_preflight(methods="GET,HEAD,POST,PUT", max_age="0")),
            Route("PUT", ok(SPRING_VARY, REFLECT, *SPRING)),
        ),
        expected=ALLOWED,
        fix_layer="spring",
    ),
    Scenario(
        id="control-preflight-cached",
        title="Three PUTs, Access-Control-Max-Age: 600: one preflight",
        cause="none",
        visit=at(replace(JSON_PUT, repeat=3)),
        routes=(Route("OPTIONS", preflight()), Route("PUT", ok(REFLECT, VARY))),
        expected=ALLOWED,
    ),
)


SCENARIOS = (*ALLOW_HEADERS, *ALLOW_METHODS, *GATEWAY, *PREFLIGHT_REDIRECT, *PREFLIGHT_CACHE)
