"""Loads the browser refuses for reasons other than CORS: a Cross-Origin-Resource-Policy the
answer (or the page's Cross-Origin-Embedder-Policy) sets, a Content-Type a script or
stylesheet may not have, a redirect the page's fetch options forbid. Chromium names no CORS
error for any of them, yet the page sees the load fail all the same; the controls beside
them show where each rule stops."""

from __future__ import annotations

from analysis.lab.catalogue.build import ACAO, EXPRESS, NGINX, at, call, ok, redirect
from analysis.lab.spec import ALLOWED, Expected, Header, Reply, Route, Scenario, Visit

CORP = "Cross-Origin-Resource-Policy"
NOSNIFF: Header = ("X-Content-Type-Options", "nosniff")
BLOCKED = Expected(blocked=True)
"""Blocked with no CORS error: DevTools reports a blockedReason or a console refusal."""
JS = "text/javascript"
EXPRESS_CORP: tuple[Header, ...] = ((CORP, "same-origin"), EXPRESS, ("Cache-Control", "max-age=0"))
"""Express with helmet's default Cross-Origin-Resource-Policy."""
SANDBOXED_SCRIPT = at(call(api="app", client="script"), page="evil", kind="sandboxed")
"""A <script> of 127.0.0.1 on a sandboxed page (opaque origin): no Origin, a cross-site load."""


def asset(content_type: str, body: str, *headers: Header) -> Reply:
    return Reply(200, (*headers, NGINX, ("Cache-Control", "max-age=0")), body, content_type)


