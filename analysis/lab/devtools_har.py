"""Record a lab run as Chrome DevTools' own "Export HAR (with sensitive data)" writes it.

Chromium serves its bundled DevTools frontend on the remote-debugging port. It is opened
in a second tab of the lab's browser, inspecting the lab's page, and at the end its own
HAR writer (`models/har/Writer.ts`, `harStringForRequests`) is called on its own network
log, filtered as the Network panel's `harRequests()` filters it: the file is byte for
byte what a user's "Export HAR" gives, not a Python imitation of it.

    port = free_port()
    with LabBrowser(None, host_map, extra_flags=(f"--remote-debugging-port={port}",)) as b:
        recorder = DevToolsHar(b, port)
        recorder.open()
        ...  # run scenarios
        har_text = recorder.export()
"""

from __future__ import annotations

import socket
import time

from playwright.sync_api import Page

from analysis.lab.browser import BrowserError, LabBrowser

_ATTACH_TIMEOUT_S = 20.0

_SETUP = """async () => {
  const SDK = await import('./core/sdk/sdk.js');
  const Common = await import('./core/common/common.js');
  const Logs = await import('./models/logs/logs.js');
  Logs.NetworkLog.NetworkLog.instance();
  // "Preserve log": the lab navigates from page to page.
  Common.Settings.Settings.instance()
      .resolve(SDK.SDKSettings.preserveNetworkLogSettingDescriptor).set(true);
  const target = SDK.TargetManager.TargetManager.instance().primaryPageTarget();
  return Boolean(target && target.model(SDK.NetworkManager.NetworkManager));
}"""

# NetworkLogView.harRequests(): every request of the log with an HTTP(S) URL that finished
# (the panel's default filter passes everything else); then what Writer.write puts in the
# file.
_EXPORT = """async () => {
  const Logs = await import('./models/logs/logs.js');
  const HAR = await import('./models/har/har.js');
  const Common = await import('./core/common/common.js');
  const Network = await import('./panels/network/network.js');
  const view = Network.NetworkLogView.NetworkLogView;
  const requests = Logs.NetworkLog.NetworkLog.instance().requests()
      .filter(view.getHTTPRequestsFilter)
      .filter(r => r.finished || !!r.eventSourceMessages()?.length);
  const progress = new Common.Progress.CompositeProgress(new Common.Progress.Progress());
  return await HAR.Writer.Writer.harStringForRequests(requests, {sanitize: false}, progress);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevToolsHar:
    """The DevTools frontend of `browser`'s page; `browser` must have been started with
    `--remote-debugging-port=port`."""

    def __init__(self, browser: LabBrowser, port: int) -> None:
        self.browser = browser
        self.port = port
        self.frontend: Page | None = None

    def open(self) -> None:
        if self.browser.context is None:
            raise BrowserError("browser not started")
        target = self.browser.page_target_id
        self.frontend = self.browser.context.new_page()
        self.frontend.goto(
            f"http://127.0.0.1:{self.port}/devtools/devtools_app.html"
            f"?ws=127.0.0.1:{self.port}/devtools/page/{target}"
        )
        deadline = time.monotonic() + _ATTACH_TIMEOUT_S
        while not self.frontend.evaluate(_SETUP):
            if time.monotonic() > deadline:
                raise BrowserError("the DevTools frontend did not attach to the lab's page")
            self.frontend.wait_for_timeout(200)
        self.frontend.wait_for_timeout(500)

    def export(self) -> str:
        """The HAR text of everything the frontend logged since `open`."""
        if self.frontend is None:
            raise BrowserError("the DevTools frontend is not open")
        self.frontend.wait_for_timeout(1500)  # the last responses' bodies arrive late
        return str(self.frontend.evaluate(_EXPORT))
