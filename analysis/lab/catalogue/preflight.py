"""What the preflight answer allows: headers, methods, a gateway answering it instead of
the app, redirects of the preflight, and how long it is cached."""

from __future__ import annotations

from dataclasses import replace

from analysis.lab.catalogue.build import (
    ACAH,
    CREDS,
    EXPRESS,
    JSON_POST,
    JSON_PUT,
    REFLECT,
    VARY,
    at,
    blocked,
    call,
    ok,
    preflight,
    redirect,
)
from analysis.lab.spec import ALLOWED, Route, Scenario

AWS_GATEWAY = (("Server", "awselb/2.0"), ("apigw-requestid", "lab-gw-1"))

ALLOW_HEADERS = (
    Scenario(
        id="allow-headers-missing-content-type",
        title="JSON POST: preflight answer has no Access-Control-Allow-Headers",
        cause="allow-headers-missing",
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", preflight(methods="GET, POST", allow_headers=None)),
            Route("POST", ok(REFLECT, VARY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "content-type"),
        key_row=True,
    ),
    Scenario(
        id="allow-headers-missing-authorization",
        title="Authorization header not listed in Access-Control-Allow-Headers",
        cause="allow-headers-missing",
        visit=at(call(headers=(("Authorization", "Bearer lab-token"),))),
        routes=(
            Route("OPTIONS", preflight(allow_headers="Content-Type")),
            Route("GET", ok(REFLECT, VARY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "authorization"),
    ),
    Scenario(
        id="allow-headers-missing-custom",
        title="Custom X-Request-Id header not listed",
        cause="allow-headers-missing",
        visit=at(call(headers=(("X-Request-Id", "lab-3"),))),
        routes=(
            Route("OPTIONS", preflight(allow_headers="Content-Type, Authorization")),
            Route("GET", ok(REFLECT, VARY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-request-id"),
        key_row=True,
    ),
    Scenario(
        id="allow-headers-xhr-requested-with",
        title="jQuery-style XHR sends X-Requested-With; not allowed",
        cause="allow-headers-missing",
        visit=at(call(client="xhr", headers=(("X-Requested-With", "XMLHttpRequest"),))),
        routes=(
            Route("OPTIONS", preflight(allow_headers="Content-Type")),
            Route("GET", ok(REFLECT, VARY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-requested-with"),
    ),
    Scenario(
        id="allow-headers-wildcard-with-credentials",
        title="ACAH * is a literal name for credentialed requests",
        cause="allow-headers-missing",
        visit=at(call(credentials="include", headers=(("X-Request-Id", "lab-4"),))),
        routes=(
            Route("OPTIONS", preflight(CREDS, allow_headers="*")),
            Route("GET", ok(REFLECT, CREDS, VARY)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-request-id"),
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
)

ALLOW_METHODS = (
    Scenario(
        id="allow-methods-missing-put",
        title="PUT not in Access-Control-Allow-Methods",
        cause="allow-methods-missing",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(methods="GET, POST")),
            Route("PUT", ok(REFLECT, VARY)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "PUT"),
        key_row=True,
    ),
    Scenario(
        id="allow-methods-missing-delete",
        title="DELETE not in Access-Control-Allow-Methods",
        cause="allow-methods-missing",
        visit=at(call(method="DELETE")),
        routes=(
            Route("OPTIONS", preflight(methods="GET, POST, PUT")),
            Route("DELETE", ok(REFLECT, VARY)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "DELETE"),
    ),
    Scenario(
        id="allow-methods-patch-lower-case",
        title="fetch(method: 'patch') is sent as 'patch'; ACAM lists PATCH",
        cause="allow-methods-missing",
        visit=at(replace(JSON_PUT, method="patch")),
        routes=(
            Route("OPTIONS", preflight(methods="GET, POST, PATCH")),
            Route("patch", ok(REFLECT, VARY)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "patch"),
    ),
    Scenario(
        id="allow-methods-wildcard-with-credentials",
        title="ACAM * is a literal method name for credentialed requests",
        cause="allow-methods-missing",
        visit=at(replace(JSON_PUT, credentials="include")),
        routes=(
            Route("OPTIONS", preflight(CREDS, methods="*")),
            Route("PUT", ok(REFLECT, CREDS, VARY)),
        ),
        expected=blocked("MethodDisallowedByPreflightResponse", "PUT"),
    ),
    Scenario(
        id="control-allow-methods-put",
        title="PUT listed in Access-Control-Allow-Methods",
        cause="none",
        visit=at(JSON_PUT),
        routes=(Route("OPTIONS", preflight()), Route("PUT", ok(REFLECT, VARY))),
        expected=ALLOWED,
    ),
)

# API gateways (AWS API Gateway, Kong, an ingress) often answer OPTIONS themselves, from
# their own configuration, while the app behind them answers the actual request.
GATEWAY = (
    Scenario(
        id="gateway-preflight-wildcard-credentials",
        title="Gateway answers OPTIONS with ACAO *; the app would echo the origin",
        cause="gateway-preflight-differs",
        visit=at(replace(JSON_PUT, credentials="include")),
        routes=(
            Route("OPTIONS", preflight(*AWS_GATEWAY, CREDS, origin="*")),
            Route("PUT", ok(REFLECT, CREDS, VARY, EXPRESS)),
        ),
        expected=blocked("PreflightWildcardOriginNotAllowed"),
    ),
    Scenario(
        id="gateway-preflight-missing-header",
        title="Gateway's OPTIONS lists fewer headers than the app accepts (X-Api-Key)",
        cause="gateway-preflight-differs",
        visit=at(call(headers=(("X-Api-Key", "lab-key"),))),
        routes=(
            Route(
                "OPTIONS",
                preflight(
                    *AWS_GATEWAY,
                    allow_headers="Content-Type,Authorization",
                    methods="GET,POST,OPTIONS",
                ),
            ),
            Route("GET", ok(REFLECT, VARY, (ACAH, "*"), EXPRESS)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "x-api-key"),
    ),
    Scenario(
        id="gateway-preflight-static-origin",
        title="Gateway's OPTIONS answers the production origin; the app echoes the real one",
        cause="gateway-preflight-differs",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(*AWS_GATEWAY, origin="https://app.example.com")),
            Route("PUT", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("PreflightAllowOriginMismatch", "https://app.example.com"),
    ),
)

PREFLIGHT_REDIRECT = (
    Scenario(
        id="preflight-redirect-http-to-https",
        title="OPTIONS redirected from http to https",
        cause="preflight-redirected",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", redirect(301, "{api_https}{path}"), on="api"),
            Route("OPTIONS", preflight(), on="api_https"),
            Route("PUT", ok(REFLECT, VARY)),
        ),
        expected=blocked("PreflightDisallowedRedirect"),
        key_row=True,
    ),
    Scenario(
        id="preflight-redirect-trailing-slash",
        title="OPTIONS redirected to the path with a trailing slash (CORS headers on the 308)",
        cause="preflight-redirected",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", redirect(308, "{api}{path}/", REFLECT)),
            Route("OPTIONS", preflight(), sub="/"),
            Route("PUT", ok(REFLECT, VARY)),
        ),
        expected=blocked("PreflightDisallowedRedirect"),
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
        title="Three PUTs, no Access-Control-Max-Age: Chromium keeps the answer only 5 s",
        cause="preflight-not-cached",
        visit=at(replace(JSON_PUT, repeat=3)),
        routes=(Route("OPTIONS", preflight(max_age=None)), Route("PUT", ok(REFLECT, VARY))),
        expected=ALLOWED,
        notes="Within the 5 s default the repeats reuse the first preflight.",
    ),
    Scenario(
        id="preflight-max-age-zero-repeated",
        title="Three PUTs, Access-Control-Max-Age: 0: a preflight before every call",
        cause="preflight-not-cached",
        visit=at(replace(JSON_PUT, repeat=3)),
        routes=(Route("OPTIONS", preflight(max_age="0")), Route("PUT", ok(REFLECT, VARY))),
        expected=ALLOWED,
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
