"""corscope's mitmproxy addon: record every cross-origin exchange, decide it as the browser
did, and say so while you browse.

    mitmdump -s addons/cors.py            # or mitmproxy / mitmweb
    mitmdump -s addons/cors.py --set cors_capture=session.jsonl --set cors_probe=false

Options: `cors_capture` (the capture file, "" = none), `cors_probe` (inject the page probe),
`cors_redact` (secret header values left out of the capture), `cors_quiet` (no log lines
per blocked exchange), `cors_worker` (record and decide in a second process). Commands:
`cors.report PATH` (the JSON analysis of the session so far), `cors.har PATH` (the session
as a standard HAR).

This file is the mitmproxy face: hooks, options, commands, the live log, and the hand-over
to the analysis worker (`addons/worker.py`), which runs this same class on the other side
of a pipe (`record_snapshot`, `take_beacon_records`, `worker_call`). The work is in the
modules beside it, which import nothing beyond the standard library, mitmproxy and
corscope's standard-library engine, so the addon loads in any Python that has mitmproxy.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import secrets
import sys
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _engine_importable() -> None:
    """Users run this file from a checkout (`-s addons/cors.py`), often with a mitmproxy
    that has never heard of corscope: then the checkout itself must be importable. (An
    unrelated package that happens to be called `analysis` does not count.)"""
    try:
        found = importlib.util.find_spec("analysis.verdict") is not None
    except ImportError:
        found = False
    if not found:
        sys.modules.pop("analysis", None)
        root = str(Path(__file__).resolve().parent.parent)
        if root not in sys.path:
            sys.path.insert(0, root)


_engine_importable()

from mitmproxy import command, ctx, exceptions, hooks, http, types, version  # noqa: E402

from addons import probe  # noqa: E402
from addons.beacon import Beacon, Junk, PageRecord, parse  # noqa: E402
from addons.capture import text  # noqa: E402
from addons.flowmarks import (  # noqa: E402
    blocked_line,
    carry_over,
    metadata,
    show_on_flows,
    warning_line,
)
from addons.guard import Failures, guarded  # noqa: E402
from addons.join import Annotate, Joiner, NewEntry, credentialed  # noqa: E402
from addons.live import Decision, LiveVerdicts  # noqa: E402
from addons.record import Recorder  # noqa: E402
from addons.report import ReportError, write_har, write_report  # noqa: E402
from addons.rules import (  # noqa: E402
    EmbedderPolicies,
    Facts,
    RedirectTargets,
    is_cors_relevant,
    pick,
    refused_as_same_origin,
)
from addons.session import Session, meta_line  # noqa: E402
from addons.snapshot import rebuild, snapshot, strip_bodies  # noqa: E402
from addons.worker import Worker, WorkerError, WorkerGone  # noqa: E402
from analysis.model import origin_of  # noqa: E402
from analysis.readers.errors import InputError  # noqa: E402
from analysis.readers.har import entry_to_captured  # noqa: E402
from analysis.readers.hints import cors_hints  # noqa: E402

logger = logging.getLogger("corscope")

INTERNAL = "corscope_internal"
"""flow.metadata key on the probe's own requests: answered here, never recorded."""


_CONDITIONS = {
    "credentials-include": "if sent with credentials",
    # A POST with Origin but no Sec-Fetch-Mode (an http page on a name): a beacon or a
    # no-cors fetch sends Origin too, and the probe that would say which may be off.
    "cors-mode": "if sent in CORS mode (fetch, XHR)",
    "cors-mode-credentials-include": "if sent in CORS mode (fetch, XHR) with credentials",
}
"""The verdicts that depend on what the wire cannot show, and how the live log says so."""


