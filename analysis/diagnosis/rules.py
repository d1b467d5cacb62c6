"""Root-cause rules: from a symptom on one exchange, and what the same API did elsewhere,
to the cause. Each rule reads like the reasoning a developer would do by hand.

`assign(frame)` returns one row per (exchange, root cause): a blocked exchange gets the cause
of its failure, any exchange gets one per warning kind and per security smell.

The evidence a rule may use is what browsers and servers really do:
- a CORS library that refuses an origin still leaves its mark (`Vary: Origin`, the other
  Access-Control-* headers), while a route it never ran for has none;
- a framework answers OPTIONS on its own (200 with `Allow`) when no CORS layer does;
- a gateway or proxy that answers preflights itself shows in the preflight's fingerprint:
  its own layer, without the app that answers the actual requests;
- a proxy's error page (502/503/504) names the proxy, not the app;
- a redirect to a login page is the authentication layer's error path.

`detail` carries the values `fixes.py` fills in: `status`, `near_miss`, `configured`,
`value`, `redirect_to`, `layers`, `made_by`, `cache`, `preflight_layer`, `max_age`, …
"""

from __future__ import annotations

import re
from collections import defaultdict, namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import pandas as pd

from analysis.diagnosis.stacks import LAYER_KIND, display_name
from analysis.model import origin_of
from analysis.verdict import BROWSER_BLOCKS

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
# What a reverse proxy or gateway answers itself when the app behind it does not.
_GATEWAY_ERRORS = frozenset({502, 503, 504})
_FRONT_KINDS = frozenset({"edge", "gateway", "proxy"})
# Where authentication layers send a browser whose session is missing or expired.
_LOGIN_PATH = re.compile(
    r"/(login|log-in|signin|sign-in|sign_in|auth|authorize|oauth2?|sso|cas|saml)\b", re.I
)
# Response types a service worker can only have made itself (or fetched from its own
# origin) when it answers a cross-origin request: the network gives `cors` or `opaque`.
_WORKER_MADE = frozenset({"default", "basic"})


@dataclass(frozen=True, slots=True)
class Assignment:
    exchange: str
    root_cause: str
    severity: str
    api_origin: str
    detail: dict[str, str] = field(default_factory=lambda: _NO_DETAIL)


_NO_DETAIL: dict[str, str] = {}
"""Shared by every assignment without details (most warnings): nothing writes to a detail
once it is assigned, and a million exchanges can give a million warnings."""


@dataclass(slots=True)
class _Api:
    """What one API origin did across the whole capture."""

    allows_somewhere: bool = False
    """Some actual response (not a preflight) carried Access-Control-Allow-Origin."""
    ok_with_header: set[str] = field(default_factory=set)
    """Endpoints whose successful responses carried it."""
    ok_without_header: set[str] = field(default_factory=set)
    actual_servers: set[str] = field(default_factory=set)
    app_layers: set[str] = field(default_factory=set)
    """Application layers (Express, Django …) seen answering actual requests."""
    reflected: dict[str, bool] = field(default_factory=dict)
    """Page origins the API echoed back in ACAO, and whether with credentials."""
    admitted: dict[str, set[str]] = field(default_factory=dict)
    """Endpoint → page origins whose requests got an ACAO matching them (or `*`)."""
    reflections: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    """Reflected ACAO → (the origin it looks like, whether unrelated sites were reflected
    too): fixed once the profile is, asked on every credentialed reflection."""

    def reflection(self, acao: str) -> tuple[str | None, bool]:
        found = self.reflections.get(acao)
        if found is None:
            lookalike = _lookalike(acao, self.reflected)
            found = (lookalike, not lookalike and len(_unrelated_sites(self.reflected)) > 1)
            self.reflections[acao] = found
        return found

    def admitted_anywhere(self, origin: str) -> bool:
        return any(origin in origins for origins in self.admitted.values())

    def admitted_origins(self) -> set[str]:
        return {o for origins in self.admitted.values() for o in origins}


