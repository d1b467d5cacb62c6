"""Real processes for the addon's integration tests: loopback servers and a mitmdump.

Nothing here sleeps for a fixed time or measures one: waits are for a condition (a port
that accepts, a line in the log, a request that reached a server) with a generous
deadline that only turns a hang into a failure.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "addons" / "cors.py"
PAGE = "http://127.0.0.1:5173"
"""The page origin the clients claim; nothing needs to listen there."""
DEADLINE_S = 60.0
_LISTENING = re.compile(rb"proxy listening at .*?:(\d+)")

Reply = tuple[int, list[tuple[str, str]], bytes]
Route = Callable[["Handler"], Reply]


def mitmdump() -> str:
    """The mitmdump of the Python running the tests (mitmproxy 11 or 12)."""
    return str(Path(sys.executable).parent / "mitmdump")


# --- servers ------------------------------------------------------------------------------


@dataclass
class Hit:
    method: str
    path: str
    origin: str | None
    body: bytes = b""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # two writes per response: no 40 ms delayed-ACK stalls
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        self.server.record(Hit(self.command, path, self.headers.get("origin"), body))
        route = self.server.routes.get(path)
        status, headers, body = route(self) if route else (404, [], b"no route")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, routes: dict[str, Route], tls: ssl.SSLContext | None = None):
        super().__init__((host, 0), Handler)
        self.routes = routes
        self.hits: list[Hit] = []
        self._hit = threading.Condition()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer (a proxy the test stops) is part of some tests;
        # anything else is still printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def record(self, hit: Hit) -> None:
        with self._hit:
            self.hits.append(hit)
            self._hit.notify_all()

    def wait_for(self, path: str) -> None:
        with self._hit:
            if not self._hit.wait_for(
                lambda: any(h.path == path for h in self.hits), timeout=DEADLINE_S
            ):
                raise TimeoutError(f"no request for {path} reached {self.origin}")


@contextmanager
def serving(
    host: str, routes: dict[str, Route], tls: ssl.SSLContext | None = None
) -> Iterator[Server]:
    server = Server(host, routes, tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def self_signed_context(folder: Path, ip: str) -> ssl.SSLContext:
    """A server context with a certificate nobody trusts, as many staging APIs have."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "corscope test api")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


# --- mitmdump ----------------------------------------------------------------------------


@dataclass
class Mitmdump:
    workdir: Path
    args: list[str] = field(default_factory=list)
    executable: str = field(default_factory=mitmdump)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "mitmdump.log"

    def command(self) -> list[str]:
        return [
            self.executable,
            "--listen-host", "127.0.0.1",
            "--listen-port", "0",
            "--set", f"confdir={self.workdir / 'confdir'}",
            "--set", "termlog_verbosity=info",
            *self.args,
        ]  # fmt: skip

    def start(self) -> Mitmdump:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir, env=env
            )
        self.port = int(self.wait_for_log(_LISTENING).group(1))
        return self

    def wait_for_log(self, pattern: re.Pattern[bytes]) -> re.Match[bytes]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            match = pattern.search(self.log.read_bytes())
            if match:
                return match
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"mitmdump exited:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)
        raise TimeoutError(f"mitmdump never logged {pattern.pattern!r}")

    def stop(self) -> str:
        """Stop as a user does (Ctrl-C) and return what it logged."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        """SIGKILL the proxy, then wait for the processes it started (the addon's worker,
        which writes what the pipe still holds) to finish on their own."""
        assert self.process is not None
        children = _children(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(DEADLINE_S)
        deadline = time.monotonic() + DEADLINE_S
        while any(_alive(pid) for pid in children):
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes {children} outlived the proxy")
            time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped (PID 1 of a container may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def running(workdir: Path, *args: str) -> Iterator[Mitmdump]:
    proxy = Mitmdump(workdir, list(args)).start()
    try:
        yield proxy
    finally:
        proxy.stop()


# --- clients -----------------------------------------------------------------------------


def browser_like(method: str = "GET", *, origin: str = PAGE) -> list[tuple[str, str]]:
    """The headers Chromium sends on a cross-origin fetch from `origin`."""
    return [
        ("Origin", origin),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Dest", "empty"),
    ]


def preflight_headers(
    method: str, request_headers: str | None = None, *, origin: str = PAGE
) -> list[tuple[str, str]]:
    headers = [("Access-Control-Request-Method", method), *browser_like(origin=origin)]
    if request_headers:
        headers.append(("Access-Control-Request-Headers", request_headers))
    return headers


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def send(
    proxy: Mitmdump,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None = None,
) -> Answer:
    """One request through the proxy in absolute form, as a browser configured with an
    HTTP proxy sends it."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=DEADLINE_S)
    try:
        conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", url.split("/")[2])
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Answer(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()
