"""Reading headers, no-cors requests, the proxy's own faults, and the basic controls."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAO,
    ACEH,
    CREDS,
    EXPRESS,
    JSON_POST,
    NGINX,
    REFLECT,
    VARY,
    WERKZEUG,
    at,
    blocked,
    call,
    ok,
    preflight,
    redirect,
    text,
)
from analysis.lab.spec import ALLOWED, Expected, Header, Reply, Route, Scenario

TOTAL = ("X-Total-Count", "42")

# nginx's own error page when its upstream does not answer.
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)

EXPOSE = (
    Scenario(
        id="expose-headers-missing",
        title="Script reads X-Total-Count; not in Access-Control-Expose-Headers, reads null",
        cause="expose-headers-missing",
        visit=at(call(read_header="X-Total-Count")),
        routes=(Route("GET", ok(REFLECT, VARY, TOTAL, EXPRESS)),),
        expected=ALLOWED,
        key_row=True,
        fix_layer="express",
    ),
    Scenario(
        id="expose-headers-wildcard-with-credentials",
        title="ACEH * exposes nothing to a credentialed request",
        cause="expose-headers-missing",
        visit=at(call(read_header="X-Total-Count", credentials="include")),
        routes=(Route("GET", ok(REFLECT, CREDS, VARY, TOTAL, (ACEH, "*"), WERKZEUG)),),
        expected=ALLOWED,
        fix_layer="flask",
    ),
    Scenario(
        id="control-expose-headers-listed",
        title="X-Total-Count listed in Access-Control-Expose-Headers",
        cause="none",
        visit=at(call(read_header="X-Total-Count")),
        routes=(Route("GET", ok(REFLECT, VARY, TOTAL, (ACEH, "X-Total-Count"))),),
        expected=ALLOWED,
    ),
    Scenario(
        id="expose-headers-missing-unasked-304",
        title="The server's own 304 to a plain GET; the script reads X-Total-Count it hides",
        cause="expose-headers-missing",
        visit=at(call(read_header="X-Total-Count")),
        routes=(Route("GET", Reply(304, (REFLECT, VARY, TOTAL, EXPRESS), "", None)),),
        expected=ALLOWED,
        notes="The browser asked for no validation, so the 304 reaches the script as it came "
        "(Fetch §4.5 HTTP-network-or-cache fetch) and its headers are CORS-filtered.",
        fix_layer="express",
    ),
)

NO_CORS = (
    Scenario(
        id="no-cors-opaque-get",
        title="mode: 'no-cors' GET to an API without CORS: allowed, opaque",
        notes="DevTools reports net::ERR_ABORTED (canceled): the opaque body is never read.",
        cause="none",
        visit=at(call(mode="no-cors")),
        routes=(Route("GET", ok()),),
        expected=ALLOWED,
        key_row=True,
    ),
    Scenario(
        id="no-cors-opaque-post",
        title="mode: 'no-cors' text/plain POST (a beacon-style call): allowed, opaque",
        cause="none",
        visit=at(
            call(
                mode="no-cors",
                method="POST",
                body="ping",
                headers=(("Content-Type", "text/plain"),),
            )
        ),
        routes=(Route("POST", ok()),),
        expected=ALLOWED,
    ),
    Scenario(
        id="no-cors-redirect-to-ftp",
        title="mode: 'no-cors' GET redirected (nginx 302) to an ftp:// URL: a network error",
        notes="DevTools: net::ERR_UNKNOWN_URL_SCHEME and no CorsError; in cors mode the same"
        " redirect is CorsDisabledScheme.",
        cause="proxy-or-upstream-fault",
        visit=at(call(mode="no-cors")),
        routes=(Route("GET", redirect(302, "ftp://127.0.0.4/x", NGINX)),),
        expected=Expected(blocked=True),
        fix_layer="nginx",
    ),
    Scenario(
        id="no-cors-redirect-to-credentials",
        title="mode: 'no-cors' GET redirected (nginx 302) to a URL with user:password@",
        notes="Blink refuses subresource URLs with embedded credentials: it cancels the"
        " redirect (net::ERR_ABORTED, no CorsError) and fetch() rejects; the target is never"
        " asked.",
        cause="proxy-or-upstream-fault",
        visit=at(call(mode="no-cors")),
        routes=(
            Route(
                "GET",
                redirect(302, "http://lab:secret@127.0.0.4:{api2_port}{path}/final", NGINX),
                on="api",
            ),
            Route("GET", ok(), sub="/final", on="api2"),
        ),
        expected=Expected(blocked=True),
        fix_layer="nginx",
    ),
)

PROXY_FAULTS = (
    Scenario(
        id="upstream-refused-proxy-502",
        title="Upstream refuses the connection: mitmproxy answers 502 itself, without CORS",
        cause="proxy-or-upstream-fault",
        visit=at(call(api="dead")),
        routes=(),
        expected=blocked("MissingAllowOriginHeader"),
        fix_layer="server",
    ),
    Scenario(
        id="upstream-cuts-body-short",
        title="The API's answer is cut short after its headers: mitmproxy answers 502 itself",
        cause="proxy-or-upstream-fault",
        visit=at(),
        routes=(Route("GET", Reply(200, (REFLECT, VARY, EXPRESS), cut_short=True)),),
        expected=blocked("MissingAllowOriginHeader"),
        notes="The server's own headers allowed the page; the browser never saw them.",
        fix_layer="express",
    ),
    Scenario(
        id="upstream-refused-preflight-502",
        title="Upstream refuses the preflight's connection: mitmproxy's 502 to OPTIONS",
        cause="proxy-or-upstream-fault",
        visit=at(call(api="dead", method="DELETE")),
        routes=(),
        expected=blocked("PreflightMissingAllowOriginHeader"),
        fix_layer="server",
    ),
    Scenario(
        id="upstream-down-nginx-502",
        title="nginx answers 502 Bad Gateway itself: the Express app behind it is down",
        cause="proxy-or-upstream-fault",
        before=(at(call(sub="/items")),),
        visit=at(),
        routes=(
            Route("GET", text(502, NGINX_502, NGINX, content_type="text/html")),
            Route("GET", ok(REFLECT, VARY, NGINX, EXPRESS), sub="/items"),
        ),
        expected=blocked("MissingAllowOriginHeader"),
        notes="The fix is to bring the app back, not CORS: nginx's error page lacks the headers "
        "only because the app that adds them never answered.",
        fix_layer="express",
    ),
    Scenario(
        id="control-https-self-signed",
        title="https API with a self-signed certificate (mitmproxy ssl_insecure=true)",
        cause="none",
        visit=at(call(api="api_https")),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="upstream-refused-image-orb",
        title="An <img> whose upstream refuses the connection: ORB blocks the proxy's 502 page",
        cause="browser-block",
        visit=at(call(api="dead", client="image")),
        routes=(),
        expected=Expected(blocked=True),
        notes="mitmproxy answers the no-cors load with its own text/html error page, which "
        "ORB blocks (net::ERR_BLOCKED_BY_ORB, no CORS line): the image fails for the "
        "upstream's sake, not for CORS.",
        fix_layer="generic",
    ),
    Scenario(
        id="upstream-refused-script-orb",
        title="A <script> whose upstream refuses the connection: ORB blocks the proxy's 502 page",
        cause="browser-block",
        visit=at(call(api="dead", client="script")),
        routes=(),
        expected=Expected(blocked=True),
        fix_layer="generic",
    ),
    Scenario(
        id="control-no-cors-fetch-upstream-refused",
        title="A no-cors fetch() whose upstream refuses the connection resolves (opaque)",
        cause="none",
        visit=at(call(api="dead", mode="no-cors")),
        routes=(),
        expected=ALLOWED,
        notes="Control for the two above: ORB hands an empty destination an empty response "
        "instead of blocking the proxy's error page, so the page's promise resolves.",
    ),
)

CONTROLS = (
    Scenario(
        id="control-simple-get",
        title="Simple GET, origin echoed",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-json-post",
        title="JSON POST with a complete preflight answer",
        cause="none",
        visit=at(JSON_POST),
        routes=(Route("OPTIONS", preflight()), Route("POST", ok(REFLECT, VARY))),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-xhr-credentials",
        title="XHR withCredentials with origin echoed and ACAC true",
        cause="none",
        visit=at(call(client="xhr", credentials="include")),
        routes=(Route("GET", ok(REFLECT, CREDS, VARY)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-other-site-page",
        title="Page on another site (127.0.0.3) calling an echoing API",
        cause="none",
        visit=at(page="app_site2"),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        expected=ALLOWED,
    ),
)


# `retry` makes the browser reconnect at once when the response ends; `id` makes it send
# Last-Event-ID when it does.
EVENT_STREAM = "retry: 50\nid: 42\ndata: hi\n\n"


def event_stream(*headers: Header) -> Reply:
    return Reply(headers=headers, body=EVENT_STREAM, content_type="text/event-stream")


EVENT_SOURCE = (
    Scenario(
        id="eventsource-wrong-origin",
        title="EventSource; the API allows another origin (worded 'resource', not 'fetch')",
        cause="origin-allowlist-mismatch",
        visit=at(call(client="eventsource")),
        routes=(Route("GET", event_stream((ACAO, "https://admin.example.test"), VARY)),),
        expected=blocked("AllowOriginMismatch", "https://admin.example.test"),
        fix_layer="generic",
    ),
    Scenario(
        id="eventsource-credentials-wildcard",
        title="EventSource withCredentials against ACAO *",
        cause="wildcard-with-credentials",
        visit=at(call(client="eventsource", credentials="include")),
        routes=(Route("GET", event_stream((ACAO, "*"), CREDS)),),
        expected=blocked("WildcardOriginNotAllowed"),
        fix_layer="generic",
    ),
    Scenario(
        id="control-eventsource-reconnect",
        title="EventSource reconnects with Last-Event-ID: no preflight, nothing answers OPTIONS",
        cause="none",
        visit=at(call(client="eventsource", repeat=2)),
        routes=(Route("GET", event_stream(REFLECT, VARY)),),
        expected=ALLOWED,
    ),
)


SCENARIOS = (*EXPOSE, *EVENT_SOURCE, *NO_CORS, *PROXY_FAULTS, *CONTROLS)
