from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis.readers import read
from analysis.readers.errors import InputError

from .builders import PAGE

mitmproxy = pytest.importorskip("mitmproxy")

from mitmproxy import http, io  # noqa: E402
from mitmproxy.io import tnetstring  # noqa: E402
from mitmproxy.test import tflow, tutils  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
API_HOST, API_PORT = "127.0.0.3", 8000


def req(method: str, path: str, headers: list[tuple[bytes, bytes]], ts: float) -> http.Request:
    return tutils.treq(
        method=method.encode(),
        host=API_HOST,
        port=API_PORT,
        path=path.encode(),
        headers=http.Headers(headers),
        content=b"",
        timestamp_start=ts,
        timestamp_end=ts + 0.001,
    )


def resp(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, ts: float
) -> http.Response:
    return tutils.tresp(
        status_code=status,
        headers=http.Headers(headers),
        content=body,
        timestamp_start=ts,
        timestamp_end=ts + 0.002,
    )


def write_flows(path: Path, flows: list[object]) -> Path:
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)  # type: ignore[arg-type]
    return path


def session() -> list[object]:
    origin = (b"Origin", PAGE.encode())
    pre = tflow.tflow(
        req=req(
            "OPTIONS",
            "/api/items",
            [origin, (b"Access-Control-Request-Method", b"PUT"), (b"X-Note", b"caf\xe9")],
            100.0,
        ),
        resp=resp(
            200,
            [(b"Access-Control-Allow-Origin", b"*"), (b"Access-Control-Allow-Origin", b"*")],
            b"p" * 3000,
            100.01,
        ),
    )
    pre.metadata["cors"] = {"mode": "cors", "credentials": "include", "initiatorOrigin": PAGE}
    pre.metadata["corscope_id"] = "c1"
    put = tflow.tflow(
        req=req("PUT", "/api/items", [origin, (b"Content-Type", b"application/json")], 100.1),
        resp=resp(
            404,
            [(b"Content-Encoding", b"gzip"), (b"Content-Type", b"text/plain")],
            b"",
            100.12,
        ),
    )
    assert put.response is not None
    put.response.raw_content = gzip.compress(b"no such item")
    refused = tflow.tflow(
        req=req("GET", "/api/down", [origin], 101.0), err=tflow.terr("Connection refused")
    )
    return [pre, put, tflow.ttcpflow(), refused]


def test_flow_file_becomes_exchanges(tmp_path: Path) -> None:
    result = read(write_flows(tmp_path / "s.mitm", session()))
    assert result.format == "flows"
    assert result.transactions == 3
    assert result.skipped == 1  # the TCP flow
    assert result.warnings == []
    put_x, down_x = result.exchanges

    assert put_x.id == "c1"
    assert put_x.context.credentials == "include"
    assert put_x.context.page_origin == PAGE
    pre = put_x.first.preflight
    assert pre is not None and pre.transaction is not None
    pre_tx = pre.transaction
    assert pre_tx.request.url == "http://127.0.0.3:8000/api/items"
    # A byte that is not UTF-8 is kept (as mitmproxy keeps it), not fatal.
    assert pre_tx.request.headers.get("x-note") == "caf\udce9"
    assert pre_tx.response is not None
    assert pre_tx.response.headers.get_all("access-control-allow-origin") == ["*", "*"]
    assert pre_tx.response.body_excerpt == "p" * 1024
    assert pre_tx.started == 100.0
    assert pre_tx.duration_ms == pytest.approx(12.0)
    assert pre_tx.server_ip == "192.168.0.1"
    assert pre_tx.request.http_version == "HTTP/1.1"
    assert pre_tx.response.made_by_proxy is False

    actual = put_x.first.actual
    assert actual is not None and actual.response is not None
    assert actual.response.status == 404
    assert actual.response.body_excerpt == "no such item"  # inflated from gzip

    down = down_x.first.actual
    assert down is not None
    assert down.response is None
    assert down.error == "Connection refused"
    assert down_x.id == "x0002"


def test_only_preflights_and_errors_keep_a_body(tmp_path: Path) -> None:
    ok = tflow.tflow(req=req("GET", "/a", [], 1.0), resp=resp(200, [], b"secret body", 1.1))
    [x] = read(write_flows(tmp_path / "s.mitm", [ok])).exchanges
    assert x.first.actual is not None and x.first.actual.response is not None
    assert x.first.actual.response.body_excerpt is None