class CorsScope:
    def __init__(self) -> None:
        self.failures = Failures()
        self.session = Session()
        self.live = LiveVerdicts()
        self.redirects = RedirectTargets()
        self.documents = EmbedderPolicies()
        self.token = secrets.token_hex(3)
        self.joiner = Joiner(self._new_id)
        self.recorder = Recorder()
        self.counts: Counter[str] = Counter()
        self.assets: probe.Assets | None = None
        self._ids = 0
        self._capture_option: str | None = None
        self._warning_kinds: set[str] = set()
        self._conditional_kinds: set[tuple[str | None, str | None]] = set()
        self._said: set[tuple[str, str]] = set()
        self._last_expiry = float("-inf")
        # mitmproxy deep-copies an option's value on every read: hooks use these copies.
        self._probe = False
        self._quiet = False
        self._redact = True
        # mitmproxy looks each hook up on the addon for every flow and pays for every call
        # it makes: the request hooks exist only while the probe is on (see _hook_routes).
        self.requestheaders: Callable[[http.HTTPFlow], None] | None = None
        self.request: Callable[[http.HTTPFlow], None] | None = None
        # With a worker (the proxy's side): the flows whose verdicts are still to come.
        self.worker: Worker | None = None
        self._flows: weakref.WeakValueDictionary[str, http.HTTPFlow] = weakref.WeakValueDictionary()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.verdicts_back = False
        """Does the worker send verdicts back (see `_use_worker`)?"""
        self._capture_path: str | None = None
        # In the worker: the flows a verdict was written to, to send back; and the
        # rebuilt flows kept alive while a later verdict may still change them.
        self.sink: list[http.HTTPFlow] | None = None
        self._kept: OrderedDict[str, http.HTTPFlow] = OrderedDict()

    # --- options ---------------------------------------------------------------------------

    def load(self, loader: Any) -> None:
        loader.add_option(
            "cors_capture",
            str,
            "corscope-capture.jsonl",
            """
            corscope: append every cross-origin exchange to this capture file (JSON Lines,
            one HAR entry per line), flushed per exchange. Empty: no file; the session is
            kept in memory for cors.report and cors.har.
            """,
        )
        loader.add_option(
            "cors_probe",
            bool,
            True,
            """
            corscope: inject a small probe script into HTML pages and worker scripts (and
            an agent into service-worker scripts) that reports what only the browser
            knows: mode, credentials, failures, HTTP-cache and service-worker answers.
            Off: the addon changes no traffic at all.
            """,
        )
        loader.add_option(
            "cors_redact",
            bool,
            True,
            """
            corscope: replace secret header values (Cookie, Set-Cookie, Authorization,
            API-key headers) in the capture file; their names stay, so verdicts are the same.
            """,
        )
        loader.add_option(
            "cors_quiet",
            bool,
            False,
            "corscope: no log line per blocked exchange or new warning kind.",
        )
        loader.add_option(
            "cors_worker",
            bool,
            True,
            """
            corscope: record and decide in a second process, at a lower CPU priority, so
            the proxy only copies each cross-origin flow into a pipe; verdicts reach flows a
            moment later. Off: all of it happens inside the proxy, in the flow's own hook.
            """,
        )

    def configure(self, updated: set[str]) -> None:
        if "cors_quiet" in updated:
            self._quiet = bool(ctx.options.cors_quiet)
        if "cors_redact" in updated:
            self._redact = bool(ctx.options.cors_redact)
        # A worker started here is given the settings above as it starts.
        started = "cors_worker" in updated and self._use_worker(bool(ctx.options.cors_worker))
        if "cors_capture" in updated and ctx.options.cors_capture != self._capture_option:
            path = os.path.expanduser(ctx.options.cors_capture)
            self._open_capture(path)
            self._capture_option = ctx.options.cors_capture
            self._capture_path = path
            if path:
                logger.info(
                    "corscope: recording cross-origin exchanges to %s", os.path.abspath(path)
                )
            else:
                logger.info("corscope: capture off; the session is kept in memory")
        if "cors_probe" in updated:
            self._probe = bool(ctx.options.cors_probe)
        if "cors_probe" in updated and self._probe and self.assets is None:
            try:
                self.assets = probe.load_assets()
            except OSError as e:
                logger.error(
                    "corscope: the page probe's scripts are missing (%s); running without "
                    "the probe",
                    e,
                )
        if self.worker is not None and not started and updated & {"cors_quiet", "cors_redact"}:
            self._call("settings", self._quiet, self._redact, self.verdicts_back)
        self._hook_routes()

    def _open_capture(self, path: str) -> None:
        try:
            if self.worker is not None:
                self._call("capture", path, self._meta())
            else:
                self.session.open(path, self._meta())
        except (OSError, WorkerError) as e:
            why = str(e) if isinstance(e, WorkerError) else f"{e.strerror or e}"
            raise exceptions.OptionsError(f"cors_capture: cannot append to {path}: {why}") from None

    def _hook_routes(self) -> None:
        """The probe's reserved paths need the request hooks; nothing else does."""
        on = self._probe_on()
        self.requestheaders = self._route_requestheaders if on else None
        self.request = self._route_request if on else None

    def _meta(self) -> dict[str, Any]:
        return meta_line(
            session=self.token,
            started=datetime.now(UTC).isoformat(),
            mitmproxy=version.VERSION,
        )

    def _probe_on(self) -> bool:
        return self._probe and self.assets is not None

    # --- hooks -------------------------------------------------------------------------------

    @guarded("requestheaders")
    def _route_requestheaders(self, flow: http.HTTPFlow) -> None:
        if not self._probe_on() or probe.reserved_route(flow.request) is None:
            return
        flow.metadata[INTERNAL] = True
        length = flow.request.headers.get("content-length", "")
        if length.isdigit() and int(length) > probe.MAX_REPORT_BYTES:
            # Refuse before mitmproxy buffers a body nobody asked for.
            flow.kill()

    @guarded("request")
    def _route_request(self, flow: http.HTTPFlow) -> None:
        if not self._probe_on():
            return
        route = probe.reserved_route(flow.request)
        if route is None:
            return
        flow.metadata[INTERNAL] = True
        assert self.assets is not None
        method = flow.request.method
        if route == probe.PROBE_PATH and method in ("GET", "HEAD"):
            flow.response = probe.script_response(self.assets)
            return
        if route != probe.REPORT_PATH:
            flow.response = probe.empty_response(404)
            return
        if method != "POST":
            flow.response = probe.empty_response(405)
            return
        status = 500
        try:
            status = self._take_beacon(flow)
        finally:
            # Whatever happened inside, the report never travels on to the server.
            flow.response = probe.empty_response(status)

    @guarded("response")
    def response(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(INTERNAL):
            return
        facts = pick(flow.request.headers.fields)
        self._record(flow, facts)
        if self._probe_on():
            self._inject(flow, facts)

    @guarded("error")
    def error(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(INTERNAL):
            return
        self._record(flow, pick(flow.request.headers.fields))

    @guarded("done")
    def done(self) -> None:
        if self.worker is not None:
            # The worker finishes what it was sent, writes the rest and says what it did;
            # it stays to answer commands other addons run in their own `done`, and is let
            # go with this addon (a reloaded script drops it) or when this Python exits.
            try:
                self._call("done")
            except WorkerError as e:
                logger.error("corscope: %s", e)
            if self.worker is not None:
                self._unwatch()
                weakref.finalize(self, self.worker.close)
            return
        self._run_actions(self.joiner.expire(float("inf")))
        self.session.close()
        recorded, blocked = self.counts["recorded"], self.counts["blocked"]
        if recorded:
            where = ", ".join(self.session.describe())
            logger.info(
                "corscope: %d cross-origin requests recorded in %s (blocked exchanges: %d)",
                recorded,
                where,
                blocked,
            )

    # --- commands ----------------------------------------------------------------------------

    @command.command("cors.report")
    def report(self, path: types.Path) -> None:
        """Write the JSON analysis (corscope/1) of this session so far to PATH."""
        try:
            summary = (
                self._call("report", path)
                if self.worker is not None
                else write_report(self.session, path)
            )
        except (ReportError, WorkerError) as e:
            logger.error("%s", e)
            raise exceptions.CommandError(str(e)) from None
        logger.info(
            "corscope: report written to %s (%d exchanges, %d blocked)",
            path,
            summary["exchanges"],
            summary["blocked"],
        )

    @command.command("cors.har")
    def har(self, path: types.Path) -> None:
        """Write this session's cross-origin exchanges to PATH as a standard HAR 1.2 file."""
        try:
            if self.worker is not None:
                entries = self._call("har", path)
            else:
                entries = write_har(self.session, path)
        except (ReportError, WorkerError) as e:
            logger.error("%s", e)
            raise exceptions.CommandError(str(e)) from None
        logger.info("corscope: HAR with %d entries written to %s", entries, path)

    # --- recording ---------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._ids += 1
        return f"{self.token}-{self._ids}"

    def _record(self, flow: http.HTTPFlow, facts: Facts) -> None:
        if "corscope_id" in flow.metadata:
            return  # an error after the response: recorded already
        req = flow.request
        url_of = self.recorder.url
        relevant = (
            is_cors_relevant(req.method, facts, lambda: url_of(req))
            or (len(self.redirects) > 0 and self.redirects.take(url_of(req)))
            or self._refused_redirect(flow, facts)
            or self.documents.needed(
                facts,
                flow.response.headers.fields if flow.response is not None else None,
                lambda: url_of(req),
            )
        )
        if not relevant:
            return
        url = url_of(req)
        entry_id = self._new_id()
        if self.worker is not None:
            flow.metadata["corscope_id"] = entry_id
            # What the capture line's `_cors` will say, on the flow now: a `-w` flow file
            # written in this hook reads back as the capture does.
            flow.metadata["cors"] = metadata(entry_id, self.recorder.wire_hints(flow, facts), None)
            if self._send(("flow", snapshot(flow, entry_id, self._ids))):
                if self.verdicts_back:
                    self._flows[flow.id] = flow
                resp = flow.response
                if resp is not None and 300 <= resp.status_code < 400:
                    location = pick(resp.headers.fields, _LOCATION).get(b"location", b"")
                    self.redirects.note(resp.status_code, text(location), url)
                return
        self._record_as(flow, facts, url, entry_id, self._ids)

    def _refused_redirect(self, flow: http.HTTPFlow, facts: Facts) -> bool:
        resp = flow.response
        if resp is None:
            return False
        return refused_as_same_origin(
            facts,
            resp.status_code,
            lambda: text(pick(resp.headers.fields, _LOCATION).get(b"location", b"")),
            lambda: self.recorder.url(flow.request),
        )

    def _record_as(
        self, flow: http.HTTPFlow, facts: Facts, url: str, entry_id: str, order: int
    ) -> None:
        req = flow.request
        # The line is read back as `corscope analyze` will read it before it goes in (a
        # line the readers refuse would make the whole capture unreadable): `record`
        # raises for one.
        recorded = self.recorder.record(
            flow, entry_id, facts, url, redact=self._redact, order=order
        )
        self.session.write_line(recorded.line)
        flow.metadata["corscope_id"] = entry_id
        self.counts["recorded"] += 1
        tx = recorded.captured.tx
        self.joiner.remember(
            entry_id=entry_id,
            url=url,
            method=tx.request.method,
            started=tx.started if tx.started is not None else req.timestamp_start,
            acrm=recorded.acrm,
            mode=recorded.mode,
            origin=recorded.origin,
            cors=recorded.cors,
            cacheable=recorded.cacheable,
            response=recorded.response,
            credentialed=credentialed(req.headers),
            request_headers=tx.request.headers,
        )
        self.redirects.note(recorded.status, recorded.location, url)
        self._show(self.live.add(recorded.captured, entry_id, recorded.cors, flow))
        now = req.timestamp_start
        if self.joiner.waiting and now - self._last_expiry >= 1.0:
            self._last_expiry = now
            self._run_actions(self.joiner.expire(now))

    # --- showing verdicts ------------------------------------------------------------------

    def _show(self, decision: Decision) -> list[http.HTTPFlow]:
        """Put the verdict on the exchange's flows and in the log; return the flows touched."""
        touched = show_on_flows(decision)
        if self.sink is not None:
            self.sink.extend(touched)
        verdict = decision.verdict
        if decision.newly_blocked:
            self.counts["blocked"] += 1
            if not self._quiet:
                logger.warning("%s", blocked_line(decision.exchange, verdict))
        elif verdict.condition in _CONDITIONS and not decision.group.reported_blocked:
            # The wire does not say whether the page asked for credentials (a preflight
            # never carries them, and the probe may be off): said once per API origin and
            # reason, since an API that answers `*` to uncredentialed calls is common.
            kind = (origin_of(verdict.failed_url or decision.exchange.url), verdict.reason)
            if kind not in self._conditional_kinds:
                self._conditional_kinds.add(kind)
                if not self._quiet:
                    condition = _CONDITIONS[verdict.condition]
                    logger.warning(
                        "%s", blocked_line(decision.exchange, verdict, condition=condition)
                    )
        for w in verdict.warnings:
            if w.id not in self._warning_kinds:
                self._warning_kinds.add(w.id)
                if not self._quiet:
                    logger.info("%s", warning_line(decision.exchange, w.id, w.message))
        return touched

    # --- the probe -----------------------------------------------------------------------------

    def _inject(self, flow: http.HTTPFlow, facts: Facts) -> None:
        assert self.assets is not None
        where = probe.target(flow, facts)
        if where == "page":
            result = probe.inject_probe(flow, self.recorder.url(flow.request))
            what = "page"
        elif where == "service-worker":
            result = probe.inject_agent(flow, self.assets, self.recorder.url(flow.request))
            what = "service worker"
        elif where == "worker":
            result = probe.inject_worker_probe(flow, self.assets, self.recorder.url(flow.request))
            what = "worker"
        else:
            return
        if result.done:
            flow.metadata["corscope_probe"] = "injected"
            self.counts["injected"] += 1
        elif result.refused_by is not None:
            directive = result.refused_by.directive
            flow.metadata["corscope_probe"] = f"refused by Content-Security-Policy {directive}"
            url = self.recorder.url(flow.request)
            origin = origin_of(url) or "?"
            if (origin, directive) not in self._said:
                self._said.add((origin, directive))
                self.write(
                    {
                        "_corscope": {
                            "probe": "refused-by-csp",
                            "target": what,
                            "url": flow.request.pretty_url,
                            "directive": directive,
                        }
                    }
                )
                logger.info(
                    "corscope: %s at %s left without the probe: its Content-Security-Policy "
                    "(%s) would refuse it; exchanges are still recorded from the wire",
                    what,
                    flow.request.pretty_url,
                    directive,
                )

    def _take_beacon(self, flow: http.HTTPFlow) -> int:
        req = flow.request
        try:
            beacon = parse(req.raw_content, req.pretty_url, req.timestamp_start)
        except Junk:
            self.counts["junk_beacons"] += 1
            return 400
        self.counts["beacon_records"] += len(beacon.records)
        if beacon.loads:
            origin = origin_of(beacon.page) or "?"
            if (origin, "active") not in self._said:
                self._said.add((origin, "active"))
                logger.info("corscope: page probe active on %s", origin)
        if self.worker is None or not self._send(
            ("beacon", req.raw_content, req.pretty_url, req.timestamp_start)
        ):
            self._join(beacon, req.timestamp_start)
        return 204

    def _join(self, beacon: Beacon, now: float) -> None:
        actions = []
        for record in beacon.records:
            if isinstance(record, PageRecord):
                actions.extend(
                    self.joiner.page(record, record.page or beacon.page, opaque=beacon.opaque)
                )
            else:
                actions.extend(self.joiner.worker(record, beacon.page))
        actions.extend(self.joiner.expire(now))
        self._run_actions(actions)

    def _run_actions(self, actions: list[Annotate | NewEntry]) -> None:
        touched: list[http.HTTPFlow] = []
        for action in actions:
            try:
                if isinstance(action, Annotate):
                    touched.extend(self._annotate(action))
                else:
                    self._add_reported(action.entry)
            except InputError as e:
                # A report the readers would refuse must not reach the capture.
                self.counts["rejected_reports"] += 1
                if self.counts["rejected_reports"] == 1:
                    logger.warning(
                        "corscope: dropped a probe report the capture readers refuse: %s", e
                    )
        if touched and self.sink is None:
            # Flows changed outside their own hooks: tell mitmproxy's views.
            ctx.master.addons.trigger(hooks.UpdateHook(touched))

    def _annotate(self, action: Annotate) -> list[http.HTTPFlow]:
        hints = cors_hints(action.cors, "probe report", "<probe>")
        self.session.write({"_corscope": {"annotate": action.entry_id}, "_cors": action.cors})
        decision = self.live.annotate(action.entry_id, action.cors, hints)
        return self._show(decision) if decision is not None else []

    def _add_reported(self, entry: dict[str, Any]) -> None:
        entry_id = entry["_corscope_id"]
        captured = entry_to_captured(entry, where=entry_id, path="<probe>", order=self._ids)
        self.session.write(entry)
        self.counts["recorded"] += 1
        self._show(self.live.add(captured, entry_id, entry.get("_cors") or {}, None))

    def write(self, obj: dict[str, Any]) -> None:
        """A line for the capture that is not an exchange (a note, an annotation)."""
        if self.worker is None or not self._send(("write", obj)):
            self.session.write(obj)

    # --- the worker, seen from the proxy ---------------------------------------------------

    def sync(self) -> None:
        """Wait until the worker has handled everything sent to it so far and its verdicts
        are on the flows (at once without a worker)."""
        if self.worker is not None:
            try:
                self._call("sync")
            except WorkerError as e:
                logger.error("corscope: %s", e)

    def _use_worker(self, wanted: bool) -> bool:
        """Start or stop the worker; True when one was started."""
        if wanted == (self.worker is not None):
            return False
        if not wanted:
            self._stop_worker()
            if self._capture_path is not None:
                self._open_capture(self._capture_path)
            return False
        # Verdicts come back to the proxy's flows only where a view shows them (mitmproxy,
        # mitmweb); mitmdump has printed a flow and let it go by the time one is ready.
        self.verdicts_back = ctx.master.addons.get("view") is not None
        try:
            worker = Worker()
        except WorkerError as e:
            logger.info("corscope: deciding inside the proxy: %s", e)
            return False
        try:
            worker.call(self._handle, "settings", self._quiet, self._redact, self.verdicts_back)
        except WorkerError as e:
            worker.close()
            logger.error(
                "corscope: the analysis worker did not start (%s); deciding inside the proxy", e
            )
            return False
        self.worker = worker
        if self._capture_path is not None:
            self._open_capture(self._capture_path)
            self.session.close()
        return True

    def _stop_worker(self) -> None:
        self._unwatch()
        worker, self.worker = self.worker, None
        if worker is not None:
            try:
                worker.call(self._handle, "done")
            except WorkerError:
                pass
            worker.close()
            for message in worker.take():
                self._handle(message)

    def _call(self, name: str, *args: Any) -> Any:
        assert self.worker is not None
        try:
            return self.worker.call(self._handle, name, *args)
        except WorkerGone:
            self._worker_lost()
            raise

    def _send(self, message: tuple[Any, ...]) -> bool:
        """Hand a message to the worker; False when it is gone (and the proxy now records
        by itself)."""
        assert self.worker is not None
        if self._loop is None:
            self._watch()
        try:
            self.worker.send(message)
        except WorkerGone:
            self._worker_lost()
            return False
        return True

    def _watch(self) -> None:
        """Take the worker's messages whenever the event loop finds them waiting (from
        the first hook on: mitmproxy may configure an addon before its loop runs)."""
        assert self.worker is not None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._loop.add_reader(self.worker.fd, self._drain)

    def _unwatch(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and self.worker is not None and not loop.is_closed():
            loop.remove_reader(self.worker.fd)

    def _drain(self) -> None:
        worker = self.worker
        if worker is None:
            return
        for message in worker.take():
            self._handle(message)
        if worker.gone and self.worker is worker:
            self._worker_lost()

    @guarded("worker message")
    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "log":
            logger.log(message[1], "%s", message[2])
        elif kind == "shown":
            touched = []
            for flow_id, cors, marked, comment in message[1]:
                f = self._flows.get(flow_id)
                if f is None:
                    continue
                if cors is not None:
                    f.metadata["cors"] = cors
                carry_over(f, marked, comment)
                touched.append(f)
            if touched:
                ctx.master.addons.trigger(hooks.UpdateHook(touched))

    def _worker_lost(self) -> None:
        if self.worker is None:
            return
        self._unwatch()
        self.worker = None
        logger.error(
            "corscope: the analysis worker exited; recording inside the proxy from now on "
            "(exchanges it had not written yet are missing from the capture)"
        )
        if self._capture_path is not None:
            try:
                self.session.open(self._capture_path, self._meta())
            except OSError as e:
                logger.error("corscope: cannot append to %s: %s", self._capture_path, e)

    # --- the worker's side ------------------------------------------------------------------

    @guarded("response")
    def record_snapshot(self, snap: tuple[Any, ...]) -> None:
        f, entry_id, order = rebuild(snap)
        self._ids = max(self._ids, order)
        f.metadata["corscope_id"] = entry_id
        url = self.recorder.url(f.request)
        self._record_as(f, pick(f.request.headers.fields), url, entry_id, order)
        strip_bodies(f)
        self._kept[f.id] = f
        while len(self._kept) > self.live.max_entries:
            self._kept.popitem(last=False)

    @guarded("request")
    def take_beacon_records(self, body: bytes, url: str, at: float) -> None:
        self._join(parse(body, url, at), at)

    def worker_call(self, name: str, *args: Any) -> Any:
        """What the proxy asks for and waits on; raises WorkerError with the reason."""
        if name == "settings":
            self._quiet, self._redact, self.verdicts_back = args
        elif name == "capture":
            path, meta = args
            try:
                self.session.open(path, meta)
            except OSError as e:
                raise WorkerError(f"{e.strerror or e}") from None
        elif name == "report":
            try:
                return write_report(self.session, args[0])
            except ReportError as e:
                raise WorkerError(str(e)) from None
        elif name == "har":
            try:
                return write_har(self.session, args[0])
            except ReportError as e:
                raise WorkerError(str(e)) from None
        elif name == "done":
            self.done()
        elif name != "sync":
            raise WorkerError(f"unknown call {name!r}")
        return None


_LOCATION = frozenset({b"location"})

addons = [CorsScope()]
