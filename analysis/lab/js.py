"""The script a lab page runs for one call, as source text.

The text is what the page evaluates and also what the agreement table can show, so it is
written out plainly rather than hidden behind a generic helper. Every script settles to a
small object (never throws): what JavaScript could see of the outcome.
"""

from __future__ import annotations

import json

from analysis.lab.spec import ELEMENT_CLIENTS, Call


def render(call: Call, url: str) -> str:
    """An `async () => {...}` function expression performing `call` against `url`."""
    if call.client == "xhr":
        return _xhr(call, url)
    if call.client == "eventsource":
        return _event_source(call, url)
    if call.client == "beacon":
        return _beacon(call, url)
    if call.client == "font":
        return _font(url)
    if call.client == "preload":
        return _preload(call, url)
    if call.client == "import":
        return _import(url)
    if call.client == "worker-script":
        return _worker_script(url)
    if call.client == "import-scripts":
        return _import_scripts(url)
    if call.client in ELEMENT_CLIENTS:
        return _element(call, url)
    return _fetch(call, url)


def _fetch(call: Call, url: str) -> str:
    init: dict[str, object] = {}
    if call.method != "GET":
        init["method"] = call.method
    if call.headers:
        init["headers"] = dict(call.headers)
    if call.mode:
        init["mode"] = call.mode
    if call.credentials:
        init["credentials"] = call.credentials
    if call.body is not None:
        init["body"] = call.body
    if call.keepalive:
        init["keepalive"] = True
    if call.redirect:
        init["redirect"] = call.redirect
    if call.integrity:
        init["integrity"] = call.integrity
    if call.cache:
        init["cache"] = call.cache
    if call.referrer_policy:
        init["referrerPolicy"] = call.referrer_policy
    abort = ""
    if call.abort_after_ms is not None:
        abort = (
            "const ac = new AbortController(); init.signal = ac.signal;"
            f" setTimeout(() => ac.abort(), {call.abort_after_ms});"
        )
    read = (
        f"out.header = r.headers.get({json.dumps(call.read_header)});" if call.read_header else ""
    )
    return f"""async () => {{
  const out = {{ok: false, status: null, type: null, header: null, error: null,
               body_error: null}};
  const init = {json.dumps(init)};
  {abort}
  try {{
    for (let i = 0; i < {call.repeat}; i++) {{
      const r = await fetch({json.dumps(url)}, init);
      out.ok = r.ok; out.status = r.status; out.type = r.type;
      {read}
      try {{ await r.text(); }} catch (e) {{ out.body_error = String(e); }}
    }}
  }} catch (e) {{
    out.error = String(e);
  }}
  return out;
}}"""


def _xhr(call: Call, url: str) -> str:
    set_headers = "".join(
        f"x.setRequestHeader({json.dumps(k)}, {json.dumps(v)}); " for k, v in call.headers
    )
    read = f"x.getResponseHeader({json.dumps(call.read_header)})" if call.read_header else "null"
    extras = ""
    if call.upload_listener:
        extras += "x.upload.onprogress = () => {}; "
    if call.mime_override is not None:
        extras += f"x.overrideMimeType({json.dumps(call.mime_override)}); "
    return f"""async () => new Promise((resolve) => {{
  const x = new XMLHttpRequest();
  try {{
    x.open({json.dumps(call.method)}, {json.dumps(url)});
    x.withCredentials = {json.dumps(call.credentials == "include")};
    {set_headers}{extras}
  }} catch (e) {{
    // A method or header value XHR refuses throws before anything is sent.
    return resolve({{ok: false, status: null, type: "xhr", header: null, error: String(e)}});
  }}
  x.onload = () => resolve({{ok: x.status >= 200 && x.status < 300, status: x.status,
                            type: "xhr", header: {read}, error: null}});
  x.onerror = () => resolve({{ok: false, status: x.status, type: "xhr", header: null,
                             error: "XMLHttpRequest error event"}});
  try {{
    x.send({json.dumps(call.body)});
  }} catch (e) {{
    resolve({{ok: false, status: null, type: "xhr", header: null, error: String(e)}});
  }}
}})"""


def _event_source(call: Call, url: str) -> str:
    # A CORS failure closes the stream for good (readyState 2); an open stream the server
    # ends is reopened by the browser, with Last-Event-ID once the server sent an id.
    with_credentials = json.dumps(call.credentials == "include")
    return f"""async () => new Promise((resolve) => {{
  const es = new EventSource({json.dumps(url)}, {{withCredentials: {with_credentials}}});
  let opened = 0;
  const done = (error) => {{
    es.close();
    resolve({{ok: !error, status: null, type: "eventsource", header: null, error}});
  }};
  es.onopen = () => {{ opened++; if (opened >= {call.repeat}) done(null); }};
  es.onerror = () => {{ if (es.readyState === 2) done("EventSource error event"); }};
  setTimeout(() => done("EventSource still connecting after 5 s"), 5000);
}})"""


