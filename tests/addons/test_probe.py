"""The probe on the wire: which responses get it, where it goes, and when not."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from addons import probe

from .flows import API, PAGE, make, navigation, request, response

TAG = probe.PROBE_TAG


@pytest.fixture(scope="module")
def assets() -> probe.Assets:
    return probe.load_assets()


def test_injected_right_after_head() -> None:
    f = navigation(
        html='<!DOCTYPE html><html lang="en"><head data-x="1"><title>t</title></head></html>'
    )
    assert probe.target(f) == "page"
    assert probe.inject_probe(f).done
    assert f.response.text == (
        f'<!DOCTYPE html><html lang="en"><head data-x="1">{TAG}<title>t</title></head></html>'
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<html><body>x</body></html>", f"<html>{TAG}<body>x</body></html>"),
        ("<!doctype html><p>x", f"<!doctype html>{TAG}<p>x"),
        ("<!-- c --><!DOCTYPE html><p>x", f"<!-- c --><!DOCTYPE html>{TAG}<p>x"),
        ("<p>x", f"{TAG}<p>x"),
        ("\ufeff<p>x", f"\ufeff{TAG}<p>x"),
        ("<header>not the head</header>", f"{TAG}<header>not the head</header>"),
    ],
)
def test_insertion_point(html: str, expected: str) -> None:
    at = probe.insertion_point(html)
    assert html[:at] + TAG + html[at:] == expected


def test_compressed_body_stays_compressed() -> None:
    f = navigation(gzipped=True)
    assert probe.inject_probe(f).done
    assert f.response.headers["content-encoding"] == "gzip"
    raw = gzip.decompress(f.response.raw_content).decode()
    assert raw.startswith(f"<!doctype html><html><head>{TAG}<title>")
    assert int(f.response.headers["content-length"]) == len(f.response.raw_content)


def test_page_with_refusing_csp_is_left_untouched() -> None:
    f = navigation(response_headers=[("Content-Security-Policy", "script-src 'nonce-r4nd0m'")])
    before = f.response.raw_content
    result = probe.inject_probe(f)
    assert not result.done
    assert result.refused_by is not None and result.refused_by.directive == "script-src"
    assert f.response.raw_content == before


def test_csp_forbidding_the_beacon_also_keeps_the_probe_out() -> None:
    f = navigation(
        response_headers=[
            ("Content-Security-Policy", "default-src 'self'; connect-src https://api.test")
        ]
    )
    result = probe.inject_probe(f)
    assert result.refused_by is not None and result.refused_by.directive == "connect-src"


def test_meta_csp_counts() -> None:
    html = (
        '<html><head><meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
        "</head></html>"
    )
    result = probe.inject_probe(navigation(html=html))
    assert not result.done and result.refused_by is not None


def test_report_only_csp_does_not_stop_it() -> None:
    f = navigation(response_headers=[("Content-Security-Policy-Report-Only", "script-src 'none'")])
    assert probe.inject_probe(f).done


def test_allowing_csp() -> None:
    f = navigation(response_headers=[("Content-Security-Policy", "default-src 'self'")])
    assert probe.inject_probe(f).done


def test_only_once() -> None:
    f = navigation(html=f"<html><head>{TAG}</head></html>")
    assert not probe.inject_probe(f).done


def test_undecodable_body_is_left_alone() -> None:
    f = navigation()
    f.response.headers["content-encoding"] = "gzip"
    f.response.raw_content = b"not gzip at all"
    assert not probe.inject_probe(f).done
    assert f.response.raw_content == b"not gzip at all"


@pytest.mark.parametrize(
    "change",
    [
        "fetch",  # a fetch() of HTML is no navigation
        "json",
        "404",
        "attachment",
        "head",
        "curl",
    ],
)
def test_not_a_page_navigation(change: str) -> None:
    f = navigation()
    if change == "fetch":
        f.request.headers["sec-fetch-mode"] = "cors"
    elif change == "json":
        f.response.headers["content-type"] = "application/json"
    elif change == "404":
        f.response.status_code = 404
    elif change == "attachment":
        f.response.headers["content-disposition"] = "attachment; filename=x.html"
    elif change == "head":
        f.request.method = "HEAD"
    elif change == "curl":
        for name in ("sec-fetch-mode", "sec-fetch-dest", "sec-fetch-site"):
            del f.request.headers[name]
        f.request.headers["accept"] = "*/*"
    assert probe.target(f) is None


def test_navigation_without_fetch_metadata_that_asks_for_html() -> None:
    f = navigation()
    for name in ("sec-fetch-mode", "sec-fetch-dest", "sec-fetch-site"):
        del f.request.headers[name]
    assert probe.target(f) == "page"


def worker_script(body: str, *, csp: str | None = None):
    headers = [("Content-Type", "application/javascript")]
    if csp:
        headers.append(("Content-Security-Policy", csp))
    return make(
        request(
            "GET",
            PAGE + "/sw.js",
            [("Service-Worker", "script"), ("Sec-Fetch-Dest", "serviceworker")],
        ),
        response(200, headers, body.encode()),
    )


def test_agent_goes_in_front_of_worker_scripts(assets: probe.Assets) -> None:
    f = worker_script("self.addEventListener('fetch', e => {});\nconsole.log(1);\n")
    assert probe.target(f) == "service-worker"
    assert probe.inject_agent(f, assets).done
    text = f.response.text
    first, rest = text.split("\n", 1)
    assert first == ";" + assets.agent + ";self.addEventListener('fetch', e => {});"
    assert rest == "console.log(1);\n"  # the worker's own lines do not move


def test_agent_goes_after_a_use_strict_directive(assets: probe.Assets) -> None:
    f = worker_script("/* lic */\n'use strict'\nlet x = 1;\n")
    assert probe.inject_agent(f, assets).done
    assert f.response.text.startswith("/* lic */\n'use strict';" + assets.agent + ";\nlet x")


def test_agent_respects_the_worker_csp(assets: probe.Assets) -> None:
    f = worker_script("x()", csp="connect-src 'none'")
    result = probe.inject_agent(f, assets)
    assert not result.done and result.refused_by is not None
    assert f.response.text == "x()"


def test_agent_only_for_worker_scripts(assets: probe.Assets) -> None:
    f = worker_script("x()")
    del f.request.headers["service-worker"]
    assert probe.target(f) is None


def test_agent_is_one_line_of_valid_javascript(assets: probe.Assets, tmp_path: Path) -> None:
    assert "\n" not in assets.agent
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot parse the agent")
    script = tmp_path / "agent.js"
    script.write_text(";" + assets.agent + ";'worker code';\n")
    subprocess.run([node, "--check", str(script)], check=True)


def page_worker_script(body: str, dest: str = "worker", ctype: str = "text/javascript"):
    """A dedicated (or shared) worker's script, as Chromium asks for it."""
    return make(
        request(
            "GET",
            PAGE + "/w.js",
            [("Sec-Fetch-Dest", dest), ("Sec-Fetch-Mode", "same-origin")],
        ),
        response(200, [("Content-Type", ctype)], body.encode()),
    )