def test_response_without_a_server_connection_was_made_by_the_proxy(tmp_path: Path) -> None:
    flow = tflow.tflow(req=req("GET", "/a", [], 1.0), resp=resp(502, [], b"bad gateway", 1.1))
    flow.server_conn.timestamp_start = None
    [x] = read(write_flows(tmp_path / "s.mitm", [flow])).exchanges
    assert x.first.actual is not None and x.first.actual.response is not None
    assert x.first.actual.response.made_by_proxy is True


def test_a_method_keeps_the_case_it_was_sent_in(tmp_path: Path) -> None:
    """`fetch(u, {method: 'patch'})` sends `patch` and its preflight announces `patch`
    (measured with Chromium 156); mitmproxy's `Request.method` says PATCH, which split the
    two into an orphan preflight and an unguarded request."""
    from analysis.readers.flows import read_flows
    from analysis.verdict import decide

    origin = (b"Origin", PAGE.encode())
    allow = [
        (b"Access-Control-Allow-Origin", PAGE.encode()),
        (b"Access-Control-Allow-Credentials", b"true"),
    ]
    pre = tflow.tflow(
        req=req(
            "OPTIONS", "/api/items", [origin, (b"Access-Control-Request-Method", b"patch")], 5.0
        ),
        resp=resp(
            204,
            [*allow, (b"Access-Control-Allow-Methods", b"patch")],
            b"",
            5.01,
        ),
    )
    patch = tflow.tflow(
        req=req("patch", "/api/items", [origin], 5.1),
        resp=resp(200, allow, b"{}", 5.11),
    )
    path = write_flows(tmp_path / "s.mitm", [pre, patch])
    assert [c.tx.request.method for c in read_flows(path).captured] == ["OPTIONS", "patch"]
    [x] = read(path).exchanges
    assert x.method == "patch" and x.first.preflight is not None
    assert decide(x).blocked is False


def test_connect_tunnels_are_skipped(tmp_path: Path) -> None:
    connect = tflow.tflow(req=tutils.treq(method=b"CONNECT", path=b""), resp=True)
    result = read(write_flows(tmp_path / "s.mitm", [connect, tflow.tflow(resp=True)]))
    assert result.skipped == 1
    assert len(result.exchanges) == 1


def test_truncated_flow_file_keeps_the_complete_flows(tmp_path: Path) -> None:
    path = write_flows(tmp_path / "s.mitm", session())
    whole = path.read_bytes()
    complete = write_flows(tmp_path / "two.mitm", session()[:2]).stat().st_size
    path.write_bytes(whole[: complete + 40])  # two flows, then part of the third record
    result = read(path)
    assert result.transactions == 2
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"{path}: stopped after 2 complete flows")


def test_flow_file_cut_inside_the_first_flow_is_an_error(tmp_path: Path) -> None:
    path = write_flows(tmp_path / "s.mitm", session())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable mitmproxy flow file"):
        read(path)


