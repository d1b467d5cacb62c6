"""Calls made from somewhere other than the page's own script: a dedicated worker, an
embedded iframe of another site, a sandboxed iframe. The request's Origin is the calling
context's, not the tab's, which is what people miss when "the page is allowed"."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAC,
    CREDS,
    EXPRESS,
    NGINX,
    REFLECT,
    VARY,
    blocked,
    express_preflight,
    ok,
    redirect,
)
from analysis.lab.spec import ALLOWED, Call, Route, Scenario, Visit

SCENARIOS = (
    Scenario(
        id="worker-fetch-without-cors",
        title="A dedicated worker fetches the API; nginx sends no CORS headers at all",
        cause="cors-not-enabled",
        visit=Visit(call=Call(), context="worker"),
        routes=(Route("GET", ok(NGINX)),),
        expected=blocked("MissingAllowOriginHeader"),
        notes="The worker's fetch is CORS-checked exactly as the page's would be; the "
        "verdict is on the worker's own DevTools target.",
        fix_layer="nginx",
    ),
    Scenario(
        id="embedded-widget-origin-not-listed",
        title="An iframe from another site calls the API; Express's allow-list names the app",
        cause="origin-allowlist-mismatch",
        visit=Visit(call=Call(), context="frame", frame="app_site2"),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS), allow_origins=("{app}",)),),
        expected=blocked("MissingAllowOriginHeader"),
        notes="The request carries the iframe's origin, not the top page's.",
        fix_layer="express",
    ),
    Scenario(
        id="sandboxed-iframe-null-origin",
        title="A sandboxed iframe (allow-scripts, no allow-same-origin) sends Origin: null",
        cause="null-origin",
        visit=Visit(call=Call(), context="sandboxed-frame", frame="app"),
        routes=(Route("GET", ok(REFLECT, VARY, EXPRESS), allow_origins=("{app}",)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="express",
    ),
    Scenario(
        id="control-module-worker-allowed",
        title="A module worker calls an API that echoes its origin",
        cause="none",
        visit=Visit(call=Call(), context="module-worker"),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="data-worker-credentialed-redirect-acac-uppercase",
        title="A data: worker's credentialed fetch redirected to another site, whose 307 says "
        "Access-Control-Allow-Credentials: TRUE",
        cause="credentials-not-allowed",
        visit=Visit(call=Call(api="app_port2", credentials="include"), context="data-worker"),
        routes=(
            Route("GET", redirect(303, "{api2}{path}/h1", REFLECT, CREDS, NGINX), on="app_port2"),
            Route(
                "GET",
                redirect(307, "{api2}{path}/h2", REFLECT, (ACAC, "TRUE"), NGINX),
                sub="/h1",
                on="api2",
            ),
            Route("GET", ok(REFLECT, CREDS, NGINX), sub="/h2", on="api2"),
        ),
        expected=blocked("InvalidAllowCredentials", "TRUE"),
        notes="The worker's origin is opaque (Origin: null). Its first request, to the "
        "page's own site, carries no Sec-Fetch-Storage-Access (that follows the top-level "
        "site); the hop to another site does: both are of one credentialed fetch.",
        fix_layer="nginx",
    ),
    Scenario(
        id="worker-range-and-cache-control-refused",
        title="A worker's fetch with Range: items=1 and Cache-Control; neither allowed",
        cause="allow-headers-missing",
        visit=Visit(
            call=Call(headers=(("Range", "items=1"), ("Cache-Control", "no-cache"))),
            context="worker",
        ),
        routes=(
            Route("OPTIONS", express_preflight(allowed_headers="Content-Type")),
            Route("GET", ok(REFLECT, VARY, EXPRESS)),
        ),
        expected=blocked("HeaderDisallowedByPreflightResponse", "range"),
        notes="A worker's requests carry no UA client hints, so Blink's header map holds the "
        "script's names (and User-Agent) only; the refused name follows that map's order.",
        flow_cannot_tell="a preflight carries no client hints from a page either: the wire "
        "cannot tell the worker's call from a page's, whose header map would name cache-control",
        fix_layer="express",
    ),
)
