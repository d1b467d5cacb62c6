"""How the app wires CORS in: not at all, after the routes, per route, or not for OPTIONS,
and the error paths that bypass it.

Rules that tell these apart look across one server's responses ("this route has the
headers, that one not"), so every scenario that needs such a contrast brings it: a
`before` visit to a healthy route of the same deployment, or a control scenario in the
same deployment.
"""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAH,
    ACAM,
    APACHE,
    CADDY,
    CREDS,
    DJANGO,
    EXPRESS,
    JSON_POST,
    JSON_PUT,
    MAX_AGE,
    NGINX,
    PYTHON_HTTP_SERVER,
    REFLECT,
    SPRING,
    SPRING_VARY,
    UVICORN,
    VARY,
    WERKZEUG,
    at,
    blocked,
    call,
    express_options,
    express_preflight,
    ok,
    redirect,
    spring_preflight,
    starlette_refusal,
    text,
)
from analysis.lab.spec import ALLOWED, Reply, Route, Scenario

# A healthy route beside a failing one: `before=(HEALTHY_VISIT,)` calls it first.
HEALTHY = "/items"
HEALTHY_VISIT = at(call(sub=HEALTHY))

WERKZEUG_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again.</p>\n"
)
FASTAPI_405 = '{"detail":"Method Not Allowed"}'