def _beacon(call: Call, url: str) -> str:
    content_type = next((v for k, v in call.headers if k.lower() == "content-type"), None)
    body = json.dumps(call.body or "")
    data = f"new Blob([{body}], {{type: {json.dumps(content_type)}}})" if content_type else body
    # A beacon's outcome never reaches the page: only whether the browser queued it.
    return f"""async () => {{
  const queued = navigator.sendBeacon({json.dumps(url)}, {data});
  return {{ok: queued, status: null, type: "beacon", header: null,
           error: queued ? null : "sendBeacon refused to queue it"}};
}}"""


def _font(url: str) -> str:
    # The FontFace API fetches as an @font-face rule does: CORS mode, credentials for
    # same-origin URLs only.
    source = json.dumps(f"url({json.dumps(url)})")
    return f"""async () => {{
  const out = {{ok: false, status: null, type: "font", header: null, error: null}};
  try {{
    await new FontFace("lab", {source}).load();
    out.ok = true;
  }} catch (e) {{
    out.error = String(e);
  }}
  return out;
}}"""


# How each element client is made and pointed at the URL.
_ELEMENTS = {
    "image": ("img", "src", ""),
    "script": ("script", "src", ""),
    "module": ("script", "src", 'el.type = "module"; '),
    "stylesheet": ("link", "href", 'el.rel = "stylesheet"; '),
    "prefetch": ("link", "href", 'el.rel = "prefetch"; '),
    "modulepreload": ("link", "href", 'el.rel = "modulepreload"; '),
}


def _media(call: Call, url: str) -> str:
    # A media element never fires load: metadata read, or an error (a network error, or a
    # body that is no media it can play; DevTools tells them apart).
    cross_origin = json.dumps(call.cross_origin)
    return f"""async () => new Promise((resolve) => {{
  const el = document.createElement({json.dumps(call.client)});
  if ({cross_origin} !== null) el.crossOrigin = {cross_origin};
  const done = (error) => resolve({{ok: !error, status: null, type: {json.dumps(call.client)},
                                    header: null, error}});
  el.onloadedmetadata = () => done(null);
  el.onerror = () => done("{call.client} error event");
  el.preload = "auto";
  el.src = {json.dumps(url)};
  setTimeout(() => done(null), 5000);
}})"""


def _element(call: Call, url: str) -> str:
    if call.client in ("audio", "video"):
        return _media(call, url)
    tag, attribute, setup = _ELEMENTS[call.client]
    cross_origin = ""
    if call.cross_origin:
        cross_origin = f"el.crossOrigin = {json.dumps(call.cross_origin)}; "
    # An element reports only load or error; what the network decided is DevTools' to say.
    return f"""async () => new Promise((resolve) => {{
  const el = document.createElement({json.dumps(tag)});
  {setup}{cross_origin}
  const done = (error) => resolve({{ok: !error, status: null, type: {json.dumps(call.client)},
                                    header: null, error}});
  el.onload = () => done(null);
  el.onerror = () => done("{call.client} error event");
  el.{attribute} = {json.dumps(url)};
  if ({json.dumps(tag)} !== "img") document.head.append(el);
}})"""


def _preload(call: Call, url: str) -> str:
    # The fetch takes the preloaded response only if mode and credentials match; otherwise
    # it makes a request of its own, the last one for the URL and so the decisive one.
    cross_origin = json.dumps(call.cross_origin)
    fetch = _fetch(call, url)
    return f"""async () => {{
  const el = document.createElement("link");
  el.rel = "preload"; el.as = "fetch";
  if ({cross_origin} !== null) el.crossOrigin = {cross_origin};
  const loaded = new Promise((resolve) => {{ el.onload = el.onerror = resolve; }});
  el.href = {json.dumps(url)};
  document.head.append(el);
  await loaded;
  return await ({fetch})();
}}"""


def _import(url: str) -> str:
    return f"""async () => {{
  const out = {{ok: false, status: null, type: "import", header: null, error: null}};
  try {{
    await import({json.dumps(url)});
    out.ok = true;
  }} catch (e) {{
    out.error = String(e);
  }}
  return out;
}}"""


