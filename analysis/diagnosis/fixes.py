"""The fix for one root cause, in the idiom of the stack the API's responses reveal.

    fix = fix_for("duplicate-allow-origin", stack, params)
    fix.layer, fix.leave_alone   # "nginx", "express": remove nginx's copy, keep Express's

Every value in a snippet comes from the network (origins, header names, paths), so values are
cut to one line and only put into config syntax when they have the shape they claim to have:
an origin that is not `scheme://host[:port]`, or a header name with characters a config
language would interpret (`$`, `{`, quotes), is named in the text and left out of the
snippet. Snippets are built by plain string concatenation; nothing is ever formatted with a
template that contains a captured value, evaluated or executed. HTML escaping is the
renderer's job, so the text is left as it is.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from analysis.diagnosis.catalogue import CAUSES
from analysis.diagnosis.reproduce import curl_command, safe_url
from analysis.diagnosis.stacks import (
    LAYER_KIND,
    STACK_IDS,
    Stack,
    app_layer,
    aws_api_flavor,
    display_name,
    front_layers,
)

# Every cause the catalogue knows has a fix; the catalogue is the one list of ids.
ROOT_CAUSES: tuple[str, ...] = tuple(CAUSES)

# Chromium keeps a preflight result at most this long; asking for more buys nothing there.
CHROMIUM_MAX_AGE = 7200


@dataclass(frozen=True)
class FixParams:
    api_origin: str
    origins: tuple[str, ...] = ()
    """Page origins seen that must be allowed."""
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    """Request header names that need allowing, lower case."""
    expose: tuple[str, ...] = ()
    credentials: bool = False
    paths: tuple[str, ...] = ()
    """Endpoint patterns affected, e.g. "/api/users/{id}"."""
    detail: Mapping[str, str] = field(default_factory=dict)
    """Cause-specific extras: near_miss, configured, value, status, layers, redirect_to,
    fault, accepted, resembles, max_age…"""


@dataclass(frozen=True)
class Fix:
    stack: str
    text: str
    snippet: str
    layer: str
    """The layer to change: a stack id, another layer name, "page" or "service-worker"."""
    leave_alone: str | None
    """The layer that is right as it is and should not be touched, if one is worth naming."""


def fix_for(root_cause: str, stack: Stack, params: FixParams) -> Fix:
    """The fix for `root_cause` on `stack`. Unknown causes get the generic CORS headers
    rather than an exception: a new rule should never break the report."""
    ctx = _Ctx.of(stack, params)
    handler = _HANDLERS.get(root_cause)
    if handler is None:
        return _unknown(ctx, root_cause)
    return handler(ctx)


# --- Values from the network, made safe to show ----------------------------------------

_ORIGIN_RE = re.compile(
    r"^[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*)(:[0-9]{1,5})?$", re.I
)
# Narrower than an HTTP token on purpose: `$`, `'`, `` ` `` and `|` are legal in a header
# name but mean something in nginx, shell or Apache syntax.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PATH_RE = re.compile(r"^/[A-Za-z0-9/_.~{}:@!,;=+-]*$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9._~:/?#@!&()*+,;=%\[\]-]+$")
_TEXT_LIMIT = 200
_LIST_LIMIT = 6
PLACEHOLDER_ORIGIN = "https://app.example.com"


def one_line(value: object, limit: int = _TEXT_LIMIT) -> str:
    """A network value as one printable line: control characters (CR, LF, NUL, U+2028…)
    become spaces, runs of spaces collapse, overlong values are cut."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _is_origin(value: str) -> bool:
    return bool(_ORIGIN_RE.match(value))


@dataclass(frozen=True)
class _Ctx:
    stack: Stack
    api: str
    """The API origin as text (one line)."""
    api_safe: str | None
    """The API origin when it is a well-formed origin, for snippets."""
    seen: tuple[str, ...]
    """Every page origin seen, one-lined, for the text."""
    allowed: tuple[str, ...]
    """Page origins fit for an allow-list in a snippet (well-formed, never "null")."""
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    credentials: bool
    paths: tuple[str, ...]
    detail: dict[str, str]
    app: str | None
    fronts: tuple[str, ...]

    @classmethod
    def of(cls, stack: Stack, p: FixParams) -> _Ctx:
        seen = _dedupe(one_line(o) for o in p.origins)
        detail = {one_line(k, 40): one_line(v) for k, v in dict(p.detail or {}).items()}
        api = one_line(p.api_origin)
        return cls(
            stack=stack,
            api=api or "the API",
            api_safe=api if _is_origin(api) else None,
            seen=seen,
            allowed=tuple(o for o in seen if o != "null" and _is_origin(o)),
            methods=_dedupe(m for m in (one_line(m, 40) for m in p.methods) if _NAME_RE.match(m)),
            headers=_dedupe(
                h for h in (one_line(h, 80).lower() for h in p.headers) if _NAME_RE.match(h)
            ),
            expose=_dedupe(
                h for h in (one_line(h, 80).lower() for h in p.expose) if _NAME_RE.match(h)
            ),
            credentials=bool(p.credentials),
            paths=_dedupe(one_line(x, 120) for x in p.paths),
            detail=detail,
            app=app_layer(stack),
            fronts=front_layers(stack),
        )

    # Words for the text.

    @property
    def owner(self) -> str:
        return self.stack.id if self.stack.id in STACK_IDS else "generic"

    def name(self, layer: str | None = None) -> str:
        return display_name(layer or self.owner)

    def origins_text(self) -> str:
        if not self.seen:
            return "your page's origin"
        return _and(self.seen)

    def where(self) -> str:
        if not self.paths:
            return ""
        return " (" + _and(self.paths) + ")"

    def methods_text(self) -> str:
        return _and(self.methods) if self.methods else ""

    def headers_text(self) -> str:
        return _and(self.headers) if self.headers else ""

    def dropped_note(self) -> str:
        """Say which captured values were kept out of the snippet, so nothing vanishes."""
        odd = [o for o in self.seen if o != "null" and not _is_origin(o)]
        if not odd:
            return ""
        return (
            " Not put into the snippet because it is not a plain scheme://host[:port] origin: "
            + _and(odd)
            + "."
        )

    def requested(self) -> str:
        """The preflight's question in words: 'PUT requests with the header content-type'."""
        subject = f"{self.methods_text()} requests" if self.methods else "requests"
        if not self.headers:
            return subject
        plural = "s" if len(self.headers) > 1 else ""
        return f"{subject} with the header{plural} {self.headers_text()}"


def _and(items: Iterable[str]) -> str:
    values = list(items)
    extra = len(values) - _LIST_LIMIT
    if extra > 0:
        values = [*values[:_LIST_LIMIT], f"{extra} more"]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _q(value: str) -> str:
    # Values reaching here matched the strict patterns above, so no quote or backslash can
    # occur in them; a plain double-quoted literal is valid in every language used here.
    return '"' + value + '"'


def _fix(
    ctx: _Ctx,
    text: Iterable[str],
    snippet: str,
    layer: str | None = None,
    leave_alone: str | None = None,
) -> Fix:
    body = " ".join(t.strip() for t in text if t and t.strip())
    body += ctx.dropped_note()
    target = layer or ctx.owner
    return Fix(
        stack=ctx.owner,
        text=body,
        snippet=snippet.strip("\n"),
        layer=target,
        leave_alone=leave_alone if leave_alone != target else None,
    )


# --- The policy a fix asks for, and how each stack writes it -----------------------------


@dataclass(frozen=True)
class _Policy:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    credentials: bool
    max_age: int | None = None
    wildcard: bool = False
    """Access-Control-Allow-Origin: * (public data, never with credentials)."""


def _policy(
    ctx: _Ctx,
    *,
    origins: tuple[str, ...] | None = None,
    credentials: bool | None = None,
    max_age: int | None = None,
    wildcard: bool = False,
    headers: tuple[str, ...] | None = None,
) -> _Policy:
    chosen = ctx.allowed if origins is None else origins
    # GET and POST are listed too: several libraries (Starlette, Spring) allow only GET
    # unless told, although the browser itself never asks about GET/HEAD/POST.
    methods = _dedupe(["GET", "POST", *ctx.methods])
    return _Policy(
        origins=chosen or (PLACEHOLDER_ORIGIN,),
        methods=methods,
        headers=ctx.headers if headers is None else headers,
        expose=ctx.expose,
        credentials=ctx.credentials if credentials is None else credentials,
        max_age=max_age,
        wildcard=wildcard,
    )


def _js_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _express(p: _Policy, ctx: _Ctx, usage: list[str] | None = None) -> str:
    lines = ['const cors = require("cors");', "", "const corsOptions = {"]
    lines.append("  origin: " + (_q("*") if p.wildcard else _js_list(p.origins)) + ",")
    if p.credentials and not p.wildcard:
        lines.append("  credentials: true,")
    if ctx.methods:
        lines.append("  methods: " + _js_list(p.methods) + ",")
    if p.headers:
        lines.append("  allowedHeaders: " + _js_list(p.headers) + ",")
    if p.expose:
        lines.append("  exposedHeaders: " + _js_list(p.expose) + ",")
    if p.max_age is not None:
        lines.append(f"  maxAge: {p.max_age},")
    lines += ["};", ""]
    lines += usage or [
        "// Before body parsers, auth and every router, so every response gets the headers;",
        "// it also answers the OPTIONS preflights.",
        "app.use(cors(corsOptions));",
    ]
    return "\n".join(lines)


def _nginx(p: _Policy, ctx: _Ctx, *, location: str | None = None) -> str:
    loc = location or _location(ctx)
    lines: list[str] = []
    if p.wildcard:
        value = "*"
    else:
        value = "$cors_origin"
        lines += [
            "# http {} level: answer only the origins you allow (exact, case-sensitive match).",
            "map $http_origin $cors_origin {",
            '    default "";',
        ]
        lines += [f"    {_q(o)} $http_origin;" for o in p.origins]
        lines += ["}", ""]
    common = [f"add_header Access-Control-Allow-Origin {value} always;"]
    if p.credentials and not p.wildcard:
        common.append('add_header Access-Control-Allow-Credentials "true" always;')
    if not p.wildcard:
        common.append("add_header Vary Origin always;")
    preflight = [
        *common,
        "add_header Access-Control-Allow-Methods " + _q(", ".join(p.methods)) + " always;",
    ]
    if p.headers:
        preflight.append(
            "add_header Access-Control-Allow-Headers " + _q(", ".join(p.headers)) + " always;"
        )
    preflight.append(f"add_header Access-Control-Max-Age {p.max_age or CHROMIUM_MAX_AGE} always;")
    actual = list(common)
    if p.expose:
        actual.append(
            "add_header Access-Control-Expose-Headers " + _q(", ".join(p.expose)) + " always;"
        )
    lines.append(f"location {loc} {{")
    lines.append('    # "always": 4xx/5xx responses get the headers too.')
    lines += ["    " + line for line in actual]
    lines += [
        "",
        "    if ($request_method = OPTIONS) {",
        "        # add_header inside if replaces the ones above, so they are repeated here.",
    ]
    lines += ["        " + line for line in preflight]
    lines += ["        return 204;", "    }", "", "    # ... your proxy_pass / root lines ...", "}"]
    return "\n".join(lines)


def _location(ctx: _Ctx) -> str:
    """The longest path prefix the affected endpoints share, cut at a '/'."""
    paths = [x for x in ctx.paths if _PATH_RE.match(x)]
    if not paths:
        return "/"
    statics = [x.split("{", 1)[0] for x in paths]
    prefix = statics[0]
    for other in statics[1:]:
        while not other.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[: prefix.rfind("/") + 1] if "/" in prefix else "/"
    return prefix or "/"


def _caddy(p: _Policy, ctx: _Ctx) -> str:
    site = ctx.api_safe or "api.example.com"
    lines = [f"{site} {{"]
    if p.wildcard:
        lines += [
            "    @cors_preflight method OPTIONS",
            "    header {",
            '        Access-Control-Allow-Origin "*"',
        ]
    else:
        lines += ["    @cors_origin {"]
        lines += [f"        header Origin {o}" for o in p.origins]
        lines += ["    }", "    @cors_preflight {", "        method OPTIONS"]
        lines += [f"        header Origin {o}" for o in p.origins]
        lines += [
            "    }",
            "    # defer: applied last, so it also replaces any copy the upstream sent.",
            "    header @cors_origin {",
            "        Access-Control-Allow-Origin {http.request.header.Origin}",
        ]
        if p.credentials:
            lines.append("        Access-Control-Allow-Credentials true")
        lines.append("        +Vary Origin")
    if p.expose:
        lines.append("        Access-Control-Expose-Headers " + _q(", ".join(p.expose)))
    lines += ["        defer", "    }", "    header @cors_preflight {"]
    lines.append("        Access-Control-Allow-Methods " + _q(", ".join(p.methods)))
    if p.headers:
        lines.append("        Access-Control-Allow-Headers " + _q(", ".join(p.headers)))
    lines.append(f"        Access-Control-Max-Age {p.max_age or CHROMIUM_MAX_AGE}")
    lines += [
        "    }",
        "    respond @cors_preflight 204",
        "",
        "    # ... your reverse_proxy / file_server ...",
        "}",
    ]
    return "\n".join(lines)