NOT_ENABLED = (
    Scenario(
        id="no-cors-headers-get",
        title="Simple GET to an Express API with no CORS support",
        cause="cors-not-enabled",
        visit=at(),
        routes=(Route("GET", ok(EXPRESS)),),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
        fix_layer="express",
    ),
    Scenario(
        id="no-cors-headers-json-post",
        title="JSON POST to an API with no CORS support (Express answers OPTIONS with Allow)",
        cause="cors-not-enabled",
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", express_options("GET,HEAD,POST")),
            Route("POST", ok(EXPRESS)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
        fix_layer="express",
    ),
    Scenario(
        id="no-cors-headers-xhr",
        title="XHR GET to a Flask API without flask-cors",
        cause="cors-not-enabled",
        visit=at(call(client="xhr")),
        routes=(Route("GET", ok(WERKZEUG)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="flask",
    ),
    Scenario(
        id="no-cors-headers-https",
        title="GET to the self-signed https API (Caddy), which has no CORS support",
        cause="cors-not-enabled",
        visit=at(call(api="api_https")),
        routes=(Route("GET", ok(CADDY)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="caddy",
    ),
)

# One Express app: app.use(cors()) registered between its routes.
_AFTER = "express-cors-after-routes"
AFTER_ROUTES = (
    Scenario(
        id="cors-after-routes-early-route",
        title="Express: route registered before app.use(cors()) answers without headers",
        cause="cors-after-routes",
        visit=at(),
        routes=(Route("GET", ok(EXPRESS)),),
        expected=blocked("MissingAllowOriginHeader"),
        deployment=_AFTER,
        fix_layer="express",
    ),
    Scenario(
        id="cors-after-routes-late-route",
        title="Express: route registered after app.use(cors()) carries the headers",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS)),),
        expected=ALLOWED,
        deployment=_AFTER,
    ),
    Scenario(
        id="cors-after-routes-preflight-ok-actual-bare",
        title="The middleware answers OPTIONS, but the PUT route ran before it: no ACAO",
        cause="cors-after-routes",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", express_preflight()),
            Route("PUT", ok(EXPRESS)),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        deployment=_AFTER,
        fix_layer="express",
    ),
)

# One Express app with cors() on individual routes only.
_PER_ROUTE = "express-per-route-cors"
PER_ROUTE = (
    Scenario(
        id="per-route-cors-put-express-options",
        title="cors() on the PUT route only: Express's automatic OPTIONS reply has no CORS",
        cause="per-route-cors-without-options",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", express_options("PUT")),
            Route("PUT", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        deployment=_PER_ROUTE,
        fix_layer="express",
    ),
    Scenario(
        id="per-route-cors-get-ok",
        title="cors() on a GET route: simple requests need no OPTIONS, so it works",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS)),),
        expected=ALLOWED,
        deployment=_PER_ROUTE,
    ),
    Scenario(
        id="per-route-cors-custom-header-405",
        title="FastAPI endpoint sets CORS headers itself; a custom header forces OPTIONS: 405",
        cause="per-route-cors-without-options",
        before=(at(),),
        visit=at(call(headers=(("X-Request-Id", "lab-1"),))),
        routes=(
            Route(
                "OPTIONS",
                ok(UVICORN, ("Allow", "GET"), status=405, body=FASTAPI_405),
            ),
            Route("GET", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        notes="The plain GET before it works: the endpoint's own headers are there.",
        fix_layer="starlette",
    ),
    Scenario(
        id="control-plain-get-after-refused-preflight",
        title="The same endpoint: a plain GET after the custom-header GET was refused",
        cause="none",
        before=(at(call(headers=(("X-Request-Id", "lab-1"),))),),
        visit=at(),
        routes=(
            Route(
                "OPTIONS",
                ok(UVICORN, ("Allow", "GET"), status=405, body=FASTAPI_405),
            ),
            Route("GET", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=ALLOWED,
        notes="The refused preflight on the wire announced X-Request-Id, which this GET "
        "does not carry: it guarded the earlier fetch, not this one.",
    ),
)

PREFLIGHT_NOT_HANDLED = (
    Scenario(
        id="preflight-404-without-cors",
        title="OPTIONS answered 404 without CORS headers (no recognisable stack)",
        cause="preflight-not-handled",
        visit=at(JSON_POST),
        routes=(Route("OPTIONS", text(404, "Not Found")), Route("POST", ok(REFLECT))),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
        fix_layer="generic",
    ),
    Scenario(
        id="preflight-404-with-cors",
        title="nginx adds CORS headers (always); the upstream answers OPTIONS 404",
        cause="preflight-not-handled",
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", text(404, "Not Found", NGINX, REFLECT)),
            Route("POST", ok(NGINX, REFLECT)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        key_row=True,
        fix_layer="nginx",
    ),
    Scenario(
        id="preflight-405-without-cors",
        title="FastAPI without CORSMiddleware: OPTIONS answered 405 Method Not Allowed",
        cause="preflight-not-handled",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", ok(UVICORN, ("Allow", "PUT"), status=405, body=FASTAPI_405)),
            Route("PUT", ok(UVICORN)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        fix_layer="starlette",
    ),
    Scenario(
        id="preflight-405-with-cors",
        title="Apache adds CORS headers (Header always set); the upstream answers OPTIONS 405",
        cause="preflight-not-handled",
        visit=at(JSON_PUT),
        routes=(
            Route(
                "OPTIONS",
                text(405, "Method Not Allowed", APACHE, REFLECT, ("Allow", "GET, PUT")),
            ),
            Route("PUT", ok(APACHE, REFLECT)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        fix_layer="apache",
    ),
    Scenario(
        id="preflight-501-unsupported-method",
        title="OPTIONS answered 501 Unsupported method (Python's http.server default)",
        cause="preflight-not-handled",
        visit=at(call(method="DELETE")),
        routes=(
            Route(
                "OPTIONS",
                text(
                    501,
                    "Unsupported method ('OPTIONS')",
                    PYTHON_HTTP_SERVER,
                    content_type="text/html;charset=utf-8",
                ),
            ),
            Route("DELETE", ok(PYTHON_HTTP_SERVER, REFLECT)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        fix_layer="generic",
    ),
)

# Starlette's CORSMiddleware refuses a preflight with its own 400 and a plain-text reason;
# it keeps ACAO only when the origin itself was acceptable.
FRAMEWORK_400 = (
    Scenario(
        id="starlette-400-disallowed-origin",
        title="FastAPI/Starlette 400 'Disallowed CORS origin': page origin not in allow_origins",
        cause="origin-allowlist-mismatch",
        visit=at(JSON_POST, page="app_port2"),
        routes=(
            Route(
                "OPTIONS",
                starlette_refusal(
                    "origin",
                    (ACAM, "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"),
                    (MAX_AGE, "600"),
                    (ACAH, "Accept, Accept-Language, Content-Language, Content-Type"),
                ),
            ),
            Route("POST", ok(REFLECT, VARY, UVICORN), allow_origins=("{app}",)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        fix_layer="starlette",
    ),
    Scenario(
        id="starlette-400-disallowed-method",
        title="FastAPI/Starlette 400 'Disallowed CORS method': PUT not in allow_methods",
        cause="allow-methods-missing",
        visit=at(JSON_PUT),
        routes=(
            Route(
                "OPTIONS",
                starlette_refusal(
                    "method",
                    REFLECT,
                    (ACAM, "GET, POST"),
                    (MAX_AGE, "600"),
                    (ACAH, "Content-Type"),
                ),
            ),
            Route("PUT", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        fix_layer="starlette",
    ),
    Scenario(
        id="starlette-400-disallowed-headers",
        title="FastAPI/Starlette 400 'Disallowed CORS headers': X-Request-Id not allowed",
        cause="allow-headers-missing",
        visit=at(call(headers=(("X-Request-Id", "lab-2"),))),
        routes=(
            Route(
                "OPTIONS",
                starlette_refusal(
                    "headers",
                    REFLECT,
                    (ACAM, "GET, POST"),
                    (MAX_AGE, "600"),
                    (ACAH, "Content-Type"),
                ),
            ),
            Route("GET", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        fix_layer="starlette",
    ),
)

ERRORS = (
    Scenario(
        id="error-500-without-cors",
        title="FastAPI: an unhandled exception's 500 comes from outside CORSMiddleware",
        cause="error-responses-without-cors",
        before=(HEALTHY_VISIT,),
        visit=at(),
        routes=(
            Route("GET", text(500, "Internal Server Error", UVICORN)),
            Route("GET", ok(REFLECT, VARY, UVICORN), sub=HEALTHY),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
        fix_layer="starlette",
    ),
    Scenario(
        id="error-404-without-cors",
        title="Flask with CORS on a blueprint: the app's own 404 page has no CORS headers",
        cause="error-responses-without-cors",
        before=(HEALTHY_VISIT,),
        visit=at(),
        routes=(
            Route("GET", Reply(404, (WERKZEUG,), WERKZEUG_404, "text/html; charset=utf-8")),
            Route("GET", ok(REFLECT, VARY, WERKZEUG), sub=HEALTHY),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="flask",
    ),
    Scenario(
        id="error-401-without-cors",
        title="Spring: preflight fine, but Spring Security's 401 has no CORS headers",
        cause="error-responses-without-cors",
        before=(HEALTHY_VISIT,),
        visit=at(call(headers=(("Authorization", "Bearer expired-token"),))),
        routes=(
            Route("OPTIONS", spring_preflight()),
            Route(
                "GET",
                Reply(
                    401,
                    (
                        (
                            "WWW-Authenticate",
                            'Bearer error="invalid_token", error_description="Jwt expired", '
                            'error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"',
                        ),
                        *SPRING,
                    ),
                    "",
                    None,
                ),
            ),
            Route("GET", ok(SPRING_VARY, REFLECT, *SPRING), sub=HEALTHY),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="spring",
    ),
    Scenario(
        id="error-422-without-cors",
        title="Express: a validation middleware registered before cors() answers 422 bare",
        cause="error-responses-without-cors",
        before=(HEALTHY_VISIT,),
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", express_preflight()),
            Route(
                "POST",
                ok(EXPRESS, status=422, body='{"errors": [{"path": "name", "msg": "too short"}]}'),
            ),
            Route("GET", ok(REFLECT, VARY, EXPRESS), sub=HEALTHY),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="express",
    ),
    Scenario(
        id="error-redirect-to-login-without-cors",
        title="Django: session expired, login_required answers a 302 to the login page",
        cause="error-responses-without-cors",
        before=(at(call(sub=HEALTHY, credentials="include")),),
        visit=at(call(credentials="include")),
        routes=(
            Route("GET", redirect(302, "{api}/accounts/login/?next={path}", *DJANGO)),
            Route("GET", ok(REFLECT, CREDS, ("Vary", "origin"), *DJANGO), sub=HEALTHY),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="django",
    ),
    Scenario(
        id="control-error-404-with-cors",
        title="A 404 that carries CORS headers: script can read the error",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY, status=404, body='{"detail": "Not Found"}')),),
        expected=ALLOWED,
    ),
)


SCENARIOS = (
    *NOT_ENABLED,
    *AFTER_ROUTES,
    *PER_ROUTE,
    *PREFLIGHT_NOT_HANDLED,
    *FRAMEWORK_400,
    *ERRORS,
)