def _import_scripts(url: str) -> str:
    # Synchronous, and only in a classic worker: it throws a NetworkError when the load fails.
    return f"""async () => {{
  const out = {{ok: false, status: null, type: "import-scripts", header: null, error: null}};
  try {{
    importScripts({json.dumps(url)});
    out.ok = true;
  }} catch (e) {{
    out.error = String(e);
  }}
  return out;
}}"""


def _worker_script(url: str) -> str:
    # A cross-origin URL throws in the constructor: no request at all.
    return f"""async () => new Promise((resolve) => {{
  const done = (error) => resolve({{ok: !error, status: null, type: "worker-script",
                                    header: null, error}});
  try {{
    const w = new Worker({json.dumps(url)});
    w.onerror = () => done("worker error event");
    setTimeout(() => {{ w.terminate(); done(null); }}, 1000);
  }} catch (e) {{
    done(String(e));
  }}
}})"""


# The contexts' own documents (served by pages.py) say "ready", then run the call they are
# sent and answer with its result, so that the call's script is the same text whichever
# context runs it.
CONTEXT_WORKER = """// corscope lab: a dedicated worker that runs the call it is sent.
self.onmessage = async (event) => {
  self.postMessage(await (0, eval)("(" + event.data + ")")());
};
self.postMessage("ready");
"""
CONTEXT_FRAME = """<script>
addEventListener("message", async (event) => {
  const call = (0, eval)("(" + event.data + ")");
  event.source.postMessage(await call(), "*");
});
parent.postMessage("ready", "*");
</script>"""

FRAME_LINGER_MS = 3000
"""How long a frame context stays after its call answered (see `context_setup`)."""

_CONTEXT_FAILED = '{ok: false, status: null, type: null, header: null, error: "context: " + why}'


def context_setup(context: str, worker_url: str, frame_url: str) -> str | None:
    """A script that makes the worker or iframe of `context` (see spec.Context) and, once it
    is ready, leaves `window.__lab(source)` to run a call in it; None for the page itself.

    Made in a step of its own so that the runner can wait until DevTools listens to the
    new target (its requests are reported there only) before the call is sent."""
    if context == "page":
        return None
    if context in ("worker", "module-worker", "blob-worker", "data-worker"):
        options = '{type: "module"}' if context == "module-worker" else "{}"
        # A blob: worker has the page's origin, a data: worker an opaque one; neither
        # script crosses the wire.
        url = {
            "blob-worker": "URL.createObjectURL(new Blob([source], {type: 'text/javascript'}))",
            "data-worker": "'data:text/javascript,' + encodeURIComponent(source)",
        }.get(context, json.dumps(worker_url))
        # The worker ends a moment after its answer, not at once: a worker lives on after
        # its fetch settles, and an in-page probe in it reports a little later.
        return f"""async () => new Promise((resolve) => {{
  const source = {json.dumps(CONTEXT_WORKER)};
  const w = new Worker({url}, {options});
  const failed = (why) => {{ window.__lab = async () => ({_CONTEXT_FAILED}); resolve(false); }};
  w.onerror = (event) => failed(event.message);
  w.onmessage = () => {{
    window.__lab = (call) => new Promise((done) => {{
      w.onmessage = (event) => {{ setTimeout(() => w.terminate(), 2000); done(event.data); }};
      w.onerror = (event) => {{ const why = event.message; done({_CONTEXT_FAILED}); }};
      w.postMessage(call);
    }});
    resolve(true);
  }};
}})"""
    setup = {
        "frame": f"f.src = {json.dumps(frame_url)};",
        "sandboxed-frame": f'f.sandbox = "allow-scripts"; f.src = {json.dumps(frame_url)};',
        "srcdoc": f"f.srcdoc = {json.dumps(CONTEXT_FRAME)};",
    }[context]
    return f"""async () => new Promise((resolve) => {{
  const FRAME_LINGER_MS = {FRAME_LINGER_MS};
  const f = document.createElement("iframe");
  let answered = null;
  addEventListener("message", (event) => {{
    if (event.source !== f.contentWindow) return;
    if (event.data !== "ready") {{
      // Removed a while later, not at once: a beacon (a keepalive request) outlives its
      // call, and DevTools loses its preflight and CORS check with the frame's target.
      setTimeout(() => f.remove(), FRAME_LINGER_MS);
      answered(event.data);
      return;
    }}
    window.__lab = (call) => new Promise((done) => {{
      answered = done;
      f.contentWindow.postMessage(call, "*");
    }});
    resolve(true);
  }});
  {setup}
  document.body.append(f);
}})"""


def in_context(source: str) -> str:
    """`source` (a `render` result) sent to the context `context_setup` made."""
    return f"async () => window.__lab({json.dumps(source)})"
