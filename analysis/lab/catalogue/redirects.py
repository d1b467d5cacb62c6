"""Actual requests redirected to another origin: the Origin turns `null` on the way."""

from __future__ import annotations

from dataclasses import replace

from analysis.lab.catalogue.build import (
    ACAC,
    ACAO,
    CACHEABLE,
    CREDS,
    EXPRESS,
    JSON_PUT,
    NGINX,
    REFLECT,
    VARY,
    at,
    blocked,
    call,
    ok,
    preflight,
    redirect,
    text,
)
from analysis.lab.spec import ALLOWED, Expected, Reply, Route, Scenario

TO_API2 = "{api2}{path}/final"
# The first API (nginx) moved the resource to a second API origin; the second runs Express.
APP = ("{app}",)
X_LAB = call(headers=(("X-Lab", "1"),))
CREDENTIALED = call(credentials="include")
"""A GET with a header that is not safelisted: preflighted."""
AUTHORIZED = call(headers=(("Authorization", "Bearer t"),))
IMPORT = call(client="import")
MODULE, JS = "export default 1;", "text/javascript"
STREAM, SSE = "data: hi\n\n", "text/event-stream"
HOP = Route("GET", redirect(302, TO_API2, REFLECT, VARY, NGINX), on="api")


BACK_THEN_TRUE = (
    Route("GET", redirect(307, "{app}{path}/back", REFLECT, CREDS, VARY, NGINX), on="api"),
    Route(
        "GET",
        redirect(303, "{api}{path}/final", REFLECT, (ACAC, "TRUE"), VARY, NGINX),
        sub="/back",
        on="app",
    ),
    Route("GET", ok(REFLECT, CREDS, VARY, NGINX), sub="/final", on="api"),
)
"""The API sends the call back to the page's origin, whose 303 (Origin: null by then) says
`Access-Control-Allow-Credentials: TRUE`: not `true`, so only an uncredentialed fetch passes."""


def _with_credentials(location: str) -> Route:
    """The first API (nginx) redirects to a Location that carries user:password@."""
    return Route("GET", redirect(302, location, REFLECT, VARY, NGINX), on="api")


