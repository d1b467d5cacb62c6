"""Shorthands the catalogue is written with, so each scenario stays a few readable lines.

Stacks: the headers real servers add, so that corscope's fingerprint (and thus the layer
its fix names) is tested on the shapes met in the field, not on a bare test server. Each
CORS library's preflight answer is written out as that library sends it.
"""

from __future__ import annotations

from typing import Any

from analysis.lab.spec import Call, Expected, Header, PageKind, Reply, Visit

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACEH = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"

REFLECT: Header = (ACAO, "{origin}")
VARY: Header = ("Vary", "Origin")
CREDS: Header = (ACAC, "true")
JSON_CT: Header = ("Content-Type", "application/json")
CACHEABLE: Header = ("Cache-Control", "public, max-age=600")
EXPRESS: Header = ("X-Powered-By", "Express")
NGINX: Header = ("Server", "nginx/1.25.3")
UVICORN: Header = ("Server", "uvicorn")
WERKZEUG: Header = ("Server", "Werkzeug/3.0.1 Python/3.11.7")
CADDY: Header = ("Server", "Caddy")
APACHE: Header = ("Server", "Apache/2.4.58 (Debian)")
KESTREL: Header = ("Server", "Kestrel")
PYTHON_HTTP_SERVER: Header = ("Server", "BaseHTTP/0.6 Python/3.11.7")
REQUESTED = "{request_headers}"
"""The preflight's Access-Control-Request-Headers, reflected (see responder.py)."""