_ROWS_AT_ONCE = 8192


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """`frame.itertuples(index=False)`, each column's values taken out a batch at a time:
    itertuples makes one call per cell, most of a pass over the table."""
    row = namedtuple("Row", frame.columns, rename=True)
    columns = [frame[name].to_numpy() for name in frame.columns]
    for start in range(0, len(frame), _ROWS_AT_ONCE):
        batch = [column[start : start + _ROWS_AT_ONCE].tolist() for column in columns]
        yield from map(row._make, zip(*batch, strict=True))


def _profile(frame: pd.DataFrame) -> dict[str, _Api]:
    apis: dict[str, _Api] = defaultdict(_Api)
    for row in _rows(frame):
        api = apis[row.api_origin]
        if row.acao is not None and row.status is not None:
            api.allows_somewhere = True
            if row.status < 400:
                api.ok_with_header.add(row.endpoint)
        elif row.status is not None and row.status < 300:
            api.ok_without_header.add(row.endpoint)
        if row.server and row.status is not None:
            api.actual_servers.add(row.server)
        if row.status is not None:
            api.app_layers.update(x for x in row.layers if LAYER_KIND.get(x) == "app")
        for value in (row.acao, row.preflight_acao):
            if value and value == row.page_origin:
                credentials = row.acac == "true"
                api.reflected[value] = api.reflected.get(value, False) or credentials
        if row.page_origin and row.acao in (row.page_origin, "*"):
            api.admitted.setdefault(row.endpoint, set()).add(row.page_origin)
    return apis


def assign(frame: pd.DataFrame) -> list[Assignment]:
    apis = _profile(frame)
    out: list[Assignment] = []
    for row in _rows(frame):
        if _same_origin(row):
            continue
        api = apis[row.api_origin]
        # A fault on an allowed answer: its body broke off after the headers passed.
        if row.blocked or row.conditional or row.fault:
            cause, detail = _cause_of_failure(row, api)
            if cause is not None:
                severity = BLOCKED if row.blocked else WARNING
                if row.conditional:
                    detail = {**detail, "condition": _condition(row.condition)}
                out.append(Assignment(row.id, cause, severity, row.api_origin, detail))
        for warning in dict.fromkeys(row.warnings):
            cause = _WARNING_CAUSES.get(warning)
            if cause is not None:
                out.append(Assignment(row.id, cause, WARNING, row.api_origin, _warning(cause, row)))
        out.extend(_worker_answers(row))
        out.extend(_smells(row, api))
    return out


def _condition(condition: str | None) -> str:
    """What a conditional verdict depends on: credentials unless it names another thing the
    wire cannot show (a module script, the fetch's redirect mode)."""
    if condition in (None, "credentials-include"):
        return "credentials"
    return "cors-mode-credentials" if condition == "cors-mode-credentials-include" else condition


def _same_origin(r: Any) -> bool:
    """A request that never left the page's origin is not subject to CORS: whatever went
    wrong with it (a proxy's own answer to its own script, say) has no CORS cause. One the
    page's own server redirected to ftp: or javascript: did leave it, for a URL no server
    answers (so the row names the redirecting server), and so did a mode: 'same-origin'
    request it redirected to another origin, which the browser would not follow."""
    left_for_another_scheme = r.reason == "CorsDisabledScheme"
    return (
        bool(r.page_origin)
        and r.page_origin == r.api_origin
        and not r.tainted
        and not left_for_another_scheme
        and not _left_same_origin_mode(r)
    )


def _left_same_origin_mode(r: Any) -> bool:
    """A mode: 'same-origin' request redirected to another origin, which the browser did
    not follow (a fault at the redirect)."""
    return bool(r.fault) and r.stage == "redirect" and r.mode == "same-origin"


def _warning(cause: str, r: Any) -> dict[str, str]:
    if cause == "preflight-not-cached" and r.preflight_max_age is not None:
        return {"max_age": str(r.preflight_max_age)}
    return _NO_DETAIL


# --- Failures ------------------------------------------------------------------------------


