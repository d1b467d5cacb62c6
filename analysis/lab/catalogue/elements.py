"""What a page loads across origins without fetch or XHR: web fonts, module scripts, images
for a canvas, prefetches, beacons. The browser makes these CORS requests itself (a font
and a module script always, an image, script, stylesheet or prefetch when it has a
`crossorigin` attribute, a beacon when its body's type is not CORS-safelisted), so the
page never sees why one failed: the font silently falls back, the module never runs, the
beacon is lost."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAO,
    CREDS,
    EXPRESS,
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
from analysis.lab.spec import ALLOWED, Expected, Header, Reply, Route, Scenario, Visit

# CloudFront in front of an S3 bucket: what a static-asset CDN answers with.
CLOUDFRONT_S3: tuple[Header, ...] = (
    ("Server", "AmazonS3"),
    ("X-Cache", "Miss from cloudfront"),
    ("Via", "1.1 5f1c0e7d3a2b.cloudfront.net (CloudFront)"),
    ("X-Amz-Cf-Pop", "FRA56-P1"),
    ("X-Amz-Cf-Id", "q1LabCfIdOfOneRequest0000000000000000000000000000000000=="),
)


def static(content_type: str, body: str, *headers: Header) -> Reply:
    return Reply(200, (*headers, ("Cache-Control", "max-age=0")), body, content_type)


SCENARIOS = (
    Scenario(
        id="orb-image-of-json",
        title="<img> pointed at the JSON API: Opaque Response Blocking refuses the answer",
        notes="Not CORS: an image is a no-cors load. ORB sniffs the JSON and fails the load "
        "with net::ERR_BLOCKED_BY_ORB; the console shows no CORS line.",
        cause="browser-block",
        visit=at(call(client="image")),
        routes=(Route("GET", ok(EXPRESS, body='{"user": {"id": 7}}')),),
        expected=Expected(blocked=True),
        fix_layer="express",
    ),
    Scenario(
        id="orb-sandboxed-script-redirected-json",
        title="A sandboxed page's <script> of 127.0.0.1:P1, redirected to P2, answered JSON",
        notes="No Origin on the wire and the page's origin is opaque: the load is cross-site "
        "(Sec-Fetch-Site), and ORB blocks the JSON at the end of a redirect that stays in "
        "127.0.0.1's site (net::ERR_BLOCKED_BY_ORB, no CORS line).",
        cause="browser-block",
        visit=at(call(api="app", client="script"), page="evil", kind="sandboxed"),
        routes=(
            Route("GET", redirect(307, "{app_port2}{path}/final", EXPRESS), on="app"),
            Route("GET", ok(EXPRESS, body='{"user": {"id": 7}}'), sub="/final", on="app_port2"),
        ),
        expected=Expected(blocked=True),
        fix_layer="express",
    ),
    Scenario(
        id="font-from-cdn-without-cors",
        title="An @font-face web font from a CDN bucket that sends no CORS headers",
        notes="Fonts are always fetched in CORS mode; the page just falls back to another font.",
        cause="cors-not-enabled",
        visit=at(call(client="font")),
        routes=(Route("GET", static("font/woff2", "wOF2", *CLOUDFRONT_S3)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="s3",
    ),
    Scenario(
        id="module-script-without-cors",
        title="<script type=module> from a static host without CORS headers",
        cause="cors-not-enabled",
        visit=at(call(client="module")),
        routes=(Route("GET", static("text/javascript", "export const x = 1;", NGINX)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="nginx",
    ),
    Scenario(
        id="image-use-credentials-wildcard",
        title="<img crossorigin=use-credentials> (for a canvas) answered with ACAO *",
        cause="wildcard-with-credentials",
        visit=at(call(client="image", cross_origin="use-credentials")),
        routes=(Route("GET", static("image/png", "PNG", (ACAO, "*"), NGINX)),),
        expected=blocked("WildcardOriginNotAllowed"),
        fix_layer="nginx",
    ),
    Scenario(
        id="prefetch-without-cors",
        title="<link rel=prefetch crossorigin> of the next page's data, from an API without CORS",
        notes="Chromium calls it a 'link prefetch resource'; the wire shows Sec-Purpose.",
        cause="cors-not-enabled",
        visit=at(call(client="prefetch", cross_origin="anonymous")),
        routes=(Route("GET", static("application/json", '{"page": 2}', EXPRESS)),),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="express",
    ),
    Scenario(
        id="beacon-json-wildcard",
        title="sendBeacon of a JSON Blob to a collector whose preflight answers ACAO *",
        notes="A beacon always carries credentials, so * fails; the page never learns it.",
        cause="wildcard-with-credentials",
        visit=at(
            call(
                client="beacon",
                method="POST",
                headers=(("Content-Type", "application/json"),),
                body='{"event": "view"}',
            )
        ),
        routes=(
            Route("OPTIONS", express_preflight(origin="*")),
            Route("POST", ok((ACAO, "*"), EXPRESS)),
        ),
        expected=blocked("PreflightWildcardOriginNotAllowed"),
        fix_layer="express",
    ),
    Scenario(
        id="beacon-json-from-frame-preflight-404",
        title="An embedded frame of another site beacons JSON; nginx answers the OPTIONS 404",
        notes="The beacon is preflighted with the frame's origin; the 404 carries CORS "
        "headers, so its status fails it. The frame's page never learns.",
        cause="preflight-not-handled",
        visit=Visit(
            call=call(
                client="beacon",
                method="POST",
                headers=(("Content-Type", "application/json"),),
                body='{"event": "view"}',
            ),
            context="frame",
            frame="app_site2",
        ),
        routes=(
            Route("OPTIONS", Reply(404, (NGINX, REFLECT, CREDS, VARY), "Not Found", "text/html")),
            Route("POST", ok(NGINX, REFLECT, CREDS, VARY)),
        ),
        expected=blocked("PreflightInvalidStatus"),
        fix_layer="nginx",
    ),
    Scenario(
        id="control-stylesheet-crossorigin",
        title="<link rel=stylesheet crossorigin> from a host that allows every origin",
        cause="none",
        visit=at(call(client="stylesheet", cross_origin="anonymous")),
        routes=(Route("GET", static("text/css", "body {}", (ACAO, "*"), NGINX)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-module-script-404-with-cors",
        title="<script type=module> answered 404 by a host that allows every origin",
        notes="The answer passes CORS; the script then gives up on a 404: Chromium cancels"
        " the load (net::ERR_ABORTED, no CORS error) and the element fires `error`.",
        cause="none",
        visit=at(call(client="module")),
        routes=(Route("GET", Reply(404, ((ACAO, "*"), NGINX), "Not Found", "text/html")),),
        expected=ALLOWED,
    ),
)