@pytest.mark.parametrize("dest", ["worker", "sharedworker"])
def test_probe_goes_in_front_of_worker_scripts(assets: probe.Assets, dest: str) -> None:
    f = page_worker_script("'use strict';\nimport('./x.js');\n", dest)
    assert probe.target(f) == "worker"
    assert probe.inject_worker_probe(f, assets).done
    first, rest = f.response.text.split("\n", 1)
    assert first == "'use strict';;" + assets.worker_probe + ";"
    assert rest == "import('./x.js');\n"  # the worker's own lines do not move
    # A script that went through once (a replayed flow) does not get it twice.
    assert not probe.inject_worker_probe(f, assets).done


def test_probe_only_for_worker_scripts_a_browser_would_run() -> None:
    assert probe.target(page_worker_script("x()", "script")) is None
    assert probe.target(page_worker_script("x()", ctype="text/plain")) is None
    assert probe.target(page_worker_script("x()", "serviceworker")) is None


def test_probe_respects_the_worker_csp(assets: probe.Assets) -> None:
    f = page_worker_script("x()")
    f.response.headers["Content-Security-Policy"] = "connect-src https://api.example"
    result = probe.inject_worker_probe(f, assets)
    assert not result.done and result.refused_by is not None
    assert f.response.text == "x()"


