"""Run every scenario once through servers, mitmdump and Chromium; keep Chromium's verdicts."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from analysis.lab import js, pages
from analysis.lab.browser import LabBrowser, NetRecord
from analysis.lab.proxy import Proxy, ProxyConfig, ProxyError, capture_addon_args
from analysis.lab.responder import fill
from analysis.lab.scenarios import SCENARIOS
from analysis.lab.servers import LabServers, start_servers
from analysis.lab.spec import ELEMENT_CLIENTS, Call, Scenario, Visit

# How long DevTools may lag behind the page's own promise; generous, since it only bounds
# a failure (a request that never reports), never a normal run.
_SETTLE_S = 5.0
# Console lines come from the renderer, network events from the browser process: a line may
# trail the verdict it explains by a moment.
_CONSOLE_S = 1.0
# The capture addon's probe in a worker script reports the worker's calls with a fetch of
# its own about 300 ms after they settle (addons/probe.js TIMING_WAIT_MS), and the worker
# dies with the browser: a worker's call at the end of a run must wait for that report.
_PROBE_REPORT_S = 2.0
PROBE_REPORT_PATH = "/__corscope__/report"
"""Where the probe sends its reports (addons/probe.py REPORT_PATH), on its context's origin."""


class LabError(RuntimeError):
    pass


@dataclass(frozen=True)
class GroundTruth:
    """Chromium's own decision on a scenario's decisive request."""

    scenario_id: str
    url: str
    """The URL the page requested (first URL of a redirect chain)."""
    method: str
    """As Chromium sent it (`patch` stays lower case)."""
    blocked: bool
    cors_error: str | None
    failed_parameter: str | None
    js_result: dict[str, Any]
    page_url: str
    details: dict[str, Any] = field(default_factory=dict)
    """error_text, status, preflights, from_disk_cache, from_service_worker, verdict_from
    (`page` or `worker`), observed (False if DevTools never reported the request),
    server_hits (what reached the lab servers during the decisive visit)."""
    console: list[str] = field(default_factory=list)
    """Chromium's console CORS errors for the decisive request ("Access to fetch at '<url>'
    … has been blocked by CORS policy: …"), the page's then the worker's, oldest first."""


@dataclass
class LabRun:
    workdir: Path
    results: list[GroundTruth]
    flow_path: Path
    capture_path: Path | None
    """None when no capture addon ran or it wrote nothing."""
    ground_truth_path: Path
    origins: dict[str, str]
    """Page origins by key, shared by every scenario."""
    duration_s: float
    warnings: list[str] = field(default_factory=list)
    probe: bool = False
    """Whether the capture addon ran with its in-page probe."""
    deployments: dict[str, dict[str, str]] = field(default_factory=dict)
    """Deployment → its API origins by key (`api`, `api2`, `api_https`, `dead`)."""
    scenario_deployments: dict[str, str] = field(default_factory=dict)
    """Scenario id → its deployment."""

    def by_id(self) -> dict[str, GroundTruth]:
        return {r.scenario_id: r for r in self.results}

    def origins_of(self, scenario_id: str | None = None) -> dict[str, str]:
        """Page origins, plus the API origins of the scenario's deployment."""
        deployment = self.scenario_deployments.get(scenario_id or "", "")
        return {**self.origins, **self.deployments.get(deployment, {})}

    def fill(self, template: str, scenario_id: str | None = None) -> str:
        """A scenario template (`{app}/`, `{api_port}` …) with this run's origins; API
        keys need the scenario, since each deployment has its own."""
        origins = self.origins_of(scenario_id)
        values = dict(origins)
        values.update({f"{k}_port": url.rsplit(":", 1)[1] for k, url in origins.items()})
        return fill(template, values)


