"""The vocabulary scenarios are written in: what the page does and how the servers answer.

Everything here is plain frozen data so that a scenario reads like a row in a table. URLs
are not known until the servers have bound their ports, so header values, allow-lists and
expected failure parameters are templates: `{origin}` is the request's `Origin` header,
`{path}` the scenario's own path, and every origin key (`{app}`, `{api2}`, …) its serialized
origin, with `{app_port}` style keys for its port.

Page origins (`app`, `app_port2`, `app_site2`, `www`, `bare`, `evil`) are shared by every
scenario: which pages share a site matters to caches. API origins (`api`, `api2`,
`api_https`, `dead`) belong to a *deployment*: each deployment gets ports of its own, so
a rule that looks across one API's responses sees one simulated server, never a mix of
unrelated ones. Scenarios that model parts of one server (a route and its control) name
the same deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Header = tuple[str, str]
Client = Literal[
    "fetch",
    "xhr",
    "eventsource",
    "beacon",
    "image",
    "audio",
    "video",
    "script",
    "module",
    "stylesheet",
    "font",
    "prefetch",
    "preload",
    "modulepreload",
    "import",
    "worker-script",
    "import-scripts",
]
ELEMENT_CLIENTS: frozenset[str] = frozenset(
    {
        "image",
        "audio",
        "video",
        "script",
        "module",
        "stylesheet",
        "font",
        "prefetch",
        "modulepreload",
    }
)
PageKind = Literal["plain", "sandboxed", "sw", "require-corp"]
"""plain page; a page served with `CSP: sandbox` (opaque origin, `Origin: null`); a page
controlled by the lab's service worker; a page served with `Cross-Origin-Embedder-Policy:
require-corp` (its no-cors loads need the answer's CORP, Fetch §3.8)."""
Context = Literal[
    "page",
    "worker",
    "module-worker",
    "blob-worker",
    "data-worker",
    "frame",
    "sandboxed-frame",
    "srcdoc",
]
"""Where the call's script runs: the page itself; a dedicated (classic or module) worker of
the page's origin, or one made from a `blob:` URL (the page's origin) or a `data:` URL
(an opaque origin); an iframe of `Visit.frame`'s origin, the same under
`sandbox="allow-scripts"` (opaque origin, `Origin: null`), or a `srcdoc` iframe (the
page's own origin, a document that never crosses the wire)."""
WorkerAction = Literal["pass", "cache", "synthetic", "opaque"]
"""What the service worker does with a scenario's request: `fetch(event.request)`; answer
from Cache Storage (filled on first use); a `new Response()`; a `no-cors` refetch."""

ROOT_CAUSES: frozenset[str] = frozenset(
    {
        "cors-not-enabled",
        "cors-after-routes",
        "preflight-not-handled",
        "per-route-cors-without-options",
        "error-responses-without-cors",
        "wildcard-with-credentials",
        "credentials-not-allowed",
        "origin-allowlist-mismatch",
        "null-origin",
        "allow-headers-missing",
        "allow-methods-missing",
        "duplicate-allow-origin",
        "gateway-preflight-differs",
        "preflight-redirected",
        "redirect-tainted-origin",
        "redirect-credentials-in-location",
        "cdn-cache-wrong-origin",
        "cache-missing-vary-origin",
        "browser-cache-wrong-origin",
        "service-worker-response",
        "expose-headers-missing",
        "preflight-not-cached",
        "proxy-or-upstream-fault",
        "regex-allowlist-lookalike",
        "same-origin-mode",
        "non-http-scheme",
        "browser-block",
        "none",
    }
)

API_KEYS: frozenset[str] = frozenset({"api", "api2", "api_https", "dead"})
"""Origin keys that belong to a deployment (see module doc); every other key is a page's."""

_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+?)(?:_port)?\}")


@dataclass(frozen=True)
class Reply:
    """A canned HTTP response. Header values are templates (see module doc)."""

    status: int = 200
    headers: tuple[Header, ...] = ()
    body: str = '{"ok": true}'
    content_type: str | None = "application/json"
    cut_short: bool = False
    """Content-Length promises 100 bytes more than the body has, and the server closes the
    connection after the body: a response cut short (a crashed worker, a proxy timeout)."""
    delay_ms: int = 0
    """How long the server waits before answering: a slow backend, so that answers to
    requests sent at once come back in another order."""
    drop: Literal["close", "reset"] | None = None
    """No answer at all: the server closes the connection after reading the request
    (`close`, a FIN) or aborts it (`reset`, an RST): a crashed or killed upstream."""


@dataclass(frozen=True)
class Route:
    """How one layer of the API answers one method on one path of a scenario."""

    method: str = "*"
    """The method exactly as sent (case matters: `patch` is not `PATCH`); `*` = any."""
    reply: Reply = Reply()
    sub: str = ""
    """Path below the scenario's own path, e.g. `/final` for a redirect target."""
    on: str | None = None
    """Origin key of the server that answers; None = whichever server the request reached."""
    allow_origins: tuple[str, ...] | None = None
    """An allow-list the app checks before echoing `{origin}`: headers that mention
    `{origin}` are left out when the request's Origin is not listed."""
    allow_origin_regex: str | None = None
    """Same, as a regular expression searched (not fully matched) in the Origin."""
    shared_cache: bool = False
    """A caching layer in front of the app: the first reply for the path is stored and
    replayed (with Age and X-Cache: HIT) to later requests, keyed by Origin only when the
    stored reply says `Vary: Origin`."""
    conditional: bool = False
    """Answers only requests that carry a validator (`If-None-Match`, `If-Modified-Since`):
    how the server answers the browser's revalidation of a stored response. List it
    before the route that answers the plain request."""
    carries: str | None = None
    """Answers only requests that carry this header (a preflight: that name it in
    Access-Control-Request-Headers): an API that answers per header, such as a version
    or tenant header. List it before the route that answers the others."""


@dataclass(frozen=True)
class Call:
    """One cross-origin request the page's script makes."""

    api: str = "api"
    """Origin key of the server the request goes to."""
    method: str = "GET"
    headers: tuple[Header, ...] = ()
    mode: str | None = None
    credentials: str | None = None
    body: str | None = None
    client: Client = "fetch"
    """`eventsource`: `new EventSource(url)`, `withCredentials` when credentials="include";
    `repeat` = how many times it must open (a reconnect after the server closes).
    `audio`, `video`: a media element, which settles on `loadedmetadata` or `error`.
    `beacon`: `navigator.sendBeacon(url, body)`, the body a Blob of the call's Content-Type
    (CORS mode unless that type is CORS-safelisted), credentials always included. An
    element client (`image`, `script`, `module`, `stylesheet`, `font`, `prefetch`: a
    `<link rel=prefetch>`, `modulepreload`) loads the URL as the page's markup would; see
    `cross_origin`. `preload`: `<link rel=preload as=fetch>` (its `crossorigin` is
    `cross_origin`), then a `fetch` of the URL with the call's own mode and credentials,
    which takes the preloaded answer only when they match. `import`: a dynamic `import()`,
    CORS mode, credentials same-origin. `worker-script`: `new Worker(url)`, which throws a
    SecurityError without any request when the URL is cross-origin. `import-scripts`:
    `importScripts(url)` in a classic dedicated worker (`Visit.context`), a no-cors script
    load (Fetch §4.1: the script destination, so ORB judges the answer)."""
    cross_origin: Literal["anonymous", "use-credentials"] | None = None
    """The element's `crossorigin` attribute. Unset, an image, script or stylesheet loads
    in no-cors mode; a module script and a font are CORS requests either way, with
    credentials for same-origin URLs only unless "use-credentials"."""
    read_header: str | None = None
    """A response header the script tries to read, to show Expose-Headers at work."""
    sub: str = ""
    repeat: int = 1
    """Call the same URL this many times in a row (preflight-cache scenarios)."""
    keepalive: bool = False
    """fetch() with `keepalive: true`: the request may outlive the page."""
    upload_listener: bool = False
    """An XHR with a listener on `xhr.upload`: sets the use-CORS-preflight flag, so even a
    safelisted request is preflighted (Fetch §4.1 main fetch, "use-CORS-preflight flag")."""
    mime_override: str | None = None
    """An XHR's `overrideMimeType()`: changes how the answer is read, never the request."""
    redirect: Literal["follow", "manual", "error"] | None = None
    """fetch()'s redirect mode: `error` fails the fetch on the first redirect, `manual`
    hands the page an opaque-redirect response (Fetch §4.3 HTTP fetch). The flow file
    cannot show it; the lab settles corscope's "redirect-error" condition from it."""
    integrity: str | None = None
    """fetch()'s integrity metadata (`sha256-…`): an answer with no body to check (an
    opaque redirect) fails it (Fetch §4.1 main fetch)."""
    abort_after_ms: int | None = None
    """fetch() with an AbortSignal the page aborts this long after the call: the page
    hangs up on a slow answer; the proxy sees its client disconnect."""
    referrer_policy: Literal["no-referrer", "origin", "unsafe-url"] | None = None
    """fetch()'s `referrerPolicy`: `no-referrer` sends no Referer, so the wire does not name
    the page a hop was fetched for."""
    cache: Literal["no-store", "reload", "no-cache", "force-cache", "only-if-cached"] | None = None
    """fetch()'s cache mode (Fetch §2.2.5 request's cache mode): `force-cache` takes any
    stored answer, stale or not, so a redirect with no freshness answers from the HTTP cache
    where the default mode would have asked the server again."""


@dataclass(frozen=True)
class Visit:
    """Open a page of one origin and run one call from it."""

    page: str = "app"
    call: Call = Call()
    page_kind: PageKind = "plain"
    context: Context = "page"
    frame: str | None = None
    """Origin key of the iframe's document (`frame`, `sandboxed-frame`); None = the page's."""


@dataclass(frozen=True)
class Expected:
    """What Chromium is expected to decide; `failed_parameter` is a template."""

    blocked: bool
    cors_error: str | None = None
    failed_parameter: str | None = None


ALLOWED = Expected(blocked=False)


@dataclass(frozen=True)
class Scenario:
    id: str
    """Stable kebab-case id; also the scenario's URL path `/s/<id>`."""
    title: str
    cause: str
    """Root cause id it demonstrates (see ROOT_CAUSES); `none` for controls that succeed."""
    visit: Visit
    """The decisive visit: its request is the one the ground truth is about."""
    routes: tuple[Route, ...]
    expected: Expected
    before: tuple[Visit, ...] = ()
    """Visits that set the stage (fill a cache) before the decisive one."""
    worker: WorkerAction | None = None
    wire_decides: bool = True
    """False when the flow file alone cannot show what decided: the decisive request never
    reached the proxy (browser cache, synthetic worker answer) or the worker changed it."""
    flow_cannot_tell: str = ""
    """Why the flow file alone predicts otherwise though the decisive request reached the
    proxy (the capture's probe knows what the wire does not, such as a worker's header map):
    a known difference of the flow source, checked to stay one."""
    key_row: bool = False
    """One of the rows of the lab-notes table; these prove the lab itself works."""
    notes: str = ""
    deployment: str | None = None
    """The simulated server the scenario's API origins belong to; None = its own. Scenarios
    naming the same deployment share API ports, as routes of one real server do."""
    fix_layer: str | None = None
    """The layer the diagnosis's fix must change: a layer id of analysis.diagnosis.stacks
    (`express`, `nginx`, `aws-api-gateway`, `varnish` …), `generic` for a server with no
    recognisable stack, or `page` / `service-worker` / `server`."""
    fix_leave_alone: str | None = None
    """The layer the fix must name as right as it is (the app behind a proxy that
    duplicates its header), when one is worth naming."""

    @property
    def path(self) -> str:
        return f"/s/{self.id}"

    @property
    def deployment_id(self) -> str:
        return self.deployment or self.id

    @property
    def visits(self) -> tuple[Visit, ...]:
        return (*self.before, self.visit)

    def api_keys(self) -> frozenset[str]:
        """The deployment-owned origin keys this scenario reaches: called, routed on, or
        named in a reply (a redirect's Location)."""
        keys = {v.call.api for v in self.visits} | {r.on for r in self.routes if r.on}
        for route in self.routes:
            texts = [v for _, v in route.reply.headers] + [route.reply.body]
            for text in texts:
                keys.update(_PLACEHOLDER.findall(text))
        return frozenset(keys & API_KEYS)

    @property
    def page(self) -> str:
        return self.visit.page

    @property
    def call(self) -> Call:
        return self.visit.call
