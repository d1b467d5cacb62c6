"""Which server stack answers for one API origin, read off the responses it sent.

    stack = fingerprint(responses)
    stack.id, stack.layers   # "express", ("cloudflare", "nginx", "express")

A fix is only useful in the idiom of the layer that has to change, and a duplicated header
needs both the proxy and the app named, so the fingerprint keeps every layer the evidence
shows, front (closest to the browser) to back. Each clue carries a weight: 3 is conclusive
on its own (`X-Powered-By: Express`), 2 is strong, 1 only counts together with another clue
(`Server: gunicorn` says "Python", not which framework). A layer needs 2 to be believed.

Standard library only: the fingerprint is cheap and has no reason to need pandas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.model import Headers, Response

# Stack ids that `fixes.py` writes idiomatic snippets for.
STACK_IDS: tuple[str, ...] = (
    "express",
    "nginx",
    "caddy",
    "apache",
    "aws-api-gateway",
    "cloudflare",
    "starlette",
    "django",
    "flask",
    "spring",
    "aspnet",
    "s3",
    "generic",
)

APP_IDS: frozenset[str] = frozenset({"express", "starlette", "django", "flask", "spring", "aspnet"})

# Where a layer sits, front to back. Layers without an id of their own (cloudfront, php…)
# still appear in `layers` so the text can name them; their fix is the generic one.
_KIND_ORDER = {"edge": 0, "gateway": 1, "proxy": 2, "server": 3, "app": 4}
LAYER_KIND: dict[str, str] = {
    "cloudflare": "edge",
    "cloudfront": "edge",
    "fastly": "edge",
    "akamai": "edge",
    "varnish": "edge",
    "aws-api-gateway": "gateway",
    "aws-elb": "gateway",
    "nginx": "proxy",
    "caddy": "proxy",
    "apache": "proxy",
    "iis": "proxy",
    "envoy": "proxy",
    "tomcat": "server",
    "s3": "server",
    "express": "app",
    "starlette": "app",
    "django": "app",
    "flask": "app",
    "spring": "app",
    "aspnet": "app",
    "php": "app",
    "nextjs": "app",
}

DISPLAY_NAMES: dict[str, str] = {
    "express": "Express",
    "nginx": "nginx",
    "caddy": "Caddy",
    "apache": "Apache httpd",
    "aws-api-gateway": "AWS API Gateway",
    "cloudflare": "Cloudflare",
    "starlette": "FastAPI/Starlette",
    "django": "Django",
    "flask": "Flask",
    "spring": "Spring",
    "aspnet": "ASP.NET Core",
    "generic": "your server",
    "cloudfront": "CloudFront",
    "fastly": "Fastly",
    "akamai": "Akamai",
    "varnish": "Varnish",
    "aws-elb": "the AWS load balancer",
    "iis": "IIS",
    "envoy": "Envoy",
    "tomcat": "Tomcat",
    "s3": "Amazon S3",
    "php": "PHP",
    "nextjs": "Next.js",
}

_EVIDENCE_LIMIT = 14
_VALUE_LIMIT = 80
_THRESHOLD = 2


@dataclass(frozen=True)
class Stack:
    id: str
    """The layer that most likely owns CORS: the app when known, else the innermost proxy."""
    name: str
    evidence: tuple[str, ...]
    """Short human strings, e.g. "Server: nginx/1.25.3", "X-Powered-By: Express"."""
    layers: tuple[str, ...]
    """Every layer the evidence shows, front (browser side) to back (app)."""


def display_name(layer: str) -> str:
    return DISPLAY_NAMES.get(layer, layer)


def app_layer(stack: Stack) -> str | None:
    for layer in reversed(stack.layers):
        if LAYER_KIND.get(layer) == "app":
            return layer
    return None


def front_layers(stack: Stack) -> tuple[str, ...]:
    """The layers in front of the app: CDNs, gateways, reverse proxies."""
    return tuple(
        layer for layer in stack.layers if LAYER_KIND.get(layer) in ("edge", "gateway", "proxy")
    )


def aws_api_flavor(stack: Stack) -> str | None:
    """ "http" for API Gateway HTTP APIs, "rest" for REST APIs, None when unknown. They
    configure CORS in different places, so the fix needs to know."""
    text = " ".join(stack.evidence).lower()
    if "apigw-requestid" in text:
        return "http"
    if "x-amz-apigw-id" in text:
        return "rest"
    return None


# --- Reading the clues ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Clue:
    layer: str | None
    """None for evidence that names no layer (e.g. a duplicated header)."""
    weight: int
    evidence: str


def fingerprint(responses: Iterable[Response]) -> Stack:
    scores: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    seen: dict[tuple[str | None, str], int] = {}
    order = 0
    for response in responses:
        if response.made_by_proxy:
            # The recording proxy's own error pages say nothing about the API's stack.
            continue
        for clue in _clues(response):
            key = (clue.layer, clue.evidence)
            previous = seen.get(key)
            if previous is not None and previous >= clue.weight:
                continue
            seen[key] = clue.weight
            if clue.layer is not None:
                scores[clue.layer] = scores.get(clue.layer, 0) + clue.weight - (previous or 0)
                first_seen.setdefault(clue.layer, order)
            order += 1

    believed = {layer for layer, score in scores.items() if score >= _THRESHOLD}
    apps = [layer for layer in believed if LAYER_KIND.get(layer) == "app"]
    if len(apps) > 1:
        # One origin normally fronts one framework; keep the best-supported one so the fix
        # is written for a single app.
        best = max(apps, key=lambda a: (scores[a], -first_seen[a]))
        believed -= set(apps) - {best}
    layers = tuple(
        sorted(believed, key=lambda layer: (_KIND_ORDER[LAYER_KIND[layer]], first_seen[layer]))
    )
    stack_id = _owner(layers)
    ranked = sorted(enumerate(seen), key=lambda i: (_evidence_rank(i[1][0], layers), i[0]))
    # Evidence for an app that lost to a better-supported one would contradict `layers`.
    shown = (
        text
        for _, (layer, text) in ranked
        if layer is None or layer in layers or scores.get(layer, 0) < _THRESHOLD
    )
    evidence = tuple(dict.fromkeys(shown))[:_EVIDENCE_LIMIT]
    return Stack(id=stack_id, name=display_name(stack_id), evidence=evidence, layers=layers)


def _owner(layers: tuple[str, ...]) -> str:
    for layer in reversed(layers):
        if LAYER_KIND.get(layer) == "app":
            # An app we have no idiom for (PHP, Next.js) still owns CORS: the generic
            # headers are the right advice, not the proxy's config.
            return layer if layer in APP_IDS else "generic"
    for layer in reversed(layers):
        if layer in STACK_IDS:
            return layer
    return "generic"


def _evidence_rank(layer: str | None, layers: tuple[str, ...]) -> int:
    if layer is not None and layer in layers:
        return layers.index(layer)
    return len(layers) + (1 if layer is None else 0)


def _one_line(value: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in value)
    text = " ".join(text.split())
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 1] + "…"


def _show(name: str, value: str) -> str:
    return f"{name}: {_one_line(value)}"


def _clues(response: Response) -> list[_Clue]:
    h = response.headers
    clues: list[_Clue] = []
    for value in h.get_all("server"):
        clues.extend(_server_clues(value, "Server"))
    # API Gateway renames the integration's own Server header instead of dropping it.
    for value in h.get_all("x-amzn-remapped-server"):
        clues.extend(_server_clues(value, "x-amzn-Remapped-Server"))
    for value in h.get_all("x-powered-by"):
        clues.extend(_powered_by_clues(value))
    clues.extend(_edge_clues(h))
    clues.extend(_aws_clues(h))
    clues.extend(_cookie_clues(h))
    clues.extend(_cors_shape_clues(response))
    clues.extend(_body_clues(response))
    clues.extend(_default_header_clues(h))
    count = len(h.get_all("access-control-allow-origin"))
    if count > 1:
        clues.append(_Clue(None, 0, f"Access-Control-Allow-Origin sent {count} times"))
    return clues


_SERVER_PATTERNS: tuple[tuple[re.Pattern[str], tuple[tuple[str, int], ...], str], ...] = (
    (re.compile(r"^(nginx|openresty)\b", re.I), (("nginx", 3),), ""),
    (re.compile(r"^caddy\b", re.I), (("caddy", 3),), ""),
    (re.compile(r"^apache-coyote\b", re.I), (("tomcat", 3), ("spring", 1)), " (Tomcat)"),
    (re.compile(r"^apache\b", re.I), (("apache", 3),), ""),
    (re.compile(r"^cloudflare\b", re.I), (("cloudflare", 3),), ""),
    (re.compile(r"^werkzeug\b", re.I), (("flask", 3),), " (Flask's server)"),
    (
        re.compile(r"^(uvicorn|hypercorn)\b", re.I),
        (("starlette", 2),),
        " (ASGI: FastAPI/Starlette)",
    ),
    (
        re.compile(r"^gunicorn\b", re.I),
        (("django", 1), ("flask", 1)),
        " (Python WSGI: Django or Flask)",
    ),
    (re.compile(r"^wsgiserver\b", re.I), (("django", 1),), " (Django's runserver?)"),
    (re.compile(r"^kestrel\b", re.I), (("aspnet", 3),), " (ASP.NET Core)"),
    (re.compile(r"^microsoft-iis\b", re.I), (("iis", 3), ("aspnet", 1)), ""),
    (re.compile(r"^awselb\b", re.I), (("aws-elb", 3),), ""),
    (re.compile(r"^(istio-)?envoy\b", re.I), (("envoy", 3),), ""),
    (re.compile(r"^akamaighost\b", re.I), (("akamai", 3),), ""),
    (re.compile(r"^amazoncloudfront\b|^cloudfront\b", re.I), (("cloudfront", 3),), ""),
    (re.compile(r"^amazons3\b", re.I), (("s3", 3),), ""),
)


def _server_clues(value: str, header: str) -> list[_Clue]:
    text = value.strip()
    for pattern, layers, note in _SERVER_PATTERNS:
        if pattern.search(text):
            evidence = _show(header, text) + note
            return [_Clue(layer, weight, evidence) for layer, weight in layers]
    return []


_POWERED_BY: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (re.compile(r"\bexpress\b", re.I), "express", 3),
    (re.compile(r"^asp\.net\b", re.I), "aspnet", 2),
    (re.compile(r"^php\b", re.I), "php", 3),
    (re.compile(r"^next\.js\b", re.I), "nextjs", 3),
)


def _powered_by_clues(value: str) -> list[_Clue]:
    text = value.strip()
    for pattern, layer, weight in _POWERED_BY:
        if pattern.search(text):
            return [_Clue(layer, weight, _show("X-Powered-By", text))]
    return []


def _edge_clues(h: Headers) -> list[_Clue]:
    clues: list[_Clue] = []
    if "cf-ray" in h:
        clues.append(_Clue("cloudflare", 3, "cf-ray header (Cloudflare)"))
    if "cf-cache-status" in h:
        clues.append(
            _Clue("cloudflare", 3, _show("cf-cache-status", h.get("cf-cache-status") or ""))
        )
    for via in h.get_all("via"):
        for hop in via.split(","):
            lowered = hop.lower()
            if "cloudfront" in lowered:
                clues.append(_Clue("cloudfront", 3, _show("Via", hop.strip())))
            elif "varnish" in lowered:
                clues.append(_Clue("varnish", 3, _show("Via", hop.strip())))
            elif "apache" in lowered:
                clues.append(_Clue("apache", 2, _show("Via", hop.strip())))
    if "x-amz-cf-id" in h or "x-amz-cf-pop" in h:
        clues.append(_Clue("cloudfront", 3, "x-amz-cf-id header (CloudFront)"))
    x_cache = (h.get("x-cache") or "").lower()
    if "cloudfront" in x_cache:
        clues.append(_Clue("cloudfront", 3, _show("X-Cache", h.get("x-cache") or "")))
    for served_by in h.get_all("x-served-by"):
        if served_by.strip().lower().startswith("cache-"):
            clues.append(_Clue("fastly", 3, _show("X-Served-By", served_by) + " (Fastly)"))
        else:
            clues.append(_Clue("varnish", 1, _show("X-Served-By", served_by)))
    if "x-fastly-request-id" in h:
        clues.append(_Clue("fastly", 3, "x-fastly-request-id header (Fastly)"))
    if "x-varnish" in h:
        clues.append(_Clue("varnish", 3, "X-Varnish header"))
    return clues


def _aws_clues(h: Headers) -> list[_Clue]:
    clues: list[_Clue] = []
    if "x-amz-apigw-id" in h:
        clues.append(_Clue("aws-api-gateway", 3, "x-amz-apigw-id header (API Gateway REST API)"))
    if "apigw-requestid" in h:
        clues.append(_Clue("aws-api-gateway", 3, "apigw-requestid header (API Gateway HTTP API)"))
    if "x-amzn-requestid" in h:
        # Also sent by Lambda function URLs and AppSync: strong, not conclusive.
        clues.append(_Clue("aws-api-gateway", 2, "x-amzn-RequestId header (AWS)"))
    if "x-amz-id-2" in h and "x-amz-request-id" in h:
        clues.append(_Clue("s3", 2, "x-amz-id-2 and x-amz-request-id headers (Amazon S3)"))
    if "x-amzn-errortype" in h:
        clues.append(
            _Clue("aws-api-gateway", 2, _show("x-amzn-ErrorType", h.get("x-amzn-errortype") or ""))
        )
    return clues


_COOKIES: tuple[tuple[str, str, int, str], ...] = (
    ("csrftoken=", "django", 2, "Django's csrftoken cookie"),
    ("sessionid=", "django", 1, "sessionid cookie (Django?)"),
    ("connect.sid=", "express", 2, "connect.sid cookie (express-session)"),
    ("jsessionid=", "spring", 1, "JSESSIONID cookie (Java servlet)"),
    (".aspnetcore.", "aspnet", 2, ".AspNetCore cookie"),
    ("asp.net_sessionid=", "aspnet", 2, "ASP.NET_SessionId cookie"),
    ("phpsessid=", "php", 2, "PHPSESSID cookie"),
    ("laravel_session=", "php", 3, "laravel_session cookie"),
)


def _cookie_clues(h: Headers) -> list[_Clue]:
    clues: list[_Clue] = []
    for cookie in h.get_all("set-cookie"):
        lowered = cookie.strip().lower()
        for prefix, layer, weight, evidence in _COOKIES:
            if lowered.startswith(prefix):
                clues.append(_Clue(layer, weight, evidence))
    return clues


def _tokens(value: str | None) -> list[str]:
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


# Default Access-Control-Allow-Methods of each CORS library, as it appears on the wire.
_EXPRESS_CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"
_DJANGO_CORS_METHODS = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
_FLASK_CORS_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


def _cors_shape_clues(response: Response) -> list[_Clue]:
    h = response.headers
    clues: list[_Clue] = []
    vary = set(_tokens(h.get("vary")))
    acam = (h.get("access-control-allow-methods") or "").strip()
    if {"origin", "access-control-request-method", "access-control-request-headers"} <= vary:
        clues.append(
            _Clue(
                "spring",
                2,
                "Vary: Origin, Access-Control-Request-Method, "
                "Access-Control-Request-Headers (Spring)",
            )
        )
    elif {"origin", "access-control-request-headers"} <= vary:
        # The `cors` package reflects the requested headers and says so in Vary.
        clues.append(
            _Clue(
                "express", 2, "Vary: Origin, Access-Control-Request-Headers (Express cors package)"
            )
        )
    if acam == _EXPRESS_CORS_METHODS:
        clues.append(
            _Clue(
                "express",
                3,
                _show("Access-Control-Allow-Methods", acam) + " (cors package default)",
            )
        )
    elif acam == _DJANGO_CORS_METHODS:
        clues.append(
            _Clue(
                "django",
                3,
                _show("Access-Control-Allow-Methods", acam) + " (django-cors-headers default)",
            )
        )
    elif acam == _FLASK_CORS_METHODS:
        # Also Starlette's expansion of allow_methods=["*"], hence only a hint.
        clues.append(_Clue("flask", 1, _show("Access-Control-Allow-Methods", acam)))
    if "x-csrftoken" in _tokens(h.get("access-control-allow-headers")):
        clues.append(
            _Clue(
                "django",
                3,
                "Access-Control-Allow-Headers lists x-csrftoken (django-cors-headers default)",
            )
        )
    if (
        response.status == 204
        and h.get("content-length") == "0"
        and "access-control-allow-origin" in h
        and "express" in {c.layer for c in clues}
    ):
        clues.append(_Clue("express", 1, "preflight answered 204 with Content-Length: 0"))
    body = (response.body_excerpt or "").strip()
    if response.status == 200 and body == "OK" and acam:
        clues.append(
            _Clue("starlette", 3, "preflight answered 200 'OK' (Starlette CORSMiddleware)")
        )
    return clues


_BODY_PATTERNS: tuple[tuple[re.Pattern[str], str, int, str], ...] = (
    (
        re.compile(r"^Disallowed CORS (origin|method|headers)", re.I),
        "starlette",
        3,
        "body 'Disallowed CORS …' (Starlette CORSMiddleware)",
    ),
    # FastAPI and Django REST framework both answer errors as {"detail": …}.
    (re.compile(r"^\{\s*\"detail\"\s*:"), "starlette", 1, 'JSON error body {"detail": …}'),
    (re.compile(r"^\{\s*\"detail\"\s*:"), "django", 1, 'JSON error body {"detail": …}'),
    (
        re.compile(r"Invalid CORS request", re.I),
        "spring",
        3,
        "body 'Invalid CORS request' (Spring)",
    ),
    (re.compile(r"Whitelabel Error Page"), "spring", 3, "Whitelabel Error Page (Spring Boot)"),
    (
        re.compile(r"\"timestamp\"\s*:.*\"status\"\s*:.*\"error\"\s*:.*\"path\"\s*:", re.S),
        "spring",
        2,
        "JSON error body with timestamp/status/error/path (Spring Boot)",
    ),
    (
        re.compile(r"Cannot (GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) /"),
        "express",
        3,
        "body 'Cannot <METHOD> /…' (Express's 404)",
    ),
    (
        re.compile(r"DEBUG = True|Django tried these URL patterns|CSRF verification failed"),
        "django",
        3,
        "Django error page",
    ),
    (
        re.compile(r"The requested resource was not found on this server\."),
        "django",
        1,
        "Django-style 404 page",
    ),
    (re.compile(r"Werkzeug Debugger|werkzeug", re.I), "flask", 3, "Werkzeug debugger page (Flask)"),
    (
        re.compile(r"The requested URL was not found on the server\. If you entered"),
        "flask",
        2,
        "Werkzeug 404 page (Flask)",
    ),
    (
        re.compile(r"The method is not allowed for the requested URL\."),
        "flask",
        2,
        "Werkzeug 405 page (Flask)",
    ),
    (
        re.compile(r"\"traceId\"\s*:"),
        "aspnet",
        2,
        "ProblemDetails body with traceId (ASP.NET Core)",
    ),
    (re.compile(r"<center>\s*nginx", re.I), "nginx", 3, "nginx error page"),
    (re.compile(r"<address>\s*Apache", re.I), "apache", 3, "Apache error page"),
    (re.compile(r"Generated by cloudfront", re.I), "cloudfront", 3, "CloudFront error page"),
    (
        re.compile(r"Missing Authentication Token"),
        "aws-api-gateway",
        3,
        "body 'Missing Authentication Token' (API Gateway)",
    ),
    (re.compile(r"Internet Information Services", re.I), "iis", 3, "IIS error page"),
    (re.compile(r"cloudflare", re.I), "cloudflare", 1, "Cloudflare error page"),
)


def _body_clues(response: Response) -> list[_Clue]:
    body = response.body_excerpt
    if not body:
        return []
    clues: list[_Clue] = []
    for pattern, layer, weight, evidence in _BODY_PATTERNS:
        if pattern.search(body):
            clues.append(_Clue(layer, weight, evidence))
    return clues


def _default_header_clues(h: Headers) -> list[_Clue]:
    clues: list[_Clue] = []
    # Django's SecurityMiddleware defaults (3.1+/4.0+): each is common, together they point
    # to Django; enough to break gunicorn's Django-or-Flask tie.
    if (h.get("referrer-policy") or "").lower() == "same-origin" and (
        h.get("cross-origin-opener-policy") or ""
    ).lower() == "same-origin":
        clues.append(
            _Clue(
                "django",
                1,
                "Referrer-Policy and Cross-Origin-Opener-Policy 'same-origin' (Django defaults)",
            )
        )
    # Spring Security's cache-control defaults.
    if (h.get("cache-control") or "").lower().replace(" ", "") == (
        "no-cache,no-store,max-age=0,must-revalidate"
    ) and (h.get("expires") or "").strip() == "0":
        clues.append(_Clue("spring", 1, "Cache-Control/Expires: 0 defaults of Spring Security"))
    for name in ("x-aspnet-version", "x-aspnetmvc-version"):
        if name in h:
            clues.append(_Clue("aspnet", 3, f"{name} header (ASP.NET)"))
    etag = (h.get("etag") or "").strip()
    if re.fullmatch(r'W/"[0-9a-f]+-[A-Za-z0-9+/]{27}"', etag):
        clues.append(_Clue("express", 1, "weak ETag in Express's format"))
    return clues
