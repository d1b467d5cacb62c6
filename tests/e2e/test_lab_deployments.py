"""The lab's deployments, stacks and cause checks, without a browser: each piece must be
able to fail on its own, so a green e2e run means something."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from analysis.diagnosis.stacks import LAYER_KIND, fingerprint
from analysis.lab.catalogue.build import REFLECT, ok
from analysis.lab.causes import check
from analysis.lab.responder import SharedCache, render
from analysis.lab.runner import GroundTruth, LabRun
from analysis.lab.scenarios import SCENARIOS, by_id
from analysis.lab.servers import deployment_keys, start_servers
from analysis.lab.spec import API_KEYS, Call, Expected, Route, Scenario, Visit
from analysis.model import Headers, Response

# --- Deployments -----------------------------------------------------------------------------


def test_scenarios_sharing_a_deployment_model_one_server() -> None:
    shared: dict[str, list[str]] = {}
    for s in SCENARIOS:
        shared.setdefault(s.deployment_id, []).append(s.id)
    groups = {d: ids for d, ids in shared.items() if len(ids) > 1}
    assert groups == {
        "express-cors-after-routes": [
            "cors-after-routes-early-route",
            "cors-after-routes-late-route",
            "cors-after-routes-preflight-ok-actual-bare",
        ],
        "express-per-route-cors": ["per-route-cors-put-express-options", "per-route-cors-get-ok"],
    }


def test_api_keys_come_from_calls_routes_and_locations() -> None:
    assert by_id("no-cors-headers-get").api_keys() == {"api"}
    assert by_id("preflight-redirect-http-to-https").api_keys() == {"api", "api_https"}
    assert by_id("redirect-location-with-credentials").api_keys() == {"api", "api2"}
    assert by_id("upstream-refused-proxy-502").api_keys() == {"dead"}
    assert all(s.api_keys() <= API_KEYS for s in SCENARIOS)


def _get(url: str) -> tuple[int, dict[str, str]]:
    # The lab servers live on loopback; no proxy may stand in between here.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_each_deployment_has_its_own_ports_and_refuses_the_others(tmp_path: Path) -> None:
    chosen = (
        by_id("no-cors-headers-get"),
        by_id("cors-after-routes-early-route"),
        by_id("cors-after-routes-late-route"),
    )
    with start_servers(chosen, tmp_path) as servers:
        own = servers.url("api", chosen[0].path, chosen[0])
        early = servers.url("api", "", chosen[1])
        assert early == servers.url("api", "", chosen[2]), "one deployment, one API origin"
        assert early != servers.url("api", "", chosen[0])
        status, headers = _get(own)
        assert status == 200
        # The scenario chose Express; http.server's own Server header must not leak in.
        assert headers.get("X-Powered-By") == "Express"
        assert "Server" not in headers
        # The same scenario path on another deployment's server is no route of it.
        assert _get(early + chosen[0].path)[0] == 404


def test_fixed_ports_are_counted_up_in_catalogue_order(tmp_path: Path) -> None:
    chosen = (by_id("no-cors-headers-get"), by_id("upstream-refused-proxy-502"))
    with start_servers(chosen, tmp_path, first_port=23110) as servers:
        pages = sorted({o.port for o in servers.origins.values()})
        apis = [o.port for d in servers.deployments.values() for o in d.values()]
    assert pages == [23110, 23111, 23112, 23113]
    assert apis == [23114, 23115]
    assert deployment_keys(chosen) == {
        "no-cors-headers-get": ("api",),
        "upstream-refused-proxy-502": ("dead",),
    }


def test_requested_headers_are_reflected_only_when_asked() -> None:
    route = Route("OPTIONS", ok(REFLECT, ("Access-Control-Allow-Headers", "{request_headers}")))
    values = {"path": "/s/x"}
    asked = render(route, "http://a", values, "content-type")
    assert ("Access-Control-Allow-Headers", "content-type") in asked.headers
    silent = render(route, "http://a", values, None)
    assert all(n != "Access-Control-Allow-Headers" for n, _ in silent.headers)


# --- Stacks: every declared fix layer is one the scenario's own responses reveal ----------

_NOT_LAYERS = {"page", "service-worker", "server", "generic"}
STACKED = [s for s in SCENARIOS if s.fix_layer and s.fix_layer not in _NOT_LAYERS]


def _responses(scenario: Scenario) -> list[Response]:
    values = {
        k: f"http://127.0.0.2:{9000 + i}"
        for i, k in enumerate(
            ("app", "app_port2", "app_site2", "www", "bare", "evil", *sorted(API_KEYS))
        )
    }
    values |= {f"{k}_port": v.rsplit(":", 1)[1] for k, v in values.items()}
    values["path"] = scenario.path
    answers = []
    for route in scenario.routes:
        answer = render(route, "http://127.0.0.1:9000", values, "content-type")
        if route.shared_cache:
            # The cache in front adds its own headers: part of the stack the browser sees.
            answer = SharedCache().answer(("x",), "http://127.0.0.1:9000", answer)
        answers.append(answer)
    return [
        Response(a.status, Headers.of(a.headers), body_excerpt=a.body.decode()) for a in answers
    ]


@pytest.mark.parametrize("scenario", STACKED, ids=[s.id for s in STACKED])
def test_declared_fix_layer_is_in_the_scenarios_stack(scenario: Scenario) -> None:
    stack = fingerprint(_responses(scenario))
    assert scenario.fix_layer in stack.layers, (
        f"{scenario.id}: fix layer {scenario.fix_layer} not among {stack.layers}"
    )


def test_every_cause_declares_the_layer_its_fix_changes() -> None:
    undeclared = [s.id for s in SCENARIOS if s.cause != "none" and not s.fix_layer]
    assert not undeclared
    declared = {s.fix_layer for s in SCENARIOS if s.fix_layer}
    assert declared - _NOT_LAYERS <= set(LAYER_KIND), declared - set(LAYER_KIND)


# --- The cause checks fail where they should ------------------------------------------------

URL = "http://127.0.0.2:8000/s/{id}"


def _scenario(sid: str, cause: str, deployment: str | None = None, **kw: Any) -> Scenario:
    blocked = kw.pop("blocked", cause != "none")
    return Scenario(
        id=sid,
        title=sid,
        cause=cause,
        visit=Visit(call=Call()),
        routes=(),
        expected=Expected(blocked=blocked),
        deployment=deployment,
        **kw,
    )


def _run(scenarios: list[Scenario]) -> LabRun:
    results = [
        GroundTruth(s.id, URL.format(id=s.id), "GET", s.expected.blocked, None, None, {}, "")
        for s in scenarios
    ]
    return LabRun(Path("."), results, Path("f"), None, Path("g"), {}, 0.0)


def _decided(sid: str, n: int = 1) -> list[Any]:
    return [
        SimpleNamespace(
            exchange=SimpleNamespace(id=f"{sid}#{i}", url=URL.format(id=sid), method="GET"),
            verdict=SimpleNamespace(mode="cors"),
        )
        for i in range(n)
    ]


def _finding(fid: str, cause: str, exchanges: list[str], **kw: Any) -> Any:
    fix = SimpleNamespace(layer=kw.get("layer", "express"), leave_alone=kw.get("alone"))
    return SimpleNamespace(
        id=fid,
        root_cause=cause,
        severity=kw.get("severity", "blocked"),
        exchanges=tuple(exchanges),
        fix=fix,
    )


def test_cause_check_passes_a_right_diagnosis() -> None:
    a = _scenario("a", "cors-not-enabled", fix_layer="express")
    report = check(
        _run([a]), [a], _decided("a"), [_finding("f1", "cors-not-enabled", ["a#0"])], "flow"
    )
    assert report.agreeing == 1 and not report.merged and not report.split


def test_cause_check_names_scenario_expected_and_actual() -> None:
    a = _scenario("a", "cors-not-enabled", fix_layer="express")
    report = check(
        _run([a]), [a], _decided("a"), [_finding("f1", "cors-after-routes", ["a#0"])], "flow"
    )
    [result] = report.results
    assert not result.ok
    text = result.explain()
    assert "a: expected cors-not-enabled" in text and "cors-after-routes" in text


def test_cause_check_catches_the_wrong_layer() -> None:
    a = _scenario("a", "duplicate-allow-origin", fix_layer="nginx", fix_leave_alone="express")
    wrong = _finding("f1", "duplicate-allow-origin", ["a#0"], layer="express", alone="nginx")
    [result] = check(_run([a]), [a], _decided("a"), [wrong], "flow").results
    assert len(result.problems) == 2


def test_cause_check_catches_merged_and_split_findings() -> None:
    a = _scenario("a", "cors-not-enabled", deployment="d")
    b = _scenario("b", "cors-after-routes", deployment="d")
    c = _scenario("c", "cors-after-routes", deployment="d")
    decided = _decided("a") + _decided("b") + _decided("c")
    merged = check(
        _run([a, b]),
        [a, b],
        decided,
        [_finding("f1", "cors-not-enabled", ["a#0", "b#0"])],
        "flow",
    )
    assert merged.merged and "f1" in merged.merged[0]
    split = check(
        _run([b, c]),
        [b, c],
        decided,
        [
            _finding("f1", "cors-after-routes", ["b#0"]),
            _finding("f2", "cors-after-routes", ["c#0"]),
        ],
        "flow",
    )
    assert split.split and "cors-after-routes" in split.split[0]


def test_cause_check_refuses_a_blocked_finding_on_a_control() -> None:
    a = _scenario("a", "none")
    [result] = check(
        _run([a]), [a], _decided("a"), [_finding("f1", "cors-not-enabled", ["a#0"])], "flow"
    ).results
    assert not result.ok


def test_cause_check_leaves_out_what_before_visits_made() -> None:
    a = Scenario(
        id="a",
        title="a",
        cause="cdn-cache-wrong-origin",
        before=(Visit(),),
        visit=Visit(page="app_site2"),
        routes=(),
        expected=Expected(blocked=True),
    )
    # Only the first exchange (the before visit's) is in the finding: not enough.
    report = check(
        _run([a]),
        [a],
        _decided("a", 2),
        [_finding("f1", "cdn-cache-wrong-origin", ["a#0"])],
        "flow",
    )
    assert not report.results[0].ok