def _cause_of_failure(row: Any, api: _Api) -> tuple[str | None, dict[str, str]]:
    r = row  # a namedtuple of the table row; attribute access keeps the rules readable
    reason: str = r.reason or ""
    base = reason.removeprefix("Preflight") if reason.startswith("Preflight") else reason

    if _left_same_origin_mode(r):
        return "same-origin-mode", {}
    if r.conditional and r.condition == "redirect-error":
        # A redirect that passed CORS with no next hop on a proxy's wire: the fetch's own
        # redirect mode stopped it, a page option the flow file cannot show (Fetch §4.3).
        kind = "redirect-mode-error"
        return "browser-block", {"fault": BROWSER_BLOCKS[kind], "block": kind, "stage": "redirect"}
    if r.fault:
        detail = _fault_detail(r)
        return ("browser-block" if "block" in detail else "proxy-or-upstream-fault"), detail
    if r.source == "service-worker":
        return "service-worker-response", {}
    if reason == "PreflightDisallowedRedirect":
        return "preflight-redirected", _some(
            status=r.preflight_status, redirect_to=r.preflight_location
        )
    if reason == "RedirectContainsCredentials":
        return "redirect-credentials-in-location", _some(status=r.status)
    if reason in ("InsecureLocalNetwork", "LocalNetworkAccessPermissionDenied"):
        return "local-network-access", {"space": r.failed_parameter or ""}
    if reason == "DisallowedByMode":
        return "same-origin-mode", {}
    if reason == "CorsDisabledScheme":
        if r.stage == "redirect":
            return "non-http-scheme", _some(redirect_to=r.location, status=r.status)
        return "non-http-scheme", {}
    if r.tainted and base in _ORIGIN_CHECKS:
        return "redirect-tainted-origin", _some(
            value=r.failed_parameter, redirect_to=r.final_url, status=r.status
        )
    if base == "MultipleAllowOriginValues":
        return _multiple_values(r)
    front = _answered_in_front(r, api) if r.stage == "preflight" else None
    if front is not None and reason not in _PREFLIGHT_STATUS_CHECKS:
        return "gateway-preflight-differs", _some(preflight_layer=front, status=r.preflight_status)
    if reason in ("MethodDisallowedByPreflightResponse", "InvalidAllowMethodsPreflightResponse"):
        return "allow-methods-missing", {"method": r.failed_parameter or r.method}
    if reason in ("HeaderDisallowedByPreflightResponse", "InvalidAllowHeadersPreflightResponse"):
        return "allow-headers-missing", {"header": r.failed_parameter or ""}
    if base == "WildcardOriginNotAllowed":
        return "wildcard-with-credentials", {}
    if base == "InvalidAllowCredentials":
        return "credentials-not-allowed", {"value": r.failed_parameter or ""}
    if base in ("AllowOriginMismatch", "InvalidAllowOriginValue"):
        return _mismatch(r)
    if reason == "PreflightMissingAllowOriginHeader":
        return _preflight_without_header(r, api)
    if reason == "PreflightInvalidStatus":
        return _preflight_status(r, api)
    if reason == "MissingAllowOriginHeader":
        return _response_without_header(r, api)
    if r.blocked and r.source == "http-cache":
        return "browser-cache-wrong-origin", {}
    return None, {}


# Checks of the origin itself: the ones a tainted (`null`) origin fails.
_ORIGIN_CHECKS = frozenset({"MissingAllowOriginHeader", "AllowOriginMismatch"})
# Preflight failures about the status, not the headers: a gateway's own refusal of OPTIONS
# is "not handled", whoever answers.
_PREFLIGHT_STATUS_CHECKS = frozenset(
    {"PreflightInvalidStatus", "PreflightMissingAllowOriginHeader"}
)


def _some(**values: object) -> dict[str, str]:
    """Detail with the values that are known, as text."""
    return {k: str(v) for k, v in values.items() if v is not None and v == v and v != ""}


_BLOCK_KINDS = {message: kind for kind, message in BROWSER_BLOCKS.items()}
"""The engine's words for a block the browser made itself → which block it was."""