# Django behind gunicorn: SecurityMiddleware's defaults come with every response.
DJANGO: tuple[Header, ...] = (
    ("Server", "gunicorn"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
# Spring Security's defaults on every response (Tomcat sends no Server header by default).
SPRING: tuple[Header, ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "0"),
    ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("X-Frame-Options", "DENY"),
)
SPRING_VARY: Header = (
    "Vary",
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
)
# AWS API Gateway: a REST API marks its answers with x-amz-apigw-id, an HTTP API with
# apigw-requestid; either way the gateway itself sends no Server header.
AWS_REST_API: tuple[Header, ...] = (
    ("x-amzn-RequestId", "7c6a6b8e-3f2d-4a57-9a0e-0c3b6f1d2e4a"),
    ("x-amz-apigw-id", "LabGwIdRestApi0="),
)
AWS_HTTP_API: Header = ("apigw-requestid", "LabGwIdHttpApi0=")

EXPRESS_CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"
"""What Express's `cors` package allows unless told otherwise."""
STARLETTE_ALL_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
DJANGO_CORS_METHODS = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
DJANGO_CORS_HEADERS = (
    "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with"
)

BODY = '{"name": "lab"}'
JSON_POST = Call(method="POST", headers=(JSON_CT,), body=BODY)
JSON_PUT = Call(method="PUT", headers=(JSON_CT,), body=BODY)
GET = Call()


def call(**fields: Any) -> Call:
    return Call(**fields)


def at(c: Call = GET, page: str = "app", kind: PageKind = "plain") -> Visit:
    """Open `page`'s lab page (plain, sandboxed or worker-controlled) and make call `c`."""
    return Visit(page=page, call=c, page_kind=kind)


def ok(*headers: Header, status: int = 200, body: str = '{"ok": true}') -> Reply:
    return Reply(status=status, headers=headers, body=body)


def text(status: int, body: str, *headers: Header, content_type: str = "text/plain") -> Reply:
    return Reply(status=status, headers=headers, body=body, content_type=content_type)


def preflight(
    *extra: Header,
    methods: str | None = "GET, POST, PUT, DELETE, PATCH",
    allow_headers: str | None = "Content-Type, Authorization, X-Request-Id",
    origin: str | None = "{origin}",
    status: int = 204,
    max_age: str | None = "600",
) -> Reply:
    """A CORS middleware's answer to OPTIONS; pass None to leave a header out."""
    headers: list[Header] = []
    if origin is not None:
        headers.append((ACAO, origin))
    if methods is not None:
        headers.append((ACAM, methods))
    if allow_headers is not None:
        headers.append((ACAH, allow_headers))
    if max_age is not None:
        headers.append((MAX_AGE, max_age))
    headers.append(VARY)
    return Reply(status=status, headers=(*headers, *extra), body="", content_type=None)


def express_preflight(
    *extra: Header,
    origin: str = "{origin}",
    credentials: bool = False,
    methods: str = EXPRESS_CORS_METHODS,
    allowed_headers: str | None = None,
    max_age: str | None = None,
) -> Reply:
    """Express's `cors` package answering OPTIONS: 204, the origin (with `Vary: Origin`
    unless it is `*`), its default methods, and the requested headers reflected unless
    `allowedHeaders` is configured. No Access-Control-Max-Age unless `maxAge` is set."""
    headers: list[Header] = [(ACAO, origin)]
    vary = [] if origin == "*" else ["Origin"]
    if credentials:
        headers.append(CREDS)
    headers.append((ACAM, methods))
    if allowed_headers is None:
        headers.append((ACAH, REQUESTED))
        vary.append("Access-Control-Request-Headers")
    else:
        headers.append((ACAH, allowed_headers))
    if max_age is not None:
        headers.append((MAX_AGE, max_age))
    if vary:
        headers.append(("Vary", ", ".join(vary)))
    return Reply(204, (*headers, EXPRESS, *extra), "", None)


def express_options(allow: str) -> Reply:
    """Express's automatic answer to OPTIONS when no route handles it: 200, `Allow`, and
    the allowed methods as the body; no CORS headers."""
    return Reply(200, (("Allow", allow), EXPRESS), allow, "text/html; charset=utf-8")


def starlette_preflight(
    *extra: Header,
    methods: str = STARLETTE_ALL_METHODS,
    allow_headers: str = "Accept, Accept-Language, Content-Language, Content-Type",
    credentials: bool = False,
) -> Reply:
    """Starlette's CORSMiddleware accepting a preflight: 200 'OK' in plain text."""
    headers: list[Header] = [(ACAO, "{origin}"), (ACAM, methods), (MAX_AGE, "600")]
    if credentials:
        headers.append(CREDS)
    headers += [(ACAH, allow_headers), VARY, UVICORN]
    return Reply(200, (*headers, *extra), "OK", "text/plain; charset=utf-8")


def starlette_refusal(failure: str, *headers: Header) -> Reply:
    """Starlette's CORSMiddleware refusing a preflight: 400 with 'Disallowed CORS …' and
    the headers it would have allowed (ACAO only when the origin itself was fine)."""
    return text(
        400,
        f"Disallowed CORS {failure}",
        UVICORN,
        *headers,
        VARY,
        content_type="text/plain; charset=utf-8",
    )


def flask_preflight(
    *extra: Header,
    allow: str = "GET, HEAD, OPTIONS, POST, PUT",
    methods: str = STARLETTE_ALL_METHODS,
    allow_headers: str = REQUESTED,
    credentials: bool = False,
) -> Reply:
    """flask-cors on Flask's automatic OPTIONS answer: 200 with `Allow`, the origin echoed,
    the requested headers reflected, flask-cors's default methods."""
    headers: list[Header] = [("Allow", allow), (ACAO, "{origin}")]
    if credentials:
        headers.append(CREDS)
    headers += [(ACAH, allow_headers), (ACAM, methods), VARY, WERKZEUG]
    return Reply(200, (*headers, *extra), "", "text/html; charset=utf-8")


def django_preflight(
    *extra: Header,
    allow_headers: str = DJANGO_CORS_HEADERS,
    credentials: bool = False,
) -> Reply:
    """django-cors-headers answering OPTIONS itself: 200, empty body, its defaults."""
    headers: list[Header] = [(ACAO, "{origin}")]
    if credentials:
        headers.append(CREDS)
    headers += [
        (ACAH, allow_headers),
        (ACAM, DJANGO_CORS_METHODS),
        (MAX_AGE, "86400"),
        ("Vary", "origin"),
        *DJANGO,
    ]
    return Reply(200, (*headers, *extra), "", "text/html; charset=utf-8")


def spring_preflight(
    *extra: Header,
    methods: str = "GET,HEAD,POST",
    max_age: str = "1800",
    credentials: bool = False,
) -> Reply:
    """Spring's DefaultCorsProcessor accepting a preflight: the requested headers
    reflected, `Vary` naming all three request headers it read."""
    headers: list[Header] = [SPRING_VARY, (ACAO, "{origin}"), (ACAM, methods)]
    headers.append((ACAH, REQUESTED))
    if credentials:
        headers.append(CREDS)
    headers.append((MAX_AGE, max_age))
    return Reply(200, (*headers, *SPRING, *extra), "", None)


def redirect(status: int, location: str, *headers: Header) -> Reply:
    return Reply(
        status=status, headers=(("Location", location), *headers), body="", content_type=None
    )


def blocked(error: str, parameter: str | None = "") -> Expected:
    """Chromium reports "no parameter" as an empty string."""
    return Expected(blocked=True, cors_error=error, failed_parameter=parameter)
