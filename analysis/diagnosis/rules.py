"""Root-cause rules: from a symptom on one exchange, and what the same API did elsewhere,
to the cause. Each rule reads like the reasoning a developer would do by hand.

`assign(frame)` returns one row per (exchange, root cause): a blocked exchange gets the cause
of its failure, any exchange gets one per warning kind and per security smell.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pandas as pd

from analysis.model import origin_of

BLOCKED, WARNING, SECURITY = "blocked", "warning", "security"

# Warning ids from the engine, and the root cause each one is.
_WARNING_CAUSES = {
    "expose-headers-missing": "expose-headers-missing",
    "vary-origin-missing": "cache-missing-vary-origin",
    "preflight-not-cached": "preflight-not-cached",
    "authorization-covered-by-wildcard": "authorization-covered-by-wildcard",
    "no-cors-opaque": "no-cors-opaque",
}

_NOT_HANDLED_STATUSES = frozenset({404, 405, 501})


@dataclass(frozen=True, slots=True)
class Assignment:
    exchange: str
    root_cause: str
    severity: str
    api_origin: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Api:
    """What one API origin did across the whole capture."""

    allows_somewhere: bool = False
    """Some actual response (not a preflight) carried Access-Control-Allow-Origin."""
    ok_with_header: set[str] = field(default_factory=set)
    """Endpoints whose successful responses carried it."""
    ok_without_header: set[str] = field(default_factory=set)
    preflight_with_header: bool = False
    actual_servers: set[str] = field(default_factory=set)
    reflected: dict[str, bool] = field(default_factory=dict)
    """Page origins the API echoed back in ACAO, and whether with credentials."""


def _profile(frame: pd.DataFrame) -> dict[str, _Api]:
    apis: dict[str, _Api] = defaultdict(_Api)
    for row in frame.itertuples(index=False):
        api = apis[row.api_origin]
        if row.acao is not None and row.status is not None:
            api.allows_somewhere = True
            if row.status < 400:
                api.ok_with_header.add(row.endpoint)
        elif row.status is not None and row.status < 300:
            api.ok_without_header.add(row.endpoint)
        if row.preflight_acao is not None:
            api.preflight_with_header = True
        if row.server and row.status is not None:
            api.actual_servers.add(row.server)
        for value in (row.acao, row.preflight_acao):
            if value and value == row.page_origin:
                credentials = row.acac == "true"
                api.reflected[value] = api.reflected.get(value, False) or credentials
    return apis


def assign(frame: pd.DataFrame) -> list[Assignment]:
    apis = _profile(frame)
    out: list[Assignment] = []
    for row in frame.itertuples(index=False):
        api = apis[row.api_origin]
        if row.blocked or row.conditional:
            cause, detail = _cause_of_failure(row, api)
            if cause is not None:
                severity = BLOCKED if row.blocked else WARNING
                if row.conditional:
                    detail = {**detail, "condition": "credentials"}
                out.append(Assignment(row.id, cause, severity, row.api_origin, detail))
        for warning in dict.fromkeys(row.warnings):
            cause = _WARNING_CAUSES.get(warning)
            if cause is not None:
                out.append(Assignment(row.id, cause, WARNING, row.api_origin))
        out.extend(_smells(row, api))
    return out


# --- Failures ------------------------------------------------------------------------------


def _cause_of_failure(row: object, api: _Api) -> tuple[str | None, dict[str, str]]:
    r = row  # a pandas namedtuple; attribute access keeps the rules readable
    reason: str = r.reason or ""
    base = reason.removeprefix("Preflight") if reason.startswith("Preflight") else reason

    if r.fault:
        return "proxy-or-upstream-fault", {"fault": r.fault}
    if r.source == "service-worker":
        return "service-worker-response", {}
    if reason == "PreflightDisallowedRedirect":
        return "preflight-redirected", {}
    if reason == "RedirectContainsCredentials":
        return "redirect-credentials-in-location", {}
    if reason in ("InsecureLocalNetwork", "LocalNetworkAccessPermissionDenied"):
        return "local-network-access", {"space": r.failed_parameter or ""}
    if reason == "DisallowedByMode":
        return "same-origin-mode", {}
    if reason == "CorsDisabledScheme":
        return "non-http-scheme", {}
    if reason in ("MethodDisallowedByPreflightResponse", "InvalidAllowMethodsPreflightResponse"):
        return "allow-methods-missing", {"method": r.failed_parameter or r.method}
    if reason in ("HeaderDisallowedByPreflightResponse", "InvalidAllowHeadersPreflightResponse"):
        return "allow-headers-missing", {"header": r.failed_parameter or ""}
    if base == "WildcardOriginNotAllowed":
        return "wildcard-with-credentials", {}
    if base == "InvalidAllowCredentials":
        return "credentials-not-allowed", {"value": r.failed_parameter or ""}
    if base == "MultipleAllowOriginValues":
        return _multiple_values(r)
    if base in ("AllowOriginMismatch", "InvalidAllowOriginValue"):
        return _mismatch(r)
    if reason == "PreflightMissingAllowOriginHeader":
        return _preflight_without_header(r, api)
    if reason == "PreflightInvalidStatus":
        return "preflight-not-handled", {"status": str(r.preflight_status)}
    if reason == "MissingAllowOriginHeader":
        return _response_without_header(r, api)
    if r.blocked and r.source == "http-cache":
        return "browser-cache-wrong-origin", {}
    return None, {}


def _preflight_without_header(r: object, api: _Api) -> tuple[str, dict[str, str]]:
    status = r.preflight_status
    body = (r.preflight_body or "").lower()
    if "disallowed cors" in body or "invalid cors request" in body:
        # The CORS layer itself refused the preflight (Starlette 400, Spring 403).
        if "origin" in body or "invalid cors request" in body:
            return "origin-allowlist-mismatch", {"near_miss": "not in the allow-list"}
        if "method" in body:
            return "allow-methods-missing", {"method": r.method}
        return "allow-headers-missing", {"header": ""}
    if status is not None and (status in _NOT_HANDLED_STATUSES or status >= 500):
        if api.allows_somewhere:
            return "per-route-cors-without-options", {"status": str(status)}
        return "preflight-not-handled", {"status": str(status)}
    if status is not None and 200 <= status < 300 and api.allows_somewhere:
        # Something answers OPTIONS happily but without the headers the app sends.
        return "gateway-preflight-differs", {"status": str(status)}
    if status is not None and status in (401, 403):
        return "preflight-not-handled", {"status": str(status)}
    return "cors-not-enabled", {}


def _response_without_header(r: object, api: _Api) -> tuple[str, dict[str, str]]:
    if r.stage == "redirect":
        return "redirect-without-cors", {"status": str(r.status)}
    if r.status is not None and r.status >= 400 and api.ok_with_header:
        return "error-responses-without-cors", {"status": str(r.status)}
    if api.ok_with_header:
        return "cors-after-routes", {}
    if r.status is not None and r.status >= 400:
        return "cors-not-enabled", {"status": str(r.status)}
    return "cors-not-enabled", {}


def _multiple_values(r: object) -> tuple[str, dict[str, str]]:
    value: str = r.failed_parameter or ""
    parts = [p.strip() for p in value.replace(",", " ").split() if p.strip()]
    if r.acao_lines > 1 or len(set(parts)) <= 1:
        return "duplicate-allow-origin", {"value": value}
    return "origin-allowlist-mismatch", {
        "near_miss": "the whole allow-list sent",
        "configured": value,
    }


def _mismatch(r: object) -> tuple[str, dict[str, str]]:
    value: str = r.failed_parameter or ""
    if r.tainted:
        return "redirect-tainted-origin", {"value": value}
    if r.source == "http-cache":
        return "browser-cache-wrong-origin", {"value": value}
    if r.cache_hit or r.source == "cdn-cache":
        return "cdn-cache-wrong-origin", {"value": value}
    if value == "null" or r.page_origin == "null":
        return "null-origin", {"value": value}
    return "origin-allowlist-mismatch", {
        "near_miss": near_miss(value, r.page_origin or ""),
        "configured": value,
    }


def near_miss(configured: str, actual: str) -> str:
    """Name how an allow-list entry misses the page's origin."""
    if not configured:
        return "empty value"
    if configured.rstrip("/") == actual and configured != actual:
        return "trailing slash"
    if configured.lower() == actual.lower():
        return "letter case"
    c, a = _split(configured), _split(actual)
    if c is None or a is None:
        return "not a valid origin"
    if c[1] == a[1] and c[0] != a[0]:
        return "scheme (http vs https)"
    if c[0] == a[0] and c[1].removeprefix("www.") == a[1].removeprefix("www.") and c[1] != a[1]:
        return "www. prefix"
    if c[0] == a[0] and c[1] == a[1] and c[2] != a[2]:
        return "port"
    if c[2] != a[2] and c[1] == a[1]:
        return "scheme and port"
    return "a different origin"


