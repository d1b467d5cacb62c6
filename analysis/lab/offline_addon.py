"""mitmproxy addon for the lab only: nothing leaves the machine.

Chromium keeps calling Google hosts despite every flag; answering those locally means
mitmproxy never resolves or connects to them. The lab's made-up names (www.app.test, …)
are routed to their loopback address here, because the browser hands names to the proxy
unresolved and no resolver knows them.

It also flushes mitmdump's flow file while the lab runs: mitmdump buffers it until it
exits, so when a shutdown hangs (another addon's `done`, say) and the lab has to kill it,
the last flows of the session would be lost. And it says where such a hang is: SIGUSR1
writes every thread's stack to the log, SIGUSR2 every asyncio task's (the lab sends both
before it kills a mitmdump that ignored SIGINT).

Loaded by path with `mitmdump -s`, so it imports nothing from the project.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import ipaddress
import signal
import sys

from mitmproxy import ctx, http
from mitmproxy.proxy import server_hooks

OFFLINE_HEADER = "X-Corscope-Lab-Offline"
FLUSH_EVERY_S = 0.1


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LabOffline:
    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def running(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever())
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, _dump_tasks)

    def done(self) -> None:
        # Runs before the addons loaded after it: the file is complete even if one of
        # their `done` hooks never returns.
        if self._flusher is not None:
            self._flusher.cancel()
        self._flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self._flush()

    def _flush(self) -> None:
        save = ctx.master.addons.get("save")
        stream = getattr(save, "stream", None)
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.fo.flush()

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option(
            "lab_hosts", str, "", "Comma-separated name=loopback-ip pairs the lab serves."
        )

    def configure(self, updated: set[str]) -> None:
        if "lab_hosts" in updated:
            pairs = (p.split("=", 1) for p in ctx.options.lab_hosts.split(",") if "=" in p)
            self.hosts = {name.strip().lower(): ip.strip() for name, ip in pairs}

    def _allowed(self, host: str) -> bool:
        return _is_loopback(host) or host.lower() in self.hosts

    def _refuse(self, flow: http.HTTPFlow) -> None:
        flow.response = http.Response.make(
            403, b"corscope lab: offline", {"Content-Type": "text/plain", OFFLINE_HEADER: "1"}
        )

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # Answer CONNECT before mitmproxy dials the target: a refused tunnel is never opened.
        if not self._allowed(flow.request.host):
            self._refuse(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        if not self._allowed(flow.request.host):
            self._refuse(flow)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        if address is None:
            return
        host, port = address
        if host.lower() in self.hosts:
            data.server.address = (self.hosts[host.lower()], port)
        elif not _is_loopback(host):
            data.server.error = "corscope lab: connections off loopback are refused"


def _dump_tasks() -> None:
    for task in asyncio.all_tasks():
        print(f"--- asyncio task {task.get_name()}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


addons = [LabOffline()]
