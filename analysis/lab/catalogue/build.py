"""Shorthands the catalogue is written with, so each scenario stays a few readable lines."""

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


def redirect(status: int, location: str, *headers: Header) -> Reply:
    return Reply(
        status=status, headers=(("Location", location), *headers), body="", content_type=None
    )


def blocked(error: str, parameter: str | None = "") -> Expected:
    """Chromium reports "no parameter" as an empty string."""
    return Expected(blocked=True, cors_error=error, failed_parameter=parameter)
