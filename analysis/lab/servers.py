"""Local HTTP(S) servers on loopback origins: the pages, the APIs and a dead origin.

Every origin is a distinct (scheme, host, port); ports are picked by the OS. Names such as
www.app.test never reach a resolver: the lab proxy maps them to 127.0.0.5 (`HOST_MAP`).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analysis.lab import pages
from analysis.lab.responder import NO_ROUTE, Answer, SharedCache, pick_route, render
from analysis.lab.spec import Scenario
from analysis.lab.tls import write_self_signed

NAMES_IP = "127.0.0.5"
HOST_MAP: dict[str, str] = {
    "www.app.test": NAMES_IP,
    "app.test": NAMES_IP,
    "evilapp.test": NAMES_IP,
}


@dataclass(frozen=True)
class LabOrigin:
    key: str
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """The serialized origin, exactly as a browser sends it in `Origin`."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Hit:
    """One request a lab server received: lets a failing test show what reached it."""

    origin_key: str | None
    method: str
    path: str
    origin_header: str | None
    status: int


@dataclass
class _State:
    scenarios: dict[str, Scenario]
    origins: dict[str, LabOrigin] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    cache: SharedCache = field(default_factory=SharedCache)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, host_header: str | None) -> str | None:
        for origin in self.origins.values():
            if host_header and host_header.lower() == origin.netloc:
                return origin.key
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _LabHTTPServer

    def setup(self) -> None:
        # The TLS handshake runs here, in the connection's own thread, so that one slow
        # client cannot stall the accept loop.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches on `do_<METHOD>` with the method as sent; serving every
        # method (including `patch` in lower case) through one function keeps that honest.
        if name.startswith("do_"):
            return self._respond
        raise AttributeError(name)

    def _respond(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        origin_key = state.key_for(self.headers.get("Host"))
        origin = self.headers.get("Origin")
        answer = pages.serve(path, tuple(state.scenarios.values())) or self._scenario_answer(
            path, origin_key, origin
        )
        with state.lock:
            state.hits.append(Hit(origin_key, self.command, path, origin, answer.status))
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _scenario_answer(self, path: str, origin_key: str | None, origin: str | None) -> Answer:
        state = self.server.state
        if not path.startswith("/s/"):
            return NO_ROUTE
        scenario_id, slash, rest = path[len("/s/") :].partition("/")
        scenario = state.scenarios.get(scenario_id)
        if scenario is None:
            return NO_ROUTE
        sub = slash + rest
        route = pick_route(scenario, self.command, sub, origin_key)
        if route is None:
            return NO_ROUTE
        values = dict(state.values, path=scenario.path)
        answer = render(route, origin, values)
        if route.shared_cache:
            answer = state.cache.answer((scenario.id, self.command, sub), origin, answer)
        return answer

    def log_message(self, format: str, *args: Any) -> None:
        # The hit list is the log; stderr noise would bury pytest output.
        pass


class _LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        self.state = state
        super().__init__(address, _Handler)


@dataclass
class LabServers:
    """The running servers. Use `start_servers()`; `url(key, path)` builds request URLs."""

    origins: dict[str, LabOrigin]
    state: _State
    _servers: list[_LabHTTPServer]
    host_map: dict[str, str] = field(default_factory=lambda: dict(HOST_MAP))

    def url(self, key: str, path: str = "") -> str:
        return self.origins[key].url + path

    @property
    def values(self) -> dict[str, str]:
        return self.state.values

    @property
    def hits(self) -> list[Hit]:
        with self.state.lock:
            return list(self.state.hits)


def _serve(ip: str, state: _State, tls: ssl.SSLContext | None = None) -> _LabHTTPServer:
    server = _LabHTTPServer((ip, 0), state)
    if tls is not None:
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    # A short poll interval: shutdown() waits up to one interval per server, and the lab
    # stops seven of them.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"lab-{ip}", daemon=True
    )
    thread.start()
    return server


def _dead_port(ip: str) -> int:
    # Bind, note the port, close: for the rest of the lab nothing listens there, so a
    # connection is refused and the proxy has to answer 502 itself.
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_servers(scenarios: tuple[Scenario, ...], workdir: Path) -> Iterator[LabServers]:
    state = _State(scenarios={s.id: s for s in scenarios})
    cert, key = write_self_signed(workdir / "tls", ["127.0.0.2"])
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    servers: list[_LabHTTPServer] = []
    try:
        plan: list[tuple[list[str], str, str, ssl.SSLContext | None]] = [
            (["app"], "127.0.0.1", "http", None),
            (["app_port2"], "127.0.0.1", "http", None),
            (["app_site2"], "127.0.0.3", "http", None),
            (["www", "bare", "evil"], NAMES_IP, "http", None),
            (["api"], "127.0.0.2", "http", None),
            (["api2"], "127.0.0.4", "http", None),
            (["api_https"], "127.0.0.2", "https", tls),
        ]
        names = {"www": "www.app.test", "bare": "app.test", "evil": "evilapp.test"}
        origins: dict[str, LabOrigin] = {}
        for keys, ip, scheme, context in plan:
            server = _serve(ip, state, context)
            servers.append(server)
            port = int(server.server_address[1])
            for key in keys:
                origins[key] = LabOrigin(key, scheme, names.get(key, ip), port)
        origins["dead"] = LabOrigin("dead", "http", "127.0.0.8", _dead_port("127.0.0.8"))

        state.origins = origins
        state.values = {k: o.url for k, o in origins.items()} | {
            f"{k}_port": str(o.port) for k, o in origins.items()
        }
        lab = LabServers(origins=origins, state=state, _servers=servers)
        yield lab
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
