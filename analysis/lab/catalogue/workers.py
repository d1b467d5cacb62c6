"""A service worker between the page and the network (pages under /lab/sw/, worker at
/lab/sw/worker.js; the worker acts per scenario path)."""

from __future__ import annotations

from analysis.lab.catalogue.build import (
    ACAO,
    EXPRESS,
    JSON_CT,
    NGINX,
    REFLECT,
    VARY,
    at,
    blocked,
    call,
    ok,
)
from analysis.lab.spec import ALLOWED, Expected, Reply, Route, Scenario, Visit

TEXT_CT = ("Content-Type", "text/plain")
SCRIPT, JS = "var x = 1;", "text/javascript"

SW_PAGE = at(kind="sw")
WRONG_DIGEST = "sha256-" + "eHh4" * 10 + "eHg="
"""The SHA-256 integrity of no answer here: base64 of 32 times `x`."""

SCENARIOS = (
    Scenario(
        id="sw-pass-through",
        title="Worker passes the request through: fetch(event.request)",
        cause="none",
        visit=SW_PAGE,
        routes=(Route("GET", ok(REFLECT, VARY)),),
        worker="pass",
        expected=ALLOWED,
    ),
    Scenario(
        id="sw-pass-through-cors-failure",
        title="Worker passes through to an API without CORS: the verdict is the worker's",
        cause="cors-not-enabled",
        visit=SW_PAGE,
        routes=(Route("GET", ok(NGINX)),),
        worker="pass",
        expected=blocked("MissingAllowOriginHeader"),
        notes="The page sees only net::ERR_FAILED; the worker target carries corsErrorStatus.",
        fix_layer="nginx",
    ),
    Scenario(
        id="sw-cache-storage-answer",
        title="Worker answers from Cache Storage, filled by an earlier call",
        cause="none",
        before=(SW_PAGE,),
        visit=SW_PAGE,
        routes=(Route("GET", ok(REFLECT, VARY)),),
        worker="cache",
        expected=ALLOWED,
        wire_decides=False,
        notes="Only the first call is on the wire; the decisive answer is the cached copy, a "
        "'cors' response with the API's own headers: nothing is wrong.",
    ),
    Scenario(
        id="sw-synthetic-answer",
        title="Worker builds the answer itself (new Response): no CORS check, no network",
        cause="service-worker-response",
        visit=SW_PAGE,
        routes=(Route("GET", ok()),),
        worker="synthetic",
        expected=ALLOWED,
        wire_decides=False,
        notes="Would be blocked from the network (no ACAO); the worker hides that.",
        fix_layer="service-worker",
    ),
    Scenario(
        id="sw-synthetic-answer-to-preflighted-get",
        title="Worker builds the answer to a GET that would need a preflight: neither happens",
        cause="service-worker-response",
        visit=at(call(headers=(JSON_CT,)), kind="sw"),
        routes=(Route("GET", ok()),),
        worker="synthetic",
        expected=ALLOWED,
        wire_decides=False,
        notes="From the network the preflight would fail (no CORS at all); the worker answers "
        "before any preflight, and its own answer is not CORS-checked.",
        fix_layer="service-worker",
    ),
    Scenario(
        id="sw-cache-storage-put-of-post",
        title="Worker stores every answer in Cache Storage: Cache.put() of a POST throws",
        cause="service-worker-response",
        visit=at(call(method="POST", headers=(TEXT_CT,), body="hi"), kind="sw"),
        routes=(Route("POST", ok(REFLECT, VARY)),),
        worker="cache",
        expected=Expected(blocked=True),
        wire_decides=False,
        notes="The wire shows a POST the API allowed; the worker's promise then rejects (Cache "
        "Storage keeps GETs only) and the page's fetch fails with no corsErrorStatus anywhere.",
        fix_layer="service-worker",
    ),
    Scenario(
        id="sw-opaque-to-cors-request",
        title="Worker refetches with mode: 'no-cors' and hands the opaque answer to a CORS fetch",
        cause="service-worker-response",
        visit=SW_PAGE,
        routes=(Route("GET", ok()),),
        worker="opaque",
        expected=Expected(blocked=True),
        wire_decides=False,
        notes="Blocked with no corsErrorStatus anywhere; the wire shows a no-cors GET.",
        fix_layer="service-worker",
    ),
    Scenario(
        id="sw-pass-through-integrity-mismatch",
        title="Worker passes through a fetch whose integrity metadata the answer does not match",
        cause="service-worker-response",
        visit=at(call(integrity=WRONG_DIGEST), kind="sw"),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        worker="pass",
        expected=Expected(blocked=True),
        wire_decides=False,
        notes="The wire shows the worker's fetch allowed by CORS; its digest then fails it in "
        "the browser (Fetch §4.1 main fetch), the worker's promise rejects and so does the "
        "page's fetch, with no corsErrorStatus anywhere.",
        fix_layer="service-worker",
    ),
    Scenario(
        id="import-scripts-cut-short-orb",
        title="importScripts() in a worker whose answer is cut short: ORB blocks the proxy's 502",
        cause="browser-block",
        visit=Visit(call=call(client="import-scripts"), context="worker"),
        routes=(Route("GET", Reply(200, ((ACAO, "*"), EXPRESS), SCRIPT, JS, cut_short=True)),),
        expected=Expected(blocked=True),
        notes="A no-cors script load: mitmproxy answers its own text/html error page in place "
        "of the answer it could not read whole, ORB blocks it, and importScripts() throws a "
        "NetworkError in the worker.",
        fix_layer="express",
    ),
)
