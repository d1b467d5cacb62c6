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
    read = (
        f"out.header = r.headers.get({json.dumps(call.read_header)});" if call.read_header else ""
    )
    return f"""async () => {{
  const out = {{ok: false, status: null, type: null, header: null, error: null,
               body_error: null}};
  try {{
    for (let i = 0; i < {call.repeat}; i++) {{
      const r = await fetch({json.dumps(url)}, {json.dumps(init)});
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
}


def _element(call: Call, url: str) -> str:
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
