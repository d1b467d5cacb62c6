"""The probe in a real Chromium, through a real mitmdump with the addon.

Only the browser knows a fetch's credentials mode, that it failed, and what answered it
when the proxy saw nothing: the HTTP cache or a service worker. This drives Chromium
through pages that make each of those happen and reads what reached the capture.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.api import analyze_files

from .harness import ADDON, DEADLINE_S, Handler, Mitmdump, Reply, Route, serving

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OFFLINE = '''
import ipaddress
from mitmproxy import http

def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

class Offline:
    """Chromium calls Google hosts whatever the flags: answer them here, resolve nothing."""

    def http_connect(self, flow):
        if not _loopback(flow.request.host):
            flow.response = http.Response.make(403)

    def request(self, flow):
        if not _loopback(flow.request.host):
            flow.response = http.Response.make(403)

addons = [Offline()]
'''

FETCHES = """
window.results = (async () => {
  const api = %(api)s, out = {};
  const get = async (name, url, init) => {
    try { await (await fetch(url, init)).text(); out[name] = 'ok'; }
    catch (e) { out[name] = e.name; }
  };
  await get('none', api + '/none');
  await get('allow', api + '/allow', {credentials: 'include'});
  // A single-page app changes route: the calls before it belong to the first one.
  history.pushState(null, '', '/orders/7');
  out.wild = await new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('GET', api + '/wild');
    x.withCredentials = true;
    x.onload = () => resolve('ok');
    x.onerror = () => resolve('error');
    x.send();
  });
  await get('cacheable', api + '/cacheable');
  // A Request carrying a body: the probe must pass it on unread.
  await get('post', new Request(api + '/allow', {method: 'POST', body: 'hello',
                                                 headers: {'Content-Type': 'text/plain'}}));
  return out;
})();
"""

CACHED_AGAIN = """
window.results = (async () => {
  try { await (await fetch(%(api)s + '/cacheable')).text(); return {cacheable: 'ok'}; }
  catch (e) { return {cacheable: e.name}; }
})();
"""

WORKER_PAGE = """
window.results = (async () => {
  const api = %(api)s, out = {};
  await navigator.serviceWorker.register('/sw.js');
  if (!navigator.serviceWorker.controller) {
    await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r));
  }
  if (location.search === '?dedicated') {
    const worker = new Worker('/w.js?k=controlled');
    worker.postMessage(api);
    out.dedicated = await new Promise((r) => { worker.onmessage = (e) => r(e.data); });
  }
  for (const name of ['from-cache', 'synthetic', 'opaque']) {
    try { await (await fetch(api + '/' + name)).text(); out[name] = 'ok'; }
    catch (e) { out[name] = e.name; }
  }
  if (location.search !== '?dedicated') {
    // A digest the answer cannot match: the worker's fetch passes CORS, then fails.
    const integrity = 'sha256-' + btoa('x'.repeat(32));
    try { await (await fetch(api + '/wild?sri', {integrity})).text(); out.sri = 'ok'; }
    catch (e) { out.sri = e.name; }
  }
  return out;
})();
"""

WORKER = """
const API = %(api)s;
self.addEventListener('install', (e) => {
  self.skipWaiting();
  e.waitUntil(caches.open('c').then((c) => c.put(API + '/from-cache',
    new Response('{}', {headers: {'Content-Type': 'application/json'}}))));
});
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const path = new URL(e.request.url).pathname;
  if (path === '/from-cache') e.respondWith(caches.match(e.request.url));
  else if (path === '/synthetic') e.respondWith(new Response('{}'));
  else if (path === '/opaque') e.respondWith(fetch(e.request.url, {mode: 'no-cors'}));
  else if (e.request.url.endsWith('?sri')) e.respondWith(fetch(e.request));
});
"""

WORKERS_PAGE = """
window.results = (async () => {
  const ask = (worker) => new Promise((resolve) => {
    const port = worker.port || worker;
    port.onmessage = (e) => resolve(e.data);
    port.postMessage(%(api)s);
  });
  return {
    classic: await ask(new Worker('/w.js?k=classic')),
    module: await ask(new Worker('/w.js?k=module', {type: 'module'})),
    shared: await ask(new SharedWorker('/w.js?k=shared')),
  };
})();
"""

# One script for all three kinds of worker; its fetches never pass the page's probe.
WORKER_SCRIPT = """'use strict';
const kind = new URL(self.location.href).searchParams.get('k');
async function calls(api) {
  const out = {};
  const get = async (name, init) => {
    try { await (await fetch(api + '/' + name + '?k=' + kind, init)).text(); out[name] = 'ok'; }
    catch (e) { out[name] = e.name; }
  };
  if (kind === 'controlled') { await get('from-cache'); await get('synthetic'); }
  await get('none');
  await get('allow', {credentials: 'include'});
  await get('cacheable');
  out.again = (await fetch(api + '/cacheable?k=' + kind)).status;  // the HTTP cache answers
  return out;
}
self.onmessage = async (e) => self.postMessage(await calls(e.data));
self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = async (m) => port.postMessage(await calls(m.data));
};
"""

ELEMENTS = """
window.results = (async () => {
  const api = %(api)s, out = {};
  const loaded = (el) => new Promise((r) => {
    el.onload = () => r('ok');
    el.onerror = () => r('error');
  });
  const img = document.createElement('img');
  img.crossOrigin = 'anonymous';
  const onImg = loaded(img);
  img.src = api + '/img.gif';
  document.body.appendChild(img);
  const cred = new Image();  // never in the document
  cred.crossOrigin = 'use-credentials';
  const onCred = loaded(cred);
  cred.src = api + '/cred.gif';
  const module = document.createElement('script');
  module.type = 'module';  // CORS mode without a crossorigin attribute
  const onModule = loaded(module);
  module.src = api + '/mod.js';
  document.head.appendChild(module);
  const style = document.createElement('style');
  // Font services serve fonts from URLs without an extension.
  style.textContent = '@font-face { font-family: F; src: url(' + api + '/font?family=F); }';
  document.head.appendChild(style);
  await document.fonts.load('16px F').catch(() => null);
  await new FontFace('G', 'url(' + api + '/face)').load().catch(() => null);
  // One URL asked for in two ways: which load was which, the page cannot say.
  for (const mode of ['anonymous', 'use-credentials']) {
    const twice = document.createElement('img');
    twice.setAttribute('crossorigin', mode);
    twice.src = api + '/twice.gif';
    document.body.appendChild(twice);
    await loaded(twice);
  }
  out.img = await onImg; out.cred = await onCred; out.module = await onModule;
  return out;
})();
"""

EVENTS = """
window.results = (async () => {
  const api = %(api)s;
  const watch = (url, init) => new Promise((resolve) => {
    const source = new EventSource(url, init);
    source.onopen = () => { source.close(); resolve(source instanceof EventSource); };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) resolve('closed');
    };
  });
  return {stream: await watch(api + '/stream'),
          wild: await watch(api + '/wild-stream', {withCredentials: true})};
})();
"""

# Frames whose documents never cross the proxy: the page's probe puts itself in them.
FRAMES = """
window.results = (async () => {
  const api = %(api)s;
  const calls = (kind) => '<script>(async () => { const out = {};' +
    'const get = async (name, init) => { try { await (await fetch(' + JSON.stringify(api) +
    ' + "/" + name + "?f=' + kind + '", init)).text(); out[name] = "ok"; }' +
    ' catch (e) { out[name] = e.name; } };' +
    'await get("none"); await get("allow", {credentials: "include"});' +
    'parent.postMessage({kind: "' + kind + '", out, probed: !!self.__corscope__}, "*"); })();' +
    '<' + '/script>';
  const answers = {};
  const all = new Promise((resolve) => addEventListener('message', (e) => {
    answers[e.data.kind] = e.data;
    if (Object.keys(answers).length === 2) resolve(answers);
  }));
  const srcdoc = document.createElement('iframe');
  srcdoc.srcdoc = calls('srcdoc');
  document.body.append(srcdoc);
  const blank = document.createElement('iframe');
  document.body.append(blank);
  // Its probe loads once the frame is attached: wait for it, then make the calls there.
  for (let i = 0; i < 200 && !blank.contentWindow.__corscope__; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const script = blank.contentDocument.createElement('script');
  script.textContent = calls('blank').replace(/^<script>|<[/]script>$/g, '');
  blank.contentDocument.body.append(script);
  return await all;
})();
"""


def html(script: str) -> Reply:
    page = f"<!doctype html><html><head><title>t</title></head><body><script>{script}</script>"
    return 200, [("Content-Type", "text/html; charset=utf-8")], page.encode()


def api_routes() -> dict:
    def echo(h: Handler) -> list[tuple[str, str]]:
        return [("Access-Control-Allow-Origin", h.headers.get("origin") or "*")]

    def none(h: Handler) -> Reply:
        return 200, [("Content-Type", "application/json")], b"{}"

    def allow(h: Handler) -> Reply:
        return (
            200,
            [*echo(h), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")],
            b"{}",
        )

    def wild(h: Handler) -> Reply:
        return 200, [("Access-Control-Allow-Origin", "*")], b"{}"

    def cacheable(h: Handler) -> Reply:
        # Echoes the origin but forgets `Vary: Origin`: the browser's cache replays it.
        return 200, [*echo(h), ("Cache-Control", "public, max-age=600")], b"{}"

    def opaque(h: Handler) -> Reply:
        return 200, [("Content-Type", "application/json")], b"{}"

    def stored(content_type: str, body: bytes, *extra: tuple[str, str]) -> Route:
        # Echoes the origin but forgets `Vary: Origin`, so another origin of the site
        # gets this origin's answer from the browser's cache.
        def route(h: Handler) -> Reply:
            headers = [*echo(h), *extra, ("Cache-Control", "max-age=600")]
            return 200, [*headers, ("Content-Type", content_type)], body

        return route

    def stream(h: Handler) -> Reply:
        return 200, [*echo(h), ("Content-Type", "text/event-stream")], b"data: hi\n\n"

    def wild_stream(h: Handler) -> Reply:
        return (
            200,
            [("Access-Control-Allow-Origin", "*"), ("Content-Type", "text/event-stream")],
            b"",
        )

    gif = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
    return {"/none": none, "/allow": allow, "/wild": wild, "/cacheable": cacheable,
            "/opaque": opaque, "/stream": stream, "/wild-stream": wild_stream,
            "/img.gif": stored("image/gif", gif),
            "/cred.gif": stored("image/gif", gif, ("Access-Control-Allow-Credentials", "true")),
            "/twice.gif": stored("image/gif", gif, ("Access-Control-Allow-Credentials", "true")),
            "/mod.js": stored("text/javascript", b"window.moduleRan = true;"),
            "/font": stored("font/woff2", b"not a font"),
            "/face": stored("font/woff2", b"not a font")}  # fmt: skip


@pytest.fixture
def browser_session(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    offline = tmp_path / "offline.py"
    offline.write_text(OFFLINE)
    capture = tmp_path / "capture.jsonl"
    with serving("127.0.0.2", api_routes()) as api:
        api_js = json.dumps(api.origin)
        page_routes = {
            "/": lambda h: html(FETCHES % {"api": api_js}),
            "/worker": lambda h: html(WORKER_PAGE % {"api": api_js}),
            "/workers": lambda h: html(WORKERS_PAGE % {"api": api_js}),
            "/w.js": lambda h: (200, [("Content-Type", "text/javascript")],
                                WORKER_SCRIPT.encode()),
            "/sw.js": lambda h: (200, [("Content-Type", "text/javascript")],
                                 (WORKER % {"api": api_js}).encode()),
        }  # fmt: skip
        page_routes["/elements"] = lambda h: html(ELEMENTS % {"api": api_js})
        page_routes["/events"] = lambda h: html(EVENTS % {"api": api_js})
        page_routes["/frames"] = lambda h: html(FRAMES % {"api": api_js})
        other_routes = {"/": lambda h: html(CACHED_AGAIN % {"api": api_js}),
                        "/elements": page_routes["/elements"]}  # fmt: skip
        with serving("127.0.0.1", page_routes) as site, serving("127.0.0.1", other_routes) as other:
            proxy = Mitmdump(
                tmp_path, ["-s", str(offline), "-s", str(ADDON), "--set", f"cors_capture={capture}"]
            ).start()
            try:
                with sync_api.sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=str(CHROMIUM),
                        args=FLAGS,
                        proxy={"server": f"http://127.0.0.1:{proxy.port}"},
                    )
                    try:
                        yield {"browser": browser, "site": site, "other": other, "api": api,
                               "capture": capture, "proxy": proxy}  # fmt: skip
                    finally:
                        browser.close()
            finally:
                proxy.stop()


def visit(context: Any, url: str, reports: int) -> tuple[dict[str, str], list[str]]:
    """Open `url`, wait for the page's fetches and for the probe to have sent `reports`
    records; return the page's results and what the page logged as errors."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    results = page.evaluate("window.results")
    page.wait_for_function(f"window.__corscope__.sent >= {reports}", timeout=DEADLINE_S * 1000)
    page.close()
    return results, problems


def wait_for_lines(capture: Path, predicate: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        lines = [json.loads(line) for line in capture.read_text().splitlines()]
        if predicate(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def by_url(capture: Path) -> dict[str, list]:
    found: dict[str, list] = {}
    for d in analyze_files([capture]).decided:
        found.setdefault(d.exchange.url.rsplit("/", 1)[1], []).append(d)
    return found


def test_probe_reports_credentials_failures_and_cache_answers(browser_session) -> None:
    s = browser_session
    context = s["browser"].new_context()  # one profile, so one HTTP cache
    results, problems = visit(context, s["site"].origin + "/", reports=6)
    assert results == {
        "none": "TypeError",
        "allow": "ok",
        "wild": "error",
        "cacheable": "ok",
        "post": "ok",
    }
    assert [h.body for h in s["api"].hits if h.method == "POST"] == [b"hello"]
    # Another origin of the same site: Chromium answers from its cache and fails.
    again, more = visit(context, s["other"].origin + "/", reports=2)
    context.close()
    assert again == {"cacheable": "TypeError"}
    assert [h.path for h in s["api"].hits].count("/cacheable") == 1  # the proxy saw one

    for line in problems + more:
        assert "corscope" not in line.lower(), line
    assert not [p for p in problems + more if p.startswith("pageerror")]

    def done(lines: list[dict[str, Any]]) -> bool:
        annotations = sum("annotate" in obj.get("_corscope", {}) for obj in lines)
        cached = any(obj.get("_cors", {}).get("source") == "http-cache" for obj in lines)
        return annotations >= 5 and cached

    wait_for_lines(s["capture"], done)
    found = by_url(s["capture"])
    none, allow, wild = found["none"][0], found["allow"][0], found["wild"][0]
    assert (none.verdict.reason, none.verdict.confirmed) == ("MissingAllowOriginHeader", True)
    assert none.verdict.credentials == "same-origin"
    assert (allow.verdict.blocked, allow.verdict.credentials, allow.verdict.confirmed) == (
        False,
        "include",
        True,
    )
    assert (wild.verdict.reason, wild.verdict.confirmed) == ("WildcardOriginNotAllowed", True)
    assert wild.exchange.context.resource_type == "xhr"
    # Each call keeps the page URL it was made on, not the one the beacon left from.
    assert none.exchange.context.page_url == s["site"].origin + "/"
    assert wild.exchange.context.page_url == s["site"].origin + "/orders/7"
    network, cached = sorted(found["cacheable"], key=lambda d: d.verdict.source != "network")
    assert network.verdict.blocked is False
    assert cached.verdict.source == "http-cache"
    assert (cached.verdict.reason, cached.verdict.confirmed) == ("AllowOriginMismatch", True)
    assert cached.exchange.context.page_origin == s["other"].origin


def test_worker_agent_reports_answers_the_proxy_never_saw(browser_session) -> None:
    s = browser_session
    context = s["browser"].new_context()
    results, problems = visit(context, s["site"].origin + "/worker", reports=4)
    context.close()
    assert results == {
        "from-cache": "ok",
        "synthetic": "ok",
        "opaque": "TypeError",
        "sri": "TypeError",
    }
    for line in problems:
        assert "corscope" not in line.lower(), line

    def done(lines: list[dict[str, Any]]) -> bool:
        return sum(obj.get("_cors", {}).get("source") == "service-worker" for obj in lines) >= 4

    lines = wait_for_lines(s["capture"], done)
    # A report of the worker's is a line of its own, or an annotation of the entry the
    # proxy recorded for the worker's own fetch.
    entries = {obj["_corscope_id"]: obj for obj in lines if "_corscope_id" in obj}
    worker = {}
    for obj in lines:
        if obj.get("_cors", {}).get("source") == "service-worker":
            entry = entries[obj["_corscope"]["annotate"]] if "request" not in obj else obj
            worker[entry["request"]["url"].rsplit("/", 1)[1]] = obj["_cors"]
    assert worker["from-cache"]["worker"]["answer"] == "cache-storage"
    assert worker["from-cache"]["browser"]["blocked"] is False
    assert worker["synthetic"]["worker"]["answer"] == "synthetic"
    assert worker["opaque"]["worker"]["failure"] == "opaque-response-for-cors-request"
    assert worker["opaque"]["browser"]["blocked"] is True
    # The proxy saw only the worker's own fetches: /opaque (no-cors) and /wild?sri.
    assert [h.path for h in s["api"].hits] == ["/opaque", "/wild"]
    found = by_url(s["capture"])
    opaque = [d for d in found["opaque"] if d.verdict.source == "service-worker"]
    assert opaque[0].verdict.blocked is True and opaque[0].verdict.confirmed
    # The wire shows /wild?sri allowed; its digest failed it in the browser, and the page's
    # fetch with it (measured, Chromium 156: "the promise was rejected").
    (sri,) = found["wild?sri"]
    assert worker["wild?sri"]["worker"]["failure"] == "rejected"
    assert (sri.verdict.blocked, sri.verdict.confirmed) == (True, True)
    assert sri.verdict.chrome_message.endswith("the promise was rejected.")


def test_probe_goes_into_dedicated_shared_and_module_workers(browser_session) -> None:
    s = browser_session
    context = s["browser"].new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(s["site"].origin + "/workers")
    results = page.evaluate("window.results")
    expected = {"none": "TypeError", "allow": "ok", "cacheable": "ok", "again": 200}
    assert results == {"classic": expected, "module": expected, "shared": expected}
    hits = [h.path for h in s["api"].hits]
    assert hits.count("/cacheable") == 3  # one a worker; the second of each came from cache

    def done(lines: list[dict[str, Any]]) -> bool:
        cached = sum(obj.get("_cors", {}).get("source") == "http-cache" for obj in lines)
        annotations = sum("annotate" in obj.get("_corscope", {}) for obj in lines)
        return cached >= 3 and annotations >= 9

    # The page stays open meanwhile: a worker gets no `pagehide` to send its last
    # reports on, and closing the page ends its workers.
    wait_for_lines(s["capture"], done)
    context.close()
    assert not [p for p in problems if "corscope" in p.lower() or p.startswith("pageerror")]
    found = by_url(s["capture"])
    for kind in ("classic", "module", "shared"):
        (none,) = found[f"none?k={kind}"]
        assert (none.verdict.reason, none.verdict.confirmed) == ("MissingAllowOriginHeader", True)
        assert none.verdict.credentials == "same-origin"
        # The worker is the client: its script's URL stands where a page's would.
        assert none.exchange.context.page_url == f"{s['site'].origin}/w.js?k={kind}"
        (allow,) = found[f"allow?k={kind}"]
        assert (allow.verdict.blocked, allow.verdict.credentials, allow.verdict.confirmed) == (
            False,
            "include",
            True,
        )
        sources = sorted(d.verdict.source for d in found[f"cacheable?k={kind}"])
        assert sources == ["http-cache", "network"]


def test_probe_reports_element_loads_the_http_cache_answered(browser_session) -> None:
    """Fonts, module scripts and elements with `crossorigin` load in CORS mode. Another
    origin of the same site gets them from the browser's cache, with the first origin's
    Access-Control-Allow-Origin: blocked, and the proxy sees nothing of it."""
    s = browser_session
    context = s["browser"].new_context()
    first, problems = visit(context, s["site"].origin + "/elements", reports=5)
    assert first == {"img": "ok", "cred": "ok", "module": "ok"}
    second, more = visit(context, s["other"].origin + "/elements", reports=5)
    context.close()
    assert second == {"img": "error", "cred": "error", "module": "error"}
    paths = [h.path for h in s["api"].hits if h.path != "/twice.gif"]
    assert sorted(paths) == ["/cred.gif", "/face", "/font", "/img.gif", "/mod.js"]
    assert not [p for p in problems + more if "corscope" in p.lower() or "pageerror" in p]

    def done(lines: list[dict[str, Any]]) -> bool:
        return sum(obj.get("_cors", {}).get("source") == "http-cache" for obj in lines) >= 5

    wait_for_lines(s["capture"], done)
    # Said live, in Chromium's words, though no request for it crossed the proxy.
    line = (
        f"CORS blocked GET {s['api'].origin}/font?family=F from {s['other'].origin}: The"
        " 'Access-Control-Allow-Origin' header has a value"
        f" '{s['site'].origin}' that is not equal to the supplied origin. [AllowOriginMismatch]"
    )
    s["proxy"].wait_for_log(re.compile(re.escape(line.encode())))
    found = by_url(s["capture"])
    kinds = {"img.gif": "image", "cred.gif": "image", "mod.js": "script", "font?family=F": "font"}
    kinds["face"] = "font"
    for name, kind in kinds.items():
        network, cached = sorted(found[name], key=lambda d: d.verdict.source != "network")
        assert network.exchange.context.resource_type == kind
        assert (network.verdict.blocked, network.verdict.confirmed) == (False, True)
        assert cached.verdict.source == "http-cache"
        assert cached.exchange.context.page_origin == s["other"].origin
        assert (cached.verdict.reason, cached.verdict.confirmed) == ("AllowOriginMismatch", True)
        assert cached.exchange.context.resource_type == kind
        expected = "include" if name == "cred.gif" else "same-origin"
        assert network.verdict.credentials == cached.verdict.credentials == expected
    # Once both ask for it, a load of the URL is no longer claimed for either of them:
    # at most the first, from the second page, is made up from the cache.
    twice = found["twice.gif"]
    assert [d.verdict.source for d in twice].count("network") == 1
    assert [d.verdict.source for d in twice].count("http-cache") <= 1


def test_probe_says_how_an_event_stream_was_asked_for(browser_session) -> None:
    """withCredentials is the one thing the wire does not show: with it, `*` is refused."""
    s = browser_session
    context = s["browser"].new_context()
    results, problems = visit(context, s["site"].origin + "/events", reports=3)
    context.close()
    assert results == {"stream": True, "wild": "closed"}
    assert not [p for p in problems if "corscope" in p.lower() or "pageerror" in p]

    def done(lines: list[dict[str, Any]]) -> bool:
        return sum("annotate" in obj.get("_corscope", {}) for obj in lines) >= 2

    wait_for_lines(s["capture"], done)
    found = by_url(s["capture"])
    (stream,) = found["stream"]
    assert (stream.verdict.blocked, stream.verdict.credentials) == (False, "same-origin")
    assert stream.verdict.confirmed and stream.exchange.context.resource_type == "eventsource"
    (wild,) = found["wild-stream"]
    assert (wild.verdict.blocked, wild.verdict.reason) == (True, "WildcardOriginNotAllowed")
    assert wild.verdict.credentials == "include"
    assert wild.exchange.context.resource_type == "eventsource"


def test_a_worker_of_a_controlled_page_knows_its_service_worker(browser_session) -> None:
    """A dedicated worker's fetches go through its page's service worker, but a worker has
    no controller to ask: Resource Timing's workerStart tells it. Then the agent's report
    stands for the worker's call, and nothing is made up from the HTTP cache."""
    s = browser_session
    context = s["browser"].new_context()
    page = context.new_page()
    page.goto(s["site"].origin + "/worker?dedicated")
    results = page.evaluate("window.results")
    assert results["dedicated"]["synthetic"] == "ok"
    assert results["dedicated"]["from-cache"] == "TypeError"  # nothing stored for ?k=

    def done(lines: list[dict[str, Any]]) -> bool:
        joined = [
            obj for obj in lines if obj.get("_cors", {}).get("pageUrl", "").endswith("controlled")
        ]
        return len(joined) >= 2  # the worker's answer and the network's refusal

    wait_for_lines(s["capture"], done)
    context.close()
    found = by_url(s["capture"])
    (synthetic,) = found["synthetic?k=controlled"]
    assert (synthetic.verdict.source, synthetic.verdict.blocked) == ("service-worker", False)
    assert synthetic.exchange.context.page_url == s["site"].origin + "/w.js?k=controlled"
    (refused,) = found["from-cache?k=controlled"]
    assert (refused.verdict.source, refused.verdict.blocked) == ("service-worker", True)
    made_up = [d for ds in found.values() for d in ds if d.verdict.source == "http-cache"]
    assert not [d for d in made_up if d.exchange.url.endswith("controlled")]


def test_probe_goes_into_srcdoc_and_about_blank_frames_of_its_origin(browser_session) -> None:
    """Their documents never cross the proxy, so the addon cannot inject there: the page's
    probe puts itself in a srcdoc (in front of its markup) and in an about:blank frame of
    its origin, which report as the page they stand in for."""
    s = browser_session
    context = s["browser"].new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.goto(s["site"].origin + "/frames")
    results = page.evaluate("window.results")
    for kind in ("srcdoc", "blank"):
        assert results[kind] == {
            "kind": kind,
            "out": {"none": "TypeError", "allow": "ok"},
            "probed": True,
        }

    def done(lines: list[dict[str, Any]]) -> bool:
        return sum("annotate" in obj.get("_corscope", {}) for obj in lines) >= 4

    wait_for_lines(s["capture"], done)
    context.close()
    assert not problems
    found = by_url(s["capture"])
    for kind in ("srcdoc", "blank"):
        (none,) = found[f"none?f={kind}"]
        assert (none.verdict.reason, none.verdict.confirmed) == ("MissingAllowOriginHeader", True)
        assert none.verdict.credentials == "same-origin"
        # The frame's URL (about:srcdoc, about:blank) has no origin: its creator's stands.
        assert none.exchange.context.page_url == s["site"].origin + "/frames"
        (allow,) = found[f"allow?f={kind}"]
        assert (allow.verdict.blocked, allow.verdict.credentials, allow.verdict.confirmed) == (
            False,
            "include",
            True,
        )