def _apache_regex(origins: Iterable[str]) -> str:
    return "^(" + "|".join(re.escape(o) for o in origins) + ")$"


def _apache(p: _Policy, ctx: _Ctx) -> str:
    lines = ["# mod_headers and mod_rewrite; in the <VirtualHost> or a <Location> block."]
    if p.wildcard:
        cond = ""
        lines.append('Header always set Access-Control-Allow-Origin "*"')
    else:
        cond = " env=CORS_ORIGIN"
        lines += [
            "# Allowed origins, exactly: " + ", ".join(p.origins),
            "SetEnvIf Origin " + _q(_apache_regex(p.origins)) + " CORS_ORIGIN=$1",
            '# "always" covers error responses and the 204 below as well.',
            'Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e"' + cond,
        ]
        if p.credentials:
            lines.append('Header always set Access-Control-Allow-Credentials "true"' + cond)
        lines.append("Header always merge Vary Origin")
    if p.expose:
        lines.append(
            "Header always set Access-Control-Expose-Headers " + _q(", ".join(p.expose)) + cond
        )
    lines.append(
        "Header always set Access-Control-Allow-Methods " + _q(", ".join(p.methods)) + cond
    )
    if p.headers:
        lines.append(
            "Header always set Access-Control-Allow-Headers " + _q(", ".join(p.headers)) + cond
        )
    lines.append(
        f'Header always set Access-Control-Max-Age "{p.max_age or CHROMIUM_MAX_AGE}"' + cond
    )
    lines += [
        "# Answer preflights here instead of passing them to the app.",
        "RewriteEngine On",
        "RewriteCond %{REQUEST_METHOD} OPTIONS",
        "RewriteCond %{HTTP:Access-Control-Request-Method} .+",
        "RewriteRule ^ - [R=204,L]",
    ]
    return "\n".join(lines)