def _split(origin: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), parts.hostname, port if port is not None else default


# --- Security smells, found passively ----------------------------------------------------


def _smells(row: object, api: _Api) -> list[Assignment]:
    r = row
    found: list[Assignment] = []
    credentialed = r.acac == "true"
    if r.acao == "null" and credentialed:
        found.append(
            Assignment(r.id, "null-origin-allowed-with-credentials", SECURITY, r.api_origin)
        )
    if r.acao == "*" and r.set_cookie:
        found.append(Assignment(r.id, "wildcard-on-cookie-response", SECURITY, r.api_origin))
    if r.acao and r.acao == r.page_origin and credentialed:
        sites = {_site(o) for o, cred in api.reflected.items() if cred}
        if len(sites) > 1:
            found.append(
                Assignment(r.id, "reflected-origin-with-credentials", SECURITY, r.api_origin)
            )
        lookalike = _lookalike(r.acao, api.reflected)
        if lookalike:
            found.append(
                Assignment(
                    r.id,
                    "regex-allowlist-lookalike",
                    SECURITY,
                    r.api_origin,
                    {"accepted": r.acao, "resembles": lookalike},
                )
            )
    return found


def _site(origin: str) -> str:
    host = (urlsplit(origin).hostname or origin) if "://" in origin else origin
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) > 2 and not host[0].isdigit() else host


def _lookalike(accepted: str, reflected: dict[str, bool]) -> str | None:
    """Another accepted origin whose host this one contains without being its subdomain:
    `https://example.com.evil.test` or `https://notexample.com` beside `https://example.com`."""
    host = urlsplit(accepted).hostname or ""
    for other in reflected:
        other_host = urlsplit(other).hostname or ""
        if not other_host or other_host == host or origin_of(other) == origin_of(accepted):
            continue
        if other_host in host and not host.endswith("." + other_host):
            return other
    return None