def run_lab(
    workdir: Path | str,
    scenarios: tuple[Scenario, ...] | list[Scenario] | None = None,
    *,
    proxy_args: tuple[str, ...] | None = None,
    probe: bool = True,
    first_port: int | None = None,
) -> LabRun:
    """Run the lab in `workdir` (created if needed).

    `proxy_args` are extra mitmdump arguments; by default the project's capture addon
    (`addons/cors.py`) is loaded when it exists, writing `capture.jsonl` in workdir, with
    its in-page probe on unless `probe` is false. `first_port` fixes the servers' ports
    (see `start_servers`), for recordings that must name the same origins every time.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    chosen = tuple(SCENARIOS if scenarios is None else scenarios)
    flow_path = workdir / "flows.mitm"
    capture_path = workdir / "capture.jsonl"
    for stale in (flow_path, capture_path):
        stale.unlink(missing_ok=True)
    extra = capture_addon_args(capture_path, probe=probe) if proxy_args is None else proxy_args
    warnings: list[str] = []

    started = time.monotonic()
    with start_servers(chosen, workdir, first_port) as servers:
        config = ProxyConfig(
            flow_path=flow_path,
            confdir=workdir / "mitmproxy-conf",
            log_path=workdir / "mitmdump.log",
            host_map=servers.host_map,
            extra_args=extra,
        )
        proxy = Proxy(config)
        try:
            proxy.start()
        except ProxyError as error:
            if not extra:
                raise
            # A colleague's addon still in progress must not take the whole lab down.
            warnings.append(f"mitmdump failed with {' '.join(extra)}; ran without: {error}")
            config.extra_args = ()
            proxy.start()
        try:
            with LabBrowser(proxy.url, servers.host_map) as browser:
                if any(s.worker for s in chosen):
                    browser.install_worker(
                        servers.url("app", pages.page_path("sw", "_install")),
                        pages.WORKER_PATH,
                        pages.WORKER_SCOPE,
                    )
                probed = probe and bool(config.extra_args)
                results = [run_scenario(browser, servers, s, probe=probed) for s in chosen]
        finally:
            stopped = proxy.stop()
            if stopped:
                warnings.append(stopped)
    duration = time.monotonic() - started

    capture = capture_path if capture_path.exists() and capture_path.stat().st_size else None
    truth_path = workdir / "ground_truth.json"
    run = LabRun(
        workdir=workdir,
        results=results,
        flow_path=flow_path,
        capture_path=capture,
        ground_truth_path=truth_path,
        origins={k: o.url for k, o in servers.origins.items()},
        duration_s=duration,
        warnings=warnings,
        probe=probe and bool(config.extra_args),
        deployments={
            d: {k: o.url for k, o in keys.items()} for d, keys in servers.deployments.items()
        },
        scenario_deployments={s.id: s.deployment_id for s in chosen},
    )
    write_ground_truth(run)
    return run


def write_ground_truth(run: LabRun) -> None:
    document = {
        "flow_file": str(run.flow_path),
        "capture": None if run.capture_path is None else str(run.capture_path),
        "origins": run.origins,
        "deployments": run.deployments,
        "scenario_deployments": run.scenario_deployments,
        "duration_s": round(run.duration_s, 2),
        "warnings": run.warnings,
        "probe": run.probe,
        "results": [asdict(r) for r in run.results],
    }
    run.ground_truth_path.write_text(json.dumps(document, indent=2) + "\n")


def request_url(servers: LabServers, scenario: Scenario, visit: Visit) -> str:
    return servers.url(visit.call.api, scenario.path + visit.call.sub, scenario)


def _perform(
    browser: LabBrowser, servers: LabServers, scenario: Scenario, visit: Visit
) -> tuple[str, dict[str, Any]]:
    page_url = servers.url(visit.page, pages.page_path(visit.page_kind, scenario.id))
    if visit.page_kind == "sandboxed":
        browser.goto(page_url)  # an opaque origin cannot rewrite its own URL
    else:
        browser.open(page_url, pages.page_path(visit.page_kind, ""))
    if visit.page_kind == "sw" and not browser.evaluate(
        "() => navigator.serviceWorker.controller !== null"
    ):
        raise LabError(f"{scenario.id}: the lab service worker does not control {page_url}")
    setup, source = _scripts(servers, scenario, visit)
    if setup is not None:
        if not browser.evaluate(setup):
            raise LabError(f"{scenario.id}: the {visit.context} context did not start")
        # A worker or an out-of-process frame reports its requests on its own target.
        browser.wait_until(browser.children_listening, _SETTLE_S)
        source = js.in_context(source)
    return page_url, browser.evaluate(source)


def _scripts(servers: LabServers, scenario: Scenario, visit: Visit) -> tuple[str | None, str]:
    """The script that makes the visit's context (None: the page itself) and the call's."""
    source = js.render(visit.call, request_url(servers, scenario, visit))
    worker_url = servers.url(visit.page, pages.CONTEXT_WORKER_PATH)
    frame_url = servers.url(visit.frame or visit.page, pages.FRAME_PREFIX + scenario.id)
    return js.context_setup(visit.context, worker_url, frame_url), source


def _records(browser: LabBrowser, url: str, mark: int) -> list[NetRecord]:
    """The page's own records of `url`; a dedicated worker's or an out-of-process frame's
    when the page has none (their requests are reported on their own targets only)."""
    return browser.page_log.matching(url, mark) or browser.child_log.matching(url, mark)


def probe_report_url(visit: Visit, page_origin: str) -> str | None:
    """Where the probe in the visit's context reports its calls when that context is a
    worker the proxy served (a blob: or data: worker's script never passes the proxy, so
    holds no probe); None for a document, whose probe reports when the page goes."""
    if visit.context not in ("worker", "module-worker"):
        return None
    return page_origin + PROBE_REPORT_PATH


def run_scenario(
    browser: LabBrowser, servers: LabServers, scenario: Scenario, *, probe: bool = False
) -> GroundTruth:
    """Run one scenario; `probe`: the capture addon's probe is in the lab's pages."""
    for visit in scenario.before:
        mark = browser.mark()
        _perform(browser, servers, scenario, visit)
        url = request_url(servers, scenario, visit)
        # sendBeacon() returns once the beacon is queued, before any request: wait until it
        # shows, or it goes out during the decisive visit and is taken for that one's.
        queued = visit.call.client == "beacon"
        browser.wait_until(
            lambda url=url, mark=mark, queued=queued: _all_done(
                _records(browser, url, mark), need_one=queued
            ),
            _SETTLE_S,
        )

    mark = browser.mark()
    hits_before = len(servers.hits)
    page_url, js_result = _perform(browser, servers, scenario, scenario.visit)
    url = request_url(servers, scenario, scenario.visit)

    def settled() -> bool:
        seen = _records(browser, url, mark)
        if not seen or not seen[-1].done:
            return False
        # A worker that fetches on the page's behalf may report its own verdict a moment
        # after the page's; a Cache Storage hit or synthetic answer makes no request.
        if scenario.worker in ("pass", "opaque"):
            return _all_done(browser.worker_log.matching(url, mark), need_one=True)
        return True

    browser.wait_until(settled, _SETTLE_S)
    report = probe_report_url(scenario.visit, servers.url(scenario.visit.page)) if probe else None
    if report is not None:
        browser.wait_until(lambda: bool(browser.child_log.matching(report, mark)), _PROBE_REPORT_S)
    # What reached the servers during the decisive visit: empty when a cache answered.
    hits = [
        f"{h.method} {h.path} (Origin: {h.origin_header}) -> {h.status}"
        for h in servers.hits[hits_before:]
        if h.path.startswith(scenario.path)
    ]
    truth = _truth(browser, scenario, url, page_url, js_result, mark)
    if truth.cors_error is not None:
        browser.wait_until(lambda: bool(_console(browser, url, mark)), _CONSOLE_S)
    truth = replace(truth, console=_console(browser, url, mark))
    truth.details["server_hits"] = hits
    refusals = _mime_refusals(browser, scenario.call, truth.js_result, mark)
    if refusals and truth.cors_error is None:
        # Blink read the answer and refused it for its Content-Type: the element fails as
        # surely as on a network error, though DevTools shows the load finished (a script)
        # or cancelled (a stylesheet, net::ERR_ABORTED), with no blockedReason.
        truth = replace(truth, blocked=True)
        truth.details["blocked_reason"] = "content-type"
        truth.details["mime_refused"] = refusals
    if scenario.call.client == "beacon" and truth.details.get("observed") is False and not hits:
        # sendBeacon() queued it and learns nothing more, yet no request reached DevTools
        # or a server: the browser refused it before sending (the page's CSP connect-src;
        # measured, Chromium 156, whose console names the violation).
        truth = replace(truth, blocked=True)
    setup, source = _scripts(servers, scenario, scenario.visit)
    truth.details["js"] = source if setup is None else f"{setup}\n// then, in it:\n{source}"
    return truth


def _dropped_by_client(call: Call, record: NetRecord) -> bool:
    """An element, an EventSource or an `import()` that received its final answer and gave
    up on it: a script, module (preloaded or imported) or stylesheet answered 404 or 500, a
    font answered 500, an event stream of another type than text/event-stream. Chromium
    cancels the load (net::ERR_ABORTED, no CORS error; measured, Chromium 156) and the
    client fires its error event, which says nothing about CORS: the answer passed its
    checks. A cancel on a redirect (status 3xx) is the browser refusing to follow it, and
    stays a failure."""
    if call.client not in ELEMENT_CLIENTS and call.client not in ("eventsource", "import"):
        return False
    return record.canceled and record.status is not None and not 300 <= record.status < 400


def _beacon_redirect_refused(call: Call, record: NetRecord) -> bool:
    """A beacon whose load Chromium cancelled on a redirect: the browser refused to follow
    it (to a plain http URL from an https page: Playwright's HAR names the target
    mixed-content; measured, Chromium 156). The page never learns how a beacon ended, so
    only the cancel shows the refusal; a beacon that follows its redirect completes."""
    return (
        call.client == "beacon"
        and record.canceled
        and record.status is not None
        and 300 <= record.status < 400
    )


# Failures of a body whose headers Chromium had received and passed through CORS. A body
# cut short reaches the browser as such only without a proxy (mitmproxy answers 502 itself).
_BODY_ERRORS = frozenset({"net::ERR_CONTENT_DECODING_FAILED", "net::ERR_CONTENT_LENGTH_MISMATCH"})


def _body_failed_after_answer(js_result: dict[str, Any], record: NetRecord) -> bool:
    """Only reading the body failed: fetch() resolved and `text()` rejected, or (XHR, whose
    error event cannot tell) DevTools reported the answer's status, no CORS error, and a
    body's failure (a body that does not decode as its Content-Encoding says, or is shorter
    than its Content-Length; measured, Chromium 156). The answer passed CORS; the failure is
    not a verdict on the request."""
    if js_result.get("error") is None and js_result.get("body_error") is not None:
        return True
    return (
        record.status is not None
        and record.cors_error is None
        and record.error_text in _BODY_ERRORS
    )


def _mime_refusals(
    browser: LabBrowser, call: Call, js_result: dict[str, Any], mark: int
) -> list[str]:
    """Blink's console errors refusing the decisive answer for its MIME type (see
    `NetLog.mime_lines`); looked for only when the page saw its element or import fail."""
    if js_result.get("error") is None:
        return []
    if call.client not in ELEMENT_CLIENTS and call.client != "import":
        return []
    logs = (browser.page_log, browser.child_log)

    def found() -> list[str]:
        return [line for log in logs for line in log.mime_lines(mark)]

    browser.wait_until(lambda: bool(found()), _CONSOLE_S)
    return found()


def _console(browser: LabBrowser, url: str, mark: int) -> list[str]:
    logs = (browser.page_log, browser.child_log, browser.worker_log)
    return [line for log in logs for line in log.cors_lines(url, mark)]


def _all_done(records: list[NetRecord], need_one: bool = False) -> bool:
    return (bool(records) or not need_one) and all(r.done for r in records)


def _truth(
    browser: LabBrowser,
    scenario: Scenario,
    url: str,
    page_url: str,
    js_result: dict[str, Any],
    mark: int,
) -> GroundTruth:
    seen = _records(browser, url, mark)
    if not seen:
        return GroundTruth(
            scenario.id,
            url,
            scenario.call.method,
            blocked=js_result.get("error") is not None,
            cors_error=None,
            failed_parameter=None,
            js_result=js_result,
            page_url=page_url,
            details={"observed": False},
        )
    record = seen[-1]
    cors_error, parameter, verdict_from = record.cors_error, record.failed_parameter, record.source
    worker_records = browser.worker_log.matching(url, mark)
    if record.failed and cors_error is None and worker_records:
        # The page only learns net::ERR_FAILED; the worker's own fetch holds the reason.
        worker = worker_records[-1]
        if worker.cors_error is not None:
            cors_error, parameter, verdict_from = (
                worker.cors_error,
                worker.failed_parameter,
                "worker",
            )
    details: dict[str, Any] = {
        "observed": record.done,
        "verdict_from": verdict_from,
        "error_text": record.error_text,
        "canceled": record.canceled,
        "blocked_reason": record.blocked_reason,
        "status": record.status,
        "redirects": record.urls[1:],
        "requests": len(seen),
        "preflights": sum(
            len(log.preflights_of(r)) for r in seen for log in (browser.page_log, browser.child_log)
        ),
        "from_disk_cache": record.from_disk_cache,
        "from_service_worker": record.from_service_worker,
        "worker_requests": [
            {
                "method": w.method,
                "failed": w.failed,
                "cors_error": w.cors_error,
                "failed_parameter": w.failed_parameter,
                "error_text": w.error_text,
            }
            for w in worker_records
        ],
    }
    # A load the page itself dropped (the unread body of an opaque no-cors answer reports
    # net::ERR_ABORTED) is not a verdict; JavaScript received its response. A load the
    # renderer cancelled while following a redirect (one it refuses, such as to a URL with
    # embedded credentials) is: JavaScript saw the fetch fail.
    script_saw_failure = js_result.get("error") is not None and not _dropped_by_client(
        scenario.call, record
    )
    blocked = (
        record.failed
        and not _body_failed_after_answer(js_result, record)
        and (
            cors_error is not None
            or not record.canceled
            or script_saw_failure
            or _beacon_redirect_refused(scenario.call, record)
        )
    )
    return GroundTruth(
        scenario_id=scenario.id,
        url=url,
        method=record.method,
        blocked=blocked,
        cors_error=cors_error,
        failed_parameter=parameter,
        js_result=js_result,
        page_url=page_url,
        details=details,
    )
