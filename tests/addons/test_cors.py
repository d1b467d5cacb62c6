"""The addon inside mitmproxy's test harness: options, hooks, marks, log, commands."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import exceptions, flow, hooks, http
from mitmproxy.addons.view import View
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook, HttpRequestHook
from mitmproxy.test import taddons

import addons.cors as cors_module
from addons.cors import CorsScope
from addons.flowmarks import MARKER
from analysis.api import analyze_files

from .flows import (
    API,
    PAGE,
    T0,
    beacon_flow,
    cors_get,
    make,
    metadata,
    navigation,
    preflight,
    request,
    response,
)

ACAO = [("Access-Control-Allow-Origin", PAGE)]


def start(tctx: taddons.context, addon: CorsScope) -> None:
    """What mitmproxy does once a script is loaded: configure with every option."""
    tctx.master.addons.invoke_addon_sync(addon, hooks.ConfigureHook(set(tctx.options.keys())))


hook_events = {"requestheaders": HttpRequestHeadersHook, "request": HttpRequestHook}


def killed(f: http.HTTPFlow) -> bool:
    return f.error is not None and f.error.msg == flow.Error.KILLED_MESSAGE


class Proxy:
    """One addon in a test master, with its capture in a temporary folder."""

    def __init__(self, addon: CorsScope, tctx: taddons.context, capture: Path) -> None:
        self.addon, self.tctx, self.capture = addon, tctx, capture

    def through(self, f: http.HTTPFlow) -> http.HTTPFlow:
        """Run a finished flow through the hooks in the order mitmproxy calls them."""
        a = self.addon
        self.hook("requestheaders", f)
        if killed(f):
            return f
        if f.response is not None and not f.metadata.get("corscope_internal"):
            # A flow that arrives with its response: the request hook ran before it.
            response, f.response = f.response, None
            self.hook("request", f)
            if f.response is None:
                f.response = response
        else:
            self.hook("request", f)
        if f.response is not None:
            a.response(f)
        elif f.error is not None:
            a.error(f)
        a.sync()
        return f

    def hook(self, name: str, f: http.HTTPFlow) -> None:
        """Call a hook as mitmproxy does: only if the addon has it."""
        self.tctx.master.addons.invoke_addon_sync(self.addon, hook_events[name](f))

    def lines(self) -> list[dict[str, Any]]:
        self.addon.sync()
        return [json.loads(line) for line in self.capture.read_text().splitlines()]

    def entries(self) -> list[dict[str, Any]]:
        return [obj for obj in self.lines() if "_corscope" not in obj]

    def set(self, **options: Any) -> None:
        self.tctx.configure(self.addon, **options)


def _running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: bool) -> Iterator[Proxy]:
    monkeypatch.chdir(tmp_path)
    addon = CorsScope()
    # A view, as in mitmproxy and mitmweb: verdicts from the worker come back to flows.
    with taddons.context(addon, View()) as tctx:
        capture = tmp_path / "capture.jsonl"
        tctx.configure(addon, cors_capture=str(capture), cors_worker=worker)
        start(tctx, addon)
        assert (addon.worker is not None) == worker
        yield Proxy(addon, tctx, capture)
        addon.done()


@pytest.fixture(params=[True, False], ids=["worker", "in-proxy"])
def proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Proxy]:
    """The addon as users run it (deciding in its worker process), and deciding inside
    the proxy: every test holds for both."""
    yield from _running(tmp_path, monkeypatch, request.param)


@pytest.fixture
def in_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    """For faults injected into this process, which a worker would never see."""
    yield from _running(tmp_path, monkeypatch, False)


# --- options ---------------------------------------------------------------------------


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    addon = CorsScope()
    with taddons.context(addon) as tctx:
        start(tctx, addon)
        assert tctx.options.cors_capture == "corscope-capture.jsonl"
        assert tctx.options.cors_probe is True
        assert tctx.options.cors_quiet is False
        assert tctx.options.cors_redact is True
        assert (tmp_path / "corscope-capture.jsonl").exists()
        addon.done()


def test_unwritable_capture_is_an_option_error(proxy: Proxy, tmp_path: Path) -> None:
    with pytest.raises(exceptions.OptionsError, match="cors_capture"):
        proxy.set(cors_capture=str(tmp_path / "no" / "such" / "dir.jsonl"))
    # The old capture stays in use.
    proxy.through(cors_get())
    assert len(proxy.entries()) == 1


def test_capture_off_keeps_the_session_in_memory(proxy: Proxy, tmp_path: Path) -> None:
    proxy.set(cors_capture="")
    proxy.through(cors_get())
    assert proxy.entries() == []
    out = tmp_path / "report.json"
    proxy.tctx.command(proxy.addon.report, str(out))
    doc = json.loads(out.read_text())
    assert doc["summary"]["exchanges"] == 1 and doc["summary"]["blocked"] == 1
    assert doc["inputs"] == [str(proxy.capture), "memory"]


# --- recording -------------------------------------------------------------------------


def test_records_cross_origin_and_skips_the_rest(proxy: Proxy) -> None:
    proxy.through(navigation())
    same_origin = cors_get(PAGE + "/api/x", origin=PAGE)
    same_origin.request.headers["sec-fetch-mode"] = "no-cors"
    same_origin.request.headers["sec-fetch-site"] = "same-origin"
    proxy.through(same_origin)
    proxy.through(cors_get())
    entries = proxy.entries()
    assert [e["request"]["url"] for e in entries] == [API + "/data"]
    assert proxy.lines()[0]["_corscope"]["format"] == "capture"


def test_redirect_hop_back_to_the_page_origin_is_recorded(proxy: Proxy) -> None:
    proxy.through(
        cors_get(API + "/go", status=302, response_headers=[*ACAO, ("Location", PAGE + "/back")])
    )
    back = cors_get(PAGE + "/back", origin=PAGE, at=T0 + 0.1)
    for name in ("origin", "sec-fetch-mode", "sec-fetch-site"):
        del back.request.headers[name]
    proxy.through(back)
    assert [e["request"]["url"] for e in proxy.entries()] == [API + "/go", PAGE + "/back"]


def test_error_after_response_is_recorded_once(proxy: Proxy) -> None:
    f = proxy.through(cors_get(response_headers=ACAO))
    f.error = flow.Error("client disconnected")
    proxy.addon.error(f)
    assert len(proxy.entries()) == 1


def test_upstream_error_is_a_fault_not_a_missing_header(proxy: Proxy, caplog) -> None:
    from .flows import upstream_error

    caplog.set_level(logging.INFO, logger="corscope")
    f = proxy.through(upstream_error())
    verdict = metadata(f)["verdict"]
    assert verdict["fault"] and "Certificate verify failed" in verdict["fault"]
    assert verdict["reason"] is None
    assert f.comment.startswith("CORS fault")
    assert "(the browser shows it as MissingAllowOriginHeader; no CORS rule failed)" in caplog.text


# --- verdicts on flows and in the log --------------------------------------------------


def test_blocked_flow_is_marked_and_logged(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    f = proxy.through(cors_get())
    meta = metadata(f)
    assert meta["_corscope_id"] == f.metadata["corscope_id"]
    assert meta["mode"] == "cors"
    assert meta["verdict"]["blocked"] is True
    assert meta["verdict"]["reason"] == "MissingAllowOriginHeader"
    json.dumps(f.metadata)  # plain JSON values only
    assert f.marked == MARKER
    assert f.comment == "CORS MissingAllowOriginHeader"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == (
        f"CORS blocked GET {API}/data from {PAGE}: No 'Access-Control-Allow-Origin' header is "
        "present on the requested resource. [MissingAllowOriginHeader]"
    )


def test_allowed_flow_is_not_marked(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    f = proxy.through(
        cors_get(response_headers=[*ACAO, ("Access-Control-Allow-Credentials", "true")])
    )
    assert metadata(f)["verdict"]["blocked"] is False
    assert not f.marked and not f.comment
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_user_comment_and_marker_are_kept(proxy: Proxy) -> None:
    f = cors_get()
    f.comment = "look at this"
    f.marked = ":star:"
    proxy.through(f)
    assert f.comment == "look at this" and f.marked == ":star:"


def test_failed_preflight_marks_the_preflight(proxy: Proxy) -> None:
    pf = proxy.through(preflight(response_headers=ACAO))
    assert metadata(pf)["verdict"]["reason"] == "MethodDisallowedByPreflightResponse"
    assert pf.marked == MARKER


def test_preflight_and_request_share_the_verdict(proxy: Proxy) -> None:
    allow = [
        *ACAO,
        ("Access-Control-Allow-Methods", "PUT"),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    pf = proxy.through(preflight(response_headers=allow))
    assert metadata(pf)["verdict"]["final"] is False
    actual = proxy.through(cors_get(method="PUT", response_headers=ACAO, at=T0 + 0.02))
    verdict = metadata(actual)["verdict"]
    # Without Access-Control-Allow-Credentials it fails only if sent with credentials.
    assert (verdict["blocked"], verdict["condition"], verdict["reason"]) == (
        None,
        "credentials-include",
        "InvalidAllowCredentials",
    )
    assert verdict["preflight_required"] is True
    assert metadata(pf)["verdict"] == metadata(actual)["verdict"]
    assert metadata(pf)["verdict"]["final"] is True


def test_each_warning_kind_is_logged_once(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    echo = [*ACAO, ("Access-Control-Allow-Credentials", "true"), ("Cache-Control", "max-age=60")]
    proxy.through(cors_get(response_headers=echo))
    proxy.through(cors_get(API + "/other", response_headers=echo, at=T0 + 1))
    lines = [r.getMessage() for r in caplog.records if "CORS warning" in r.getMessage()]
    assert len(lines) == 1 and "vary-origin-missing" in lines[0]


def test_a_verdict_that_depends_on_credentials_is_logged_once_per_api_and_reason(
    proxy: Proxy, caplog
) -> None:
    """A preflight never carries credentials, so without the probe the wire cannot say if
    the page asked for them; the live log says what would block them, once per API and
    reason."""
    caplog.set_level(logging.INFO, logger="corscope")
    allow = [*ACAO, ("Access-Control-Allow-Methods", "PUT")]  # no Allow-Credentials
    proxy.through(preflight(response_headers=allow))
    proxy.through(preflight(API + "/other", response_headers=allow, at=T0 + 1))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1
    assert lines[0].startswith(f"CORS blocked if sent with credentials PUT {API}/data from {PAGE}:")
    assert lines[0].endswith("[PreflightInvalidAllowCredentials]")


def test_a_post_that_fails_only_in_cors_mode_says_so(proxy: Proxy, caplog) -> None:
    """An http page on a name gets no Sec-Fetch-Mode: its text/plain POST with Origin may be
    a fetch() or a beacon (lab nh-0038, nh-0058), which only a CORS check would fail."""
    caplog.set_level(logging.INFO, logger="corscope")
    named = "http://www.app.test:8080"
    sent = [("Origin", named), ("Content-Type", "text/plain")]
    f = proxy.through(make(request("POST", API + "/collect", sent), response(200, [])))
    verdict = metadata(f)["verdict"]
    assert (verdict["blocked"], verdict["condition"]) == (None, "cors-mode")
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith(f"CORS blocked if sent in CORS mode (fetch, XHR) POST {API}/collect")
    assert line.endswith("[MissingAllowOriginHeader]")


def test_a_check_named_only_with_credentials_is_in_the_blocked_line(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    allow = [*ACAO, ("Access-Control-Allow-Methods", "GET")]  # neither PUT nor credentials
    f = proxy.through(preflight(response_headers=allow))
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith(f"CORS blocked PUT {API}/data from {PAGE}:")
    assert line.endswith(
        "[MethodDisallowedByPreflightResponse]"
        " (if sent with credentials: [PreflightInvalidAllowCredentials])"
    )
    alternative = metadata(f)["verdict"]["with_credentials"]
    assert alternative == {"reason": "PreflightInvalidAllowCredentials", "failed_parameter": ""}


def test_quiet(proxy: Proxy, caplog) -> None:
    proxy.set(cors_quiet=True)
    caplog.set_level(logging.INFO, logger="corscope")
    f = proxy.through(cors_get())
    assert f.marked == MARKER
    assert not [r for r in caplog.records if "CORS " in r.getMessage()]


def test_capture_gives_the_live_verdicts(proxy: Proxy) -> None:
    allow = [*ACAO, ("Access-Control-Allow-Methods", "PUT")]
    flows = [
        proxy.through(cors_get()),
        proxy.through(preflight(API + "/p", response_headers=allow, at=T0 + 1)),
        proxy.through(cors_get(API + "/p", method="PUT", response_headers=ACAO, at=T0 + 1.01)),
        proxy.through(preflight(API + "/q", response_headers=ACAO, at=T0 + 2)),
    ]
    analysis = analyze_files([proxy.capture])
    offline = {d.exchange.id: (d.verdict.blocked, d.verdict.reason) for d in analysis.decided}
    live = {}
    for f in flows:
        v = metadata(f)["verdict"]
        live[v["exchange"]] = (v["blocked"], v["reason"])
    assert offline == live
    assert len(offline) == 3


# --- the probe ---------------------------------------------------------------------------


def test_probe_is_injected_into_pages(proxy: Proxy) -> None:
    f = proxy.through(navigation())
    assert '<script src="/__corscope__/probe.js"></script>' in f.response.text
    assert f.metadata["corscope_probe"] == "injected"


def test_probe_off_changes_nothing(proxy: Proxy) -> None:
    proxy.set(cors_probe=False)
    page = navigation()
    before = page.response.raw_content
    proxy.through(page)
    assert page.response.raw_content == before
    script = beacon_flow(PAGE, b"", method="GET", path="/__corscope__/probe.js")
    proxy.hook("requestheaders", script)
    proxy.hook("request", script)
    assert script.response is None and not killed(script)  # goes on to the server
    # Off, the addon has no request hooks for mitmproxy to call at all.
    assert proxy.addon.requestheaders is None and proxy.addon.request is None
    proxy.set(cors_probe=True)
    assert proxy.addon.requestheaders is not None and proxy.addon.request is not None


def test_csp_refusal_is_recorded(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    page = navigation(response_headers=[("Content-Security-Policy", "script-src 'nonce-x'")])
    before = page.response.raw_content
    proxy.through(page)
    assert page.response.raw_content == before
    assert page.metadata["corscope_probe"] == "refused by Content-Security-Policy script-src"
    notes = [obj for obj in proxy.lines() if obj.get("_corscope", {}).get("probe")]
    assert notes == [
        {
            "_corscope": {
                "probe": "refused-by-csp",
                "target": "page",
                "url": PAGE + "/",
                "directive": "script-src",
            }
        }
    ]
    assert "would refuse it" in caplog.text
    analyze_files([proxy.capture])  # such lines do not disturb readers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/__corscope__/probe.js", 200),
        ("HEAD", "/__corscope__/probe.js", 200),
        ("GET", "/__corscope__/report", 405),
        ("POST", "/__corscope__/report", 400),
        ("GET", "/__corscope__/other", 404),
    ],
)
def test_reserved_paths_are_answered_here(
    proxy: Proxy, method: str, path: str, status: int
) -> None:
    f = beacon_flow(PAGE, b"junk", method=method, path=path)
    proxy.through(f)
    assert f.response is not None and f.response.status_code == status
    assert f.metadata["corscope_internal"] is True
    assert proxy.entries() == []


def test_oversized_beacon_is_killed_before_its_body_is_read(proxy: Proxy) -> None:
    f = beacon_flow(PAGE, b"")
    f.request.headers["content-length"] = str(10**7)
    proxy.hook("requestheaders", f)
    assert killed(f)


def beacon(*records: dict[str, Any], page: str = PAGE + "/orders", sent_ms: float) -> bytes:
    return json.dumps(
        {"v": 1, "from": "page", "page": page, "sent": sent_ms, "records": list(records)}
    ).encode()


def test_beacon_annotates_and_redecides(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    f = proxy.through(cors_get(response_headers=[("Access-Control-Allow-Origin", "*")]))
    assert metadata(f)["verdict"]["blocked"] is None  # credentials unknown
    assert not f.marked
    record = {
        "kind": "fetch",
        "url": API + "/data",
        "method": "GET",
        "mode": "cors",
        "credentials": "include",
        "t": T0 * 1000 - 1,
        "failed": True,
        "status": 0,
        "controlled": False,
    }
    report = beacon_flow(
        PAGE, beacon(record, {"kind": "load", "t": T0 * 1000}, sent_ms=(T0 + 1) * 1000)
    )
    proxy.through(report)
    assert report.response.status_code == 204
    assert metadata(f)["verdict"]["reason"] == "WildcardOriginNotAllowed"
    assert metadata(f)["verdict"]["confirmed"] is True
    assert metadata(f)["credentials"] == "include"
    assert f.marked == MARKER
    annotations = [o for o in proxy.lines() if "annotate" in o.get("_corscope", {})]
    assert annotations == [
        {
            "_corscope": {"annotate": f.metadata["corscope_id"]},
            "_cors": {
                "mode": "cors",
                "credentials": "include",
                "initiatorOrigin": PAGE,
                "pageUrl": PAGE + "/orders",
                "resourceType": "fetch",
                "browser": {"blocked": True, "reason": None},
            },
        }
    ]
    (decided,) = analyze_files([proxy.capture]).decided
    assert decided.verdict.reason == "WildcardOriginNotAllowed" and decided.verdict.confirmed
    assert "page probe active on http://localhost:5173" in caplog.text


def test_http_cache_answer_from_a_beacon_becomes_an_exchange(proxy: Proxy) -> None:
    other = "http://localhost:5174"
    proxy.through(
        cors_get(
            origin=other,
            response_headers=[
                ("Access-Control-Allow-Origin", other),
                ("Cache-Control", "max-age=600"),
            ],
        )
    )
    record = {
        "kind": "fetch",
        "url": API + "/data",
        "method": "GET",
        "mode": "cors",
        "credentials": "same-origin",
        "t": (T0 + 5) * 1000,
        "failed": True,
        "status": 0,
    }
    proxy.through(beacon_flow(PAGE, beacon(record, sent_ms=(T0 + 6) * 1000), at=T0 + 6))
    by_source = {d.verdict.source: d.verdict for d in analyze_files([proxy.capture]).decided}
    cached = by_source["http-cache"]
    assert cached.reason == "AllowOriginMismatch" and cached.confirmed


# --- never in the way ----------------------------------------------------------------------


def test_an_internal_error_leaves_the_flow_alone_and_is_logged_once(
    in_proxy: Proxy, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    proxy = in_proxy

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(proxy.addon.recorder, "record", broken)
    caplog.set_level(logging.INFO, logger="corscope")
    first, second = cors_get(), cors_get(at=T0 + 1)
    before = first.get_state()
    proxy.through(first)
    proxy.through(second)
    after = first.get_state()
    assert before == after
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "internal error in response" in errors[0].getMessage()
    assert proxy.addon.failures.total == 2


def test_a_broken_beacon_handler_still_answers_locally(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(cors_module, "parse", broken)
    f = proxy.through(beacon_flow(PAGE, b"{}"))
    assert f.response is not None and f.response.status_code == 500


# --- commands -------------------------------------------------------------------------------


def test_report_command(proxy: Proxy, tmp_path: Path) -> None:
    proxy.through(cors_get())
    out = tmp_path / "report.json"
    proxy.tctx.command(proxy.addon.report, str(out))
    doc = json.loads(out.read_text())
    assert doc["schema"] == "corscope/1"
    assert doc["summary"]["blocked"] == 1
    assert doc["exchanges"][0]["verdict"]["reason"] == "MissingAllowOriginHeader"
    assert doc["inputs"] == [str(proxy.capture)]


def test_report_command_covers_this_session_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    capture = tmp_path / "c.jsonl"
    earlier = CorsScope()
    with taddons.context(earlier) as tctx:
        tctx.configure(earlier, cors_capture=str(capture))
        start(tctx, earlier)
        Proxy(earlier, tctx, capture).through(cors_get())
        earlier.done()
        tctx.master.addons.remove(earlier)
        # A second run appends to the same capture.
        later = CorsScope()
        tctx.master.addons.add(later)
        tctx.configure(later, cors_capture=str(capture))
        start(tctx, later)
        Proxy(later, tctx, capture).through(cors_get(at=T0 + 1))
        tctx.command(later.report, str(tmp_path / "r.json"))
        later.done()
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["exchanges"] == 1
    assert len(analyze_files([capture]).decided) == 2


def test_har_command(proxy: Proxy, tmp_path: Path) -> None:
    proxy.through(cors_get())
    out = tmp_path / "session.har"
    proxy.tctx.command(proxy.addon.har, str(out))
    har = json.loads(out.read_text())
    assert har["log"]["version"] == "1.2"
    (entry,) = har["log"]["entries"]
    assert entry["request"]["url"] == API + "/data"
    assert entry["_cors"]["mode"] == "cors"


def test_report_command_without_the_engine_says_how_to_get_it(
    in_proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    proxy = in_proxy
    monkeypatch.setitem(sys.modules, "analysis.api", None)  # import now raises ImportError
    with pytest.raises(exceptions.CommandError, match="pip install corscope"):
        proxy.tctx.command(proxy.addon.report, str(tmp_path / "r.json"))
    assert "project's venv" in caplog.text


def test_report_command_after_the_capture_was_deleted(proxy: Proxy, tmp_path: Path) -> None:
    proxy.through(cors_get())
    proxy.capture.unlink()
    proxy.tctx.command(proxy.addon.report, str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["blocked"] == 1


def test_report_command_to_an_unwritable_place(proxy: Proxy, tmp_path: Path) -> None:
    with pytest.raises(exceptions.CommandError, match="cannot write"):
        proxy.tctx.command(proxy.addon.report, str(tmp_path / "missing" / "r.json"))


def test_done_settles_waiting_probe_reports(proxy: Proxy) -> None:
    record = {
        "kind": "fetch",
        "url": API + "/data",
        "method": "GET",
        "mode": "cors",
        "credentials": "include",
        "t": T0 * 1000,
        "failed": True,
        "status": 0,
        "controlled": True,
    }
    proxy.through(beacon_flow(PAGE, beacon(record, sent_ms=T0 * 1000), at=T0))
    assert proxy.entries() == []
    proxy.addon.done()
    (entry,) = proxy.entries()
    assert entry["_cors"]["source"] == "service-worker"


def test_a_changed_verdict_takes_the_mark_back(proxy: Proxy) -> None:
    # Without Fetch Metadata the wire suggests CORS mode; the page knows it was no-cors.
    f = cors_get()
    for name in ("sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest"):
        del f.request.headers[name]
    proxy.through(f)
    assert f.marked == MARKER and f.comment.startswith("CORS ")
    record = {"kind": "fetch", "url": API + "/data", "method": "GET", "mode": "no-cors",
              "credentials": "include", "t": T0 * 1000, "failed": False, "status": 0,
              "type": "opaque"}  # fmt: skip
    proxy.through(beacon_flow(PAGE, beacon(record, sent_ms=(T0 + 1) * 1000)))
    assert metadata(f)["verdict"]["blocked"] is False
    assert not f.marked and not f.comment


def test_an_entry_the_readers_would_refuse_never_reaches_the_capture(proxy: Proxy, caplog) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    odd = cors_get()
    odd.response.headers.fields = ((b"", b"nameless"),)
    proxy.through(odd)
    proxy.through(cors_get(at=T0 + 1))
    assert len(analyze_files([proxy.capture]).decided) == 1
    # Logged once, in the proxy's log even when the worker refused it.
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "must be a non-empty string" in errors[0]
