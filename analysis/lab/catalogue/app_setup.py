"""How the app wires CORS in: not at all, after the routes, per route, or not for OPTIONS,
and the error paths that bypass it."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAM,
    EXPRESS,
    JSON_POST,
    JSON_PUT,
    REFLECT,
    UVICORN,
    VARY,
    at,
    blocked,
    call,
    ok,
    preflight,
    redirect,
    text,
)
from analysis.lab.spec import ALLOWED, Reply, Route, Scenario

NOT_ENABLED = (
    Scenario(
        id="no-cors-headers-get",
        title="Simple GET to an API with no CORS support",
        cause="cors-not-enabled",
        visit=at(),
        routes=(Route("GET", ok()),),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="no-cors-headers-json-post",
        title="JSON POST to an API with no CORS support (Express answers OPTIONS with Allow)",
        cause="cors-not-enabled",
        visit=at(JSON_POST),
        routes=(
            Route(
                "OPTIONS",
                Reply(
                    200,
                    (("Allow", "GET,HEAD,POST"), EXPRESS),
                    "GET,HEAD,POST",
                    "text/html; charset=utf-8",
                ),
            ),
            Route("POST", ok(EXPRESS)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="no-cors-headers-xhr",
        title="XHR GET to an API with no CORS support",
        cause="cors-not-enabled",
        visit=at(call(client="xhr")),
        routes=(Route("GET", ok()),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="no-cors-headers-https",
        title="GET to the self-signed https API, which has no CORS support",
        cause="cors-not-enabled",
        visit=at(call(api="api_https")),
        routes=(Route("GET", ok()),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
)

AFTER_ROUTES = (
    Scenario(
        id="cors-after-routes-early-route",
        title="Express: route registered before app.use(cors()) answers without headers",
        cause="cors-after-routes",
        visit=at(),
        routes=(Route("GET", ok(EXPRESS)),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="cors-after-routes-late-route",
        title="Express: route registered after app.use(cors()) carries the headers",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="cors-after-routes-preflight-ok-actual-bare",
        title="The middleware answers OPTIONS, but the PUT route ran before it: no ACAO",
        cause="cors-after-routes",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(EXPRESS)),
            Route("PUT", ok(EXPRESS)),
        ),
        expected=blocked("MissingAllowOriginHeader"),
    ),
)

PER_ROUTE = (
    Scenario(
        id="per-route-cors-put-express-options",
        title="cors() on the PUT route only: Express's automatic OPTIONS reply has no CORS",
        cause="per-route-cors-without-options",
        visit=at(JSON_PUT),
        routes=(
            Route(
                "OPTIONS",
                Reply(200, (("Allow", "PUT"), EXPRESS), "PUT", "text/html; charset=utf-8"),
            ),
            Route("PUT", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
    ),
    Scenario(
        id="per-route-cors-get-ok",
        title="cors() on a GET route: simple requests need no OPTIONS, so it works",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="per-route-cors-custom-header-405",
        title="Per-route CORS on GET; the custom header forces OPTIONS, answered 405",
        cause="per-route-cors-without-options",
        visit=at(call(headers=(("X-Request-Id", "lab-1"),))),
        routes=(
            Route("OPTIONS", text(405, "Method Not Allowed", ("Allow", "GET, HEAD"))),
            Route("GET", ok(REFLECT, VARY)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
    ),
)

PREFLIGHT_NOT_HANDLED = (
    Scenario(
        id="preflight-404-without-cors",
        title="OPTIONS answered 404 without CORS headers",
        cause="preflight-not-handled",
        visit=at(JSON_POST),
        routes=(Route("OPTIONS", text(404, "Not Found")), Route("POST", ok(REFLECT))),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="preflight-404-with-cors",
        title="OPTIONS answered 404 by a router behind a CORS middleware (headers present)",
        cause="preflight-not-handled",
        visit=at(JSON_POST),
        routes=(Route("OPTIONS", text(404, "Not Found", REFLECT)), Route("POST", ok(REFLECT))),
        expected=blocked("PreflightInvalidStatus"),
        key_row=True,
    ),
    Scenario(
        id="preflight-405-without-cors",
        title="OPTIONS answered 405 Method Not Allowed, no CORS headers",
        cause="preflight-not-handled",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", text(405, "Method Not Allowed", ("Allow", "GET, PUT"))),
            Route("PUT", ok(REFLECT)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
    ),
    Scenario(
        id="preflight-405-with-cors",
        title="OPTIONS answered 405, CORS headers added by an outer layer",
        cause="preflight-not-handled",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", text(405, "Method Not Allowed", REFLECT, ("Allow", "GET, PUT"))),
            Route("PUT", ok(REFLECT)),
        ),
        expected=blocked("PreflightInvalidStatus"),
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
                    ("Server", "BaseHTTP/0.6 Python/3.11.7"),
                    content_type="text/html;charset=utf-8",
                ),
            ),
            Route("DELETE", ok(REFLECT)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
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
                text(
                    400,
                    "Disallowed CORS origin",
                    UVICORN,
                    (ACAM, "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"),
                    ("Access-Control-Max-Age", "600"),
                    (
                        "Access-Control-Allow-Headers",
                        "Accept, Accept-Language, Content-Language, Content-Type",
                    ),
                    VARY,
                    content_type="text/plain; charset=utf-8",
                ),
            ),
            Route("POST", ok(REFLECT, VARY, UVICORN), allow_origins=("{app}",)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
    ),
    Scenario(
        id="starlette-400-disallowed-method",
        title="FastAPI/Starlette 400 'Disallowed CORS method': PUT not in allow_methods",
        cause="allow-methods-missing",
        visit=at(JSON_PUT),
        routes=(
            Route(
                "OPTIONS",
                text(
                    400,
                    "Disallowed CORS method",
                    UVICORN,
                    REFLECT,
                    (ACAM, "GET, POST"),
                    ("Access-Control-Max-Age", "600"),
                    ("Access-Control-Allow-Headers", "Content-Type"),
                    VARY,
                    content_type="text/plain; charset=utf-8",
                ),
            ),
            Route("PUT", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=blocked("PreflightInvalidStatus"),
    ),
    Scenario(
        id="starlette-400-disallowed-headers",
        title="FastAPI/Starlette 400 'Disallowed CORS headers': X-Request-Id not allowed",
        cause="allow-headers-missing",
        visit=at(call(headers=(("X-Request-Id", "lab-2"),))),
        routes=(
            Route(
                "OPTIONS",
                text(
                    400,
                    "Disallowed CORS headers",
                    UVICORN,
                    REFLECT,
                    (ACAM, "GET, POST"),
                    ("Access-Control-Max-Age", "600"),
                    ("Access-Control-Allow-Headers", "Content-Type"),
                    VARY,
                    content_type="text/plain; charset=utf-8",
                ),
            ),
            Route("GET", ok(REFLECT, VARY, UVICORN)),
        ),
        expected=blocked("PreflightInvalidStatus"),
    ),
)

ERRORS = (
    Scenario(
        id="error-500-without-cors",
        title="Handler crashes: the 500 comes from an error handler outside the CORS layer",
        cause="error-responses-without-cors",
        visit=at(),
        routes=(Route("GET", text(500, "Internal Server Error")),),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="error-404-without-cors",
        title="Unknown resource: the framework's 404 skips the CORS middleware",
        cause="error-responses-without-cors",
        visit=at(),
        routes=(Route("GET", ok(UVICORN, status=404, body='{"detail": "Not Found"}')),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="error-401-without-cors",
        title="Preflight fine, but the auth layer's 401 has no CORS headers",
        cause="error-responses-without-cors",
        visit=at(call(headers=(("Authorization", "Bearer expired-token"),))),
        routes=(
            Route("OPTIONS", preflight()),
            Route(
                "GET",
                ok(
                    ("WWW-Authenticate", 'Bearer error="invalid_token"'),
                    status=401,
                    body='{"error": "invalid_token"}',
                ),
            ),
        ),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="error-422-without-cors",
        title="JSON POST: validation error 422 built before the CORS layer",
        cause="error-responses-without-cors",
        visit=at(JSON_POST),
        routes=(
            Route("OPTIONS", preflight()),
            Route("POST", ok(status=422, body='{"detail": "name too short"}')),
        ),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="error-redirect-to-login-without-cors",
        title="Session expired: a 302 to the login page without CORS headers",
        cause="error-responses-without-cors",
        visit=at(call(credentials="include")),
        routes=(Route("GET", redirect(302, "{api}/login?next={path}")),),
        expected=blocked("MissingAllowOriginHeader"),
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
