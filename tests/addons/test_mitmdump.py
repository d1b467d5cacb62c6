"""The addon in a real mitmdump, with real clients and servers on loopback addresses.

What these prove: the addon loads as users load it (`-s addons/cors.py`), the capture and
the `-w` flow file it enriches give the same verdicts, its own paths never reach a server,
and a `kill -9` loses no exchange the client had already seen answered.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.api import analyze_files

from .harness import (
    ADDON,
    Handler,
    Mitmdump,
    Reply,
    Server,
    browser_like,
    preflight_headers,
    running,
    self_signed_context,
    send,
    serving,
)

pytestmark = pytest.mark.integration


def echo(handler: Handler, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    origin = handler.headers.get("origin") or "*"
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
        *extra,
    ]


def api_routes(hang: threading.Event) -> dict:
    def allow(h: Handler) -> Reply:
        return 200, [*echo(h), ("Content-Type", "application/json")], b'{"ok": true}'

    def none(h: Handler) -> Reply:
        return 200, [("Content-Type", "application/json")], b'{"ok": true}'

    def error(h: Handler) -> Reply:
        return 500, [("Content-Type", "text/plain")], b"Internal Server Error: boom"

    def preflighted(h: Handler) -> Reply:
        if h.command == "OPTIONS":
            methods = ("Access-Control-Allow-Methods", "PUT")
            return 204, echo(h, methods, ("Access-Control-Allow-Headers", "content-type")), b""
        return 200, echo(h), b"{}"

    def preflight_404(h: Handler) -> Reply:
        return 404, [("Content-Type", "text/plain")], b"Cannot OPTIONS /pf-404"

    def redirect(h: Handler) -> Reply:
        host = h.headers["host"]
        return 302, [*echo(h), ("Location", f"http://{host}/allow")], b""

    def hanging(h: Handler) -> Reply:
        hang.wait(120)
        return 200, echo(h), b"{}"

    return {
        "/allow": allow,
        "/none": none,
        "/error": error,
        "/pf": preflighted,
        "/pf-404": preflight_404,
        "/redirect": redirect,
        "/hang": hanging,
    }


def page_routes() -> dict:
    def index(h: Handler) -> Reply:
        html = b"<!doctype html><html><head><title>app</title></head><body>app</body></html>"
        return 200, [("Content-Type", "text/html; charset=utf-8")], html

    return {"/": index}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server, Server, threading.Event]]:
    hang = threading.Event()
    tls = self_signed_context(tmp_path, "127.0.0.2")
    with (
        serving("127.0.0.2", api_routes(hang)) as api,
        serving("127.0.0.2", api_routes(hang), tls=tls) as secure_api,
        serving("127.0.0.1", page_routes()) as page,
    ):
        try:
            yield api, secure_api, page, hang
        finally:
            hang.set()


def verdicts(path: Path) -> dict[str, tuple]:
    analysis = analyze_files([path])
    return {
        d.exchange.id: (
            d.exchange.method,
            d.exchange.url,
            d.verdict.blocked,
            d.verdict.reason,
            d.verdict.stage,
            d.verdict.fault is not None,
            len(d.exchange.steps),
        )
        for d in analysis.decided
    }


def test_capture_and_flow_file_give_the_same_verdicts(tmp_path: Path, servers) -> None:
    api, secure_api, page, _ = servers
    capture, flows = tmp_path / "capture.jsonl", tmp_path / "flows.mitm"
    with running(
        tmp_path, "-s", str(ADDON), "--set", f"cors_capture={capture}", "-w", str(flows)
    ) as proxy:
        a, cors = api.origin, browser_like(origin=page.origin)

        def status(method: str, url: str, headers: list, body: bytes | None = None) -> int:
            return send(proxy, method, url, headers, body).status

        assert status("GET", f"{a}/allow", cors) == 200
        assert status("GET", f"{a}/none", cors) == 200
        assert status("GET", f"{a}/error", cors) == 500
        pf = preflight_headers("PUT", "content-type", origin=page.origin)
        assert status("OPTIONS", f"{a}/pf", pf) == 204
        assert status("PUT", f"{a}/pf", [*cors, ("Content-Type", "application/json")], b"{}") == 200
        pf_404 = preflight_headers("DELETE", origin=page.origin)
        assert status("OPTIONS", f"{a}/pf-404", pf_404) == 404
        # The client follows the redirect itself, as a browser does.
        hop = send(proxy, "GET", f"{a}/redirect", cors)
        assert hop.status == 302
        assert status("GET", dict(hop.headers)["Location"], cors) == 200
        # curl, through the proxy's CONNECT tunnel, to an API whose certificate mitmproxy
        # refuses: the browser would get mitmproxy's own 502.
        curl = shutil.which("curl")
        if curl:
            result = subprocess.run(
                [curl, "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                 "-x", f"http://127.0.0.1:{proxy.port}",
                 "-H", f"Origin: {page.origin}", "-H", "Sec-Fetch-Mode: cors",
                 "-H", "Sec-Fetch-Site: cross-site", f"{secure_api.origin}/allow"],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert result.stdout == "502"
        # A page, its probe and a beacon, as a browser would load and send them.
        nav = [
            ("Accept", "text/html"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "document"),
        ]
        html = send(proxy, "GET", f"{page.origin}/", nav).body
        assert b'<script src="/__corscope__/probe.js"></script>' in html
        script = send(proxy, "GET", f"{page.origin}/__corscope__/probe.js", [])
        assert script.status == 200 and b"__corscope__" in script.body
        record = {
            "kind": "fetch", "url": f"{a}/none", "method": "GET", "mode": "cors",
            "credentials": "omit", "failed": True, "status": 0, "controlled": False,
        }  # fmt: skip
        started = _first_start(capture, f"{a}/none")
        record["t"] = started * 1000 - 5
        beacon = {"v": 1, "from": "page", "page": f"{page.origin}/", "records": [record]}
        report_url = f"{page.origin}/__corscope__/report"
        text_plain = [("Content-Type", "text/plain")]
        answer = send(proxy, "POST", report_url, text_plain, json.dumps(beacon).encode())
        assert answer.status == 204
    log = proxy.log.read_text(errors="replace")

    # The probe's own requests never reached the page's server.
    assert [h.path for h in page.hits] == ["/"]

    from_capture, from_flows = verdicts(capture), verdicts(flows)
    assert from_capture == from_flows
    by_path = {v[1].rsplit("/", 1)[1]: v[2:6] for v in from_capture.values() if v[1].startswith(a)}
    assert by_path["allow"] == (False, None, None, False)
    assert by_path["none"] == (True, "MissingAllowOriginHeader", "response", False)
    assert by_path["error"] == (True, "MissingAllowOriginHeader", "response", False)
    assert by_path["pf"] == (False, None, None, False)
    assert by_path["pf-404"] == (True, "PreflightMissingAllowOriginHeader", "preflight", False)
    assert by_path["redirect"] == (False, None, None, False)
    redirect = next(v for v in from_capture.values() if v[1].endswith("/redirect"))
    assert redirect[6] == 2
    if shutil.which("curl"):
        # A refused certificate is a fault of the proxy's upstream, never a missing header.
        secure = next(v for v in from_capture.values() if v[1].startswith("https://"))
        assert secure[2:6] == (True, None, "response", True)

    # The beacon's page record confirmed the wire's verdict.
    confirmed = [d for d in analyze_files([capture]).decided if d.verdict.confirmed]
    assert [d.exchange.url for d in confirmed] == [f"{a}/none"]

    # One log line per blocked exchange, in the browser's words.
    assert (
        f"CORS blocked GET {a}/none from {page.origin}: No 'Access-Control-Allow-Origin' header is "
        "present on the requested resource." in log
    )
    assert len(re.findall(r"CORS blocked ", log)) == 3 + bool(shutil.which("curl"))
    assert "internal error" not in log


def _first_start(capture: Path, url: str) -> float:
    from datetime import datetime

    for line in capture.read_text().splitlines():
        obj = json.loads(line)
        if obj.get("request", {}).get("url") == url:
            return datetime.fromisoformat(obj["startedDateTime"]).timestamp()
    raise AssertionError(f"{url} not in the capture")


def test_kill_9_loses_no_completed_exchange(tmp_path: Path, servers) -> None:
    """Every exchange whose answer the client saw is in the capture after SIGKILL, and the
    capture still reads; the exchange in flight when the proxy died is simply absent."""
    api, _, _, hang = servers
    capture = tmp_path / "capture.jsonl"
    proxy = Mitmdump(tmp_path, ["-s", str(ADDON), "--set", f"cors_capture={capture}"]).start()
    try:
        completed = []
        for n in range(25):
            path = "/none" if n % 2 else "/allow"
            url = f"{api.origin}{path}?n={n}"
            assert send(proxy, "GET", url, browser_like()).status == 200
            completed.append(url)
        in_flight = threading.Thread(
            target=lambda: _ignore_errors(send, proxy, "GET", f"{api.origin}/hang", browser_like()),
            daemon=True,
        )
        in_flight.start()
        api.wait_for("/hang")  # the proxy is mid-exchange now
        proxy.kill9()
    finally:
        hang.set()
        proxy.stop()
    analysis = analyze_files([capture])
    urls = sorted(d.exchange.url for d in analysis.decided)
    assert urls == sorted(completed)
    assert sum(d.verdict.blocked is True for d in analysis.decided) == 12


def _ignore_errors(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass  # the proxy died under this request: that is the point


def test_probe_off_changes_no_traffic(tmp_path: Path, servers) -> None:
    api, _, page, _ = servers
    capture = tmp_path / "capture.jsonl"
    with running(tmp_path, "-s", str(ADDON), "--set", f"cors_capture={capture}",
                 "--set", "cors_probe=false") as proxy:  # fmt: skip
        nav = [
            ("Accept", "text/html"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "document"),
        ]
        direct = page_routes()["/"](None)[2]  # type: ignore[arg-type]
        assert send(proxy, "GET", f"{page.origin}/", nav).body == direct
        assert send(proxy, "GET", f"{page.origin}/__corscope__/probe.js", []).status == 404
        assert send(proxy, "GET", f"{api.origin}/none", browser_like()).status == 200
    assert [h.path for h in page.hits] == ["/", "/__corscope__/probe.js"]
    assert len(analyze_files([capture]).decided) == 1
