"""A day of browser traffic, made up, and written as a mitmproxy flow file or a HAR file.

One page view of the single-page app at https://app.example.test is about forty requests:
the document, its scripts and styles, images from the app and a CDN, web fonts from the
CDN (CORS), calls to https://api.example.test (CORS: reads, writes behind a preflight, a
few that fail the way APIs do: a 500 from an error handler that skips the CORS headers, a
401, a redirect to the auth origin) and analytics beacons (no-cors). Headers are those
Chromium sends and servers answer with; bodies have the sizes such resources have
(JSON of a few hundred bytes to tens of KB, scripts up to half a MB, images of 1-300 KB).
Connections are reused the way a browser reuses them, so flows share `server_conn` states.

Deterministic for a given seed. Bodies are random bytes (they are never looked at except
for preflight and error excerpts); the flow writer emits exactly what mitmproxy's
`FlowWriter` would (checked against `tnetstring.dumps` for the first flows of each file).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

APP = "https://app.example.test"
API = "https://api.example.test"
CDN = "https://cdn.example.test"
AUTH = "https://auth.example.test"
BEACON = "https://collect.analytics.test"
HOSTS = {
    APP: "203.0.113.10",
    API: "203.0.113.20",
    CDN: "198.51.100.7",
    AUTH: "203.0.113.30",
    BEACON: "192.0.2.99",
}
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/156.0.0.0 Safari/537.36"
)
ROUTES = ("users", "orders", "items", "cart", "search", "profile", "catalog", "invoices")
T0 = 1_795_167_000.0
_POOL_BYTES = 4 << 20


@dataclass(slots=True)
class Tx:
    """One request and its answer, as the browser saw them."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body_size: int
    kind: str
    """json, js, css, html, image, font, empty."""
    started: float
    duration: float
    origin: str
    connection: int
    request_body: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Traffic:
    """Transactions of successive page views until `count` are made."""

    def __init__(self, count: int, seed: int = 1, body_scale: float = 1.0) -> None:
        self.count = count
        self.rnd = random.Random(seed)
        self.body_scale = body_scale
        self.now = T0
        self.connections: dict[str, list[int]] = {}
        self.next_connection = 0
        self.cookie = "sid=" + uuid.UUID(int=self.rnd.getrandbits(128)).hex

    def __iter__(self) -> Iterator[Tx]:
        made = 0
        while made < self.count:
            for tx in self._page_view():
                yield tx
                made += 1
                if made >= self.count:
                    return

    # --- one page view ---------------------------------------------------------------

    def _page_view(self) -> Iterator[Tx]:
        rnd = self.rnd
        page = f"{APP}/{rnd.choice(ROUTES)}/{rnd.randrange(1000)}"
        self._reconnect_some()
        yield self._tx("GET", page, "html", 200, site="none", mode="navigate", dest="document")
        for i in range(rnd.randint(3, 5)):
            kind = "js" if i % 2 == 0 else "css"
            yield self._tx(
                "GET",
                f"{APP}/static/{kind}/{rnd.randrange(40)}.{kind}",
                kind,
                200,
                page=page,
                site="same-origin",
                mode="no-cors",
                dest="script" if kind == "js" else "style",
            )
        for _ in range(rnd.randint(6, 10)):
            base = rnd.choice((APP, CDN))
            yield self._tx(
                "GET",
                f"{base}/img/{rnd.randrange(5000)}.webp",
                "image",
                200,
                page=page,
                site="same-origin" if base == APP else "cross-site",
                mode="no-cors",
                dest="image",
            )
        for _ in range(2):
            yield self._tx(
                "GET",
                f"{CDN}/fonts/{rnd.choice(('inter', 'mono'))}.woff2",
                "font",
                200,
                page=page,
                site="cross-site",
                mode="cors",
                dest="font",
                cors="*",
            )
        for _ in range(rnd.randint(15, 25)):
            yield from self._api_call(page)
        for _ in range(2):
            yield self._tx(
                "POST",
                f"{BEACON}/v1/event",
                "empty",
                204,
                page=page,
                site="cross-site",
                mode="no-cors",
                dest="empty",
                request_body=rnd.randint(200, 1500),
            )
        self.now += rnd.uniform(5, 60)

    def _api_call(self, page: str) -> Iterator[Tx]:
        rnd = self.rnd
        route = rnd.choice(ROUTES)
        url = f"{API}/v2/{route}/{rnd.randrange(100_000)}"
        roll = rnd.random()
        method = "GET" if roll < 0.6 else rnd.choice(("POST", "PUT", "DELETE", "PATCH"))
        fate = rnd.random()
        if method != "GET":
            yield self._tx(
                "OPTIONS",
                url,
                "empty",
                204,
                page=page,
                site="same-site",
                mode="cors",
                dest="empty",
                preflight_for=method,
                cors=APP,
            )
        if fate < 0.90 or (fate >= 0.98 and method != "GET"):
            yield self._tx(
                method, url, "json", 200, page=page, site="same-site", mode="cors", cors=APP
            )
        elif fate < 0.95:
            yield self._tx(method, url, "json", 500, page=page, site="same-site", mode="cors")
        elif fate < 0.98:
            yield self._tx(method, url, "json", 401, page=page, site="same-site", mode="cors")
        else:
            yield self._tx(
                "GET",
                url,
                "empty",
                302,
                page=page,
                site="same-site",
                mode="cors",
                cors=APP,
                location=f"{AUTH}/login?next={route}",
            )
            yield self._tx(
                "GET",
                f"{AUTH}/login?next={route}",
                "json",
                200,
                page=page,
                site="cross-site",
                mode="cors",
                origin_null=True,
            )

    def _reconnect_some(self) -> None:
        """Browsers keep connections open across page views and drop some now and then."""
        for origin in list(self.connections):
            if self.rnd.random() < 0.2:
                del self.connections[origin]

    def _connection(self, origin: str) -> int:
        pool = self.connections.setdefault(origin, [])
        if len(pool) < 6 and (not pool or self.rnd.random() < 0.3):
            pool.append(self.next_connection)
            self.next_connection += 1
        return self.rnd.choice(pool)

    # --- one transaction ----------------------------------------------------------------

    def _tx(
        self,
        method: str,
        url: str,
        kind: str,
        status: int,
        *,
        page: str | None = None,
        site: str,
        mode: str,
        dest: str = "empty",
        cors: str | None = None,
        preflight_for: str | None = None,
        location: str | None = None,
        request_body: int = 0,
        origin_null: bool = False,
    ) -> Tx:
        rnd = self.rnd
        origin = url.split("/", 3)
        origin_url = f"{origin[0]}//{origin[2]}"
        headers = [
            ("Host", origin[2]),
            ("User-Agent", UA),
            ("Accept", _ACCEPT[dest]),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Accept-Language", "en-GB,en;q=0.9"),
            ("Sec-Fetch-Site", site),
            ("Sec-Fetch-Mode", mode),
            ("Sec-Fetch-Dest", dest),
        ]
        if mode == "cors":
            headers.append(("Origin", "null" if origin_null else APP))
        if preflight_for:
            headers.append(("Access-Control-Request-Method", preflight_for))
            headers.append(("Access-Control-Request-Headers", "authorization,content-type"))
        elif origin_url == API:
            headers.append(("Authorization", "Bearer " + "x" * 40))
            if method != "GET":
                headers.append(("Content-Type", "application/json"))
        if page is not None:
            headers.append(("Referer", page if origin_url == APP else APP + "/"))
        if origin_url == APP:
            headers.append(("Cookie", self.cookie))
        if request_body:
            headers.append(("Content-Length", str(request_body)))
        elif method in ("POST", "PUT", "PATCH") and not preflight_for:
            request_body = rnd.randint(100, 4000)
            headers.append(("Content-Length", str(request_body)))

        size = 0 if kind == "empty" or status in (204, 302) else self._size(kind)
        if status >= 400:
            size = rnd.randint(40, 400)
        response = [
            ("Date", _http_date(self.now)),
            ("Content-Type", _TYPES[kind]),
            ("Content-Length", str(size)),
            ("Server", "nginx/1.27.2" if origin_url != CDN else "cloudflare"),
        ]
        if kind in ("js", "css", "image", "font"):
            response.append(("Cache-Control", "public, max-age=31536000, immutable"))
            response.append(("ETag", f'"{rnd.getrandbits(64):x}"'))
        if origin_url == CDN:
            response.append(("CF-Cache-Status", rnd.choice(("HIT", "HIT", "MISS"))))
            response.append(("Age", str(rnd.randrange(90000))))
        if cors is not None:
            response.append(("Access-Control-Allow-Origin", cors))
            if cors != "*":
                response.append(("Access-Control-Allow-Credentials", "true"))
                response.append(("Vary", "Origin"))
            if preflight_for:
                response.append(("Access-Control-Allow-Methods", "GET,POST,PUT,DELETE,PATCH"))
                response.append(("Access-Control-Allow-Headers", "authorization,content-type"))
                response.append(("Access-Control-Max-Age", "600"))
        if location is not None:
            response.append(("Location", location))
        if origin_url == API:
            response.append(("X-Request-Id", uuid.UUID(int=rnd.getrandbits(128)).hex))
        started = self.now
        duration = rnd.uniform(0.005, 0.4)
        self.now += rnd.uniform(0.001, 0.05)
        return Tx(
            method=method,
            url=url,
            request_headers=headers,
            status=status,
            reason=_REASONS[status],
            response_headers=response,
            body_size=size,
            kind=kind,
            started=started,
            duration=duration,
            origin=origin_url,
            connection=self._connection(origin_url),
            request_body=request_body,
        )

    def _size(self, kind: str) -> int:
        low, high = _SIZES[kind]
        # Log-uniform: many small resources, a few large ones.
        size = int(low * (high / low) ** self.rnd.random())
        return max(1, int(size * self.body_scale))