def _yaml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _aws(p: _Policy, ctx: _Ctx) -> str:
    origin = "*" if p.wildcard else p.origins[0]
    if aws_api_flavor(ctx.stack) == "http":
        lines = [
            "# HTTP API (CloudFormation): the gateway answers preflights itself and then",
            "# ignores CORS headers from the integration.",
            "Api:",
            "  Type: AWS::ApiGatewayV2::Api",
            "  Properties:",
            "    CorsConfiguration:",
            "      AllowOrigins: " + _yaml_list(["*"] if p.wildcard else p.origins),
        ]
        if p.credentials and not p.wildcard:
            lines.append("      AllowCredentials: true")
        lines.append("      AllowMethods: " + _yaml_list(p.methods))
        if p.headers:
            lines.append("      AllowHeaders: " + _yaml_list(p.headers))
        if p.expose:
            lines.append("      ExposeHeaders: " + _yaml_list(p.expose))
        lines.append(f"      MaxAge: {p.max_age or CHROMIUM_MAX_AGE}")
        return "\n".join(lines)
    lines = [
        "# REST API (SAM): Cors makes the OPTIONS mock integration on every path;",
        "# GatewayResponses put the headers on errors the gateway makes itself (401/403/429/5xx).",
    ]
    if len(p.origins) > 1 and not p.wildcard:
        lines += [
            "# A REST API mock answers one fixed origin. For " + ", ".join(p.origins) + ",",
            "# let the backend answer OPTIONS and echo the allowed Origin instead.",
        ]
    lines += [
        "Api:",
        "  Type: AWS::Serverless::Api",
        "  Properties:",
        "    Cors:",
        "      AllowOrigin: \"'" + origin + "'\"",
        "      AllowMethods: \"'" + ",".join([*p.methods, "OPTIONS"]) + "'\"",
    ]
    if p.headers:
        lines.append("      AllowHeaders: \"'" + ",".join(p.headers) + "'\"")
    if p.credentials and not p.wildcard:
        lines.append("      AllowCredentials: true")
    lines.append(f"      MaxAge: \"'{p.max_age or CHROMIUM_MAX_AGE}'\"")
    lines += ["    GatewayResponses:"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        lines += [
            f"      {kind}:",
            "        ResponseParameters:",
            "          Headers:",
            "            Access-Control-Allow-Origin: \"'" + origin + "'\"",
        ]
        if p.credentials and not p.wildcard:
            lines.append("            Access-Control-Allow-Credentials: \"'true'\"")
    lines += [
        "# With a Lambda proxy integration the function returns the CORS headers on its own",
        "# responses (the mock covers OPTIONS only).",
    ]
    if p.expose:
        lines.append(
            "# Exposed response headers come from the backend too: Access-Control-Expose-Headers: "
            + ", ".join(p.expose)
        )
    return "\n".join(lines)


def _cloudflare(p: _Policy, ctx: _Ctx) -> str:
    lines = ["// Cloudflare Worker on the API's route: adds CORS after the origin (and cache)."]
    if p.wildcard:
        lines.append('const corsFor = () => ({ "Access-Control-Allow-Origin": "*" });')
    else:
        lines.append("const ALLOWED = " + _js_list(p.origins) + ";")
        lines += [
            "const corsFor = (origin) => ALLOWED.includes(origin)",
            '  ? { "Access-Control-Allow-Origin": origin, "Vary": "Origin"'
            + (',\n      "Access-Control-Allow-Credentials": "true" }' if p.credentials else " }"),
            '  : { "Vary": "Origin" };',
        ]
    preflight = ['"Access-Control-Allow-Methods": ' + _q(", ".join(p.methods))]
    if p.headers:
        preflight.append('"Access-Control-Allow-Headers": ' + _q(", ".join(p.headers)))
    preflight.append(f'"Access-Control-Max-Age": "{p.max_age or CHROMIUM_MAX_AGE}"')
    actual = ""
    if p.expose:
        actual = ', "Access-Control-Expose-Headers": ' + _q(", ".join(p.expose))
    lines += [
        "",
        "export default {",
        "  async fetch(request) {",
        '    const cors = corsFor(request.headers.get("Origin"));',
        '    const preflight = request.headers.has("Access-Control-Request-Method");',
        '    if (request.method === "OPTIONS" && preflight) {',
        "      return new Response(null, { status: 204, headers: {",
        "        ...cors,",
        *("        " + line + "," for line in preflight),
        "      } });",
        "    }",
        "    const upstream = await fetch(request);",
        "    const response = new Response(upstream.body, upstream);",
        "    for (const [name, value] of Object.entries({ ...cors" + actual + " })) {",
        "      response.headers.set(name, value);",
        "    }",
        "    return response;",
        "  },",
        "};",
    ]
    return "\n".join(lines)


def _py_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _starlette(p: _Policy, ctx: _Ctx) -> str:
    lines = [
        "# Starlette without FastAPI: from starlette.middleware.cors import CORSMiddleware",
        "from fastapi.middleware.cors import CORSMiddleware",
        "",
        "# Add it after every other add_middleware: the last one added wraps all the others.",
        "app.add_middleware(",
        "    CORSMiddleware,",
        "    allow_origins=" + (_py_list(["*"]) if p.wildcard else _py_list(p.origins)) + ",",
    ]
    if p.credentials and not p.wildcard:
        lines.append("    allow_credentials=True,")
    # Starlette allows only GET unless told otherwise.
    lines.append("    allow_methods=" + _py_list(p.methods) + ",")
    if p.headers:
        lines.append("    allow_headers=" + _py_list(p.headers) + ",")
    if p.expose:
        lines.append("    expose_headers=" + _py_list(p.expose) + ",")
    if p.max_age is not None:
        lines.append(f"    max_age={p.max_age},")
    lines.append(")")
    return "\n".join(lines)


_DJANGO_DEFAULT_HEADERS = frozenset(
    {"accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with"}
)
_DJANGO_DEFAULT_METHODS = frozenset({"DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"})


def _django(p: _Policy, ctx: _Ctx) -> str:
    lines = [
        "# settings.py, with django-cors-headers (pip install django-cors-headers)",
        'INSTALLED_APPS += ["corsheaders"]',
        "# First in MIDDLEWARE: above CommonMiddleware and anything that can answer early.",
        'MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")',
    ]
    if p.wildcard:
        lines.append("CORS_ALLOW_ALL_ORIGINS = True")
    else:
        lines.append("CORS_ALLOWED_ORIGINS = " + _py_list(p.origins))
        if p.credentials:
            lines.append("CORS_ALLOW_CREDENTIALS = True")
    extra_headers = [h for h in p.headers if h not in _DJANGO_DEFAULT_HEADERS]
    extra_methods = [m for m in p.methods if m not in _DJANGO_DEFAULT_METHODS]
    wanted = [
        n
        for n, extra in (("default_headers", extra_headers), ("default_methods", extra_methods))
        if extra
    ]
    if wanted:
        lines.append("from corsheaders.defaults import " + ", ".join(wanted))
    if extra_headers:
        lines.append(
            "CORS_ALLOW_HEADERS = (*default_headers, "
            + ", ".join(_q(h) for h in extra_headers)
            + ")"
        )
    if extra_methods:
        lines.append(
            "CORS_ALLOW_METHODS = (*default_methods, "
            + ", ".join(_q(m) for m in extra_methods)
            + ")"
        )
    if p.expose:
        lines.append("CORS_EXPOSE_HEADERS = " + _py_list(p.expose))
    if p.max_age is not None:
        lines.append(f"CORS_PREFLIGHT_MAX_AGE = {p.max_age}")
    return "\n".join(lines)


def _flask(p: _Policy, ctx: _Ctx) -> str:
    lines = [
        "from flask_cors import CORS  # pip install flask-cors",
        "",
        "# Once, on the app (not per blueprint), right after creating it.",
        "CORS(",
        "    app,",
        "    origins=" + (_py_list(["*"]) if p.wildcard else _py_list(p.origins)) + ",",
    ]
    if p.credentials and not p.wildcard:
        lines.append("    supports_credentials=True,")
    if ctx.methods:
        lines.append("    methods=" + _py_list(p.methods) + ",")
    if p.headers:
        lines.append("    allow_headers=" + _py_list(p.headers) + ",")
    if p.expose:
        lines.append("    expose_headers=" + _py_list(p.expose) + ",")
    if p.max_age is not None:
        lines.append(f"    max_age={p.max_age},")
    lines.append(")")
    return "\n".join(lines)


def _java_list(values: Iterable[str]) -> str:
    return "List.of(" + ", ".join(_q(v) for v in values) + ")"


def _spring(p: _Policy, ctx: _Ctx) -> str:
    lines = [
        "@Bean",
        "CorsConfigurationSource corsConfigurationSource() {",
        "    CorsConfiguration config = new CorsConfiguration();",
    ]
    if p.wildcard:
        lines.append('    config.setAllowedOrigins(List.of("*"));')
    else:
        lines.append("    config.setAllowedOrigins(" + _java_list(p.origins) + ");")
        if p.credentials:
            lines.append("    config.setAllowCredentials(true);")
    lines.append("    config.setAllowedMethods(" + _java_list(p.methods) + ");")
    if p.headers:
        lines.append("    config.setAllowedHeaders(" + _java_list(p.headers) + ");")
    if p.expose:
        lines.append("    config.setExposedHeaders(" + _java_list(p.expose) + ");")
    if p.max_age is not None:
        lines.append(f"    config.setMaxAge({p.max_age}L);")
    lines += [
        "    UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();",
        '    source.registerCorsConfiguration("/**", config);',
        "    return source;",
        "}",
        "",
        "// Spring Security: the CorsFilter must run before authentication, or preflights",
        "// (which never carry credentials) are rejected with 401/403.",
        "http.cors(Customizer.withDefaults());",
    ]
    return "\n".join(lines)


def _cs_args(values: Iterable[str]) -> str:
    return ", ".join(_q(v) for v in values)


def _aspnet(p: _Policy, ctx: _Ctx) -> str:
    lines = [
        "builder.Services.AddCors(options =>",
        "    options.AddDefaultPolicy(policy => policy",
    ]
    if p.wildcard:
        lines.append("        .AllowAnyOrigin()")
    else:
        lines.append("        .WithOrigins(" + _cs_args(p.origins) + ")")
        if p.credentials:
            lines.append("        .AllowCredentials()")
    lines.append("        .WithMethods(" + _cs_args(p.methods) + ")")
    if p.headers:
        lines.append("        .WithHeaders(" + _cs_args(p.headers) + ")")
    if p.expose:
        lines.append("        .WithExposedHeaders(" + _cs_args(p.expose) + ")")
    if p.max_age is not None:
        lines.append(f"        .SetPreflightMaxAge(TimeSpan.FromSeconds({p.max_age}))")
    lines[-1] += "));"
    lines += [
        "",
        "app.UseRouting();",
        "app.UseCors();            // after UseRouting, before authentication/authorization",
        "app.UseAuthentication();",
        "app.UseAuthorization();",
    ]
    return "\n".join(lines)


_S3_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
"""The methods a bucket's CORS rule may name: S3 refuses a configuration with any other."""


def _s3(p: _Policy, ctx: _Ctx) -> str:
    wanted = _dedupe(["GET", "HEAD", *(m.upper() for m in p.methods)])
    methods = [m for m in wanted if m in _S3_METHODS]
    rule = [
        '      "AllowedOrigins": ' + _js_list(["*"] if p.wildcard else p.origins) + ",",
        '      "AllowedMethods": ' + _js_list(methods) + ",",
    ]
    if p.headers:
        rule.append('      "AllowedHeaders": ' + _js_list(p.headers) + ",")
    if p.expose:
        rule.append('      "ExposeHeaders": ' + _js_list(p.expose) + ",")
    rule.append(f'      "MaxAgeSeconds": {p.max_age or CHROMIUM_MAX_AGE}')
    lines = [
        "# The bucket's CORS configuration (S3 console: the bucket > Permissions > CORS), or",
        "#   aws s3api put-bucket-cors --bucket BUCKET --cors-configuration file://cors.json",
        "# S3 then answers preflights itself and echoes an allowed Origin; for any rule but",
        "# *, it also sends Access-Control-Allow-Credentials: true.",
    ]
    unsupported = [m for m in wanted if m not in _S3_METHODS]
    if unsupported:
        lines.append("# A rule cannot name " + ", ".join(unsupported) + ": S3 does not serve them.")
    lines += ["{", '  "CORSRules": [', "    {", *rule, "    }", "  ]", "}"]
    if "cloudfront" in ctx.fronts:
        lines += [
            "",
            "# CloudFront in front of the bucket: forward Origin to S3 (origin request policy",
            "# Managed-CORS-S3Origin) and put Origin in the cache policy's headers, or every",
            "# page is served the answer cached for the first origin that asked.",
        ]
    return "\n".join(lines)


def _generic(p: _Policy, ctx: _Ctx) -> str:
    origin = "*" if p.wildcard else p.origins[0]
    lines: list[str] = []
    if len(p.origins) > 1 and not p.wildcard:
        lines += [
            "# Access-Control-Allow-Origin holds one origin: echo the request's Origin when it",
            "# is exactly one of " + ", ".join(p.origins) + " (never the whole list).",
        ]
    where = ctx.paths[0] if ctx.paths else "/"
    lines += [
        f"# Preflight (OPTIONS {where}): answer 204 with",
        f"Access-Control-Allow-Origin: {origin}",
    ]
    cred = p.credentials and not p.wildcard
    if cred:
        lines.append("Access-Control-Allow-Credentials: true")
    lines.append("Access-Control-Allow-Methods: " + ", ".join(p.methods))
    if p.headers:
        lines.append("Access-Control-Allow-Headers: " + ", ".join(p.headers))
    lines.append(f"Access-Control-Max-Age: {p.max_age or CHROMIUM_MAX_AGE}")
    if not p.wildcard:
        lines.append("Vary: Origin")
    lines += ["", "# Every actual response, errors and redirects included:"]
    lines.append(f"Access-Control-Allow-Origin: {origin}")
    if cred:
        lines.append("Access-Control-Allow-Credentials: true")
    if p.expose:
        lines.append("Access-Control-Expose-Headers: " + ", ".join(p.expose))
    if not p.wildcard:
        lines.append("Vary: Origin")
    return "\n".join(lines)


_RENDER: dict[str, Callable[[_Policy, _Ctx], str]] = {
    "express": _express,
    "nginx": _nginx,
    "caddy": _caddy,
    "apache": _apache,
    "aws-api-gateway": _aws,
    "cloudflare": _cloudflare,
    "starlette": _starlette,
    "django": _django,
    "flask": _flask,
    "spring": _spring,
    "aspnet": _aspnet,
    "s3": _s3,
    "generic": _generic,
}


def _config(ctx: _Ctx, policy: _Policy | None = None, target: str | None = None) -> str:
    render = _RENDER.get(target or ctx.owner, _generic)
    return render(policy or _policy(ctx), ctx)


# --- Shared pieces of text --------------------------------------------------------------


def _front_to_leave(ctx: _Ctx) -> str | None:
    """When the fix goes into the app, the proxy in front of it is the layer to keep out."""
    if LAYER_KIND.get(ctx.owner) == "app" and ctx.fronts:
        return ctx.fronts[-1]
    return None


def _leave_front_sentence(ctx: _Ctx) -> str:
    front = _front_to_leave(ctx)
    if front is None:
        return ""
    return (
        f"Leave {ctx.name(front)} alone: if it added CORS headers as well, every response"
        " would carry them twice, which browsers refuse."
    )


def _note(ctx: _Ctx, notes: Mapping[str, str]) -> str:
    return notes.get(ctx.owner, notes.get("*", ""))


def _status_text(ctx: _Ctx, fallback: str) -> str:
    status = ctx.detail.get("status")
    return status if status else fallback


def _url_for_snippet(value: str | None) -> str | None:
    """A captured URL fit for a string literal: no credentials or tokens, no quotes."""
    if not value:
        return None
    cleaned = safe_url(value)
    return cleaned if _URL_RE.match(cleaned) else None


def _fetch_snippet(url: str, ctx: _Ctx, *, drop_mode: bool = False) -> str:
    options = []
    unusual = [m for m in ctx.methods if m not in ("GET",)]
    if unusual:
        options.append("  method: " + _q(unusual[0]) + ",")
    if ctx.credentials:
        options.append('  credentials: "include",')
    if drop_mode:
        options.append(
            '  // no mode: "no-cors" / "same-origin": the default "cors" is what you want'
        )
    if not options:
        return "const response = await fetch(" + _q(url) + ");"
    return "\n".join(["const response = await fetch(" + _q(url) + ", {", *options, "});"])


def _api_url(ctx: _Ctx) -> str:
    base = ctx.api_safe or PLACEHOLDER_ORIGIN.replace("app.", "api.")
    path = next((x for x in ctx.paths if _PATH_RE.match(x) and "{" not in x), "/")
    return base + path


# --- One handler per root cause -----------------------------------------------------------


def _cors_not_enabled(c: _Ctx) -> Fix:
    status = c.detail.get("status")
    notes = {
        "express": "Install the cors package and register it before every route.",
        "nginx": "Add the headers in the location that serves the API, with always so that"
        " errors carry them too, and answer preflights in nginx.",
        "caddy": "Add the header directives to the site block and answer preflights with 204.",
        "apache": "Use mod_headers with Header always set, and answer preflights with 204.",
        "aws-api-gateway": "Enable CORS on the API: the gateway then answers preflights, and"
        " gateway responses carry the headers on its own errors.",
        "cloudflare": "Nothing behind Cloudflare was recognised, so the Worker below adds CORS"
        " at the edge; if you control the origin server, adding it there is simpler.",
        "starlette": "Add Starlette's CORSMiddleware (FastAPI re-exports it).",
        "django": "Install django-cors-headers and put its middleware first.",
        "flask": "Install flask-cors and apply it to the whole app.",
        "spring": "Declare one CorsConfigurationSource and enable http.cors() in Spring Security.",
        "aspnet": "Add a CORS policy and app.UseCors() in the right place of the pipeline.",
        "s3": "Give the bucket a CORS configuration: S3 sends no CORS headers without one.",
        "generic": "Send the headers below from whatever serves the API.",
    }
    extra = ""
    if c.methods or c.headers:
        extra = f" and let the preflight for {c.requested()} through"
    text = [
        f"Responses from {c.api}{c.where()} carry no Access-Control-Allow-Origin header"
        + (f" (not even the {status} ones)," if status else ","),
        f"so the browser refuses to let pages on {c.origins_text()} read them.",
        f"CORS is not switched on in any layer. Switch it on in {c.name()}: allow exactly",
        f"{c.origins_text()}" + (" with credentials" if c.credentials else "") + extra + ".",
        _note(c, notes),
        _leave_front_sentence(c),
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


def _express_ordered(c: _Ctx, policy: _Policy | None = None) -> str:
    return _express(
        policy or _policy(c),
        c,
        usage=[
            "const app = express();",
            "app.use(cors(corsOptions));  // 1. CORS first: everything below gets its headers",
            "app.use(express.json());     // 2. parsers, sessions, auth",
            'app.use("/api", apiRouter);  // 3. routes',
            "app.use(errorHandler);       // 4. the error handler last",
        ],
    )


def _cors_after_routes(c: _Ctx) -> Fix:
    notes = {
        "express": "Express runs middleware in the order it is registered: a route or router"
        " registered before app.use(cors(...)) answers without CORS headers.",
        "nginx": "nginx drops every add_header inherited from the server block in a location"
        " that has add_header lines of its own, so CORS lines at server level vanish in such"
        " locations. Put the CORS lines into every location that serves the API (an include"
        " file keeps them in one place).",
        "caddy": "Header directives limited by a path matcher miss the other paths: apply"
        " them to the whole site.",
        "apache": "Header directives inside one <Location> or <Directory> miss the others:"
        " move them up to the <VirtualHost>.",
        "aws-api-gateway": "On a REST API, CORS is enabled per resource: enable it on every"
        " resource (including {proxy+}); an HTTP API's CorsConfiguration covers all routes.",
        "cloudflare": "The Worker route or Transform Rule matches only some paths: widen it to"
        " the whole API.",
        "starlette": "A sub-application mounted with app.mount(), or an @app.middleware('http')"
        " added after CORSMiddleware, answers outside it: add CORSMiddleware last, on the"
        " main app.",
        "django": "Middleware above CorsMiddleware, or views that set the headers by hand,"
        " explain partial coverage: use django-cors-headers for all URLs, first in"
        " MIDDLEWARE.",
        "flask": "CORS(blueprint) or @cross_origin() cover only their own routes: apply CORS"
        " once to the app.",
        "spring": "@CrossOrigin on some controllers covers only those: declare one"
        " CorsConfigurationSource for /** instead.",
        "aspnet": "[EnableCors] or RequireCors() on some endpoints covers only those: use a"
        " default policy with app.UseCors() for the whole app.",
        "generic": "Whatever adds the headers runs for some routes only: make it run for all.",
    }
    snippet = _express_ordered(c) if c.owner == "express" else _config(c)
    text = [
        f"Some endpoints of {c.api} send CORS headers and others{c.where()} never do, even on"
        " success, so pages on " + c.origins_text() + " are blocked on those.",
        f"The CORS layer in {c.name()} only runs for part of the routes.",
        _note(c, notes),
        "Leave the routes' own code alone: the fix is where CORS is registered.",
    ]
    return _fix(c, text, snippet, leave_alone=_front_to_leave(c))


def _preflight_not_handled(c: _Ctx) -> Fix:
    status = _status_text(c, "an error")
    notes = {
        "express": "app.use(cors(corsOptions)) before the routes answers every OPTIONS"
        " preflight; without it Express has no OPTIONS route and answers 404.",
        "nginx": "Answer OPTIONS in nginx (the if block below) rather than passing it to an"
        " upstream that does not know it.",
        "caddy": "Answer OPTIONS in Caddy with respond 204 before it reaches the upstream.",
        "apache": "Answer OPTIONS in Apache with the RewriteRule below.",
        "aws-api-gateway": "A REST API needs an OPTIONS method on each resource (Enable CORS"
        " creates a mock integration for it); an HTTP API answers preflights once"
        " CorsConfiguration is set.",
        "cloudflare": "The Worker below answers the preflight at the edge.",
        "starlette": "CORSMiddleware answers preflights itself, but only for methods in"
        " allow_methods (just GET by default) and headers in allow_headers.",
        "django": "CorsMiddleware answers preflights before any view runs, if it comes first"
        " in MIDDLEWARE.",
        "flask": "flask-cors answers the OPTIONS request Flask adds to every route.",
        "spring": "Preflights carry no cookies or Authorization, so Spring Security rejects"
        " them unless http.cors() lets its CorsFilter answer first.",
        "aspnet": "app.UseCors() must run after UseRouting and before authentication and"
        " authorization; otherwise preflights get 401, 404 or 405.",
        "generic": "Answer OPTIONS for these paths with 204 and the headers below.",
    }
    auth = ""
    if c.detail.get("status", "").strip() in ("401", "403"):
        auth = (
            "A 401/403 means authentication runs before CORS: a preflight never carries cookies"
            " or Authorization, so OPTIONS must pass without authentication."
        )
    text = [
        f"Before {c.requested()} to {c.api}{c.where()}, the browser asks with an OPTIONS"
        f" preflight, and the server answers {status} without CORS headers, so pages on"
        f" {c.origins_text()} never get to send the real request.",
        f"{c.name()} has to answer OPTIONS itself: a 2xx status with the CORS headers.",
        _note(c, notes),
        auth,
        "Leave the handlers of the real requests alone; they are not reached yet.",
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


def _express_route(path: str) -> str | None:
    if not _PATH_RE.match(path):
        return None
    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", r":\1", path)


def _per_route_without_options(c: _Ctx) -> Fix:
    status = _status_text(c, "an error")
    notes = {
        "express": "A handler like app.put(path, cors(), handler) covers PUT only; the"
        " browser's OPTIONS request to the same path finds no route. Route OPTIONS through"
        " cors() as well, or register cors() once for the whole app.",
        "spring": "@CrossOrigin on a handler is honoured for its preflight only when Spring"
        " Security lets OPTIONS through: configure CORS globally with http.cors().",
        "aspnet": "[EnableCors] on an action needs app.UseCors() in the pipeline to answer the"
        " preflight; a default policy covers every endpoint.",
        "flask": "@cross_origin() on a view covers only that view; apply CORS to the app.",
        "django": "Headers set by hand in views never reach the preflight: use"
        " django-cors-headers, which answers OPTIONS before the views.",
        "starlette": "Headers set by hand in endpoints never reach the preflight: use"
        " CORSMiddleware, which answers OPTIONS before routing.",
        "*": "CORS headers are added to the handlers of the real requests only; add them to the"
        " answer for OPTIONS too.",
    }
    if c.owner == "express":
        routes = [r for r in (_express_route(x) for x in c.paths) if r][:_LIST_LIMIT]
        usage = ["// The preflight is its own OPTIONS request: route it through cors() too."]
        usage += [f"app.options({_q(r)}, cors(corsOptions));" for r in routes] or [
            "app.options(/.*/, cors(corsOptions));"
        ]
        usage.append("// Or once for the whole app, before the routes: app.use(cors(corsOptions));")
        snippet = _express(_policy(c), c, usage=usage)
    else:
        snippet = _config(c)
    text = [
        f"Normal responses of {c.api} carry CORS headers, but the OPTIONS preflight to the same"
        f" paths{c.where()} gets {status} without them, so pages on {c.origins_text()} never"
        f" send {c.requested()}.",
        "CORS is attached to individual route handlers and none exists for OPTIONS.",
        _note(c, notes),
        "Leave the existing per-route settings as they are until the app-wide one is in place.",
    ]
    return _fix(c, text, snippet, leave_alone=_front_to_leave(c))


def _starlette_wrapped(c: _Ctx) -> str:
    p = _policy(c)
    args = ["    allow_origins=" + _py_list(p.origins) + ","]
    if p.credentials:
        args.append("    allow_credentials=True,")
    args.append("    allow_methods=" + _py_list(p.methods) + ",")
    if p.headers:
        args.append("    allow_headers=" + _py_list(p.headers) + ",")
    if p.expose:
        args.append("    expose_headers=" + _py_list(p.expose) + ",")
    return "\n".join(
        [
            "from starlette.middleware.cors import CORSMiddleware",
            "",
            "# At the end of main.py, instead of app.add_middleware(CORSMiddleware, ...):",
            "# the outermost wrapper also covers the 500 of an unhandled exception, which",
            "# ServerErrorMiddleware makes outside every add_middleware layer.",
            "asgi_app = CORSMiddleware(",
            "    app,",
            *args,
            ")",
            "# run it with: uvicorn main:asgi_app",
        ]
    )


def _caddy_errors(c: _Ctx) -> str:
    p = _policy(c)
    lines = [_caddy(p, c), "", "# Inside the same site block: errors Caddy makes itself."]
    lines += ["handle_errors {"]
    lines += [
        "    header @cors_origin Access-Control-Allow-Origin {http.request.header.Origin}",
    ]
    if p.credentials:
        lines.append("    header @cors_origin Access-Control-Allow-Credentials true")
    lines += ['    respond "{err.status_code} {err.status_text}"', "}"]
    return "\n".join(lines)


def _error_responses(c: _Ctx) -> Fix:
    status = _status_text(c, "4xx/5xx")
    notes = {
        "express": "Headers that cors() set stay on errors raised after it. Errors answered"
        " without them come from middleware registered before cors() (body parsers, auth,"
        " rate limiters) or from an error handler that replaces the response: register cors()"
        " first and the error handler last.",
        "nginx": "add_header without always applies only to 2xx and 3xx responses: add always,"
        " which also covers nginx's own error pages.",
        "apache": "Header set applies to successful responses only: use Header always set.",
        "caddy": "Responses Caddy makes itself on errors (upstream down, timeouts) go through"
        " handle_errors and need the headers there.",
        "aws-api-gateway": "Errors the gateway makes itself (missing authentication token,"
        " authorizer 401/403, throttling, integration timeouts) are Gateway Responses: add the"
        " CORS headers to DEFAULT_4XX and DEFAULT_5XX. A Lambda proxy integration must add the"
        " headers to its own error returns too.",
        "cloudflare": "The Worker below adds the headers to every response from the origin,"
        " errors included. Error pages Cloudflare makes itself (52x) mean the origin is"
        " unreachable, which no header fixes.",
        "starlette": "HTTPException responses pass through CORSMiddleware, but an unhandled"
        " exception becomes a 500 in ServerErrorMiddleware, which sits outside every"
        " add_middleware layer. Wrap the whole app instead.",
        "django": "CorsMiddleware adds the headers to every response passing through it, errors"
        " included, so an error without them comes from middleware above it or from the"
        " server in front (gunicorn timeouts, proxy 502/504). Put CorsMiddleware first.",
        "flask": "flask-cors also adds the headers to Flask's error responses, so errors"
        " without them come from the server in front (gunicorn timeouts, proxy 502/504), or"
        " CORS covers a blueprint rather than the app.",
        "spring": "Spring Security writes its 401/403 before Spring MVC's CORS handling runs:"
        " configure CORS through http.cors() so the CorsFilter adds the headers first.",
        "aspnet": "Keep app.UseExceptionHandler() first and app.UseCors() after UseRouting and"
        " before UseAuthentication/UseAuthorization, so 401s and exception pages pass"
        " through the CORS middleware.",
        "generic": "Send the headers on every response, whatever its status.",
    }
    if c.owner == "express":
        snippet = _express_ordered(c)
    elif c.owner == "starlette":
        snippet = _starlette_wrapped(c)
    elif c.owner == "caddy":
        snippet = _caddy_errors(c)
    else:
        snippet = _config(c)
    text = [
        f"{c.api} sends CORS headers on successful responses but not on its {status}"
        f" responses{c.where()}. For pages on {c.origins_text()} the browser then hides the"
        " error (status, body and all) behind a CORS message, so the page cannot tell what"
        " went wrong.",
        f"Fix it in {c.name()}.",
        _note(c, notes),
        "Leave the success path alone: its headers are right.",
    ]
    return _fix(c, text, snippet, leave_alone=_front_to_leave(c))


def _wildcard_with_credentials(c: _Ctx) -> Fix:
    notes = {
        "express": "origin: '*' (the cors default) never works with credentials: list the"
        " origins and set credentials: true.",
        "nginx": "Replace add_header Access-Control-Allow-Origin * with the map below, which"
        " echoes only allowed origins.",
        "caddy": "Replace the fixed * with the request's Origin, for allowed origins only.",
        "apache": "Replace the fixed * with the request's Origin, for allowed origins only.",
        "aws-api-gateway": "Replace AllowOrigin '*' with the page's origin.",
        "cloudflare": "A Transform Rule can only set a fixed value; the Worker below echoes the"
        " allowed origin.",
        "starlette": "Replace allow_origins=['*'] with the list below and keep"
        " allow_credentials=True.",
        "django": "CORS_ALLOW_ALL_ORIGINS answers * unless credentials are allowed: list the"
        " origins and set CORS_ALLOW_CREDENTIALS = True.",
        "flask": "origins='*' without supports_credentials=True answers *: list the origins and"
        " allow credentials.",
        "spring": 'setAllowedOrigins("*") cannot be combined with credentials: list the origins.',
        "aspnet": "AllowAnyOrigin() cannot be combined with AllowCredentials(): use"
        " WithOrigins(...).",
        "generic": "Echo the request's Origin when it is on your list, never *.",
    }
    text = [
        f"{c.api} answers Access-Control-Allow-Origin: * but pages on {c.origins_text()} send"
        f" their requests{c.where()} with credentials (cookies or HTTP authentication:"
        " fetch's credentials: 'include', XHR's withCredentials). Browsers never accept * for"
        " those.",
        f"In {c.name()}, send the page's exact origin from an allow-list together with"
        " Access-Control-Allow-Credentials: true and Vary: Origin.",
        _note(c, notes),
        "If these requests need no cookies, the other fix is in the page: drop"
        " credentials: 'include' and keep *.",
    ]
    return _fix(c, text, _config(c, _policy(c, credentials=True)), leave_alone=_front_to_leave(c))


def _credentials_not_allowed(c: _Ctx) -> Fix:
    sent = c.detail.get("value")
    notes = {
        "express": "Set credentials: true in the cors options.",
        "nginx": 'Add add_header Access-Control-Allow-Credentials "true" always.',
        "caddy": "Add Access-Control-Allow-Credentials true to the header block.",
        "apache": 'Add Header always set Access-Control-Allow-Credentials "true".',
        "aws-api-gateway": "Set AllowCredentials: true (and the header in the gateway responses).",
        "cloudflare": "Add Access-Control-Allow-Credentials: true in the Worker.",
        "starlette": "Set allow_credentials=True.",
        "django": "Set CORS_ALLOW_CREDENTIALS = True.",
        "flask": "Pass supports_credentials=True.",
        "spring": "Call config.setAllowCredentials(true).",
        "aspnet": "Add .AllowCredentials() to the policy.",
        "generic": "Send Access-Control-Allow-Credentials: true.",
    }
    got = f" (it sent {sent!r})" if sent else ""
    text = [
        f"Pages on {c.origins_text()} send credentials to {c.api}{c.where()}, and the answer"
        " names the right origin but lacks Access-Control-Allow-Credentials: true" + got + ".",
        "Browsers require exactly true, in lower case, whenever credentials are sent.",
        _note(c, notes),
        "Leave the allowed origins as they are: they already match. If the requests need no"
        " cookies, dropping credentials: 'include' in the page fixes it as well.",
    ]
    return _fix(c, text, _config(c, _policy(c, credentials=True)), leave_alone=_front_to_leave(c))


def near_miss(configured: str, origin: str) -> str:
    """How an allow-list entry misses the page's origin, in a few words."""
    if not configured:
        return "an empty value"
    if configured.rstrip("/") == origin and configured != origin:
        return "trailing slash"
    if configured.lower() == origin.lower():
        return "letter case"
    if "," in configured or " " in configured.strip():
        return "the whole allow-list sent"
    try:
        a, b = urlsplit(configured), urlsplit(origin)
        a_port = a.port or {"http": 80, "https": 443}.get(a.scheme.lower())
        b_port = b.port or {"http": 80, "https": 443}.get(b.scheme.lower())
    except ValueError:
        return "not a valid origin"
    a_host, b_host = (a.hostname or ""), (b.hostname or "")
    if a_host == b_host and a.scheme.lower() != b.scheme.lower():
        return "scheme (http vs https)"
    if a_host != b_host and a_host.removeprefix("www.") == b_host.removeprefix("www."):
        return "www. prefix"
    if a_host == b_host and a_port != b_port:
        return "port"
    return "a different origin"


_NEAR_MISS_ADVICE = (
    ("trailing slash", "An origin never ends with a slash: write the entry without the '/'."),
    (
        "letter case",
        "Browsers send the host in lower case and compare exactly: write the entry in lower case.",
    ),
    (
        "case",
        "Browsers send the host in lower case and compare exactly: write the entry in lower case.",
    ),
    (
        "port",
        "The port is part of the origin: list every port the page is served from"
        " (dev servers often move to the next free port).",
    ),
    (
        "scheme",
        "http and https origins are different origins: list the one the page is served from.",
    ),
    (
        "www",
        "www.example.com and example.com are different origins: list both if both serve the page.",
    ),
    (
        "whole allow-list",
        "The header holds exactly one origin, never a list: echo the"
        " request's Origin when it is on the list.",
    ),
    ("not in the allow-list", "The origin is not on the allow-list: add it."),
)


def _origin_allowlist_mismatch(c: _Ctx) -> Fix:
    configured = c.detail.get("configured") or c.detail.get("value") or ""
    near = c.detail.get("near_miss") or (
        near_miss(configured, c.seen[0]) if configured and c.seen else ""
    )
    advice = next((a for key, a in _NEAR_MISS_ADVICE if key in near.lower()), "")
    notes = {
        "express": "The cors package compares each string entry exactly; a comma-separated"
        " string is sent as it is, so use an array.",
        "nginx": "map keys must be the exact origins, without a trailing slash.",
        "django": "CORS_ALLOWED_ORIGINS entries are scheme://host[:port] with no path or slash.",
        "spring": "setAllowedOrigins compares exactly; use setAllowedOriginPatterns only for"
        " real wildcards.",
        "aspnet": "WithOrigins compares exactly; a trailing slash never matches.",
        "aws-api-gateway": "The gateway compares AllowOrigins exactly.",
    }
    if configured:
        differs = f" They differ by: {near}." if near else ""
        refusal = (
            f"it answered Access-Control-Allow-Origin: {configured}, which is not byte for"
            " byte the page's origin." + differs
        )
    else:
        # Nothing echoed: an allow-list that does not hold the origin leaves the header out.
        refusal = "it leaves Access-Control-Allow-Origin out for them."
    text = [
        f"Pages on {c.origins_text()} are refused by {c.api}{c.where()}: {refusal}",
        advice,
        f"Correct the allow-list in {c.name()} to the exact origins below.",
        _note(c, notes),
        "Leave the rest of the CORS setup alone: only the list is wrong.",
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


def _null_origin(c: _Ctx) -> Fix:
    if "null" in c.seen or not c.seen:
        text = [
            f"Requests to {c.api}{c.where()} arrive with Origin: null (pages seen:"
            f" {c.origins_text()}): the page runs in a sandboxed iframe, from a file:// or"
            " data: URL, or the request followed a redirect to another origin.",
            "Do not add null to the allow-list: any website can make a sandboxed iframe that"
            " sends Origin: null, so allowing it allows everyone.",
            "Serve the page from a real http(s) origin (a local dev server such as"
            " http://localhost:5173 is fine) and allow that origin in " + c.name() + ";"
            " if the data is public and needs no cookies, answer * instead.",
        ]
        if c.allowed:
            policy = _policy(c)
        else:
            policy = _policy(c, wildcard=True, credentials=False)
    else:
        text = [
            f"{c.api} answers Access-Control-Allow-Origin: null to pages on"
            f" {c.origins_text()}{c.where()}. null only matches pages with an opaque origin"
            " and is never right for a normal page.",
            f"Make {c.name()} send the page's own origin instead, and never allow null.",
        ]
        policy = _policy(c)
    text.append("Leave the page's code alone unless it really runs from file:// or a sandbox.")
    return _fix(c, text, _config(c, policy), leave_alone=_front_to_leave(c))


def _allow_headers_missing(c: _Ctx) -> Fix:
    missing = c.detail.get("header") or c.headers_text()
    notes = {
        "express": "Without allowedHeaders the cors package echoes whatever the browser asks;"
        " a fixed list must contain every one of these.",
        "starlette": "allow_headers is empty by default.",
        "django": "Extend default_headers rather than replacing it.",
        "aws-api-gateway": "List them in AllowHeaders.",
        "spring": 'setAllowedHeaders must name them (or be "*" without credentials).',
    }
    extra = []
    if "content-type" in c.headers:
        extra.append(
            "Content-Type counts whenever its value is not one of the three form types,"
            " application/json included."
        )
    if "authorization" in c.headers:
        extra.append(
            "List authorization by name: with credentials * is not a wildcard at all, and the"
            " standard says * never covers Authorization."
        )
    text = [
        f"Before {c.requested()} to {c.api}{c.where()}, the preflight asks to send"
        f" {c.headers_text() or missing}, and the answer's Access-Control-Allow-Headers leaves"
        f" out {missing or 'some of them'}, so pages on {c.origins_text()} are blocked.",
        f"List every one of them in {c.name()}.",
        *extra,
        _note(c, notes),
        "Leave the rest alone: origins and methods already pass.",
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


_FETCH_NORMALIZED = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})


def _allow_methods_missing(c: _Ctx) -> Fix:
    method = c.detail.get("method") or c.methods_text() or "the method"
    notes = {
        "starlette": "allow_methods is just GET by default.",
        "spring": "Without setAllowedMethods only GET and HEAD are allowed.",
        "aspnet": "WithMethods must name it (or AllowAnyMethod()).",
        "aws-api-gateway": "List it in AllowMethods.",
    }
    case = ""
    lower = [m for m in c.methods if m != m.upper()]
    if lower:
        m = lower[0]
        hint = ""
        if m.upper() not in _FETCH_NORMALIZED:
            hint = f" fetch upper-cases only {', '.join(sorted(_FETCH_NORMALIZED))},"
        case = (
            f"The page sends '{m}' in lower case:{hint} and the comparison is case-sensitive."
            f" Write '{m.upper()}' in the page's code (or list '{m}')."
        )
    text = [
        f"Pages on {c.origins_text()} send {method} to {c.api}{c.where()}, and the"
        " preflight answer's Access-Control-Allow-Methods does not include it, so the browser"
        " stops before sending the request.",
        f"List it in {c.name()}.",
        case,
        _note(c, notes),
        "Leave the rest alone: origins and headers already pass.",
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


# --- Two layers, or the wrong one --------------------------------------------------------


def _named_layers(c: _Ctx) -> tuple[str, ...]:
    """Layers the rule names (detail "layers": "nginx, express"), else the fingerprint's."""
    named = [x.strip().lower() for x in c.detail.get("layers", "").split(",") if x.strip()]
    known = tuple(x for x in named if x in LAYER_KIND)
    return known or c.stack.layers


def _remove_from_front(front: str, app: str | None, c: _Ctx) -> str:
    keeper = display_name(app) if app else "the upstream"
    lines: dict[str, list[str]] = {
        "nginx": [
            f"# {keeper} already sends the CORS headers: delete nginx's copies.",
            f"location {_location(c)} {{",
            "    # add_header Access-Control-Allow-Origin ...;       <- delete",
            "    # add_header Access-Control-Allow-Credentials ...;  <- delete",
            "    # ... your proxy_pass lines stay ...",
            "}",
            "",
            f"# Or the other way round: keep nginx's headers and drop {keeper}'s copy:",
            "#   proxy_hide_header Access-Control-Allow-Origin;",
            "#   proxy_hide_header Access-Control-Allow-Credentials;",
        ],
        "caddy": [
            f"# {keeper} already sends the CORS headers: delete Caddy's copies,",
            "#   header Access-Control-Allow-Origin ...   <- delete",
            f"# or keep Caddy's and drop {keeper}'s inside reverse_proxy:",
            "reverse_proxy upstream:port {",
            "    header_down -Access-Control-Allow-Origin",
            "    header_down -Access-Control-Allow-Credentials",
            "}",
        ],
        "apache": [
            f"# {keeper} already sends the CORS headers: delete Apache's copies,",
            "#   Header always set Access-Control-Allow-Origin ...   <- delete",
            f"# or keep Apache's and drop {keeper}'s (proxied headers sit in the",
            '# "onsuccess" table, which plain Header unset edits):',
            "Header unset Access-Control-Allow-Origin",
            "Header unset Access-Control-Allow-Credentials",
        ],
        "cloudflare": [
            "# Cloudflare dashboard > Rules > Transform Rules > Modify Response Header:",
            "#   delete the rule that sets Access-Control-Allow-Origin",
            "# or, in a Worker, stop calling",
            '#   response.headers.append("Access-Control-Allow-Origin", ...)',
        ],
        "aws-api-gateway": [
            "# REST API: 'Enable CORS' added Access-Control-Allow-Origin to the method's",
            "# integration response. Remove that mapping for the non-OPTIONS methods",
            "# (or in the console), then redeploy the stage:",
            "aws apigateway update-integration-response --rest-api-id API_ID \\",
            "  --resource-id RESOURCE_ID --http-method GET --status-code 200 \\",
            "  --patch-operations op=remove,path=/responseParameters/"
            "method.response.header.Access-Control-Allow-Origin",
        ],
        "cloudfront": [
            "# CloudFront response headers policy: in its CORS section, turn",
            "# 'Origin override' off (OriginOverride: false) so the origin's header wins,",
            "# or remove the CORS section from the policy.",
        ],
    }
    chosen = lines.get(front)
    if chosen is None:
        return "\n".join(
            [
                f"# In {display_name(front)}: remove the rule that adds",
                "# Access-Control-Allow-Origin,",
                f"# so only {keeper} sends it.",
            ]
        )
    return "\n".join(chosen)


def _duplicate_in_app(app: str, c: _Ctx) -> str:
    snippets = {
        "express": [
            "// Register cors() once and delete hand-written header lines such as",
            '//   res.append("Access-Control-Allow-Origin", ...)   <- delete',
            '//   res.header("Access-Control-Allow-Origin", ...)   <- delete',
        ],
        "starlette": [
            "# Keep one CORSMiddleware and delete hand-written lines such as",
            '#   response.headers.append("access-control-allow-origin", ...)   <- delete',
        ],
        "django": [
            "# Keep django-cors-headers and delete hand-written lines such as",
            '#   response["Access-Control-Allow-Origin"] = ...   <- delete',
        ],
        "flask": [
            "# Keep one CORS(app) and delete @cross_origin() on the same views, and lines like",
            '#   response.headers.add("Access-Control-Allow-Origin", ...)   <- delete',
        ],
        "spring": [
            "// Keep one CorsConfigurationSource; delete @CrossOrigin duplicates and filters",
            '//   response.addHeader("Access-Control-Allow-Origin", ...)   <- delete',
        ],
        "aspnet": [
            "// Keep app.UseCors() once; delete middleware that does",
            '//   context.Response.Headers.Append("Access-Control-Allow-Origin", ...)  <- delete',
        ],
    }
    return "\n".join(snippets.get(app, ["# Keep one place that sets Access-Control-Allow-Origin."]))


def _duplicate_allow_origin(c: _Ctx) -> Fix:
    layers = _named_layers(c)
    apps = [x for x in layers if LAYER_KIND.get(x) == "app"]
    fronts = [x for x in layers if LAYER_KIND.get(x) in ("edge", "gateway", "proxy")]
    app = apps[-1] if apps else None
    value = c.detail.get("value")
    seen = f" ({value})" if value else ""
    text = [
        f"Responses from {c.api}{c.where()} carry Access-Control-Allow-Origin twice{seen}."
        " Browsers join the copies into one value and refuse it, even when both are the same"
        f" origin, so pages on {c.origins_text()} are blocked.",
    ]
    if app and fronts:
        front = fronts[-1]
        text += [
            f"Two layers add it: {display_name(front)} and {display_name(app)}. Remove it from"
            f" {display_name(front)} and keep it in {display_name(app)}, which knows the"
            " routes, the credentials and the allow-list.",
            f"Leave {display_name(app)}'s CORS setup alone. (The other way round works too:"
            f" keep {display_name(front)}'s headers and hide {display_name(app)}'s copy, as"
            " the snippet shows.)",
        ]
        return _fix(c, text, _remove_from_front(front, app, c), layer=front, leave_alone=app)
    if fronts:
        front = fronts[-1]
        text += [
            f"{display_name(front)} adds it, and the server behind it sends its own copy."
            f" Change {display_name(front)}: either remove its copy and let the server behind"
            f" it own CORS, or keep it and drop the upstream's copy there.",
        ]
        return _fix(c, text, _remove_from_front(front, None, c), layer=front)
    if app:
        text += [
            f"Two places inside {display_name(app)} add it: the CORS middleware and"
            " a hand-written header line (or a second CORS middleware). Keep the middleware and"
            " delete the rest.",
        ]
        return _fix(c, text, _duplicate_in_app(app, c), layer=app)
    text += [
        "Two layers add it (typically a reverse proxy and the app). Pick one layer to own"
        " CORS, usually the app, and remove the header from the other.",
    ]
    return _fix(c, text, _generic(_policy(c), c))


def _gateway_preflight_differs(c: _Ctx) -> Fix:
    status = _status_text(c, "a success status")
    named = c.detail.get("preflight_layer") or c.detail.get("layer")
    gateway = named if named in LAYER_KIND else (c.fronts[-1] if c.fronts else None)
    app = c.app
    if gateway is None and app is not None:
        notes = {
            "express": "When no route handles OPTIONS, Express answers it by itself (200 with"
            " an Allow header) without CORS headers: routes with cors() on them never see the"
            " preflight. Register cors() for the whole app, or route OPTIONS through it.",
            "flask": "Flask answers OPTIONS automatically for every route; with CORS applied"
            " per view that automatic answer lacks the headers. Apply CORS to the app.",
            "spring": "Spring answers OPTIONS itself (200 with an Allow header) for handlers"
            " without CORS configuration: configure CORS globally.",
            "django": "Django's View.options answers OPTIONS without CORS headers when the"
            " headers are set by hand in views: use django-cors-headers.",
            "starlette": "FastAPI/Starlette endpoints can answer OPTIONS themselves: let"
            " CORSMiddleware answer preflights, added last.",
            "aspnet": "An endpoint answering OPTIONS before the CORS middleware: keep"
            " app.UseCors() between UseRouting and authorization.",
        }
        snippet = _express_ordered(c) if app == "express" else _config(c)
        text = [
            f"The OPTIONS preflight to {c.api}{c.where()} is answered {status} but without the"
            f" CORS headers {display_name(app)} sends on its normal responses, so pages on"
            f" {c.origins_text()} never send {c.requested()}.",
            notes.get(app, "A framework layer answers OPTIONS before the CORS middleware."),
        ]
        return _fix(c, text, snippet, layer=app)
    target = gateway or c.owner
    gw = display_name(target)
    behind = display_name(app) if app else "the app"
    notes = {
        "nginx": "Delete the if ($request_method = OPTIONS) { return 204; } block so OPTIONS"
        " reaches the app, or give it exactly the app's CORS headers, as below.",
        "aws-api-gateway": "The OPTIONS mock integration (REST API) or the CorsConfiguration"
        " (HTTP API) answers preflights instead of the app. Either remove it and route OPTIONS"
        " to the integration, or make it allow exactly what the app allows, as below.",
        "cloudflare": "A Worker or rule answers OPTIONS at the edge: let OPTIONS through to the"
        " origin, or give the edge answer the same headers, as below.",
        "caddy": "Remove respond @preflight 204 so OPTIONS reaches the app, or give it the same"
        " headers, as below.",
        "apache": "Remove the RewriteRule that answers OPTIONS, or give it the same headers, as"
        " below.",
    }
    text = [
        f"The OPTIONS preflight to {c.api}{c.where()} is answered by {gw}, not by {behind}:"
        f" it returns {status} without the CORS headers {behind} sends on its normal"
        f" responses, so pages on {c.origins_text()} never send {c.requested()}.",
        f"Change {gw}: one layer must own CORS for preflights and responses alike.",
        notes.get(target, "Let OPTIONS through to the app, or answer it with the same headers."),
        f"Leave {behind}'s CORS setup alone: its responses are right.",
    ]
    snippet = _config(c, target=target if target in _RENDER else "generic")
    return _fix(c, text, snippet, layer=target, leave_alone=app)


# --- Redirects -----------------------------------------------------------------------------


def _preflight_redirected(c: _Ctx) -> Fix:
    target_url = c.detail.get("redirect_to") or c.detail.get("location")
    status = c.detail.get("status")
    notes = {
        "django": "APPEND_SLASH makes CommonMiddleware redirect /items to /items/: with"
        " CorsMiddleware above CommonMiddleware the preflight is answered before the redirect.",
        "starlette": "redirect_slashes answers /items with a redirect to /items/: call the URL"
        " the route declares, or create the app with FastAPI(redirect_slashes=False).",
        "flask": "A route declared as /items/ redirects /items: call the declared URL, or set"
        " strict_slashes=False on the route.",
        "spring": "Spring Security redirects unauthenticated requests to its login page:"
        " http.cors() lets the CorsFilter answer preflights before that.",
        "aspnet": "UseHttpsRedirection redirects http to https: call the https URL.",
        "express": "A redirecting middleware (http to https, trailing slash) must let OPTIONS"
        " through: if (req.method === 'OPTIONS') return next();",
        "nginx": "A return 301 (http to https, trailing slash) catches OPTIONS too: call the"
        " final URL from the page.",
        "cloudflare": "'Always Use HTTPS' redirects http to https: call the https URL.",
    }
    where_to = f" to {target_url}" if target_url else ""
    code = f" with {status}" if status else ""
    text = [
        f"The OPTIONS preflight to {c.api}{c.where()} is answered{code} by a redirect"
        f"{where_to}. Browsers never follow redirects for preflights, so pages on"
        f" {c.origins_text()} are blocked.",
        "The simplest fix is in the page: call the final URL directly."
        if target_url
        else "Call the final URL (https, trailing slash, host name) directly from the page, or stop"
        f" redirecting OPTIONS in {c.name()}.",
        _note(c, notes),
        "Leave the CORS headers alone: the redirect is the problem.",
    ]
    url = _url_for_snippet(target_url)
    if url:
        snippet = "// Call the URL the server redirects to, so no redirect happens:\n"
        snippet += _fetch_snippet(url, c)
        return _fix(c, text, snippet, layer="page", leave_alone=c.owner)
    return _fix(c, text, _config(c))


def _redirect_tainted_origin(c: _Ctx) -> Fix:
    target_url = _url_for_snippet(c.detail.get("redirect_to"))
    text = [
        f"Requests from pages on {c.origins_text()} to {c.api}{c.where()} are redirected to yet"
        " another origin. After such a redirect the browser sends Origin: null, so the final"
        " server would have to allow null, which must never be allowed (any site can send it).",
        "Call the final URL directly from the page, or make the first server proxy the request"
        " instead of redirecting.",
        "Leave the final server's allow-list alone: do not add null to it.",
    ]
    snippet = "// Call the final URL directly, without the cross-origin redirect:\n"
    snippet += _fetch_snippet(target_url or _api_url(c), c)
    return _fix(c, text, snippet, layer="page", leave_alone=c.owner)


def _redirect_without_cors(c: _Ctx) -> Fix:
    status = _status_text(c, "redirect")
    notes = {
        "nginx": "add_header applies to 301/302/307/308 answers as well; with always it"
        " covers every status.",
        "express": "res.redirect() after cors() keeps its headers: register cors() before the"
        " redirecting middleware.",
    }
    text = [
        f"{c.api} answers requests from pages on {c.origins_text()}{c.where()} with a {status}"
        " that lacks CORS headers. A redirect answer to a CORS request must carry"
        " Access-Control-Allow-Origin itself.",
        f"Call the final URL directly, or make {c.name()} add the headers to redirects too.",
        _note(c, notes),
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


def _redirect_credentials_in_location(c: _Ctx) -> Fix:
    text = [
        f"{c.api}{c.where()} redirects pages on {c.origins_text()} to a URL that contains a"
        " user name and password (user:pass@host). Browsers refuse to follow such a redirect"
        " for a cross-origin request.",
        f"Change the redirect in {c.name()} to a URL without credentials, and authenticate"
        " with a header or a cookie instead.",
    ]
    snippet = "# The redirect's Location, without user:pass@:\nLocation: " + _api_url(c)
    return _fix(c, text, snippet)


# --- Caches and service workers ---------------------------------------------------------

_VARY_LINES = {
    "express": 'res.vary("Origin");  // cors() with an origin list already does this',
    "nginx": "add_header Vary Origin always;",
    "caddy": "header +Vary Origin",
    "apache": "Header always merge Vary Origin",
    "starlette": "# CORSMiddleware with an origin list already does this; by hand:\n"
    'response.headers.append("Vary", "Origin")',
    "django": "# django-cors-headers already does this; by hand:\n"
    'patch_vary_headers(response, ("Origin",))',
    "flask": '# flask-cors already does this; by hand:\nresponse.vary.add("Origin")',
    "spring": "// Spring's CORS support already does this; by hand:\n"
    'response.addHeader("Vary", "Origin");',
    "aspnet": "// the CORS middleware already does this; by hand:\n"
    'context.Response.Headers.Append("Vary", "Origin");',
    "aws-api-gateway": "// in the headers the integration (e.g. your Lambda) returns:\n"
    '"Vary": "Origin"',
    "cloudflare": 'response.headers.append("Vary", "Origin");',
    "generic": "Vary: Origin",
}


def _vary_snippet(c: _Ctx, layer: str | None = None) -> str:
    return _VARY_LINES.get(layer or c.owner, _VARY_LINES["generic"])


def _cache_layer(c: _Ctx) -> str:
    named = c.detail.get("cache", "").strip().lower()
    if named in LAYER_KIND:
        return named
    for layer in c.stack.layers:
        if LAYER_KIND.get(layer) == "edge":
            return layer
    if "nginx" in c.stack.layers:
        return "nginx"
    return "cdn"


def _cache_key_snippet(cache: str, c: _Ctx) -> str:
    try:
        host = (urlsplit(c.api_safe).hostname if c.api_safe else None) or "api.example.com"
    except ValueError:
        host = "api.example.com"
    prefix = _location(c)
    if cache == "cloudflare":
        return "\n".join(
            [
                "# Cloudflare > Caching > Cache Rules, for the API's paths:",
                "#   when incoming requests match",
                f'(http.host eq "{host}" and starts_with(http.request.uri.path, "{prefix}"))',
                "#   then: Bypass cache, or keep caching with Origin in the cache key",
                "#   (the rule's Vary setting for Origin, with the origin sending Vary: Origin).",
            ]
        )
    if cache == "cloudfront":
        return "\n".join(
            [
                "# CloudFront: a cache policy with Origin in the cache key",
                "ApiCachePolicy:",
                "  Type: AWS::CloudFront::CachePolicy",
                "  Properties:",
                "    CachePolicyConfig:",
                "      Name: api-vary-origin",
                "      MinTTL: 0",
                "      DefaultTTL: 60",
                "      MaxTTL: 300",
                "      ParametersInCacheKeyAndForwardedToOrigin:",
                "        EnableAcceptEncodingGzip: true",
                "        HeadersConfig:",
                "          HeaderBehavior: whitelist",
                "          Headers: [Origin]",
                "        CookiesConfig:",
                "          CookieBehavior: none",
                "        QueryStringsConfig:",
                "          QueryStringBehavior: all",
            ]
        )
    if cache == "fastly":
        return "\n".join(
            ["sub vcl_hash {", "  set req.hash += req.http.Origin;", "  #FASTLY hash", "}"]
        )
    if cache == "varnish":
        return "\n".join(
            [
                "# Varnish honours Vary: Origin from the backend; to key on it regardless:",
                "sub vcl_hash {",
                "    hash_data(req.http.Origin);",
                "}",
            ]
        )
    if cache == "nginx":
        return 'proxy_cache_key "$scheme$proxy_host$request_uri$http_origin";'
    return "# Make the cache key include the Origin request header, or honour Vary: Origin."


def _cdn_cache_wrong_origin(c: _Ctx) -> Fix:
    cache = _cache_layer(c)
    cached = c.detail.get("value")
    other = f" ({cached})" if cached else ""
    app = c.owner
    text = [
        f"{display_name(cache) if cache != 'cdn' else 'A shared cache'} in front of {c.api}"
        f" served pages on {c.origins_text()} a cached response{c.where()} whose"
        f" Access-Control-Allow-Origin names another origin{other}: the copy was stored for a"
        " page on that origin, and the cache key ignores the Origin header.",
        f"Change {display_name(cache) if cache != 'cdn' else 'the cache'}: make Origin part"
        " of the cache key, or do not cache these responses.",
        f"Also make {display_name(app)} send Vary: Origin on them, so every cache (browsers"
        " too) keeps one copy per origin.",
    ]
    snippet = _cache_key_snippet(cache, c)
    if app != cache:
        snippet += "\n\n" + _comment(app, f"And in {display_name(app)}:") + "\n"
        snippet += _vary_snippet(c, app)
    return _fix(c, text, snippet, layer=cache)


def _comment(target: str, text: str) -> str:
    slashes = ("express", "cloudflare", "spring", "aspnet")
    return ("// " if target in slashes else "# ") + text


def _cache_missing_vary(c: _Ctx) -> Fix:
    text = [
        f"{c.api} echoes the page's origin in Access-Control-Allow-Origin on responses that"
        f" caches may keep{c.where()}, without Vary: Origin. A browser or CDN cache can then"
        " replay the answer made for one origin to a page on another, which the browser blocks"
        f" (pages seen: {c.origins_text()}).",
        f"Make {c.name()} add Vary: Origin to every response whose CORS headers depend on the"
        " Origin, the ones for refused origins included. If the data is per user, also send"
        " Cache-Control: private.",
        "The usual CORS libraries add it themselves: a response without it usually has its"
        " headers set by hand or by a proxy.",
    ]
    return _fix(c, text, _vary_snippet(c), leave_alone=_front_to_leave(c))


def _browser_cache_wrong_origin(c: _Ctx) -> Fix:
    cached = c.detail.get("value")
    other = f" ({cached})" if cached else ""
    if c.detail.get("revalidated"):
        text = [
            f"The browser revalidated the copy of {c.api}{c.where()} it had stored while"
            f" another origin was calling, and {c.name()}'s 304 did not repeat"
            " Access-Control-Allow-Origin, so the browser checked the stored one"
            f"{other} for pages on {c.origins_text()}. Chromium revalidates such a copy even"
            " when it says Vary: Origin.",
            f"Make {c.name()} send on its 304 responses the same CORS headers, for the"
            " requesting origin, as on its 200s, and Vary: Origin.",
        ]
        return _fix(c, text, _vary_snippet(c), leave_alone=_front_to_leave(c))
    text = [
        f"The browser answered requests from pages on {c.origins_text()} to {c.api}{c.where()}"
        " from its own HTTP cache, with a copy stored while another origin was calling: its"
        f" Access-Control-Allow-Origin names that origin{other}. Nothing reached the network."
        " Origins of the same site share that cache (localhost:5173 and localhost:5174, for"
        " instance).",
        f"Make {c.name()} send Vary: Origin on these responses, so the browser keeps one copy"
        " per origin. To confirm, repeat with the cache disabled in DevTools: it then passes.",
    ]
    return _fix(c, text, _vary_snippet(c), leave_alone=_front_to_leave(c))


def _service_worker_response(c: _Ctx) -> Fix:
    api = c.api_safe or PLACEHOLDER_ORIGIN.replace("app.", "api.")
    text = [
        f"The page's service worker answered requests to {c.api}{c.where()} itself, from"
        " Cache Storage or with a response it built, and that answer lacks the CORS headers"
        + (
            f" a network response would need: pages on {c.origins_text()} work only while the"
            " worker answers, and break on a first visit or a hard reload."
            if c.detail.get("answer")
            else f" the network response has, so pages on {c.origins_text()} are blocked."
        ),
        "Change the service worker: let requests to the API go to the network untouched, or"
        " cache only responses whose type is 'cors' (never opaque no-cors copies) and return"
        " them unchanged.",
        f"Leave {c.name()} alone: its own responses pass.",
    ]
    snippet = "\n".join(
        [
            "// sw.js",
            'self.addEventListener("fetch", (event) => {',
            "  // API responses carry their CORS headers from the server: do not answer for them.",
            f"  if (new URL(event.request.url).origin === {_q(api)}) return;",
            "  // ... your existing handling for the page's own files ...",
            "});",
        ]
    )
    return _fix(c, text, snippet, layer="service-worker", leave_alone=c.owner)


# --- Warnings -------------------------------------------------------------------------------


def _expose_headers_missing(c: _Ctx) -> Fix:
    names = _and(c.expose) if c.expose else "some response headers"
    notes = {
        "express": "exposedHeaders in the cors options.",
        "starlette": "expose_headers in CORSMiddleware.",
        "django": "CORS_EXPOSE_HEADERS.",
        "flask": "expose_headers in CORS(...).",
        "spring": "setExposedHeaders on the CorsConfiguration.",
        "aspnet": ".WithExposedHeaders(...) on the policy.",
        "aws-api-gateway": "ExposeHeaders in the CORS configuration.",
    }
    where = notes.get(c.owner)
    text = [
        f"Responses from {c.api}{c.where()} carry {names}, but do not list"
        f" {'them' if len(c.expose) != 1 else 'it'} in Access-Control-Expose-Headers, so"
        f" JavaScript on pages on {c.origins_text()} reads null. The request itself succeeds.",
        f"List {'them' if len(c.expose) != 1 else 'it'} in {c.name()}"
        + (f": {where}" if where else "."),
        "With credentials, * is not a wildcard here: name each header.",
    ]
    return _fix(c, text, _config(c), leave_alone=_front_to_leave(c))


def _preflight_not_cached(c: _Ctx) -> Fix:
    current = c.detail.get("max_age")
    now = f" (it sends {current})" if current else ""
    text = [
        f"Pages on {c.origins_text()} send {c.requested()} to {c.api}{c.where()}, and each"
        " one waits for its own OPTIONS preflight, because the preflight answer has no useful"
        f" Access-Control-Max-Age{now}; without one Chromium keeps the result for 5 seconds.",
        f"Set it in {c.name()} to {CHROMIUM_MAX_AGE} seconds: Chromium caps it at 2 hours,"
        " Firefox at 24.",
        "Nothing is blocked; this costs a round trip per call.",
    ]
    return _fix(
        c, text, _config(c, _policy(c, max_age=CHROMIUM_MAX_AGE)), leave_alone=_front_to_leave(c)
    )


def _authorization_wildcard(c: _Ctx) -> Fix:
    headers = _dedupe([*c.headers, "authorization"])
    text = [
        f"{c.api} allows the Authorization header sent by pages on {c.origins_text()}"
        f"{c.where()} only through Access-Control-Allow-Headers: *. Browsers accept that today,"
        " but the Fetch standard says * never covers Authorization, and Chromium already warns.",
        f"List authorization by name in {c.name()}.",
    ]
    return _fix(c, text, _config(c, _policy(c, headers=headers)), leave_alone=_front_to_leave(c))


def _no_cors_opaque(c: _Ctx) -> Fix:
    text = [
        f"Pages on {c.origins_text()} call {c.api}{c.where()} with mode: 'no-cors'. The"
        " response is then opaque: no status, headers or body for JavaScript. It hides CORS"
        " problems instead of solving them.",
        f"Remove mode: 'no-cors' from the page's fetch and allow the origin in {c.name()}.",
    ]
    snippet = _fetch_snippet(_api_url(c), c, drop_mode=True) + "\n\n" + _config(c)
    return _fix(c, text, snippet, layer="page")


def _browser_block(c: _Ctx) -> Fix:
    fault = c.detail.get("fault") or ""
    what = f" ({fault})" if fault else ""
    redirected = c.detail.get("stage") == "redirect"
    # One finding may hold several kinds of block of one API (its details joined by
    # ", "): each gets its remedy, and they are fixed in one place only if all agree.
    kinds = list(dict.fromkeys(k.strip() for k in c.detail.get("block", "").split(", ")))
    remedies: list[tuple[str, str]] = []
    for block in kinds:
        where, remedy = _BLOCK_REMEDIES.get(block, _BLOCK_REMEDIES["other"])
        if redirected and block in _REDIRECT_REMEDIES:
            where, remedy = _REDIRECT_REMEDIES[block]
        remedies.append((where, remedy))
    wheres = {where for where, _ in remedies}
    where = wheres.pop() if len(wheres) == 1 else _BLOCK_REMEDIES["other"][0]
    layer = c.owner if where == "server" else where
    text = [
        f"The browser itself stopped requests from pages on {c.origins_text()} to"
        f" {c.api}{c.where()}{what}. That is not a CORS failure, and no CORS setting"
        " changes it.",
        *dict.fromkeys(remedy.format(server=display_name(c.owner)) for _, remedy in remedies),
    ]
    return _fix(c, text, "", layer=layer)


def _proxy_or_upstream_fault(c: _Ctx) -> Fix:
    fault = c.detail.get("fault") or c.detail.get("error") or ""
    lowered = fault.lower()
    made_by = c.detail.get("made_by", "").strip().lower()
    tls = any(word in lowered for word in ("certificate", "tls", "ssl", "handshake"))
    recorder = "mitmproxy" in lowered or "proxy answered" in lowered or made_by == "mitmproxy"
    what = f" ({fault})" if fault else ""
    if "ERR_UNEXPECTED_PROXY_AUTH" in fault:
        # No error page reached CORS here: the browser failed the 407 itself, so it
        # reports no CORS error at all.
        layer = c.stack.layers[-1] if c.stack.layers else "server"
        text = [
            f"{c.api}{c.where()} answers pages on {c.origins_text()} with 407 Proxy"
            " Authentication Required. A browser takes that status only from a proxy it sends"
            " plain http requests to; from a server, or inside an https connection, it fails"
            " the request before CORS (net::ERR_UNEXPECTED_PROXY_AUTH) and reports no CORS"
            " error. No CORS setting changes that.",
            f"Let {display_name(layer) if c.stack.layers else 'the server'} ask for"
            " credentials with 401 and WWW-Authenticate instead of 407.",
            f"Leave the CORS settings in {c.name()} alone.",
        ]
        return _fix(c, text, _reach_snippet(c), layer=layer, leave_alone=c.owner)
    text = [
        f"Requests from pages on {c.origins_text()} to {c.api}{c.where()} failed below CORS"
        f"{what}. The error page that came back has no CORS headers, so the browser reports a"
        " CORS error, but no CORS setting can fix this.",
    ]
    if tls and recorder:
        layer = "mitmproxy"
        text.append(
            "mitmproxy, which recorded the session, refused the server's certificate. For a"
            " development certificate, start it with --set ssl_insecure=true; if browsers"
            " refuse the certificate too, renew or fix it on the server."
        )
        snippet = "mitmproxy --set ssl_insecure=true -s addons/cors.py"
    elif c.detail.get("stage") == "redirect":
        layer = c.stack.layers[0] if c.stack.layers else "server"
        text = [
            f"{c.api}{c.where()} answers pages on {c.origins_text()} with a redirect the"
            f" browser does not follow{what}. No CORS setting changes that.",
            "Point the Location at an http(s) URL without user:password@, of the page's own"
            " origin where the request's mode is 'same-origin', in a chain of at most 20"
            f" redirects; or let {display_name(layer)} answer without redirecting.",
        ]
        snippet = _reach_snippet(c)
    elif c.detail.get("stage") == "transfer":
        layer = c.stack.layers[0] if c.stack.layers else "server"
        text = [
            f"Requests from pages on {c.origins_text()} to {c.api}{c.where()} passed CORS, but"
            f" the body broke off while the browser read it{what}. No CORS setting changes"
            " that.",
            f"Find what ends the response early in {display_name(layer)} or behind it: a"
            " Content-Length that does not match the body, a timeout or a crash while the body"
            " streams, a proxy that cuts large bodies.",
        ]
        snippet = _reach_snippet(c)
    elif made_by in c.stack.layers:
        position = c.stack.layers.index(made_by)
        layer = c.stack.layers[position + 1] if position + 1 < len(c.stack.layers) else made_by
        text.append(
            f"{display_name(made_by)} answered with its own error because it got no usable"
            f" answer from {display_name(layer)} behind it: check that {display_name(layer)}"
            " is running and reachable from it, and its timeouts."
        )
        snippet = _reach_snippet(c)
    else:
        # The first layer is the one the connection reaches.
        layer = c.stack.layers[0] if c.stack.layers else "server"
        first = f" (the first layer there is {display_name(layer)})" if c.stack.layers else ""
        text.append(
            f"The connection to {c.api} itself failed{first}: check that it is running and"
            " reachable from where the browser runs, and that its certificate is trusted."
        )
        snippet = _reach_snippet(c)
    text.append(f"Leave the CORS settings in {c.name()} alone.")
    return _fix(c, text, snippet, layer=layer, leave_alone=c.owner)


_REDIRECT_REMEDIES: dict[str, tuple[str, str]] = {
    # The page asked for an https URL; the server's Location sent it to plain http.
    "mixed-content": (
        "server",
        "Make {server} redirect to https URLs: its Location points the page's https request"
        " at plain http, which the browser refuses to follow from an https page.",
    ),
}
"""Blocks met on a redirect, where the fix is the redirect's, not the page's call."""

_BLOCK_REMEDIES: dict[str, tuple[str, str]] = {
    "mixed-content": ("page", "Call the API over https from a page served over https."),
    "csp": (
        "page",
        "Add the API's origin to the page's Content-Security-Policy (connect-src for fetch,"
        " XHR and EventSource; img-src, script-src, font-src for markup).",
    ),
    "inspector": ("page", "Turn off the DevTools request blocking pattern that matched it."),
    "subresource-filter": ("page", "The browser's ad filter matched the URL: rename the path."),
    "content-type": (
        "server",
        "Make {server} send the Content-Type the page loads it as (a script as"
        " text/javascript, a style as text/css): it sends X-Content-Type-Options: nosniff.",
    ),
    "mime-type": (
        "server",
        "Make {server} send a JavaScript Content-Type (text/javascript) for scripts: a module"
        " script, or one served as an image, audio, video or CSV, never runs otherwise.",
    ),
    "integrity": (
        "page",
        "Update the integrity attribute to the file's current hash, or serve the file it"
        " was computed for.",
    ),
    "net::ERR_BLOCKED_BY_ORB": (
        "server",
        "Opaque Response Blocking refuses a no-cors load of HTML, JSON or text. Make {server}"
        " answer with the image, script, style or media the page asks for, or load it in"
        " CORS mode (fetch, or the crossorigin attribute) from an API that allows the page.",
    ),
    "net::ERR_BLOCKED_BY_RESPONSE": (
        "server",
        "Make {server} send Cross-Origin-Resource-Policy: cross-origin (or same-site) on"
        " these responses.",
    ),
    "corp": (
        "server",
        "Make {server} send Cross-Origin-Resource-Policy: cross-origin on these responses,"
        " or load them in CORS mode where the page requires embedder policy.",
    ),
    "corp-not-same-origin": (
        "server",
        "Make {server} answer with Cross-Origin-Resource-Policy: cross-origin (same-site where"
        " only the site's own pages embed it) instead of same-origin, or load it in CORS mode"
        " (fetch, or the crossorigin attribute) from an API that allows the page.",
    ),
    "corp-not-same-site": (
        "server",
        "Make {server} answer with Cross-Origin-Resource-Policy: cross-origin instead of"
        " same-site (the page is of another site, or an http page loads an https resource),"
        " or load it in CORS mode from an API that allows the page.",
    ),
    "corp-not-same-origin-after-defaulted-to-same-origin-by-coep": (
        "server",
        "The page sends Cross-Origin-Embedder-Policy, so every resource it loads without CORS"
        " must allow it: make {server} send Cross-Origin-Resource-Policy: cross-origin (or"
        " same-site), or load it in CORS mode (the crossorigin attribute).",
    ),
    "net::ERR_BLOCKED_BY_CLIENT": (
        "page",
        "A browser extension (an ad or privacy blocker) or DevTools request blocking stopped"
        " it: try without extensions.",
    ),
    "origin": (
        "page",
        "Use the default mode 'cors' for a request that may leave the page's origin (also"
        " through a redirect), and never put user:password@ in a URL the page loads.",
    ),
    "redirect-mode-error": (
        "page",
        "The page's fetch() passed redirect: 'error', and the API answered with a redirect:"
        " let the fetch follow redirects (the default), or call the URL the redirect points to.",
    ),
    "no-cors-redirect-mode": (
        "page",
        "A mode: 'no-cors' fetch of another origin must follow redirects: drop its redirect:"
        " 'manual' or 'error' option, or make it a CORS request.",
    ),
    "opaque-redirect-integrity": (
        "page",
        "A redirect: 'manual' fetch gets an opaque-redirect response, which has no body for"
        " its integrity option to check: drop the integrity option, or let it follow.",
    ),
    "other": ("page", "The browser's console says why."),
}
"""Where a block the browser made itself is fixed, and how ({server}: the API's stack)."""


def _reach_snippet(c: _Ctx) -> str:
    url = _api_url(c)
    return "# See the failure without the browser in the way:\n" + curl_command(
        "GET", url, c.allowed[0] if c.allowed else None, preflight=False
    ).replace("curl -i", "curl -v -i", 1)


def _local_network_access(c: _Ctx) -> Fix:
    space = c.detail.get("space")
    text = [
        f"Pages on {c.origins_text()} reach {c.api}{c.where()}, which lives in a more private"
        " address space" + (f" ({space})" if space else "") + " than the page. Chromium's"
        " Local Network Access requires the page to be a secure context (https) and the user"
        " to allow local network access when asked.",
        "Serve the page over https and accept the permission prompt; no CORS header changes this.",
    ]
    return _fix(c, text, "", layer="page", leave_alone=c.owner)


def _same_origin_mode(c: _Ctx) -> Fix:
    text = [
        f"Pages on {c.origins_text()} call {c.api}{c.where()} with mode: 'same-origin', which"
        " forbids cross-origin requests outright. Use the default mode, 'cors'.",
    ]
    return _fix(c, text, _fetch_snippet(_api_url(c), c, drop_mode=True), layer="page")


def _non_http_scheme(c: _Ctx) -> Fix:
    target = c.detail.get("redirect_to")
    if target:
        text = [
            f"{c.api}{c.where()} answers pages on {c.origins_text()} with a"
            f" {_status_text(c, 'redirect')} to {target}, a URL that is not http or https."
            " Browsers do not follow a cross-origin request there.",
            f"Point the Location at an http(s) URL, or let {c.name()} answer without redirecting.",
        ]
        # The redirect is the server's own answer: the fix goes where its stack is.
        return _fix(c, text, "# The redirect's Location, an http(s) URL:\nLocation: https://…")
    text = [
        f"The page (origin {c.origins_text()}) calls {c.api}{c.where()} from a URL that is not"
        " http or https (file://, for instance). CORS only works between http(s) origins.",
        "Serve the page from a local web server and open it over http.",
    ]
    snippet = (
        "# from the page's folder, then open http://localhost:5173/\npython3 -m http.server 5173"
    )
    return _fix(c, text, snippet, layer="page", leave_alone=c.owner)


# --- Security smells -------------------------------------------------------------------------

_REFLECT_NOTES = {
    "express": "origin: true, or an origin function that always says yes, reflects every origin.",
    "nginx": "add_header Access-Control-Allow-Origin $http_origin reflects every origin: use"
    " a map.",
    "caddy": "{http.request.header.Origin} without an origin matcher reflects every origin.",
    "apache": "Copying the Origin header without SetEnvIf's allow-list reflects every origin.",
    "starlette": "allow_origin_regex='.*', or allow_origins=['*'] with credentials, reflects"
    " every origin.",
    "django": "CORS_ALLOW_ALL_ORIGINS = True with CORS_ALLOW_CREDENTIALS = True reflects every"
    " origin.",
    "flask": "origins='*' (the default) with supports_credentials=True reflects every origin.",
    "spring": 'setAllowedOriginPatterns(List.of("*")) with credentials reflects every origin.',
    "aspnet": "SetIsOriginAllowed(_ => true) with AllowCredentials() reflects every origin.",
    "aws-api-gateway": "A Lambda that copies the Origin header reflects every origin.",
    "cloudflare": "A Worker that copies the Origin header reflects every origin.",
    "generic": "Code that copies the Origin header into the response reflects every origin.",
}


def _reflected_origin(c: _Ctx) -> Fix:
    text = [
        f"{c.api}{c.where()} echoes whatever Origin it receives in Access-Control-Allow-Origin,"
        " together with Access-Control-Allow-Credentials: true; origins seen:"
        f" {c.origins_text()}. Any website a signed-in user visits can read their data from"
        f" {c.api} with their cookies.",
        f"Replace the reflection in {c.name()} with an explicit list of your own origins; keep"
        " only the ones below that are yours.",
        _note(c, _REFLECT_NOTES),
    ]
    snippet = _comment(c.owner, "corscope saw these origins: keep only your own.") + "\n"
    snippet += _config(c, _policy(c, credentials=True))
    return _fix(c, text, snippet, leave_alone=_front_to_leave(c))


def _null_allowed_with_credentials(c: _Ctx) -> Fix:
    text = [
        f"{c.api} answers Origin: null with Access-Control-Allow-Origin: null and"
        f" Access-Control-Allow-Credentials: true{c.where()}. Sandboxed iframes on any website"
        " send Origin: null, so any site can read signed-in users' data.",
        f"Remove null from the allow-list in {c.name()}; allow only real origins such as"
        f" {c.origins_text()}.",
    ]
    return _fix(c, text, _config(c, _policy(c, credentials=True)), leave_alone=_front_to_leave(c))


def _regex_lookalike(c: _Ctx) -> Fix:
    accepted = c.detail.get("accepted", "")
    resembles = c.detail.get("resembles", "")
    notes = {
        "express": "A RegExp entry is tested anywhere in the origin: /example\\.com/ also"
        " matches https://example.com.evil.test. Use exact strings, or anchor with ^ and $.",
        "starlette": "allow_origin_regex must describe the whole origin: escape the dots and"
        " anchor it.",
        "django": "CORS_ALLOWED_ORIGIN_REGEXES match from the start only: end each with $ and"
        " escape the dots.",
        "flask": "Regex origins must be anchored with ^ and $ and have their dots escaped.",
        "spring": 'Hand-written checks with contains() or endsWith("example.com") accept'
        ' look-alikes; setAllowedOriginPatterns("https://*.example.com") does not.',
        "nginx": "map regexes (~) are unanchored: write ~^https://(www\\.)?example\\.com$.",
        "aspnet": "SetIsOriginAllowed with Contains or EndsWith accepts look-alikes: use"
        " WithOrigins(...).",
    }
    origins = _dedupe(o for o in (resembles, *c.allowed) if o and o != accepted and _is_origin(o))
    anchored = "^(" + "|".join(re.escape(o) for o in origins) + ")$" if origins else ""
    text = [
        f"{c.api} accepted {accepted or 'an origin'}, which only resembles"
        f" {resembles or 'one of your origins'}{c.where()}: the allow-list is a pattern that"
        " is not anchored, or leaves dots unescaped. Anyone can register such a name and read"
        " signed-in users' data.",
        f"In {c.name()}, allow exact origins (or an anchored pattern with escaped dots).",
        _note(c, notes),
    ]
    snippet = _config(c, _policy(c, origins=origins))
    if anchored:
        snippet += "\n\n" + _comment(c.owner, "If you need a pattern, anchor it: " + anchored)
    return _fix(c, text, snippet, leave_alone=_front_to_leave(c))


def _wildcard_on_cookie(c: _Ctx) -> Fix:
    text = [
        f"{c.api} answers with Access-Control-Allow-Origin: * on responses that set"
        f" cookies{c.where()}. Under * the browser sends no cookies, so either the data is"
        " public and the session cookie is not needed there, or the endpoint is personal and"
        " should name its allowed origins and allow credentials.",
        f"In {c.name()}, stop setting cookies on public responses, or allow"
        f" {c.origins_text()} explicitly with credentials, as below.",
    ]
    return _fix(c, text, _config(c, _policy(c, credentials=True)), leave_alone=_front_to_leave(c))


def _unknown(c: _Ctx, cause: str) -> Fix:
    text = [
        f"corscope has no specific advice for '{one_line(cause, 60)}' on {c.api}{c.where()}.",
        f"These are the CORS headers {c.name()} should send for pages on {c.origins_text()}.",
    ]
    return _fix(c, text, _config(c))


_HANDLERS: dict[str, Callable[[_Ctx], Fix]] = {
    "cors-not-enabled": _cors_not_enabled,
    "cors-after-routes": _cors_after_routes,
    "preflight-not-handled": _preflight_not_handled,
    "per-route-cors-without-options": _per_route_without_options,
    "error-responses-without-cors": _error_responses,
    "wildcard-with-credentials": _wildcard_with_credentials,
    "credentials-not-allowed": _credentials_not_allowed,
    "origin-allowlist-mismatch": _origin_allowlist_mismatch,
    "null-origin": _null_origin,
    "allow-headers-missing": _allow_headers_missing,
    "allow-methods-missing": _allow_methods_missing,
    "duplicate-allow-origin": _duplicate_allow_origin,
    "gateway-preflight-differs": _gateway_preflight_differs,
    "preflight-redirected": _preflight_redirected,
    "redirect-tainted-origin": _redirect_tainted_origin,
    "redirect-without-cors": _redirect_without_cors,
    "redirect-credentials-in-location": _redirect_credentials_in_location,
    "cdn-cache-wrong-origin": _cdn_cache_wrong_origin,
    "cache-missing-vary-origin": _cache_missing_vary,
    "browser-cache-wrong-origin": _browser_cache_wrong_origin,
    "service-worker-response": _service_worker_response,
    "expose-headers-missing": _expose_headers_missing,
    "preflight-not-cached": _preflight_not_cached,
    "authorization-covered-by-wildcard": _authorization_wildcard,
    "no-cors-opaque": _no_cors_opaque,
    "proxy-or-upstream-fault": _proxy_or_upstream_fault,
    "browser-block": _browser_block,
    "local-network-access": _local_network_access,
    "same-origin-mode": _same_origin_mode,
    "non-http-scheme": _non_http_scheme,
    "reflected-origin-with-credentials": _reflected_origin,
    "null-origin-allowed-with-credentials": _null_allowed_with_credentials,
    "regex-allowlist-lookalike": _regex_lookalike,
    "wildcard-on-cookie-response": _wildcard_on_cookie,
}