SCENARIOS = (
    Scenario(
        id="redirect-tainted-allowlist",
        title="API redirects to a second origin; its allow-list does not hold `null`",
        cause="redirect-tainted-origin",
        visit=at(),
        routes=(
            HOP,
            Route("GET", ok(REFLECT, VARY, EXPRESS), sub="/final", allow_origins=("{app}",)),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="page",
    ),
    Scenario(
        id="redirect-tainted-static-origin",
        title="Redirect target answers the page's origin, but the request now says null",
        cause="redirect-tainted-origin",
        visit=at(),
        routes=(HOP, Route("GET", ok((ACAO, "{app}"), EXPRESS), sub="/final")),
        expected=blocked("AllowOriginMismatch", "{app}"),
        fix_layer="page",
    ),
    Scenario(
        id="redirect-tainted-acao-null",
        title="Redirect target answers ACAO: null, which matches the tainted origin",
        cause="none",
        visit=at(),
        routes=(HOP, Route("GET", ok((ACAO, "null")), sub="/final")),
        expected=ALLOWED,
    ),
    Scenario(
        id="redirect-tainted-acao-wildcard",
        title="Redirect target answers ACAO: *",
        cause="none",
        visit=at(),
        routes=(HOP, Route("GET", ok((ACAO, "*")), sub="/final")),
        expected=ALLOWED,
    ),
    Scenario(
        id="redirect-tainted-preflighted",
        title="PUT redirected (307) to a second origin: a new preflight with Origin: null",
        cause="redirect-tainted-origin",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(), on="api"),
            Route("PUT", redirect(307, TO_API2, REFLECT, VARY), on="api"),
            Route("OPTIONS", preflight(), sub="/final", allow_origins=("{app}",)),
            Route("PUT", ok(REFLECT, VARY), sub="/final", allow_origins=("{app}",)),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        fix_layer="page",
    ),
    Scenario(
        id="redirect-force-cache-stale-307-tainted-preflight",
        title="fetch(url, {cache: 'force-cache'}) takes a stale stored 307: Origin: null preflight",
        cause="redirect-tainted-origin",
        before=(at(X_LAB),),
        visit=at(replace(X_LAB, cache="force-cache")),
        routes=(
            Route("OPTIONS", preflight(allow_headers="X-Lab", max_age="0"), on="api"),
            Route("GET", redirect(307, TO_API2, REFLECT, VARY), on="api"),
            Route("OPTIONS", preflight(allow_headers="X-Lab"), sub="/final", allow_origins=APP),
            Route("GET", ok(REFLECT, VARY), sub="/final", allow_origins=APP),
        ),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        notes="The 307 has no freshness, yet force-cache answers it from the HTTP cache: only "
        "the first preflight (max-age 0: never cached) and the one to the target, with "
        "Origin: null, reach the proxy.",
        fix_layer="page",
    ),
    Scenario(
        id="redirect-location-with-credentials",
        title="nginx redirects to a Location that carries user:password@",
        cause="redirect-credentials-in-location",
        visit=at(),
        routes=(
            _with_credentials("http://lab:secret@127.0.0.4:{api2_port}{path}/final"),
            Route("GET", ok((ACAO, "*")), sub="/final"),
        ),
        expected=blocked("RedirectContainsCredentials"),
        fix_layer="nginx",
    ),
    Scenario(
        id="redirect-location-with-credentials-to-page",
        title="nginx redirects back to the page's own origin, with user:password@ in Location",
        cause="redirect-credentials-in-location",
        visit=at(),
        routes=(
            _with_credentials("http://lab:secret@127.0.0.1:{app_port}{path}/final"),
            Route("GET", ok((ACAO, "*")), sub="/final", on="app"),
        ),
        expected=blocked("RedirectContainsCredentials"),
        notes="The Location's origin is the page's own: Chromium refuses it all the same,"
        " since the chain already went cross-origin (response tainting is cors).",
        fix_layer="nginx",
    ),
    Scenario(
        id="redirect-cached-301-then-duplicate-acao",
        title="307, then a 301 the HTTP cache stored, then an answer with two Allow-Origins",
        cause="duplicate-allow-origin",
        before=(at(),),
        visit=at(),
        routes=(
            Route("GET", redirect(307, "{api}{path}/moved", REFLECT, VARY, NGINX)),
            Route("GET", redirect(301, "{api}{path}/final", REFLECT, VARY, NGINX), sub="/moved"),
            Route("GET", ok(NGINX, (ACAO, "*"), REFLECT, VARY, EXPRESS), sub="/final"),
        ),
        expected=blocked("MultipleAllowOriginValues", "*, {app}"),
        notes="The second call's 301 comes from the HTTP cache (a 301 is cacheable by "
        "default) and never reaches the proxy; the chain goes on to the final answer.",
        fix_layer="nginx",
        fix_leave_alone="express",
    ),
    Scenario(
        id="xhr-redirected-preflight-404",
        title="XHR with a custom header redirected (302) to a second origin whose OPTIONS is 404",
        cause="preflight-not-handled",
        visit=at(replace(X_LAB, client="xhr")),
        routes=(
            Route("OPTIONS", preflight(allow_headers="X-Lab"), on="api"),
            Route("GET", redirect(302, TO_API2, REFLECT, VARY, NGINX), on="api"),
            Route("OPTIONS", text(404, "Not Found", NGINX, REFLECT), sub="/final"),
            Route("GET", ok(REFLECT, VARY, NGINX), sub="/final"),
        ),
        expected=blocked("PreflightInvalidStatus"),
        notes="The second origin's nginx adds CORS headers (always), so the preflight with "
        "Origin: null passes the origin check and fails on its status.",
        fix_layer="nginx",
    ),
    Scenario(
        id="redirect-cached-301-wildcard-credentialed-twice",
        title="nginx's 301 says Access-Control-Allow-Origin: * to a credentialed fetch, made "
        "twice: the second time from the HTTP cache",
        cause="wildcard-with-credentials",
        before=(at(CREDENTIALED),),
        visit=at(CREDENTIALED),
        routes=(
            Route("GET", redirect(301, TO_API2, (ACAO, "*"), NGINX)),
            Route("GET", ok(REFLECT, CREDS, VARY, NGINX), sub="/final"),
        ),
        expected=blocked("WildcardOriginNotAllowed"),
        wire_decides=False,
        notes="A 301 is cacheable by default: the second fetch's redirect never reaches the "
        "proxy, and Chromium refuses the stored copy at the redirect as it did the first.",
        fix_layer="nginx",
    ),
    Scenario(
        id="redirect-credentialed-303-acac-uppercase",
        title="Credentialed fetch sent back to the page's origin, whose 303 says "
        "Access-Control-Allow-Credentials: TRUE",
        cause="credentials-not-allowed",
        visit=at(CREDENTIALED),
        routes=BACK_THEN_TRUE,
        expected=blocked("InvalidAllowCredentials", "TRUE"),
        notes="The hop to the page's own site carries no Sec-Fetch-Storage-Access and no "
        "cookie, yet the fetch is still credentialed (Fetch §4.4 keeps the request's mode): "
        "the value is compared case-sensitively with `true`.",
        fix_layer="nginx",
    ),
    Scenario(
        id="control-redirect-303-acac-uppercase-without-credentials",
        title="Right after a credentialed fetch stopped at that 303, the same fetch without "
        "credentials follows it to the end",
        cause="none",
        before=(at(CREDENTIALED),),
        visit=at(),
        routes=BACK_THEN_TRUE,
        expected=ALLOWED,
        notes="Allow-Credentials is checked only for a credentialed fetch (Fetch §4.9 CORS "
        "check). The two fetches' hops to the same URLs interleave on the wire: the refused "
        "one ends at the 303, and the final answer is this one's.",
    ),
    Scenario(
        id="redirect-to-ftp",
        title="nginx redirects a CORS fetch to an ftp:// URL (the redirect itself allows *)",
        cause="non-http-scheme",
        visit=at(),
        routes=(Route("GET", redirect(302, "ftp://127.0.0.4/x", NGINX, (ACAO, "*"))),),
        expected=blocked("CorsDisabledScheme"),
        fix_layer="nginx",
    ),
    Scenario(
        id="same-origin-mode-redirected-away",
        title="mode: 'same-origin' fetch of the page's own origin, which redirects to the API",
        notes="Chromium cancels the redirect (net::ERR_FAILED, no CorsError) and fetch()"
        " rejects; the API is never asked.",
        cause="same-origin-mode",
        visit=at(call(api="app", mode="same-origin")),
        routes=(
            Route("GET", redirect(302, "{api}{path}/final", NGINX), on="app"),
            Route("GET", ok((ACAO, "*")), sub="/final"),
        ),
        expected=Expected(blocked=True),
        fix_layer="page",
    ),
    Scenario(
        id="redirect-stored-301-refused-then-followed-from-its-port",
        title="A 301 stored for 127.0.0.1:P2 refuses P1's preflighted fetch; P2's same fetch "
        "right after follows it to the end",
        cause="none",
        before=(at(page="app_port2"), at(AUTHORIZED)),
        visit=at(AUTHORIZED, page="app_port2"),
        routes=(
            Route("OPTIONS", preflight(allow_headers="Authorization", max_age=None)),
            Route("GET", redirect(302, "{api}{path}/moved", REFLECT, VARY, NGINX)),
            Route("OPTIONS", preflight(allow_headers="Authorization", max_age=None), sub="/moved"),
            Route("GET", redirect(301, TO_API2, REFLECT, NGINX), sub="/moved"),
            Route(
                "OPTIONS",
                preflight(origin="*", allow_headers="Authorization", max_age=None),
                sub="/final",
                on="api2",
            ),
            Route("GET", ok((ACAO, "*"), NGINX), sub="/final", on="api2"),
        ),
        expected=ALLOWED,
        notes="The 301 (no Vary: Origin) is stored with P2's Allow-Origin: P1's fetch passes "
        "its preflight for /moved, takes the stored 301 and fails there. Only P2's fetch "
        "reaches /final; the target's preflight and GET on the wire are this fetch's.",
    ),
    Scenario(
        id="import-redirect-takes-own-sites-stored-308",
        title="import() through a 303 and a 308 that pages of two sites stored: each site's "
        "page gets its own copy",
        cause="none",
        before=(at(IMPORT, page="www"), at(IMPORT, page="app_port2")),
        visit=at(IMPORT, page="www"),
        routes=(
            Route("GET", redirect(303, "{api}{path}/moved", (ACAO, "*"), NGINX)),
            Route("GET", redirect(308, TO_API2, REFLECT, CACHEABLE, NGINX), sub="/moved"),
            Route("GET", Reply(200, ((ACAO, "*"), NGINX), MODULE, JS), sub="/final", on="api2"),
        ),
        expected=ALLOWED,
        notes="The HTTP cache is partitioned by the page's site: the last 308 on the wire names "
        "127.0.0.1:P2, but www.app.test's page takes the copy it stored itself, whose "
        "Allow-Origin is its own.",
    ),
    Scenario(
        id="eventsource-named-host-303-acac-uppercase-then-without-credentials",
        title="A credentialed EventSource sent to a plain-http named host whose 303 says "
        "Access-Control-Allow-Credentials: TRUE; then one without credentials",
        cause="none",
        before=(at(call(client="eventsource", credentials="include"), page="www"),),
        visit=at(call(client="eventsource"), page="www"),
        routes=(
            Route("GET", redirect(302, "{www}{path}/back", REFLECT, CREDS, VARY, NGINX)),
            Route(
                "GET",
                redirect(303, "{www}{path}/final", REFLECT, (ACAC, "TRUE"), VARY, NGINX),
                sub="/back",
                on="www",
            ),
            Route("GET", Reply(200, (REFLECT, VARY, NGINX), STREAM, SSE), sub="/final", on="www"),
        ),
        expected=ALLOWED,
        notes="www.app.test over plain http is not potentially trustworthy: its hops carry no "
        "Sec-Fetch-* headers. The credentialed EventSource is refused at the 303; the one "
        "without credentials follows it, and the final request on the wire is its own.",
    ),
    Scenario(
        id="control-redirect-location-backslashes",
        title="307 to 'http:\\\\host:port\\s\\…': the URL parser reads backslashes as slashes",
        cause="none",
        visit=at(),
        routes=(
            Route(
                "GET",
                redirect(
                    307,
                    "http:\\\\127.0.0.2:{api_port}\\s\\control-redirect-location-backslashes"
                    "\\final",
                    REFLECT,
                    VARY,
                    NGINX,
                ),
            ),
            Route("GET", ok(REFLECT, VARY, NGINX), sub="/final"),
        ),
        expected=ALLOWED,
        notes="The URL Standard (GURL) reads a special URL's backslashes as slashes and "
        "forgives the missing slashes after the scheme; RFC 3986 would not.",
    ),
    Scenario(
        id="control-redirect-location-dot-segments",
        title="307 to an absolute Location with '/x/../': the URL parser removes dot segments",
        cause="none",
        visit=at(),
        routes=(
            Route(
                "GET",
                redirect(
                    307,
                    "{api}/s/x/../control-redirect-location-dot-segments/final",
                    REFLECT,
                    VARY,
                    NGINX,
                ),
            ),
            Route("GET", ok(REFLECT, VARY, NGINX), sub="/final"),
        ),
        expected=ALLOWED,
    ),
)
