"""The documents app origins serve: blank pages to run scripts in, and the service worker.

Paths (every app origin serves all of them):
  /lab/page/<id>         a plain page
  /lab/sandboxed/<id>    the same page under `CSP: sandbox allow-scripts`: an opaque
                         origin, so its requests carry `Origin: null`
  /lab/sw/page/<id>      a page inside the worker's scope
  /lab/coep/<id>         a plain page served with `Cross-Origin-Embedder-Policy:
                         require-corp`: a path of its own, so that moving between it and a
                         plain page is a real navigation (a document's policy is fixed)
  /lab/sw/worker.js      the worker; its scope is /lab/sw/ so it never touches other pages
  /lab/context/worker.js a dedicated worker that runs the call it is sent (js.CONTEXT_WORKER)
  /lab/frame/<id>        an iframe document that does the same (js.CONTEXT_FRAME)
"""

from __future__ import annotations

import html
import json

from analysis.lab.js import CONTEXT_FRAME, CONTEXT_WORKER
from analysis.lab.responder import Answer
from analysis.lab.spec import Scenario

WORKER_PATH = "/lab/sw/worker.js"
WORKER_SCOPE = "/lab/sw/"
CONTEXT_WORKER_PATH = "/lab/context/worker.js"
FRAME_PREFIX = "/lab/frame/"

# The icon link stops Chromium's favicon request, which would otherwise add a stray
# exchange per page to every capture.
_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>corscope lab: {id}</title></head>
<body><p>corscope lab page for <code>{id}</code></p>{script}</body></html>
"""

_WORKER = """// corscope lab service worker: answers only the scenario paths it is told about.
const ACTIONS = %s;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

async function fromCacheStorage(request) {
  const cache = await caches.open('corscope-lab');
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const action = ACTIONS[new URL(event.request.url).pathname];
  if (action === 'pass') {
    // The request object itself, untouched: rebuilding it would consume the body.
    event.respondWith(fetch(event.request));
  } else if (action === 'cache') {
    event.respondWith(fromCacheStorage(event.request));
  } else if (action === 'synthetic') {
    event.respondWith(new Response(JSON.stringify({synthetic: true}),
                                   {headers: {'Content-Type': 'application/json'}}));
  } else if (action === 'opaque') {
    event.respondWith(fetch(event.request.url, {mode: 'no-cors'}));
  }
});
"""

_NO_STORE = ("Cache-Control", "no-store")


def page_path(kind: str, scenario_id: str) -> str:
    if kind == "require-corp":
        return f"/lab/coep/{scenario_id}"
    if kind == "sandboxed":
        return f"/lab/sandboxed/{scenario_id}"
    if kind == "sw":
        return f"/lab/sw/page/{scenario_id}"
    return f"/lab/page/{scenario_id}"


def worker_script(scenarios: tuple[Scenario, ...]) -> str:
    actions = {s.path: s.worker for s in scenarios if s.worker is not None}
    return _WORKER % json.dumps(actions, indent=2)


def serve(path: str, scenarios: tuple[Scenario, ...]) -> Answer | None:
    """The answer for a /lab/ path, or None when it is not one."""
    if path == WORKER_PATH:
        return Answer(
            200,
            (("Content-Type", "text/javascript"), _NO_STORE),
            worker_script(scenarios).encode(),
        )
    if path == CONTEXT_WORKER_PATH:
        headers = (("Content-Type", "text/javascript"), _NO_STORE)
        return Answer(200, headers, CONTEXT_WORKER.encode())
    for prefix, extra in (
        ("/lab/page/", ()),
        ("/lab/sw/page/", ()),
        ("/lab/sandboxed/", (("Content-Security-Policy", "sandbox allow-scripts"),)),
        ("/lab/coep/", (("Cross-Origin-Embedder-Policy", "require-corp"),)),
        (FRAME_PREFIX, ()),
    ):
        if path.startswith(prefix):
            scenario_id = path[len(prefix) :]
            script = CONTEXT_FRAME if prefix == FRAME_PREFIX else ""
            body = _HTML.format(id=html.escape(scenario_id), script=script).encode()
            headers = (("Content-Type", "text/html; charset=utf-8"), _NO_STORE, *extra)
            return Answer(200, headers, body)
    return None
