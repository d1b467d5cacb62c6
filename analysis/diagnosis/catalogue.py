"""The root causes corscope knows: stable ids, a title, and why each one happens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    title: str
    """`{api}` is replaced with the API origin."""
    why: str


_CAUSES = [
    Cause(
        "cors-not-enabled",
        "{api} sends no CORS headers at all",
        "No response from this API carries Access-Control-Allow-Origin, so the browser refuses"
        " every cross-origin read. CORS is not enabled on any layer in front of it.",
    ),
    Cause(
        "cors-after-routes",
        "Some routes of {api} send CORS headers, others never do",
        "Successful responses of some endpoints carry Access-Control-Allow-Origin and others"
        " do not: the CORS middleware is registered after some routes, or only on some of them.",
    ),
    Cause(
        "preflight-not-handled",
        "{api} does not answer CORS preflights",
        "The browser sends an OPTIONS preflight before non-simple requests. This API answers"
        " it with an error status, so the real request is never sent.",
    ),
    Cause(
        "per-route-cors-without-options",
        "CORS is applied per route on {api}, but OPTIONS is not routed",
        "The API's normal responses carry CORS headers, but the preflight (OPTIONS) to the same"
        " paths gets an error without them: CORS was added to handlers, not to the OPTIONS"
        " route.",
    ),
    Cause(
        "error-responses-without-cors",
        "Error responses of {api} lack CORS headers",
        "Successful responses carry Access-Control-Allow-Origin, but 4xx/5xx responses do not:"
        " the error handler (or the proxy's error page) runs before or outside the CORS layer."
        " The browser then hides the real error behind a CORS message.",
    ),
    Cause(
        "wildcard-with-credentials",
        "{api} answers '*' to requests sent with credentials",
        "Access-Control-Allow-Origin: * is refused when the request carries credentials"
        " (cookies, HTTP auth): the server must echo the exact origin and send"
        " Access-Control-Allow-Credentials: true.",
    ),
    Cause(
        "credentials-not-allowed",
        "{api} does not allow credentials",
        "The request is sent with credentials, so the response needs"
        " Access-Control-Allow-Credentials: true (exactly, lower case).",
    ),
    Cause(
        "origin-allowlist-mismatch",
        "{api}'s allow-list does not match the page's origin",
        "The server answers with an Access-Control-Allow-Origin that is not byte-for-byte the"
        " page's origin, or leaves the header out because the origin is not on its list (its"
        " CORS layer still says Vary: Origin, or lets other pages in). Origins have no trailing"
        " slash, include a non-default port and the scheme, and are compared exactly.",
    ),
    Cause(
        "null-origin",
        "A 'null' origin is involved in requests to {api}",
        "Either the server answers Access-Control-Allow-Origin: null to a normal page, or the"
        " page has an opaque origin (sandboxed iframe, file://) and sends Origin: null.",
    ),
    Cause(
        "allow-headers-missing",
        "{api}'s preflight does not allow the request headers the page sends",
        "Every request header that is not CORS-safelisted (Content-Type: application/json,"
        " Authorization, custom headers) must be listed in Access-Control-Allow-Headers.",
    ),
    Cause(
        "allow-methods-missing",
        "{api}'s preflight does not allow the method the page uses",
        "Methods other than GET, HEAD and POST must be listed in Access-Control-Allow-Methods,"
        " compared case-sensitively ('patch' is not 'PATCH').",
    ),
    Cause(
        "duplicate-allow-origin",
        "{api} sends Access-Control-Allow-Origin twice",
        "Two layers (typically a reverse proxy and the app) both add the header. Browsers join"
        " the values and refuse the result, even when both copies are identical.",
    ),
    Cause(
        "gateway-preflight-differs",
        "Something in front of {api} answers preflights differently from the app",
        "The OPTIONS preflight succeeds but without the CORS headers the app sends on its own"
        " responses: a gateway, proxy or framework layer answers OPTIONS before the app sees it.",
    ),
    Cause(
        "preflight-redirected",
        "Preflights to {api} are redirected",
        "A preflight must be answered directly: browsers refuse a redirect (http→https,"
        " trailing slash) for OPTIONS. Call the final URL or stop redirecting OPTIONS.",
    ),
    Cause(
        "redirect-tainted-origin",
        "A cross-origin redirect turns the origin into 'null' for {api}",
        "After a redirect to yet another origin, the browser sends Origin: null, and the final"
        " response must allow 'null' or '*'. Call the final URL directly.",
    ),
    Cause(
        "redirect-without-cors",
        "Redirects from {api} lack CORS headers",
        "A redirect response to a CORS request must itself carry Access-Control-Allow-Origin.",
    ),
    Cause(
        "redirect-credentials-in-location",
        "{api} redirects to a URL with a user name and password",
        "Browsers refuse to follow a cross-origin redirect whose Location holds credentials.",
    ),
    Cause(
        "cdn-cache-wrong-origin",
        "A shared cache in front of {api} replays another origin's CORS header",
        "A CDN or reverse-proxy cache stored a response that allowed one origin and serves it to"
        " another. The response reflects the origin but does not say 'Vary: Origin'.",
    ),
    Cause(
        "cache-missing-vary-origin",
        "{api} reflects the origin on cacheable responses without 'Vary: Origin'",
        "Any cache (browser, CDN) may replay the response to a page on another origin, which"
        " the browser then blocks.",
    ),
    Cause(
        "browser-cache-wrong-origin",
        "The browser reused a response of {api} cached for another origin",
        "The browser's HTTP cache is shared between origins of one site. A cached response"
        " that allowed another origin fails the CORS check for this one: the proxy never sees"
        " the request.",
    ),
    Cause(
        "service-worker-response",
        "A service worker answers requests to {api} itself",
        "The page's service worker answered from Cache Storage, built the response itself, or"
        " handed back an opaque response, without the CORS headers the network response had."
        " The browser refuses an opaque answer; one the worker built passes today but hides"
        " whether the API allows the page at all, and fails whenever the worker does not answer"
        " (first visit, a new worker version, a hard reload).",
    ),
    Cause(
        "expose-headers-missing",
        "JavaScript cannot read some response headers of {api}",
        "Only CORS-safelisted response headers are readable cross-origin; others must be listed"
        " in Access-Control-Expose-Headers.",
    ),
    Cause(
        "preflight-not-cached",
        "Preflights to {api} are repeated on almost every call",
        "Without a useful Access-Control-Max-Age, Chromium keeps a preflight result for only"
        " 5 seconds, so most calls pay an extra round trip.",
    ),
    Cause(
        "authorization-covered-by-wildcard",
        "{api} allows Authorization only through 'Access-Control-Allow-Headers: *'",
        "Browsers still accept this, but the Fetch standard says the wildcard does not cover"
        " Authorization; list it explicitly before browsers follow the standard.",
    ),
    Cause(
        "no-cors-opaque",
        "Requests to {api} are sent with mode 'no-cors'",
        "A 'no-cors' request always gives JavaScript an opaque response: no status, no headers,"
        " no body. It hides CORS problems instead of solving them.",
    ),
    Cause(
        "proxy-or-upstream-fault",
        "Requests to {api} failed below CORS",
        "The connection, the TLS handshake or the upstream failed, and the proxy answered with"
        " its own error. The browser reports that as a missing CORS header, but no CORS"
        " setting can fix it.",
    ),
    Cause(
        "browser-block",
        "The browser itself blocked requests to {api}",
        "Chromium refused these for a reason that is not CORS: Opaque Response Blocking,"
        " mixed content, the page's Content-Security-Policy, Cross-Origin-Resource-Policy,"
        " an extension. No CORS header changes that; the fix is in the page or in what the"
        " server answers.",
    ),
    Cause(
        "local-network-access",
        "A public page reaches into a private network at {api}",
        "Chromium's Local Network Access requires a secure context and the user's permission"
        " for requests from a more public address space into a more private one.",
    ),
    Cause(
        "same-origin-mode",
        "Requests to {api} are sent with mode 'same-origin'",
        "mode: 'same-origin' forbids cross-origin requests; use the default 'cors'.",
    ),
    Cause(
        "non-http-scheme",
        "Cross-origin requests to a non-HTTP URL ({api})",
        "CORS works only for http and https; a page opened from file:// cannot fetch other"
        " origins. Serve the page over http.",
    ),
    Cause(
        "reflected-origin-with-credentials",
        "{api} reflects any origin and allows credentials",
        "The server echoes origins from unrelated sites together with"
        " Access-Control-Allow-Credentials: true: any website can read users' data with their"
        " cookies.",
    ),
    Cause(
        "null-origin-allowed-with-credentials",
        "{api} allows the 'null' origin with credentials",
        "Sandboxed iframes and data: documents send Origin: null, so any site can obtain it:"
        " allowing it with credentials exposes users' data.",
    ),
    Cause(
        "regex-allowlist-lookalike",
        "{api}'s allow-list accepts look-alike origins",
        "An origin that merely contains an allowed host name was accepted: the allow-list is a"
        " pattern without anchors or with unescaped dots.",
    ),
    Cause(
        "wildcard-on-cookie-response",
        "{api} sets cookies on responses readable by any origin",
        "'Access-Control-Allow-Origin: *' on a response that sets cookies lets every site read"
        " the response that creates the session.",
    ),
]

CAUSES: dict[str, Cause] = {c.id: c for c in _CAUSES}


def title(cause_id: str, api: str) -> str:
    cause = CAUSES.get(cause_id)
    return cause.title.replace("{api}", api) if cause else f"{cause_id} on {api}"


def why(cause_id: str) -> str:
    cause = CAUSES.get(cause_id)
    return cause.why if cause else ""
