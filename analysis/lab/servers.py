"""Local HTTP(S) servers on loopback origins: the pages, the APIs and a dead origin.

Every origin is a distinct (scheme, host, port). Page origins are shared by all scenarios;
each deployment (see spec.py) gets its own port for every API origin key it uses, so one
simulated server never answers for another. Ports are picked by the OS, or counted up from
a fixed first port when a recording must be reproducible (`first_port`). Names such as
www.app.test never reach a resolver: the lab proxy maps them to 127.0.0.5 (`HOST_MAP`).
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analysis.lab import pages
from analysis.lab.responder import NO_ROUTE, Answer, SharedCache, pick_route, render
from analysis.lab.spec import API_KEYS, Scenario
from analysis.lab.tls import write_self_signed

NAMES_IP = "127.0.0.5"
HOST_MAP: dict[str, str] = {
    "www.app.test": NAMES_IP,
    "app.test": NAMES_IP,
    "evilapp.test": NAMES_IP,
}
_NAMES = {"www": "www.app.test", "bare": "app.test", "evil": "evilapp.test"}

# Page servers: keys served by one socket share its port (www/bare/evil differ by name).
_PAGE_PLAN: tuple[tuple[tuple[str, ...], str], ...] = (
    (("app",), "127.0.0.1"),
    (("app_port2",), "127.0.0.1"),
    (("app_site2",), "127.0.0.3"),
    (("www", "bare", "evil"), NAMES_IP),
)
# API keys: address and scheme. `dead` gets a port nothing listens on.
_API_PLAN: dict[str, tuple[str, str]] = {
    "api": ("127.0.0.2", "http"),
    "api2": ("127.0.0.4", "http"),
    "api_https": ("127.0.0.2", "https"),
    "dead": ("127.0.0.8", "http"),
}


@dataclass(frozen=True)
class LabOrigin:
    key: str
    scheme: str
    host: str
    port: int
    deployment: str | None = None
    """None for page origins, which every scenario shares."""

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
    deployment: str | None
    method: str
    path: str
    origin_header: str | None
    status: int


@dataclass
class _State:
    scenarios: dict[str, Scenario]
    pages: dict[str, LabOrigin] = field(default_factory=dict)
    deployments: dict[str, dict[str, LabOrigin]] = field(default_factory=dict)
    cache: SharedCache = field(default_factory=SharedCache)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _by_netloc: dict[str, LabOrigin] = field(default_factory=dict)

    def index(self) -> None:
        every = [*self.pages.values(), *(o for d in self.deployments.values() for o in d.values())]
        self._by_netloc = {o.netloc: o for o in every}

    def origin_for(self, host_header: str | None) -> LabOrigin | None:
        return self._by_netloc.get((host_header or "").lower())

    def values(self, deployment: str | None) -> dict[str, str]:
        """Template values: every page origin, and the API origins of `deployment`."""
        chosen = [*self.pages.values(), *self.deployments.get(deployment or "", {}).values()]
        values = {o.key: o.url for o in chosen}
        values.update({f"{o.key}_port": str(o.port) for o in chosen})
        return values


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

    def send_response(self, code: int, message: str | None = None) -> None:
        # http.server would add `Server: BaseHTTP/0.6 Python/3.x` to every answer; the
        # scenarios decide which server they pretend to be, so only Date is added here.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _respond(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        reached = state.origin_for(self.headers.get("Host"))
        origin = self.headers.get("Origin")
        answer = pages.serve(path, tuple(state.scenarios.values())) or self._scenario_answer(
            path, reached, origin
        )
        with state.lock:
            state.hits.append(
                Hit(
                    reached.key if reached else None,
                    reached.deployment if reached else None,
                    self.command,
                    path,
                    origin,
                    answer.status,
                )
            )
        if answer.delay_ms:
            time.sleep(answer.delay_ms / 1000)
        if answer.drop is not None:
            self._drop(answer.drop)
            return
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body) + answer.missing))
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            # The page aborted the request (AbortController) while the answer was slow.
            self.close_connection = True
            return
        if answer.missing:
            self.close_connection = True

    def _drop(self, how: str) -> None:
        if how == "reset":
            # SO_LINGER with a zero timeout makes close() send an RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _scenario_answer(self, path: str, reached: LabOrigin | None, origin: str | None) -> Answer:
        state = self.server.state
        if not path.startswith("/s/"):
            return NO_ROUTE
        scenario_id, slash, rest = path[len("/s/") :].partition("/")
        scenario = state.scenarios.get(scenario_id)
        if scenario is None:
            return NO_ROUTE
        if reached is not None and reached.deployment not in (None, scenario.deployment_id):
            # Another deployment's server: answering would blend two simulated servers.
            return NO_ROUTE
        sub = slash + rest
        validated = any(self.headers.get(n) for n in ("If-None-Match", "If-Modified-Since"))
        route = pick_route(
            scenario,
            self.command,
            sub,
            reached.key if reached else None,
            validated,
            self._header_names(),
        )
        if route is None:
            return NO_ROUTE
        values = dict(state.values(scenario.deployment_id), path=scenario.path)
        answer = render(route, origin, values, self.headers.get("Access-Control-Request-Headers"))
        if route.shared_cache:
            answer = state.cache.answer((scenario.id, self.command, sub), origin, answer)
        return answer

    def _header_names(self) -> frozenset[str]:
        names = {name.lower() for name in self.headers}
        announced = self.headers.get("Access-Control-Request-Headers") or ""
        names.update(n.strip().lower() for n in announced.split(",") if n.strip())
        return frozenset(names)

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
    """The running servers. Use `start_servers()`; `url(key, path, scenario)` builds request
    URLs (API keys need the scenario, whose deployment owns them)."""

    state: _State
    _servers: list[_LabHTTPServer]
    host_map: dict[str, str] = field(default_factory=lambda: dict(HOST_MAP))

    @property
    def origins(self) -> dict[str, LabOrigin]:
        """The page origins, shared by every scenario."""
        return self.state.pages

    @property
    def deployments(self) -> dict[str, dict[str, LabOrigin]]:
        return self.state.deployments

    def origin(self, key: str, scenario: Scenario | None = None) -> LabOrigin:
        if key in API_KEYS:
            if scenario is None:
                raise KeyError(f"{key} belongs to a deployment: name the scenario")
            return self.state.deployments[scenario.deployment_id][key]
        return self.state.pages[key]

    def url(self, key: str, path: str = "", scenario: Scenario | None = None) -> str:
        return self.origin(key, scenario).url + path

    def values(self, scenario: Scenario | None = None) -> dict[str, str]:
        return self.state.values(scenario.deployment_id if scenario else None)

    @property
    def hits(self) -> list[Hit]:
        with self.state.lock:
            return list(self.state.hits)


class PortInUse(RuntimeError):
    pass


def _serve(ip: str, port: int, state: _State, tls: ssl.SSLContext | None = None) -> _LabHTTPServer:
    try:
        server = _LabHTTPServer((ip, port), state)
    except OSError as error:
        raise PortInUse(f"cannot listen on {ip}:{port}: {error}") from error
    if tls is not None:
        server.socket = tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"lab-{ip}", daemon=True
    )
    thread.start()
    return server


def _free_port(ip: str) -> int:
    # Bind, note the port, close: for the rest of the lab nothing listens there, so a
    # connection is refused and the proxy has to answer 502 itself.
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


def deployment_keys(scenarios: Iterable[Scenario]) -> dict[str, tuple[str, ...]]:
    """Deployment → the API keys its scenarios use, in first-seen order (stable, so fixed
    ports land on the same deployments every run)."""
    found: dict[str, list[str]] = {}
    for scenario in scenarios:
        keys = found.setdefault(scenario.deployment_id, [])
        for key in sorted(scenario.api_keys()):
            if key not in keys:
                keys.append(key)
    return {d: tuple(k) for d, k in found.items()}


def _stop(servers: list[_LabHTTPServer]) -> None:
    # shutdown() waits up to one poll interval per server; with a server per deployment
    # key that adds up, so every server is told at once and then awaited.
    stoppers = [threading.Thread(target=s.shutdown, daemon=True) for s in servers]
    for thread in stoppers:
        thread.start()
    for thread in stoppers:
        thread.join(timeout=10)
    for server in servers:
        server.server_close()


@contextmanager
def start_servers(
    scenarios: tuple[Scenario, ...], workdir: Path, first_port: int | None = None
) -> Iterator[LabServers]:
    """Serve pages and every deployment's APIs. With `first_port`, ports are counted up from
    it in a fixed order (pages, then deployments in catalogue order), so that a recording
    made twice names the same origins; otherwise the OS picks them."""
    state = _State(scenarios={s.id: s for s in scenarios})
    cert, key = write_self_signed(workdir / "tls", ["127.0.0.2"])
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    counter = iter(range(first_port, 65536)) if first_port is not None else None

    def next_port(ip: str, listen: bool) -> int:
        if counter is not None:
            return next(counter)
        return 0 if listen else _free_port(ip)

    servers: list[_LabHTTPServer] = []
    try:
        for keys, ip in _PAGE_PLAN:
            server = _serve(ip, next_port(ip, True), state)
            servers.append(server)
            port = int(server.server_address[1])
            for key in keys:
                state.pages[key] = LabOrigin(key, "http", _NAMES.get(key, ip), port)
        for deployment, keys in deployment_keys(scenarios).items():
            origins: dict[str, LabOrigin] = {}
            for key in keys:
                ip, scheme = _API_PLAN[key]
                if key == "dead":
                    port = next_port(ip, False)
                else:
                    server = _serve(
                        ip, next_port(ip, True), state, tls if scheme == "https" else None
                    )
                    servers.append(server)
                    port = int(server.server_address[1])
                origins[key] = LabOrigin(key, scheme, ip, port, deployment)
            state.deployments[deployment] = origins
        state.index()
        yield LabServers(state=state, _servers=servers)
    finally:
        _stop(servers)
