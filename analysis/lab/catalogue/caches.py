"""Caches that store one origin's Access-Control-Allow-Origin and hand it to another."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAC,
    ACAO,
    CACHEABLE,
    CREDS,
    EXPRESS,
    GET,
    NGINX,
    REFLECT,
    VARY,
    at,
    blocked,
    call,
    express_preflight,
    ok,
    redirect,
)
from analysis.lab.spec import ALLOWED, Reply, Route, Scenario, Visit

# Express code that echoes the origin by hand (res.set(...)) on a response that may be
# cached for ten minutes: the stage for every cache mix-up.
ECHO_CACHEABLE = Route("GET", ok(REFLECT, CACHEABLE, EXPRESS))
ECHO_CACHEABLE_VARY = Route("GET", ok(REFLECT, CACHEABLE, VARY, EXPRESS))

# nginx serves the API's JSON with an ETag and `no-cache`, so the browser revalidates each
# time; the 200 echoes the origin, while the 304 takes its CORS headers from another
# `add_header ... always` (a `location` or `if` block the 200 does not pass through).
ETAG = ("ETag", '"v1"')
REVALIDATE = ("Cache-Control", "no-cache")
INCLUDE = at(call(credentials="include"))
NO_COOKIE_CACHED = 'public, max-age=600, no-cache="Set-Cookie"'
"""Spring Session and others: cache the response, but never the cookie it sets."""
FONT = "font/woff2"
STYLE = at(call(client="stylesheet", cross_origin="anonymous"))
CREDENTIALED_STYLE = at(call(client="stylesheet", cross_origin="use-credentials"))
CSS = "text/css"
PRODUCTION: tuple[str, str] = (ACAO, "https://prod.example.com")
X_LAB = at(call(headers=(("X-Lab", "1"),)))
PRIVATE_MINUTE = ("Cache-Control", "private, max-age=60")
NOSNIFF = ("X-Content-Type-Options", "nosniff")
NO_REFERRER = call(referrer_policy="no-referrer")
FONT_LOAD = at(call(client="font"))
"""A GET with a header that is not safelisted: preflighted, then stored by the HTTP cache."""


def revalidated(*headers: tuple[str, str], credentials: bool = False) -> tuple[Route, Route]:
    """The 304 to a revalidation (with `headers`), then the 200 it revalidates."""
    stored = ok(REFLECT, VARY, ETAG, REVALIDATE, NGINX, *((CREDS,) if credentials else ()))
    not_modified = Reply(304, (*headers, ETAG, NGINX), body="", content_type=None)
    return Route("GET", not_modified, conditional=True), Route("GET", stored)


SCENARIOS = (
    Scenario(
        id="cdn-cache-replays-first-origin",
        title="Varnish (no Vary: Origin) replays the first origin's ACAO to another site",
        cause="cdn-cache-wrong-origin",
        before=(at(),),
        visit=at(page="app_site2"),
        routes=(Route("GET", ok(REFLECT, CACHEABLE, EXPRESS), shared_cache=True),),
        expected=blocked("AllowOriginMismatch", "{app}"),
        notes="Visible on the wire: X-Cache: HIT, Age, and ACAO differing from Origin.",
        fix_layer="varnish",
    ),
    Scenario(
        id="control-cdn-cache-varies-on-origin",
        title="The shared cache keys on Origin because the API says Vary: Origin",
        cause="none",
        before=(at(),),
        visit=at(page="app_site2"),
        routes=(Route("GET", ok(REFLECT, CACHEABLE, VARY, EXPRESS), shared_cache=True),),
        expected=ALLOWED,
    ),
    Scenario(
        id="cache-missing-vary-origin",
        title="nginx echoes $http_origin on a cacheable response without Vary: Origin",
        cause="cache-missing-vary-origin",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, CACHEABLE, NGINX)),),
        expected=ALLOWED,
        notes="Allowed today; the next origin of the same site would get this copy.",
        fix_layer="nginx",
    ),
    Scenario(
        id="browser-cache-reused-by-other-port",
        title="Chromium's HTTP cache hands 127.0.0.1:P1's copy to 127.0.0.1:P2 (same site)",
        cause="browser-cache-wrong-origin",
        before=(at(),),
        visit=at(page="app_port2"),
        routes=(ECHO_CACHEABLE,),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="The second request never reaches the proxy: only the first is on the wire.",
        fix_layer="express",
    ),
    Scenario(
        id="browser-cache-reused-twice-by-other-port",
        title="127.0.0.1:P2 calls twice; both answered from the copy stored for 127.0.0.1:P1",
        cause="browser-cache-wrong-origin",
        before=(at(), at(page="app_port2")),
        visit=at(call(credentials="include"), page="app_port2"),
        routes=(ECHO_CACHEABLE,),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="Neither call reaches the proxy: each is a cache answer of its own.",
        fix_layer="express",
    ),
    Scenario(
        id="font-cached-for-other-port",
        title="A web font cached for 127.0.0.1:P1 without Vary: Origin, reused for 127.0.0.1:P2",
        cause="browser-cache-wrong-origin",
        before=(at(call(client="font")),),
        visit=at(call(client="font"), page="app_port2"),
        routes=(Route("GET", Reply(200, (REFLECT, CACHEABLE, EXPRESS), "wOF2", FONT)),),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="Only the first font request reaches the proxy; the page probe sees the second"
        " fail in Resource Timing, and the copy the first left is what Chromium checked.",
        fix_layer="express",
    ),
    Scenario(
        id="canvas-image-cached-for-other-port",
        title="An <img crossorigin> for a canvas, cached for 127.0.0.1:P1, reused for P2",
        cause="browser-cache-wrong-origin",
        before=(at(call(client="image", cross_origin="anonymous")),),
        visit=at(call(client="image", cross_origin="anonymous"), page="app_port2"),
        routes=(Route("GET", Reply(200, (REFLECT, CACHEABLE, EXPRESS), "PNG", "image/png")),),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="The image element is made by script and never attached: the probe knows its"
        " crossorigin from when its src was set.",
        fix_layer="express",
    ),
    Scenario(
        id="browser-cache-reused-despite-no-cache-field",
        title='Cache-Control no-cache="Set-Cookie" keeps the copy fresh: reused by 127.0.0.1:P2',
        cause="browser-cache-wrong-origin",
        before=(at(),),
        visit=at(page="app_port2"),
        routes=(Route("GET", ok(REFLECT, ("Cache-Control", NO_COOKIE_CACHED), EXPRESS)),),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="A quoted no-cache only keeps the fields it names out of the stored copy; it"
        " does not make the response stale, so the second origin gets the first one's copy.",
        fix_layer="express",
    ),
    Scenario(
        id="control-browser-cache-own-site-copy",
        title="Another site's later copy does not answer the first site's page (partitioned)",
        cause="none",
        before=(at(), at(page="app_site2")),
        visit=at(),
        routes=(ECHO_CACHEABLE,),
        expected=ALLOWED,
        wire_decides=False,
        notes="The last response on the wire is the other site's; the page reuses its own.",
    ),
    Scenario(
        id="control-browser-cache-varies-on-origin",
        title="With Vary: Origin the other same-site origin goes to the network",
        cause="none",
        before=(at(),),
        visit=at(page="app_port2"),
        routes=(ECHO_CACHEABLE_VARY,),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-browser-cache-other-site",
        title="Another site does not share the HTTP cache (partitioned): fetched afresh",
        cause="none",
        before=(at(),),
        visit=at(page="app_site2"),
        routes=(ECHO_CACHEABLE,),
        expected=ALLOWED,
    ),
    Scenario(
        id="revalidation-304-names-production",
        title="The 304 to the browser's revalidation names the production origin",
        cause="origin-allowlist-mismatch",
        before=(at(),),
        visit=at(),
        routes=revalidated((ACAO, "https://prod.example.com")),
        expected=blocked("AllowOriginMismatch", "https://prod.example.com"),
        notes="The HTTP cache puts the 304's headers in place of the stored ones; the "
        "CORS check reads the result.",
        fix_layer="nginx",
    ),
    Scenario(
        id="revalidation-304-wildcard-with-credentials",
        title="Credentialed: the stored 200 echoes the origin, the 304 says ACAO: *",
        cause="wildcard-with-credentials",
        before=(INCLUDE,),
        visit=INCLUDE,
        routes=revalidated((ACAO, "*"), credentials=True),
        expected=blocked("WildcardOriginNotAllowed"),
        fix_layer="nginx",
    ),
    Scenario(
        id="revalidation-304-credentials-false",
        title="Credentialed: the stored 200 allows credentials, the 304 says ACAC: false",
        cause="credentials-not-allowed",
        before=(INCLUDE,),
        visit=INCLUDE,
        routes=revalidated((ACAC, "false"), credentials=True),
        expected=blocked("InvalidAllowCredentials", "false"),
        notes="The 304's Allow-Credentials takes the stored one's place; its Allow-Origin "
        "is the stored one, which the 304 does not repeat.",
        fix_layer="nginx",
    ),
    Scenario(
        id="browser-cache-revalidated-by-other-port",
        title="127.0.0.1:P2 revalidates the copy stored for 127.0.0.1:P1 (no Vary: Origin)",
        cause="browser-cache-wrong-origin",
        before=(at(),),
        visit=at(page="app_port2"),
        routes=(
            Route("GET", Reply(304, (ETAG, EXPRESS), body="", content_type=None), conditional=True),
            Route("GET", ok(REFLECT, ETAG, REVALIDATE, EXPRESS)),
        ),
        expected=blocked("AllowOriginMismatch", "{app}"),
        notes="Only the 304 answers the second page; the Allow-Origin checked is the one "
        "stored with the first page's 200.",
        fix_layer="express",
    ),
    Scenario(
        id="font-revalidated-by-other-port",
        title="A font stored for 127.0.0.1:P1 with Vary: Origin, revalidated for 127.0.0.1:P2",
        cause="browser-cache-wrong-origin",
        before=(at(call(client="font")),),
        visit=at(call(client="font"), page="app_port2"),
        routes=(
            Route("GET", Reply(304, (ETAG, NGINX), body="", content_type=None), conditional=True),
            Route("GET", Reply(200, (REFLECT, VARY, ETAG, REVALIDATE, NGINX), "wOF2", FONT)),
        ),
        expected=blocked("AllowOriginMismatch", "{app}"),
        notes="Chromium revalidates the stored copy with its ETag although Vary: Origin does not"
        " match, and checks the copy the bare 304 updates.",
        fix_layer="nginx",
    ),
    Scenario(
        id="stylesheet-revalidated-in-same-document",
        title="A crossorigin stylesheet loaded again by its document: the 304 names production",
        cause="none",
        before=(STYLE,),
        visit=STYLE,
        routes=(
            Route("GET", Reply(304, (PRODUCTION, ETAG, NGINX), "", None), conditional=True),
            Route("GET", Reply(200, (REFLECT, VARY, ETAG, REVALIDATE, NGINX), "body {}", CSS)),
        ),
        expected=ALLOWED,
        notes="Blink revalidates its memory cache's copy itself (the validator is among the "
        "renderer's headers) and does not CORS-check the 304: the load is allowed although "
        "the 304's Allow-Origin names another origin (control for the next scenario).",
    ),
    Scenario(
        id="stylesheet-revalidated-by-other-port",
        title="127.0.0.1:P2 loads the stylesheet P1 stored; the 304 names production",
        cause="origin-allowlist-mismatch",
        before=(STYLE,),
        visit=at(call(client="stylesheet", cross_origin="anonymous"), page="app_port2"),
        routes=(
            Route("GET", Reply(304, (PRODUCTION, ETAG, NGINX), "", None), conditional=True),
            Route("GET", Reply(200, ((ACAO, "*"), ETAG, REVALIDATE, NGINX), "body {}", CSS)),
        ),
        expected=blocked("AllowOriginMismatch", "https://prod.example.com"),
        notes="Another document: the HTTP cache revalidates, merges the 304's headers into "
        "the stored ones and the CORS check reads the result.",
        fix_layer="nginx",
    ),
    Scenario(
        id="credentialed-stylesheet-redirect-target-cached",
        title="A use-credentials stylesheet through a 302 whose target the HTTP cache holds",
        cause="none",
        before=(CREDENTIALED_STYLE,),
        visit=CREDENTIALED_STYLE,
        routes=(
            Route("GET", redirect(302, "{api2}{path}/final", REFLECT, CREDS, VARY, NGINX)),
            Route(
                "GET",
                Reply(200, (REFLECT, CREDS, VARY, CACHEABLE, NGINX), "body {}", CSS),
                sub="/final",
                on="api2",
            ),
        ),
        expected=ALLOWED,
        notes="The 302 (not cacheable) goes to the wire again; its target is answered by the "
        "copy the first load stored, which the wire does not show a second time.",
    ),
    Scenario(
        id="preflighted-get-500-from-http-cache",
        title="A preflighted GET whose stored 500 (max-age=600) answers a second call",
        cause="none",
        before=(X_LAB,),
        visit=at(call(headers=(("X-Lab", "1"), ("X-Extra", "2")))),
        routes=(
            Route("OPTIONS", express_preflight(max_age="600")),
            Route("GET", ok(REFLECT, VARY, CACHEABLE, EXPRESS, status=500)),
        ),
        expected=ALLOWED,
        notes="X-Extra is new to the preflight cache, so a preflight goes out and passes; the "
        "GET after it is answered by the HTTP cache: the 500 with CORS headers passes.",
    ),
    Scenario(
        id="preflighted-get-cached-for-other-port",
        title="127.0.0.1:P2's preflighted GET takes the copy the HTTP cache stored for P1",
        cause="browser-cache-wrong-origin",
        before=(X_LAB,),
        visit=at(call(headers=(("X-Lab", "1"),)), page="app_port2"),
        routes=(
            Route("OPTIONS", express_preflight(max_age="600")),
            Route("GET", ok(REFLECT, CACHEABLE, EXPRESS)),
        ),
        expected=blocked("AllowOriginMismatch", "{app}"),
        wire_decides=False,
        notes="Only P2's preflight reaches the proxy; its GET is the copy stored for P1, "
        "whose Allow-Origin (no Vary: Origin) names P1.",
        fix_layer="express",
    ),
    Scenario(
        id="control-revalidation-304-without-cors",
        title="A 304 without CORS headers keeps the stored response's",
        cause="none",
        before=(at(),),
        visit=at(),
        routes=revalidated(),
        expected=ALLOWED,
    ),
    Scenario(
        id="redirect-target-orb-blocked-not-stored",
        title="A worker's no-cors fetch through a 303 and a 301 ends on JSON ORB blocks; its "
        "CORS fetch then reaches the target again",
        cause="none",
        before=(Visit(call=call(mode="no-cors"), context="worker"),),
        visit=Visit(call=GET, context="worker"),
        routes=(
            Route("GET", redirect(303, "{api2}{path}/moved", REFLECT, NGINX)),
            Route(
                "GET",
                redirect(301, "{api}{path}/final", (ACAO, "*"), NGINX),
                sub="/moved",
                on="api2",
            ),
            Route("GET", ok(REFLECT, PRIVATE_MINUTE, NOSNIFF, NGINX), sub="/final", on="api"),
        ),
        expected=ALLOWED,
        notes="The 301 comes from the HTTP cache the second time; the target's answer, fresh "
        "for a minute, was blocked by ORB and left no copy, so the CORS fetch asks again and "
        "the check reads that answer (Allow-Origin: null for the tainted request).",
    ),
    Scenario(
        id="no-referrer-redirect-target-cached-for-same-page",
        title="fetch() with referrerPolicy no-referrer through a 307 to the page's own origin, "
        "twice: the second time the HTTP cache answers the target",
        cause="none",
        before=(at(NO_REFERRER),),
        visit=at(NO_REFERRER),
        routes=(
            Route("GET", redirect(307, "{app}{path}/final", (ACAO, "*"), NGINX)),
            Route("GET", ok((ACAO, "*"), PRIVATE_MINUTE, NGINX), sub="/final", on="app"),
        ),
        expected=ALLOWED,
        notes="Neither hop names the page (no Referer); the target (Origin: null) is the page's "
        "own origin, and its fresh copy answers the same page's second fetch.",
    ),
    Scenario(
        id="stylesheet-redirect-target-cached-vary-range",
        title="A crossorigin stylesheet through a 307, twice: the target's copy says Vary: Range",
        cause="none",
        before=(STYLE,),
        visit=STYLE,
        routes=(
            Route("GET", redirect(307, "{api2}{path}/final", REFLECT, VARY, NGINX)),
            Route(
                "GET",
                Reply(200, ((ACAO, "*"), ("Vary", "Range"), PRIVATE_MINUTE, NGINX), "body {}", CSS),
                sub="/final",
                on="api2",
            ),
        ),
        expected=ALLOWED,
        notes="Neither load sends Range, so the stored copy's Vary: Range matches and the "
        "HTTP cache answers the second load's target; only its 307 is on the wire.",
    ),
    Scenario(
        id="preflighted-get-answered-by-stored-304",
        title="A 304 to a GET without validator, with max-age: the HTTP cache keeps it and "
        "answers the next, preflighted GET with it",
        cause="none",
        before=(at(),),
        visit=X_LAB,
        routes=(
            Route("OPTIONS", express_preflight(max_age="600")),
            Route("GET", Reply(304, (REFLECT, PRIVATE_MINUTE, ETAG, EXPRESS), "", None)),
        ),
        expected=ALLOWED,
        wire_decides=False,
        notes="A broken cache in front of the app answers 304 to a request that named no "
        "validator. Only the preflight of the second GET reaches the proxy; the 304 stored "
        "as it came answers it, and its own Allow-Origin passes.",
    ),
    Scenario(
        id="font-redirect-target-revalidated-304-names-production",
        title="A font through a 307, three times: the 304 to its revalidation names production "
        "and makes the copy fresh; the third load takes that copy",
        cause="origin-allowlist-mismatch",
        before=(FONT_LOAD, FONT_LOAD),
        visit=FONT_LOAD,
        routes=(
            Route("GET", redirect(307, "{api}{path}/final", REFLECT, VARY, NGINX)),
            Route(
                "GET",
                Reply(304, (PRODUCTION, ETAG, CACHEABLE, NGINX), "", None),
                sub="/final",
                conditional=True,
            ),
            Route(
                "GET",
                Reply(200, (REFLECT, VARY, ETAG, REVALIDATE, NGINX), "wOF2", FONT),
                sub="/final",
            ),
        ),
        expected=blocked("AllowOriginMismatch", "https://prod.example.com"),
        notes="The second load's 304 puts its headers in the stored copy and max-age=600 "
        "makes it fresh: the third load's target never reaches the proxy, and the CORS check "
        "reads the Allow-Origin the 304 put in.",
        fix_layer="nginx",
    ),
)
