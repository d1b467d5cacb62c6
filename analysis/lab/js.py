"""The script a lab page runs for one call, as source text.

The text is what the page evaluates and also what the agreement table can show, so it is
written out plainly rather than hidden behind a generic helper. Every script settles to a
small object (never throws): what JavaScript could see of the outcome.
"""

from __future__ import annotations

import json

from analysis.lab.spec import Call


def render(call: Call, url: str) -> str:
    """An `async () => {...}` function expression performing `call` against `url`."""
    if call.client == "xhr":
        return _xhr(call, url)
    if call.client == "eventsource":
        return _event_source(call, url)
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
    read = (
        f"out.header = r.headers.get({json.dumps(call.read_header)});" if call.read_header else ""
    )
    return f"""async () => {{
  const out = {{ok: false, status: null, type: null, header: null, error: null}};
  try {{
    for (let i = 0; i < {call.repeat}; i++) {{
      const r = await fetch({json.dumps(url)}, {json.dumps(init)});
      out.ok = r.ok; out.status = r.status; out.type = r.type;
      {read}
      await r.text();
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
    return f"""async () => new Promise((resolve) => {{
  const x = new XMLHttpRequest();
  x.open({json.dumps(call.method)}, {json.dumps(url)});
  x.withCredentials = {json.dumps(call.credentials == "include")};
  {set_headers}
  x.onload = () => resolve({{ok: x.status >= 200 && x.status < 300, status: x.status,
                            type: "xhr", header: {read}, error: null}});
  x.onerror = () => resolve({{ok: false, status: x.status, type: "xhr", header: null,
                             error: "XMLHttpRequest error event"}});
  x.send({json.dumps(call.body)});
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