CORP_SCENARIOS = (
    Scenario(
        id="corp-same-origin-image",
        title="<img> from an API whose answers say Cross-Origin-Resource-Policy: same-origin",
        notes="Fetch §3.8 cross-origin resource policy check: a no-cors load of another "
        "origin whose answer says same-origin is a network error (blockedReason "
        "corp-not-same-origin, net::ERR_BLOCKED_BY_RESPONSE); no CORS error.",
        cause="browser-block",
        visit=at(call(client="image")),
        routes=(Route("GET", asset("image/png", "PNG", (CORP, "same-origin"))),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="corp-same-site-other-port-ip",
        title="<script> from the same IP on another port, answered with CORP: same-site",
        notes="An IP address has no registrable domain, so another port of it is another "
        "origin and no site of the page's (Fetch §3.8 step 6: same site needs a scheme and "
        "host match; measured, Chromium 156: corp-not-same-site).",
        cause="browser-block",
        visit=Visit(page="app_port2", call=call(api="app", client="script")),
        routes=(Route("GET", asset("text/javascript", "var lab = 1;", (CORP, "same-site"))),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="coep-image-without-corp",
        title="A require-corp page's <img> of another origin that sends no CORP",
        notes="Cross-Origin-Embedder-Policy: require-corp makes a missing CORP count as "
        "same-origin for the page's no-cors loads (Fetch §3.8 step 4; blockedReason "
        "corp-not-same-origin-after-defaulted-to-same-origin-by-coep).",
        cause="browser-block",
        visit=at(call(client="image"), kind="require-corp"),
        routes=(Route("GET", asset("image/png", "PNG")),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="corp-sandboxed-script-chain-back-same-origin",
        title="A sandboxed page's <script> redirected away and back to the first URL's site, "
        "answered with CORP: same-origin",
        notes="The wire names no page (no Origin; Sec-Fetch-Site: cross-site on the first "
        "request): the page is of another site than 127.0.0.1, so every URL there is "
        "another origin for it, and the final answer's same-origin policy refuses the load "
        "(corp-not-same-origin), whatever the hop away in between.",
        cause="browser-block",
        visit=SANDBOXED_SCRIPT,
        routes=(
            Route("GET", redirect(301, "{api}{path}/h1", EXPRESS), on="app"),
            Route("GET", redirect(301, "{app_port2}{path}/h2", EXPRESS), sub="/h1", on="api"),
            Route("GET", Reply(200, EXPRESS_CORP, "var lab = 1;", JS), sub="/h2", on="app_port2"),
        ),
        expected=BLOCKED,
        fix_layer="express",
    ),
    Scenario(
        id="control-corp-same-origin-cors-wildcard",
        title="fetch() in CORS mode of an answer with CORP: same-origin and ACAO *",
        notes="CORP applies to no-cors loads only: a CORS request is checked by CORS, "
        "and this one passes (Fetch §3.8 step 1).",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "*"), (CORP, "same-origin"), NGINX)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="corp-same-origin-image-of-json",
        title="<img> of the JSON API, answered with CORP: same-origin",
        notes="The CORP check runs before Opaque Response Blocking, so Chromium blocks it "
        "as CORP's (corp-not-same-origin), not as ORB's.",
        cause="browser-block",
        visit=at(call(client="image")),
        routes=(Route("GET", ok((CORP, "same-origin"), NGINX, body='{"user": {"id": 7}}')),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
)

MIME_SCENARIOS = (
    Scenario(
        id="stylesheet-nosniff-javascript",
        title="<link rel=stylesheet> answered as text/javascript with X-Content-Type-Options: "
        "nosniff",
        notes="Fetch §3.5: under nosniff a style destination needs text/css. ORB lets "
        "JavaScript through; Blink then refuses the stylesheet (console: not a supported "
        "stylesheet MIME type, and strict MIME checking is enabled).",
        cause="browser-block",
        visit=at(call(client="stylesheet")),
        routes=(Route("GET", asset("text/javascript", "body {}", NOSNIFF)),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="script-served-as-image",
        title="<script> answered as image/png, without nosniff",
        notes="HTML fetch a classic script + Fetch 'should response to request be blocked "
        "due to its MIME type': a script is refused as image/*, audio/*, video/* or "
        "text/csv with or without nosniff.",
        cause="browser-block",
        visit=at(call(client="script")),
        routes=(Route("GET", asset("image/png", "var lab = 1;")),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="module-script-text-plain",
        title="<script type=module> answered as text/plain by a host that allows every origin",
        notes="The answer passes CORS, but a module script needs a JavaScript MIME type "
        "(HTML fetch a single module script: strict MIME type checking).",
        cause="browser-block",
        visit=at(call(client="module")),
        routes=(Route("GET", asset("text/plain", "export const x = 1;", (ACAO, "*"))),),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="script-sandboxed-chain-ends-elsewhere-as-image",
        title="A sandboxed page's <script> redirected (308) to another site, answered image/png",
        notes="The wire names no page (no Origin; Sec-Fetch-Site: cross-site). ORB lets an "
        "image/* answer through whatever the page, and Blink refuses to run a script of that "
        "type, so the load fails wherever the chain ends.",
        cause="browser-block",
        visit=SANDBOXED_SCRIPT,
        routes=(
            Route("GET", redirect(308, "{api2}{path}/h1", NGINX), on="app"),
            Route("GET", asset("image/png", "var lab = 1;"), sub="/h1", on="api2"),
        ),
        expected=BLOCKED,
        fix_layer="nginx",
    ),
    Scenario(
        id="control-classic-script-crossorigin-text-plain",
        title="<script crossorigin> answered as text/plain with ACAO *, without nosniff",
        notes="A classic script without nosniff runs whatever its text/* type: only a "
        "module script is strict (control for module-script-text-plain).",
        cause="none",
        visit=at(call(client="script", cross_origin="anonymous")),
        routes=(Route("GET", asset("text/plain", "var lab = 1;", (ACAO, "*"))),),
        expected=ALLOWED,
    ),
)

_CORS_REDIRECT = (
    Route("GET", redirect(302, "{api}{path}/final", (ACAO, "*"), NGINX)),
    Route("GET", ok((ACAO, "*"), NGINX), sub="/final"),
)

FETCH_OPTION_SCENARIOS = (
    Scenario(
        id="fetch-redirect-error",
        title="fetch(url, {redirect: 'error'}) answered with a 302 that passes CORS",
        notes="Fetch §4.3 HTTP fetch: redirect mode error makes the first redirect a "
        "network error; the redirect itself passed CORS, so Chromium names no CORS error. "
        "The flow file cannot show the mode: corscope says blocked if redirect: 'error'.",
        cause="browser-block",
        visit=at(call(redirect="error")),
        routes=_CORS_REDIRECT,
        expected=BLOCKED,
        fix_layer="page",
    ),
    Scenario(
        id="control-fetch-redirect-manual",
        title="fetch(url, {redirect: 'manual'}) answered with a 302 that passes CORS",
        notes="The page gets an opaque-redirect response (type 'opaqueredirect', status 0): "
        "not a failure (control for fetch-redirect-error).",
        cause="none",
        visit=at(call(redirect="manual")),
        routes=_CORS_REDIRECT,
        expected=ALLOWED,
    ),
)