def _fault_detail(r: Any) -> dict[str, str]:
    detail = {"fault": str(r.fault)}
    if (block := _BLOCK_KINDS.get(detail["fault"])) is not None:
        detail["block"] = block  # the browser's own refusal, not the network's
        if r.stage == "redirect":
            detail["stage"] = "redirect"  # refused where a redirect pointed, not the call
    elif r.made_by_proxy or r.preflight_made_by_proxy or "proxy answered" in str(r.fault):
        detail["made_by"] = "mitmproxy"
    elif r.stage == "redirect":
        detail["stage"] = "redirect"  # a redirect the browser would not follow
    elif r.blocked is False:
        detail["stage"] = "transfer"  # answered, passed CORS, then the body broke off
    return detail


def _fronts(layers: tuple[str, ...]) -> list[str]:
    return [x for x in layers if LAYER_KIND.get(x) in _FRONT_KINDS]


def _answered_in_front(r: Any, api: _Api) -> str | None:
    """The front layer (gateway, proxy, CDN) that answered the preflight itself, when the
    app that answers this API's actual requests is missing from the preflight's answer."""
    layers: tuple[str, ...] = r.preflight_layers or ()
    fronts = _fronts(layers)
    if not fronts or len(fronts) != len(layers) or not api.app_layers:
        return None
    return fronts[-1]


def _made_by_front(
    status: int | None, layers: tuple[str, ...], body: str | None, api: _Api
) -> str | None:
    """The proxy whose own error page this is: a gateway error (502/503/504) that shows
    only front layers, while the app shows itself on other responses of the API or the
    page itself names the proxy (nginx's `<center>nginx</center>`). An app's own 503
    passed through a proxy that hides the app's headers is neither."""
    if status not in _GATEWAY_ERRORS or not layers:
        return None
    fronts = _fronts(layers)
    if len(fronts) != len(layers):
        return None
    front = fronts[-1]
    names = (front, display_name(front).lower())
    if api.app_layers or any(n in (body or "").lower() for n in names):
        return front
    return None


def _upstream_fault(status: int, front: str) -> tuple[str, dict[str, str]]:
    return "proxy-or-upstream-fault", {
        "fault": f"{display_name(front)} answered {status} itself",
        "made_by": front,
        "status": str(status),
    }


def _refused_by_cors_layer(vary: tuple[str, ...]) -> bool:
    """No ACAO, yet `Vary: Origin`: a CORS layer looked at the Origin and said no."""
    return "origin" in vary


def _not_listed(r: Any, api: _Api) -> tuple[str, dict[str, str]]:
    page = r.page_origin or ""
    if "null" in (page, r.origin_sent):
        # The server judged the Origin it received: an opaque page sends `null`.
        return "null-origin", {"value": "null"}
    admitted = sorted(o for o in api.admitted_origins() if o not in ("null", page))
    closest = min(admitted, key=lambda o: _distance(o, page)) if admitted else ""
    if closest:
        return "origin-allowlist-mismatch", {
            "near_miss": near_miss(closest, page),
            "configured": closest,
        }
    return "origin-allowlist-mismatch", {"near_miss": "not in the allow-list"}


def _distance(configured: str, actual: str) -> int:
    order = (
        "trailing slash",
        "letter case",
        "port",
        "www. prefix",
        "scheme (http vs https)",
        "scheme and port",
    )
    miss = near_miss(configured, actual)
    return order.index(miss) if miss in order else len(order)


def _body_refusal(body: str) -> tuple[str, dict[str, str]] | None:
    """A CORS layer that refuses a preflight with a reason in the body: Starlette's
    'Disallowed CORS origin, method, headers' (any of the three, comma-joined), Spring's
    'Invalid CORS request'."""
    lowered = body.lower()
    if "disallowed cors" in lowered:
        failures = lowered.split("disallowed cors", 1)[1]
        if "origin" in failures:
            return "origin-allowlist-mismatch", {"near_miss": "not in the allow-list"}
        if "method" in failures:
            return "allow-methods-missing", {}
        return "allow-headers-missing", {}
    if "invalid cors request" in lowered:
        return "origin-allowlist-mismatch", {"near_miss": "not in the allow-list"}
    return None


