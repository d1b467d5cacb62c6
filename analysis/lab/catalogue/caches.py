"""Caches that store one origin's Access-Control-Allow-Origin and hand it to another."""

from __future__ import annotations

from analysis.lab.catalogue.build import CACHEABLE, EXPRESS, NGINX, REFLECT, VARY, at, blocked, ok
from analysis.lab.spec import ALLOWED, Route, Scenario

# Express code that echoes the origin by hand (res.set(...)) on a response that may be
# cached for ten minutes: the stage for every cache mix-up.
ECHO_CACHEABLE = Route("GET", ok(REFLECT, CACHEABLE, EXPRESS))
ECHO_CACHEABLE_VARY = Route("GET", ok(REFLECT, CACHEABLE, VARY, EXPRESS))

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
)
