"""The lab's catalogue: one scenario per way a real stack gets CORS wrong, plus controls.

Origin keys used by pages and calls (all loopback; see servers.py):
  app        http://127.0.0.1:P1   the page origin most scenarios use
  app_port2  http://127.0.0.1:P2   same site as `app` (shares its HTTP cache), other origin
  app_site2  http://127.0.0.3:P3   another site
  www / bare / evil   http://www.app.test:P4 / http://app.test:P4 / http://evilapp.test:P4
             names mapped to 127.0.0.5 by the lab proxy
  api        http://127.0.0.2:P5   the API most scenarios call
  api2       http://127.0.0.4:P6   a second API origin (redirect targets)
  api_https  https://127.0.0.2:P7  the API again over TLS with a self-signed certificate
  dead       http://127.0.0.8:P8   nothing listens: the proxy answers 502 itself
"""

from __future__ import annotations

from analysis.lab.spec import (
    ALLOWED,
    ROOT_CAUSES,
    Call,
    Expected,
    Header,
    Reply,
    Route,
    Scenario,
    Visit,
)

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
REFLECT: Header = (ACAO, "{origin}")
CREDS: Header = (ACAC, "true")
JSON_CT: Header = ("Content-Type", "application/json")
JSON_POST = Call(method="POST", headers=(JSON_CT,), body='{"name": "lab"}')


def ok(*headers: Header, status: int = 200, body: str = '{"ok": true}') -> Reply:
    return Reply(status=status, headers=headers, body=body)


def preflight(
    *extra: Header,
    methods: str | None = "GET, POST, PUT, DELETE, PATCH",
    allow_headers: str | None = "Content-Type, Authorization, X-Request-Id",
    origin: str | None = "{origin}",
    status: int = 204,
) -> Reply:
    """A CORS middleware's answer to OPTIONS; pass None to leave a header out."""
    headers: list[Header] = []
    if origin is not None:
        headers.append((ACAO, origin))
    if methods is not None:
        headers.append((ACAM, methods))
    if allow_headers is not None:
        headers.append((ACAH, allow_headers))
    headers.append(("Vary", "Origin"))
    return Reply(status=status, headers=(*headers, *extra), body="", content_type=None)


def blocked(error: str, parameter: str | None = "") -> Expected:
    return Expected(blocked=True, cors_error=error, failed_parameter=parameter)


def get(**kw: object) -> Visit:
    return Visit(call=Call(**kw))  # type: ignore[arg-type]


def on(visit_call: Call, page: str = "app") -> Visit:
    return Visit(page=page, call=visit_call)


# --- CORS not enabled at all --------------------------------------------------------------

_NOT_ENABLED = (
    Scenario(
        id="no-cors-headers-get",
        title="Simple GET to an API with no CORS support",
        cause="cors-not-enabled",
        visit=get(),
        routes=(Route("GET", ok()),),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="no-cors-headers-json-post",
        title="JSON POST to an API with no CORS support (Express answers OPTIONS with Allow)",
        cause="cors-not-enabled",
        visit=on(JSON_POST),
        routes=(
            Route(
                "OPTIONS",
                Reply(
                    200,
                    (("Allow", "GET,HEAD,POST"), ("X-Powered-By", "Express")),
                    "GET,HEAD,POST",
                    "text/html; charset=utf-8",
                ),
            ),
            Route("POST", ok(("X-Powered-By", "Express"))),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="no-cors-headers-xhr",
        title="XHR GET to an API with no CORS support",
        cause="cors-not-enabled",
        visit=get(client="xhr"),
        routes=(Route("GET", ok()),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
)

# --- Preflight not handled ----------------------------------------------------------------

_PREFLIGHT = (
    Scenario(
        id="preflight-404-without-cors",
        title="OPTIONS answered 404 without CORS headers",
        cause="preflight-not-handled",
        visit=on(JSON_POST),
        routes=(
            Route("OPTIONS", Reply(404, body="Not Found", content_type="text/plain")),
            Route("POST", ok(REFLECT)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        key_row=True,
    ),
    Scenario(
        id="preflight-404-with-cors",
        title="OPTIONS answered 404 by a router behind a CORS middleware (headers present)",
        cause="preflight-not-handled",
        visit=on(JSON_POST),
        routes=(
            Route("OPTIONS", Reply(404, (REFLECT,), "Not Found", "text/plain")),
            Route("POST", ok(REFLECT)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        key_row=True,
    ),
)

# --- Credentials ----------------------------------------------------------------------------

_CREDENTIALS = (
    Scenario(
        id="wildcard-with-credentials",
        title="ACAO * on a request sent with credentials: 'include'",
        cause="wildcard-with-credentials",
        visit=get(credentials="include"),
        routes=(Route("GET", ok((ACAO, "*"), CREDS)),),
        expected=blocked("WildcardOriginNotAllowed"),
        key_row=True,
    ),
    Scenario(
        id="credentials-without-acac",
        title="Credentialed GET, origin echoed, Access-Control-Allow-Credentials missing",
        cause="credentials-not-allowed",
        visit=get(credentials="include"),
        routes=(Route("GET", ok(REFLECT)),),
        expected=blocked("InvalidAllowCredentials"),
        key_row=True,
    ),
)

# --- Allow-list near-misses ---------------------------------------------------------------

_ALLOWLIST = (
    Scenario(
        id="allowlist-trailing-slash",
        title="Configured origin has a trailing slash",
        cause="origin-allowlist-mismatch",
        visit=get(),
        routes=(Route("GET", ok((ACAO, "{app}/"))),),
        expected=blocked("AllowOriginMismatch", "{app}/"),
        key_row=True,
    ),
)

# --- Error responses without CORS ---------------------------------------------------------

_ERRORS = (
    Scenario(
        id="error-500-without-cors",
        title="Handler crashes: 500 from the error handler, which runs outside the CORS layer",
        cause="error-responses-without-cors",
        visit=get(),
        routes=(Route("GET", Reply(500, body="Internal Server Error", content_type="text/plain")),),
        expected=blocked("MissingAllowOriginHeader"),
        key_row=True,
    ),
)

# --- Controls -----------------------------------------------------------------------------

_CONTROLS = (
    Scenario(
        id="control-simple-get",
        title="Simple GET, origin echoed",
        cause="none",
        visit=get(),
        routes=(Route("GET", ok(REFLECT, ("Vary", "Origin"))),),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-json-post",
        title="JSON POST with a complete preflight answer",
        cause="none",
        visit=on(JSON_POST),
        routes=(
            Route("OPTIONS", preflight(("Access-Control-Max-Age", "600"))),
            Route("POST", ok(REFLECT, ("Vary", "Origin"))),
        ),
        expected=ALLOWED,
    ),
)

SCENARIOS: tuple[Scenario, ...] = (
    *_NOT_ENABLED,
    *_PREFLIGHT,
    *_CREDENTIALS,
    *_ALLOWLIST,
    *_ERRORS,
    *_CONTROLS,
)


def by_id(scenario_id: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.id == scenario_id:
            return scenario
    raise KeyError(scenario_id)


def _check(scenarios: tuple[Scenario, ...]) -> None:
    # Fail at import: a duplicate id would silently merge two scenarios' URLs, and the
    # preflight cache would then decide one from the other.
    ids = [s.id for s in scenarios]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate scenario ids: {sorted(duplicates)}")
    unknown = {s.cause for s in scenarios} - ROOT_CAUSES
    if unknown:
        raise ValueError(f"unknown root causes: {sorted(unknown)}")


_check(SCENARIOS)