def _preflight_without_header(r: Any, api: _Api) -> tuple[str, dict[str, str]]:
    status = r.preflight_status
    refusal = _body_refusal(r.preflight_body or "")
    if refusal is not None:
        return refusal
    front = _made_by_front(status, r.preflight_layers or (), r.preflight_body, api)
    if front is not None:
        return _upstream_fault(status, front)
    ran = r.preflight_acam is not None
    if status is not None and 200 <= status < 300 and ran and "origin" in r.preflight_vary:
        return _not_listed(r, api)
    if status is not None and (status in _NOT_HANDLED_STATUSES or status >= 500):
        if api.allows_somewhere:
            return "per-route-cors-without-options", {"status": str(status)}
        return "preflight-not-handled", {"status": str(status)}
    if status is not None and 200 <= status < 300 and api.allows_somewhere:
        front = _answered_in_front(r, api)
        if front is not None:
            return "gateway-preflight-differs", {"status": str(status), "preflight_layer": front}
        app_answered = bool(set(r.preflight_layers or ()) & api.app_layers)
        if r.preflight_allow is not None or app_answered:
            # The framework's own answer to OPTIONS (200 with Allow): CORS is attached to
            # the handlers of the real requests, and none exists for OPTIONS.
            return "per-route-cors-without-options", {"status": str(status)}
        # Something answers OPTIONS happily but without the headers the app sends.
        return "gateway-preflight-differs", {"status": str(status)}
    if status is not None and status in (401, 403):
        return "preflight-not-handled", {"status": str(status)}
    return "cors-not-enabled", {}


def _preflight_status(r: Any, api: _Api) -> tuple[str, dict[str, str]]:
    refusal = _body_refusal(r.preflight_body or "")
    if refusal is not None:
        return refusal
    front = _made_by_front(r.preflight_status, r.preflight_layers or (), r.preflight_body, api)
    if front is not None:
        return _upstream_fault(r.preflight_status, front)
    return "preflight-not-handled", _some(status=r.preflight_status)


def _response_without_header(r: Any, api: _Api) -> tuple[str, dict[str, str]]:
    front = _made_by_front(r.status, r.layers or (), r.body, api)
    if front is not None:
        return _upstream_fault(r.status, front)
    cors_elsewhere = bool(api.ok_with_header) or r.preflight_acao is not None
    if r.stage == "redirect":
        if r.location and _LOGIN_PATH.search(_parts(r.location).path):
            # The authentication layer sends expired sessions to its login page, before
            # (outside) the CORS layer: an error path like any 401.
            cause = "error-responses-without-cors" if cors_elsewhere else "cors-not-enabled"
            return cause, _some(status=f"{r.status} to the login page", redirect_to=r.location)
        return "redirect-without-cors", _some(status=r.status, redirect_to=r.location)
    if _refused_by_cors_layer(r.vary or ()):
        return _not_listed(r, api)
    page = r.page_origin or ""
    others = api.admitted.get(r.endpoint, set()) - {page}
    if others and not api.admitted_anywhere(page):
        # The same endpoint lets other pages in, never this one: the allow-list.
        return _not_listed(r, api)
    if r.status is not None and r.status >= 400 and cors_elsewhere:
        return "error-responses-without-cors", {"status": str(r.status)}
    if cors_elsewhere:
        return "cors-after-routes", {}
    if r.status is not None and r.status >= 400:
        return "cors-not-enabled", {"status": str(r.status)}
    return "cors-not-enabled", {}


def _multiple_values(r: Any) -> tuple[str, dict[str, str]]:
    value: str = r.failed_parameter or ""
    parts = [p.strip() for p in value.replace(",", " ").split() if p.strip()]
    lines = r.acao_lines
    layers = r.preflight_layers if r.stage == "preflight" else r.layers
    if lines > 1 or len(set(parts)) <= 1 or "*" in parts:
        detail = {"value": value}
        if layers:
            detail["layers"] = ", ".join(layers)
        return "duplicate-allow-origin", detail
    return "origin-allowlist-mismatch", {
        "near_miss": "the whole allow-list sent",
        "configured": value,
    }


