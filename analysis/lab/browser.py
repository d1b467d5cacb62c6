"""Headless Chromium through the lab proxy, with its own verdicts read over DevTools.

The verdict lives in `Network.loadingFailed.corsErrorStatus` of the *actual* request.
Requests a service worker makes are reported only on the worker's own target, so the
worker is attached from a browser-level session (`flatten: false`: Playwright's session
objects cannot address flattened child sessions) and its events are read from
`Target.receivedMessageFromTarget`. Dedicated workers and out-of-process (cross-site)
iframes report their requests only on targets of their own too: the page's session
auto-attaches to them the same way, holding each at its start until it reports.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path("/usr/bin/chromium")

# From the lab notes: the minimum that keeps Chromium quiet and offline-safe here.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # mitmproxy re-signs TLS with its own CA; the lab tests CORS, not certificate trust.
    "--ignore-certificate-errors",
)


class BrowserError(RuntimeError):
    pass


@dataclass
class NetRecord:
    """Everything DevTools said about one request id, on the page or in the worker."""

    source: str
    request_id: str
    seq: int
    url: str
    """The first URL: a redirect keeps the request id and changes the URL."""
    method: str
    resource_type: str | None
    initiator_type: str | None
    preflight_for: str | None
    urls: list[str] = field(default_factory=list)
    status: int | None = None
    from_disk_cache: bool = False
    from_service_worker: bool = False
    done: bool = False
    failed: bool = False
    canceled: bool = False
    """The page dropped the load itself (an opaque body nobody reads): not a verdict."""
    error_text: str | None = None
    cors_error: str | None = None
    failed_parameter: str | None = None
    blocked_reason: str | None = None

    @property
    def is_preflight(self) -> bool:
        return self.initiator_type == "preflight"


# How every CORS failure's console line says it (Blink's cors_error_string.cc).
CORS_LINE_MARK = "has been blocked by CORS policy"


MIME_REFUSAL_MARKS = (
    "because its MIME type",  # AllowedByNosniff, ResourceLoader::CheckResponseNosniff
    "responded with a MIME type of",  # ModuleScriptFetcher::WasModuleLoadSuccessful
)


def _is_mime_refusal(text: str) -> bool:
    # "Deprecated: Future versions will refuse" is a warning about a script that ran.
    return any(mark in text for mark in MIME_REFUSAL_MARKS) and not text.startswith("Deprecated")


@dataclass(frozen=True)
class ConsoleLine:
    """One `Log.entryAdded` entry; `seq` orders it among the requests, as `mark` does."""

    seq: int
    level: str
    text: str


class NetLog:
    """Folds Network.* events of one target into `NetRecord`s, in arrival order."""

    def __init__(self, source: str, counter: itertools.count[int]) -> None:
        self.source = source
        self.records: dict[str, NetRecord] = {}
        self.issues: list[dict[str, Any]] = []
        self.console: list[ConsoleLine] = []
        self._counter = counter

    def handle(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            self._will_be_sent(params)
        elif method in ("Audits.issueAdded",):
            self.issues.append(params.get("issue", {}))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            line = ConsoleLine(next(self._counter), entry.get("level", ""), entry.get("text", ""))
            self.console.append(line)
        else:
            record = self.records.get(params.get("requestId", ""))
            if record is not None:
                self._update(record, method, params)

    def _will_be_sent(self, p: dict[str, Any]) -> None:
        rid = p["requestId"]
        url = p["request"]["url"]
        record = self.records.get(rid)
        if record is not None:  # a redirect hop: same id, next URL
            record.urls.append(url)
            return
        initiator = p.get("initiator") or {}
        self.records[rid] = NetRecord(
            source=self.source,
            request_id=rid,
            seq=next(self._counter),
            url=url,
            method=p["request"]["method"],
            resource_type=p.get("type"),
            initiator_type=initiator.get("type"),
            preflight_for=initiator.get("requestId")
            if initiator.get("type") == "preflight"
            else None,
            urls=[url],
        )

    @staticmethod
    def _update(record: NetRecord, method: str, p: dict[str, Any]) -> None:
        if method == "Network.responseReceived":
            response = p.get("response", {})
            record.status = response.get("status")
            record.from_disk_cache = bool(response.get("fromDiskCache"))
            record.from_service_worker = bool(response.get("fromServiceWorker"))
        elif method == "Network.responseReceivedExtraInfo":
            record.status = record.status or p.get("statusCode")
        elif method == "Network.requestServedFromCache":
            record.from_disk_cache = True
        elif method == "Network.loadingFinished":
            record.done = True
        elif method == "Network.loadingFailed":
            record.done = True
            record.failed = True
            record.canceled = bool(p.get("canceled"))
            record.error_text = p.get("errorText")
            record.blocked_reason = p.get("blockedReason")
            cors = p.get("corsErrorStatus")
            if cors:
                record.cors_error = cors.get("corsError")
                record.failed_parameter = cors.get("failedParameter")

    def matching(self, url: str, after: int = -1) -> list[NetRecord]:
        """Non-preflight records whose first URL is `url`, oldest first."""
        found = [
            r
            for r in self.records.values()
            if r.url == url and not r.is_preflight and r.seq > after
        ]
        return sorted(found, key=lambda r: r.seq)

    def cors_lines(self, url: str, after: int = -1) -> list[str]:
        """Console CORS errors naming `url` (as requested, or as a redirect's start), oldest
        first. A preflight failure also prints "Failed to load resource: net::ERR_FAILED",
        which names no reason: left out."""
        return [
            c.text
            for c in self.console
            if c.seq > after and CORS_LINE_MARK in c.text and f"'{url}'" in c.text
        ]

    def mime_lines(self, after: int = -1) -> list[str]:
        """Console errors of Blink refusing a response for its MIME type, oldest first: a
        script or stylesheet under `X-Content-Type-Options: nosniff`, a classic script
        served as an image, audio, video or CSV, a module script of a type that is not
        JavaScript. Module script errors name no URL; the decisive visit's mark scopes them."""
        return [c.text for c in self.console if c.seq > after and _is_mime_refusal(c.text)]

    def preflights_of(self, record: NetRecord) -> list[NetRecord]:
        return [r for r in self.records.values() if r.preflight_for == record.request_id]


_EVENTS = (
    "Network.requestWillBeSent",
    "Network.responseReceived",
    "Network.responseReceivedExtraInfo",
    "Network.requestServedFromCache",
    "Network.loadingFinished",
    "Network.loadingFailed",
    "Audits.issueAdded",
    "Log.entryAdded",
)


class LabBrowser:
    """One Chromium, one context, one page for the whole lab run."""

    def __init__(
        self,
        proxy_url: str | None,
        host_map: dict[str, str],
        executable: Path = CHROMIUM,
        record_har: Path | None = None,
        extra_flags: tuple[str, ...] = (),
    ):
        self.proxy_url = proxy_url
        """None: straight to the lab's servers, no mitmproxy in between."""
        self.host_map = host_map
        self.executable = executable
        self.record_har = record_har
        """Where Playwright writes its HAR of the session, on `close`."""
        self.extra_flags = extra_flags
        """More Chromium switches, e.g. `--ip-address-space-overrides=127.0.0.5:80=public`:
        on loopback every server is in the loopback space, so Local Network Access can only
        be driven by telling Chromium otherwise."""
        self._counter = itertools.count()
        self.page_log = NetLog("page", self._counter)
        self.worker_log = NetLog("worker", self._counter)
        self.child_log = NetLog("child", self._counter)
        """Dedicated workers and out-of-process iframes of the page, all together."""
        self._children: dict[str, int | None] = {}
        """Child session → the id of its Network.enable until that is answered, then None."""
        self._pw: Any = None
        self.browser: Browser | None = None
        self.context: BrowserContext | None = None
        self._page: Page | None = None
        self._cdp: CDPSession | None = None
        self._browser_cdp: CDPSession | None = None
        self._worker_session: str | None = None
        self._message_ids = itertools.count(1)

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LabBrowser:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        # Names are mapped in Chromium too, so that a request which ever bypassed the proxy
        # would still land on loopback rather than on a real resolver.
        rules = ", ".join(f"MAP {name} {ip}" for name, ip in sorted(self.host_map.items()))
        args = [*CHROMIUM_FLAGS, *self.extra_flags]
        if rules:
            args.append(f"--host-resolver-rules={rules}")
        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(
                executable_path=str(self.executable),
                args=args,
                proxy={"server": self.proxy_url} if self.proxy_url else None,
            )
            har = {"record_har_path": str(self.record_har)} if self.record_har else {}
            self.context = self.browser.new_context(**har)
            self._page = self.context.new_page()
            self._cdp = self.context.new_cdp_session(self._page)
            for event in _EVENTS:
                self._cdp.on(event, self._page_handler(event))
            for domain in ("Network", "Audits", "Log"):
                self._cdp.send(f"{domain}.enable")
            self._cdp.on("Target.attachedToTarget", self._on_child_attached)
            self._cdp.on("Target.receivedMessageFromTarget", self._on_child_message)
            self._cdp.on("Target.detachedFromTarget", self._on_child_detached)
            self._cdp.send(
                "Target.setAutoAttach",
                {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False},
            )
        except Exception:
            self.close()
            raise

    def _page_handler(self, event: str) -> Callable[[dict[str, Any]], None]:
        return lambda params: self.page_log.handle(event, params)

    def close(self) -> None:
        try:
            if self.context is not None:
                self.context.close()  # writes the HAR, where one is recorded
            if self.browser is not None:
                self.browser.close()
        finally:
            self.context = None
            self.browser = None
            if self._pw is not None:
                self._pw.stop()
                self._pw = None

    @property
    def page_target_id(self) -> str:
        """The DevTools target id of the lab's page, for a frontend that inspects it."""
        if self._cdp is None:
            raise BrowserError("browser not started")
        return str(self._cdp.send("Target.getTargetInfo")["targetInfo"]["targetId"])

    @property
    def page(self) -> Page:
        if self._page is None:
            raise BrowserError("browser not started")
        return self._page

    # --- driving --------------------------------------------------------------------------

    def goto(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            status = None if response is None else response.status
            raise BrowserError(f"lab page {url} answered {status}")

    def open(self, url: str, prefix: str) -> None:
        """Be on page `url`. When the current page has the same origin and the same
        `prefix` (same kind of page), only its path is rewritten (history.replaceState):
        a navigation costs about 100 ms, most of the lab's time, while a scenario only needs
        the right origin and a Referer naming it."""
        current = urlsplit(self.page.url)
        target = urlsplit(url)
        if (current.scheme, current.netloc) == (target.scheme, target.netloc) and (
            current.path.startswith(prefix) and target.path.startswith(prefix)
        ):
            self.evaluate(f"() => history.replaceState(null, '', {json.dumps(target.path)})")
        else:
            self.goto(url)

    def evaluate(self, source: str) -> Any:
        return self.page.evaluate(source)

    def pump(self, ms: float = 10) -> None:
        """Let Playwright deliver pending DevTools events (they arrive only while it runs)."""
        self.page.wait_for_timeout(ms)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            if condition():
                return True
            if time.monotonic() > deadline:
                return False
            self.pump()

    def mark(self) -> int:
        """A sequence number: records created after it belong to what runs next."""
        return next(self._counter)

    # --- service worker -------------------------------------------------------------------

    def install_worker(self, page_url: str, script_path: str, scope: str) -> None:
        """Register the lab worker from `page_url`, wait until it controls the page, and
        attach to its target so its own network verdicts are recorded."""
        self.goto(page_url)
        self.evaluate(
            f"""async () => {{
  await navigator.serviceWorker.register({json.dumps(script_path)},
                                         {{scope: {json.dumps(scope)}}});
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {{
    await new Promise((resolve) =>
      navigator.serviceWorker.addEventListener('controllerchange', resolve));
  }}
}}"""
        )
        self._attach_worker(script_path)

    def _attach_worker(self, script_path: str) -> None:
        if self.browser is None:
            raise BrowserError("browser not started")
        self._browser_cdp = self.browser.new_browser_cdp_session()
        targets = self._browser_cdp.send("Target.getTargets")["targetInfos"]
        workers = [
            t for t in targets if t["type"] == "service_worker" and t["url"].endswith(script_path)
        ]
        if not workers:
            raise BrowserError(f"no service worker target for {script_path}: {targets}")
        self._browser_cdp.on("Target.receivedMessageFromTarget", self._on_worker_message)
        self._worker_session = self._browser_cdp.send(
            "Target.attachToTarget", {"targetId": workers[0]["targetId"], "flatten": False}
        )["sessionId"]
        for domain in ("Network", "Log"):
            self._send_to_worker(f"{domain}.enable")
        # The enable commands are asynchronous messages; one round trip makes sure the
        # worker reports before the first scenario request goes out.
        self.pump(100)

    def _send_to_worker(self, method: str, params: dict[str, Any] | None = None) -> None:
        assert self._browser_cdp is not None and self._worker_session is not None
        message = {"id": next(self._message_ids), "method": method, "params": params or {}}
        self._browser_cdp.send(
            "Target.sendMessageToTarget",
            {"sessionId": self._worker_session, "message": json.dumps(message)},
        )

    def _on_worker_message(self, params: dict[str, Any]) -> None:
        if params.get("sessionId") != self._worker_session:
            return
        message = json.loads(params["message"])
        if "method" in message:
            self.worker_log.handle(message["method"], message.get("params", {}))

    # --- dedicated workers and out-of-process iframes -------------------------------------

    def _send_to_child(self, session: str, method: str) -> int:
        assert self._cdp is not None
        message_id = next(self._message_ids)
        message = {"id": message_id, "method": method, "params": {}}
        try:
            self._cdp.send(
                "Target.sendMessageToTarget",
                {"sessionId": session, "message": json.dumps(message)},
            )
        except PlaywrightError:
            # The child already went away (a frame removed, a worker ended): nothing to read.
            self._children.pop(session, None)
        return message_id

    def _on_child_attached(self, params: dict[str, Any]) -> None:
        session = params["sessionId"]
        self._children[session] = None
        enable = self._send_to_child(session, "Network.enable")
        if session in self._children:  # still there: wait for its answer
            self._children[session] = enable
        self._send_to_child(session, "Log.enable")
        # Resuming does not hold the child until Network answers: Playwright's own session
        # resumes it too. Hence `children_listening`, which the runner waits on.
        self._send_to_child(session, "Runtime.runIfWaitingForDebugger")

    def _on_child_message(self, params: dict[str, Any]) -> None:
        session = params.get("sessionId")
        if session not in self._children:
            return
        message = json.loads(params["message"])
        if "method" in message:
            self.child_log.handle(message["method"], message.get("params", {}))
        elif message.get("id") == self._children[session]:
            self._children[session] = None

    def _on_child_detached(self, params: dict[str, Any]) -> None:
        self._children.pop(params.get("sessionId", ""), None)

    def children_listening(self) -> bool:
        """Has every attached worker and out-of-process frame turned its Network on?"""
        return all(pending is None for pending in self._children.values())