def test_worker_probe_is_one_line_that_reports_by_keepalive_fetch(
    assets: probe.Assets, tmp_path: Path
) -> None:
    """Run as a worker runs it (node standing in: `self`, `location`, `fetch`, no
    `sendBeacon`, no `document`): it wraps fetch and sends its report with the native one."""
    assert "\n" not in assets.worker_probe
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the probe")
    script = tmp_path / "worker.js"
    script.write_text(
        """
const calls = [];
globalThis.self = globalThis;
globalThis.location = new URL('http://127.0.0.1:9/w.js');
globalThis.fetch = (url, init) => {
  calls.push({url: String(url), keepalive: !!(init && init.keepalive)});
  return Promise.resolve({status: 204, type: 'cors'});
};
"""
        + ";"
        + assets.worker_probe
        + """;
fetch('http://127.0.0.2:8/data', {credentials: 'include'});
setTimeout(() => console.log(JSON.stringify({calls, ns: self.__corscope__})), 1200);
"""
    )
    out = subprocess.run([node, str(script)], check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    report = {"url": "http://127.0.0.1:9/__corscope__/report", "keepalive": True}
    # A worker sends at once (no pagehide will come): its load, then the fetch it saw.
    assert found["calls"] == [
        report,
        {"url": "http://127.0.0.2:8/data", "keepalive": False},
        report,
    ]
    assert found["ns"]["sent"] == 2


def test_probe_reports_the_header_names_each_call_set(assets: probe.Assets, tmp_path: Path) -> None:
    """Names only, lower-case, in the order set, with the Content-Type a typed body adds;
    a generator of headers is left unread, as reading it would use it up before the real
    call."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the probe")
    script = tmp_path / "worker.js"
    script.write_text(
        """
const reports = [];
let given = null;
globalThis.self = globalThis;
globalThis.location = new URL('http://127.0.0.1:9/w.js');
globalThis.fetch = (url, init) => {
  if (String(url).includes('__corscope__')) reports.push(JSON.parse(init.body));
  else given = init && init.headers;
  return Promise.resolve({status: 204, type: 'cors'});
};
"""
        + ";"
        + assets.worker_probe
        + """;
const api = 'http://127.0.0.2:8/';
fetch(api + 'record', {headers: {'X-B': '1', Accept: 'a', 'x-b': '2'}});
fetch(api + 'pairs', {headers: [['Range', 'bytes=0-'], ['X-A', '1']]});
fetch(api + 'headers', {headers: new Headers({'X-Z': '1', 'Accept': 'a'})});
fetch(api + 'request', new Request(api + 'request', {headers: {'X-Q': '1'}}));
fetch(new Request(api + 'own', {headers: {'X-R': '1'}}));
fetch(api + 'none');
fetch(api + 'text', {method: 'POST', body: 'hi', headers: {'X-A': '1'}});
fetch(api + 'typed', {method: 'POST', body: 'hi', headers: {'content-type': 'text/plain'}});
fetch(api + 'blob', {method: 'POST', body: new Blob(['{}'], {type: 'application/json'})});
fetch(api + 'bytes', {method: 'POST', body: new ArrayBuffer(2), headers: {'X-A': '1'}});
function* gen() { yield ['X-G', '1']; }
const once = gen();
fetch(api + 'generator', {headers: once});
setTimeout(() => {
  const records = reports.flatMap((r) => r.records).filter((r) => r.kind === 'fetch');
  const names = Object.fromEntries(
    records.map((r) => [r.url.split('/').pop(), r.headerNames ?? null]));
  console.log(JSON.stringify({names, left: given === once && !once.next().done}));
}, 1200);
"""
    )
    out = subprocess.run([node, str(script)], check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    assert found["names"] == {
        "record": ["x-b", "accept"],
        "pairs": ["range", "x-a"],
        "headers": ["accept", "x-z"],  # a Headers object iterates sorted
        "request": ["x-q"],  # a Request as the init: its headers are the init's
        "own": ["x-r"],
        "none": [],
        # The Content-Type fetch adds for a body that has a type of its own.
        "text": ["x-a", "content-type"],
        "typed": ["content-type"],
        "blob": ["content-type"],
        "bytes": ["x-a"],
        "generator": None,
    }
    assert found["left"] is True


@pytest.mark.parametrize(
    ("own_origin", "reported"),
    [("'http://127.0.0.1:9'", False), ("'null'", True), ("undefined", False)],
)
def test_worker_probe_counts_calls_from_an_opaque_origin_as_cross_origin(
    assets: probe.Assets, tmp_path: Path, own_origin: str, reported: bool
) -> None:
    """A sandboxed document and its workers have an opaque origin (self.origin "null"):
    their call to their own URL's origin is a CORS request with `Origin: null`, and the
    probe must report it; a same-origin call stays unreported."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the probe")
    script = tmp_path / "worker.js"
    script.write_text(
        f"""
const calls = [];
globalThis.self = globalThis;
globalThis.origin = {own_origin};
globalThis.location = new URL('http://127.0.0.1:9/w.js');
globalThis.fetch = (url, init) => {{
  calls.push(String(url));
  return Promise.resolve({{status: 204, type: 'cors'}});
}};
"""
        + ";"
        + assets.worker_probe
        + """;
fetch('http://127.0.0.1:9/data');
setTimeout(() => console.log(JSON.stringify({calls, ns: self.__corscope__})), 1200);
"""
    )
    out = subprocess.run([node, str(script)], check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    # The report of the worker's own load, the call, then the call's report if any.
    assert found["ns"]["sent"] == (2 if reported else 1)
    assert found["calls"][1] == "http://127.0.0.1:9/data"


def test_probe_reports_a_module_import_that_passed_as_a_cors_mode_script(
    assets: probe.Assets, tmp_path: Path
) -> None:
    """An `import()` or a static import has no element: Resource Timing's "script" entry
    with a status (a CORS-mode load that passed; measured, Chromium 156: hB ms2-ms-0051)
    is reported as a CORS-mode script load; a 0 status (a no-cors classic script, or a
    refused import) and a same-origin URL are not."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the probe")
    script = tmp_path / "worker.js"
    script.write_text(
        """
const reports = [];
let observed = null;
globalThis.self = globalThis;
globalThis.location = new URL('http://127.0.0.1:9/w.js');
globalThis.PerformanceObserver = function (cb) { observed = cb; this.observe = () => {}; };
globalThis.fetch = (url, init) => {
  if (String(url).includes('__corscope__')) reports.push(JSON.parse(init.body));
  return Promise.resolve({status: 204, type: 'cors'});
};
"""
        + ";"
        + assets.worker_probe
        + """;
const entry = (name, status) => ({name, initiatorType: 'script', startTime: 1,
  responseStatus: status});
observed({getEntries: () => [entry('http://api.test:8/mod.js', 200),
  entry('http://api.test:8/classic.js', 0), entry('http://127.0.0.1:9/own.js', 200)]});
setTimeout(() => {
  const records = reports.flatMap((r) => r.records).filter((r) => r.kind === 'element');
  console.log(JSON.stringify(records.map((r) => [r.url, r.mode, r.credentials, r.destination])));
}, 1200);
"""
    )
    out = subprocess.run([node, str(script)], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == [
        ["http://api.test:8/mod.js", "cors", "same-origin", "script"],
    ]


def test_reserved_routes() -> None:
    def route(path: str) -> str | None:
        return probe.reserved_route(request("GET", PAGE + path))

    assert route("/__corscope__/probe.js?v=1") == "/__corscope__/probe.js"
    assert route("/__corscope__/report") == "/__corscope__/report"
    assert route("/__corscope__x") is None
    assert route("/app/__corscope__/probe.js") is None
    assert probe.reserved_route(request("GET", API + "/data")) is None


def test_script_response(assets: probe.Assets) -> None:
    resp = probe.script_response(assets)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["access-control-allow-origin"] == "*"
    assert b"__corscope__" in resp.content