def _mismatch(r: Any) -> tuple[str, dict[str, str]]:
    value: str = r.failed_parameter or ""
    if r.tainted:
        return "redirect-tainted-origin", _some(value=value, redirect_to=r.final_url)
    if r.source == "http-cache":
        return "browser-cache-wrong-origin", {"value": value}
    if r.status == 304 and r.acao is None:
        # A 304 without its own Allow-Origin: the value that failed is the one stored with
        # the response it revalidated, fetched for another origin.
        return "browser-cache-wrong-origin", {"value": value, "revalidated": "304"}
    if r.cache_hit or r.source == "cdn-cache":
        edges = [x for x in (r.layers or ()) if LAYER_KIND.get(x) == "edge"]
        return "cdn-cache-wrong-origin", _some(value=value, cache=edges[0] if edges else None)
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


# --- Answers a service worker made ---------------------------------------------------------


def _worker_answers(row: Any) -> list[Assignment]:
    """A worker that builds the answer to a cross-origin request itself hides whether the
    API allows the page at all: it passes today and fails when the worker does not answer
    (first visit, a new worker version, a hard reload)."""
    r = row
    if r.source != "service-worker" or r.blocked or r.worker_type not in _WORKER_MADE:
        return []
    if r.mode not in (None, "cors") or r.page_origin is None:
        return []
    detail = {"answer": f"a '{r.worker_type}' response the worker made"}
    return [Assignment(r.id, "service-worker-response", WARNING, r.api_origin, detail)]


# --- Security smells, found passively ----------------------------------------------------


def _smells(row: Any, api: _Api) -> list[Assignment]:
    r = row
    found: list[Assignment] = []
    credentialed = r.acac == "true"
    if r.acao == "null" and credentialed:
        found.append(
            Assignment(r.id, "null-origin-allowed-with-credentials", SECURITY, r.api_origin)
        )
    elif r.acao == "null" and not r.blocked and not r.conditional:
        # Allowed without credentials: every sandboxed document and data: URL, on any site,
        # can read the response too.
        found.append(Assignment(r.id, "null-origin", WARNING, r.api_origin, {"value": "null"}))
    if r.acao == "*" and r.set_cookie:
        found.append(Assignment(r.id, "wildcard-on-cookie-response", SECURITY, r.api_origin))
    if r.acao and r.acao == r.page_origin and credentialed:
        lookalike, unrelated = api.reflection(r.acao)
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
        elif unrelated:
            found.append(
                Assignment(r.id, "reflected-origin-with-credentials", SECURITY, r.api_origin)
            )
    return found


def _unrelated_sites(reflected: dict[str, bool]) -> set[str]:
    """Sites the API reflected with credentials, leaving out look-alikes: an origin
    admitted because a pattern matched part of its name is the look-alike finding, not
    proof that every origin is reflected."""
    credentialed = [o for o, cred in reflected.items() if cred]
    return {_site(o) for o in credentialed if not _lookalike(o, reflected)}


def _site(origin: str) -> str:
    host = (_parts(origin).hostname or origin) if "://" in origin else origin
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) > 2 and not host[0].isdigit() else host


def _lookalike(accepted: str, reflected: dict[str, bool]) -> str | None:
    """Another accepted origin whose host this one contains without being its subdomain:
    `https://example.com.evil.test` or `https://notexample.com` beside `https://example.com`."""
    host = _parts(accepted).hostname or ""
    for other in reflected:
        other_host = _parts(other).hostname or ""
        if not other_host or other_host == host or origin_of(other) == origin_of(accepted):
            continue
        if other_host in host and not host.endswith("." + other_host):
            return other
    return None


def _parts(url: str) -> SplitResult:
    """`urlsplit`, empty for what it refuses: Location and Origin values come from the
    network (`http://[zz::1]/`)."""
    try:
        return urlsplit(url)
    except ValueError:
        return _NO_PARTS


_NO_PARTS = urlsplit("")