def test_digits_and_colon_that_are_no_flow(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("12:30 stand-up\n")
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: not a readable mitmproxy flow file")


def test_flow_format_newer_than_this_mitmproxy(tmp_path: Path) -> None:
    state = tflow.tflow(resp=True).get_state()
    state["version"] = 999
    path = tmp_path / "future.mitm"
    with path.open("wb") as f:
        tnetstring.dump(state, f)
    with pytest.raises(InputError, match="999"):
        read(path)


def test_metadata_hints_are_validated(tmp_path: Path) -> None:
    flow = tflow.tflow(resp=True)
    flow.metadata["cors"] = {"mode": 7}
    path = write_flows(tmp_path / "s.mitm", [flow])
    with pytest.raises(InputError, match=r"flow 1: _cors.mode must be a string"):
        read(path)


# --- the other mitmproxy major version (11 <-> 12) ------------------------------------------


def other_python() -> Path | None:
    """The venv with the other mitmproxy major version, when this checkout has it."""
    here = Path(sys.prefix).resolve()
    for name in (".venv", ".venv312"):
        candidate = ROOT / name
        if candidate.resolve() != here and (candidate / "bin" / "python").exists():
            return candidate / "bin" / "python"
    return None


def run_other(python: Path, code: str, *args: str) -> str:
    done = subprocess.run(
        [str(python), "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


WRITE_WITH_OTHER = """
import sys
from mitmproxy import http, io, version
from mitmproxy.test import tflow, tutils
req = tutils.treq(method=b"OPTIONS", host="127.0.0.3", port=8000, path=b"/x",
                  headers=http.Headers([(b"Origin", b"http://127.0.0.1:5173"),
                                        (b"Access-Control-Request-Method", b"PUT")]))
flow = tflow.tflow(req=req, resp=True)
flow.metadata["cors"] = {"mode": "cors"}
with open(sys.argv[1], "wb") as f:
    io.FlowWriter(f).add(flow)
print(version.VERSION)
"""

READ_WITH_OTHER = """
import json, sys
from mitmproxy import version
from analysis.readers import read
r = read(sys.argv[1])
x = r.exchanges[0]
print(json.dumps({"version": version.VERSION, "n": len(r.exchanges), "url": x.url,
                  "preflight": x.first.preflight is not None, "mode": x.context.mode}))
"""


def test_flow_file_from_the_other_mitmproxy_version_reads_here(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no second venv with the other mitmproxy version in this checkout")
    path = tmp_path / "other.mitm"
    other_version = run_other(python, WRITE_WITH_OTHER, str(path)).strip()
    assert other_version.split(".")[0] != mitmproxy.version.VERSION.split(".")[0]
    [x] = read(path).exchanges
    assert x.url == "http://127.0.0.3:8000/x"
    assert x.first.preflight is not None
    assert x.context.mode == "cors"


def test_flow_file_from_this_mitmproxy_version_reads_there(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no second venv with the other mitmproxy version in this checkout")
    path = write_flows(tmp_path / "here.mitm", session())
    got = json.loads(run_other(python, READ_WITH_OTHER, str(path)))
    assert got["version"].split(".")[0] != mitmproxy.version.VERSION.split(".")[0]
    assert got == {
        "version": got["version"],
        "n": 2,
        "url": "http://127.0.0.3:8000/api/items",
        "preflight": True,
        "mode": "cors",
    }


# --- a real mitmdump -w on loopback -------------------------------------------------------


class _Api(BaseHTTPRequestHandler):
    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
        self.send_header("Access-Control-Allow-Methods", "PUT")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(
                f"mitmdump exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("mitmdump did not start listening")


def test_real_mitmdump_capture_reads(tmp_path: Path, api_server: int) -> None:
    mitmdump = Path(sys.executable).parent / "mitmdump"
    if not mitmdump.exists():
        pytest.skip("mitmdump is not installed beside this Python")
    if subprocess.run(["curl", "--version"], capture_output=True).returncode != 0:
        pytest.skip("curl is not installed")
    port = free_port()
    out = tmp_path / "real.mitm"
    proc = subprocess.Popen(
        [
            str(mitmdump),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            f"confdir={tmp_path / 'conf'}",
            "-w",
            str(out),
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        wait_for_port(port, proc)
        url = f"http://127.0.0.1:{api_server}/api/items/7"
        curl = [
            "curl",
            "-sS",
            "--noproxy",
            "",
            "--proxy",
            f"http://127.0.0.1:{port}",
            "-o",
            "/dev/null",
        ]
        subprocess.run(
            [
                *curl,
                "-X",
                "OPTIONS",
                "-H",
                f"Origin: {PAGE}",
                "-H",
                "Access-Control-Request-Method: PUT",
                url,
            ],
            check=True,
            timeout=60,
        )
        subprocess.run(
            [
                *curl,
                "-X",
                "PUT",
                "-H",
                f"Origin: {PAGE}",
                "-H",
                "Content-Type: application/json",
                "--data",
                "{}",
                url,
            ],
            check=True,
            timeout=60,
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    result = read(out)
    assert result.format == "flows"
    [x] = result.exchanges
    assert x.url == url
    assert x.method == "PUT"
    pre = x.first.preflight
    assert pre is not None and pre.transaction is not None and pre.transaction.response is not None
    assert pre.transaction.response.status == 204
    assert pre.transaction.response.headers.get("access-control-allow-origin") == PAGE
    actual = x.first.actual
    assert actual is not None and actual.response is not None and actual.response.status == 200
    assert actual.server_ip == "127.0.0.1"
    assert x.context.page_origin == PAGE
