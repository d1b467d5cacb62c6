"""The lab's mitmdump, without a browser: a real mitmdump on loopback whose shutdown hangs
must still leave a complete flow file behind, and say where it hung."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis.lab.proxy import Proxy, ProxyConfig, ProxyError, mitmdump_path

HANGING_ADDON = """
import time

class Hang:
    def done(self):
        time.sleep(60)  # an addon whose shutdown never finishes in time

addons = [Hang()]
"""


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.2", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_flow_file_is_complete_when_mitmdump_has_to_be_killed(
    tmp_path: Path, upstream: str
) -> None:
    from mitmproxy import io

    try:
        mitmdump_path()
    except ProxyError as error:
        pytest.skip(str(error))
    hang = tmp_path / "hang.py"
    hang.write_text(HANGING_ADDON)
    config = ProxyConfig(
        flow_path=tmp_path / "flows.mitm",
        confdir=tmp_path / "conf",
        log_path=tmp_path / "mitmdump.log",
        extra_args=("-s", str(hang)),
        stop_timeout_s=2,
    )
    proxy = Proxy(config)
    proxy.start()
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
        for n in range(3):
            with opener.open(f"{upstream}/n{n}", timeout=10) as response:
                assert response.read() == b"ok"
    finally:
        warning = proxy.stop()
    assert warning is not None and "killed" in warning
    with config.flow_path.open("rb") as handle:
        paths = [f.request.path for f in io.FlowReader(handle).stream()]
    assert paths == ["/n0", "/n1", "/n2"]
    # The hang is located: the stuck addon's frame is in the thread dump.
    assert f'File "{hang}"' in config.log_path.read_text()