_ACCEPT = {
    "document": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "script": "*/*",
    "style": "text/css,*/*;q=0.1",
    "image": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "font": "*/*",
    "empty": "application/json, text/plain, */*",
}
_TYPES = {
    "json": "application/json; charset=utf-8",
    "js": "text/javascript",
    "css": "text/css",
    "html": "text/html; charset=utf-8",
    "image": "image/webp",
    "font": "font/woff2",
    "empty": "text/plain",
}
_SIZES = {
    "json": (300, 40_000),
    "js": (8_000, 600_000),
    "css": (3_000, 120_000),
    "html": (8_000, 90_000),
    "image": (1_000, 300_000),
    "font": (15_000, 80_000),
}
_REASONS = {200: "OK", 204: "No Content", 302: "Found", 401: "Unauthorized", 500: "Error"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date(epoch: float) -> str:
    import time

    t = time.gmtime(epoch)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


class _Bodies:
    """Body bytes cut from one random pool: generating gigabytes of randomness would
    take longer than what is measured."""

    def __init__(self, seed: int) -> None:
        self.pool = random.Random(seed).randbytes(_POOL_BYTES)
        self.rnd = random.Random(seed + 1)

    def get(self, size: int) -> bytes:
        if size <= 0:
            return b""
        if size >= _POOL_BYTES:
            return (self.pool * (size // _POOL_BYTES + 1))[:size]
        start = self.rnd.randrange(_POOL_BYTES - size + 1)
        return self.pool[start : start + size]


# --- mitmproxy flow files ------------------------------------------------------------------


def tnet(value: Any) -> bytes:
    """`mitmproxy.io.tnetstring.dumps`, for the types flow states hold."""
    if value is None:
        return b"0:~"
    if value is True:
        return b"4:true!"
    if value is False:
        return b"5:false!"
    if isinstance(value, int):
        data = b"%d" % value
        return b"%d:%s#" % (len(data), data)
    if isinstance(value, float):
        data = repr(value).encode()
        return b"%d:%s^" % (len(data), data)
    if isinstance(value, bytes):
        return b"%d:%s," % (len(value), value)
    if isinstance(value, str):
        data = value.encode()
        return b"%d:%s;" % (len(data), data)
    if isinstance(value, list | tuple):
        data = b"".join(map(tnet, value))
        return b"%d:%s]" % (len(data), data)
    if isinstance(value, _Encoded):
        return value.data
    if isinstance(value, dict):
        # tnetstring writes a dict's items last first.
        data = b"".join(tnet(k) + tnet(v) for k, v in reversed(value.items()))
        return b"%d:%s}" % (len(data), data)
    raise TypeError(type(value))


@dataclass(frozen=True, slots=True)
class _Encoded:
    """A value encoded once and spliced into every flow that shares it."""

    data: bytes
    plain: Any


class FlowFileWriter:
    def __init__(self, f: BinaryIO, seed: int = 1) -> None:
        from mitmproxy.test import tflow

        self.f = f
        self.bodies = _Bodies(seed)
        self.template = tflow.tflow(resp=True).get_state()
        self.server_template = tflow.tserver_conn().get_state()
        self.client_template = tflow.tclient_conn().get_state()
        self.servers: dict[int, _Encoded] = {}
        self.clients: dict[int, _Encoded] = {}
        self.cert = _certificate_pem()
        self.checked = 0

    def add(self, tx: Tx) -> None:
        state = self.state(tx)
        record = tnet(state)
        if self.checked < 3:
            # What FlowWriter would write, byte for byte.
            from mitmproxy.io import tnetstring

            assert record == tnetstring.dumps(_plain(state)), "flow encoding drifted"
            self.checked += 1
        self.f.write(record)

    def state(self, tx: Tx) -> dict[str, Any]:
        scheme, _, authority, path = tx.url.split("/", 3)
        host = authority
        response_end = tx.started + tx.duration
        # Keys in the order mitmproxy's get_state gives them: the file's layout follows.
        request = dict.fromkeys(self.template["request"])
        request.update(
            {
                "host": host,
                "port": 443,
                "method": tx.method.encode(),
                "scheme": scheme[:-1].encode(),
                "authority": b"",
                "path": ("/" + path).encode(),
                "http_version": b"HTTP/1.1",
                "headers": [(k.encode(), v.encode()) for k, v in tx.request_headers],
                "content": self.bodies.get(tx.request_body),
                "trailers": None,
                "timestamp_start": tx.started,
                "timestamp_end": tx.started + 0.0005,
            }
        )
        response = dict.fromkeys(self.template["response"])
        response.update(
            {
                "status_code": tx.status,
                "reason": tx.reason.encode(),
                "http_version": b"HTTP/1.1",
                "headers": [(k.encode(), v.encode()) for k, v in tx.response_headers],
                "content": self.bodies.get(tx.body_size),
                "trailers": None,
                "timestamp_start": tx.started + tx.duration * 0.8,
                "timestamp_end": response_end,
            }
        )
        state = dict(self.template)
        state.update(
            id=str(uuid.UUID(int=random.getrandbits(128))),
            error=None,
            client_conn=self._client(tx),
            server_conn=self._server(tx),
            timestamp_created=tx.started,
            request=request,
            response=response,
        )
        return state

    def _server(self, tx: Tx) -> _Encoded:
        known = self.servers.get(tx.connection)
        if known is None:
            host = tx.origin.split("//")[1]
            state = dict(self.server_template)
            state.update(
                id=str(uuid.UUID(int=tx.connection)),
                address=(host, 443),
                peername=(HOSTS[tx.origin], 443),
                sockname=("10.0.0.2", 40000 + tx.connection % 20000),
                sni=host,
                tls=True,
                tls_version="TLSv1.3",
                alpn=b"http/1.1",
                alpn_offers=[b"h2", b"http/1.1"],
                cipher="TLS_AES_128_GCM_SHA256",
                certificate_list=[self.cert],
                timestamp_start=tx.started - 0.05,
                timestamp_tcp_setup=tx.started - 0.04,
                timestamp_tls_setup=tx.started - 0.02,
                timestamp_end=None,
            )
            known = self.servers[tx.connection] = _Encoded(tnet(state), state)
        return known

    def _client(self, tx: Tx) -> _Encoded:
        key = tx.connection
        known = self.clients.get(key)
        if known is None:
            state = dict(self.client_template)
            state.update(
                id=str(uuid.UUID(int=(1 << 64) + key)),
                peername=("127.0.0.1", 50000 + key % 10000),
                sockname=("127.0.0.1", 8080),
                sni=tx.origin.split("//")[1],
                tls=True,
                tls_version="TLSv1.3",
                timestamp_start=tx.started - 0.06,
                timestamp_end=None,
            )
            known = self.clients[key] = _Encoded(tnet(state), state)
        return known


def _plain(state: Any) -> Any:
    """The state with spliced values decoded again, for `tnetstring.dumps`."""
    if isinstance(state, _Encoded):
        return state.plain
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    return state


def _certificate_pem() -> bytes:
    import tempfile

    from mitmproxy import certs

    with tempfile.TemporaryDirectory() as directory:
        return certs.CertStore.from_store(directory, "mitmproxy", 2048).default_ca.to_pem()


def write_flows(path: str, count: int, seed: int = 1, body_scale: float = 1.0) -> None:
    with open(path, "wb", buffering=1 << 20) as f:
        writer = FlowFileWriter(f, seed)
        for tx in Traffic(count, seed, body_scale):
            writer.add(tx)


# --- HAR files ------------------------------------------------------------------------------


def write_har(path: str, count: int, seed: int = 1, body_scale: float = 1.0) -> None:
    """Chrome's "Save all as HAR (with content)": pages first, then the entries with text
    bodies as text and the others in base64."""
    pages: dict[str, str] = {}
    for tx in Traffic(count, seed, body_scale):
        if tx.kind == "html":
            pages.setdefault(tx.url, f"page_{len(pages) + 1}")
    page_list = [
        {"startedDateTime": _iso(T0), "id": pid, "title": url, "pageTimings": {}}
        for url, pid in pages.items()
    ]
    bodies = _Bodies(seed)
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write('{"log": {"version": "1.2", "creator": {"name": "WebInspector", ')
        f.write('"version": "537.36"}, "pages": ' + json.dumps(page_list) + ', "entries": [')
        page = "page_1"
        for n, tx in enumerate(Traffic(count, seed, body_scale)):
            if tx.kind == "html":
                page = pages[tx.url]
            f.write(("," if n else "") + json.dumps(_har_entry(tx, bodies, page)))
        f.write("]}}\n")


def _har_entry(tx: Tx, bodies: _Bodies, pageref: str) -> dict[str, Any]:
    if tx.kind in ("json", "js", "css", "html"):
        text = bodies.get(tx.body_size // 2).hex()
        content = {"size": len(text), "mimeType": _TYPES[tx.kind], "text": text}
    elif tx.body_size:
        body = bodies.get(tx.body_size)
        content = {
            "size": len(body),
            "mimeType": _TYPES[tx.kind],
            "text": base64.b64encode(body).decode(),
            "encoding": "base64",
        }
    else:
        content = {"size": 0, "mimeType": _TYPES[tx.kind]}
    return {
        "_initiator": {"type": "script" if tx.kind in ("json", "empty") else "parser"},
        "_priority": "High",
        "_resourceType": _RESOURCE_TYPES[tx.kind],
        "cache": {},
        "connection": str(tx.connection),
        "pageref": pageref,
        "request": {
            "method": tx.method,
            "url": tx.url,
            "httpVersion": "http/1.1",
            "headers": [{"name": k, "value": v} for k, v in tx.request_headers],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": tx.request_body,
        },
        "response": {
            "status": tx.status,
            "statusText": tx.reason,
            "httpVersion": "http/1.1",
            "headers": [{"name": k, "value": v} for k, v in tx.response_headers],
            "cookies": [],
            "content": content,
            "redirectURL": dict(tx.response_headers).get("Location", ""),
            "headersSize": -1,
            "bodySize": tx.body_size,
            "_transferSize": tx.body_size + 300,
            "_error": None,
        },
        "serverIPAddress": HOSTS[tx.origin],
        "startedDateTime": _iso(tx.started),
        "time": tx.duration * 1000,
        "timings": {
            "blocked": 0.5,
            "dns": -1,
            "ssl": -1,
            "connect": -1,
            "send": 0.1,
            "wait": tx.duration * 800,
            "receive": tx.duration * 200,
        },
    }


_RESOURCE_TYPES = {
    "json": "fetch",
    "empty": "fetch",
    "js": "script",
    "css": "stylesheet",
    "html": "document",
    "image": "image",
    "font": "font",
}


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
