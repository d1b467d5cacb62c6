"""The lab proves itself against the lab notes, then corscope is held to Chromium's verdicts.

Chromium's verdict per scenario comes from DevTools (`corsErrorStatus`), its words from the
console line it printed; corscope's from `analysis.api.analyze` over the flow file mitmdump
wrote and, when the project's addon ran, over its capture.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from analysis.lab.compare import ExchangeIndex, call_mode, compare
from analysis.lab.scenarios import SCENARIOS
from analysis.lab.spec import Scenario

IDS = [s.id for s in SCENARIOS]
KEY_ROWS = [s for s in SCENARIOS if s.key_row]


def _truth(lab_run: Any, scenario: Scenario) -> Any:
    return lab_run.by_id()[scenario.id]


def test_every_scenario_has_ground_truth(lab_run: Any) -> None:
    assert [r.scenario_id for r in lab_run.results] == IDS
    unobserved = [r.scenario_id for r in lab_run.results if not r.details.get("observed")]
    assert not unobserved, f"DevTools never reported the request of: {unobserved}"
    assert lab_run.ground_truth_path.exists()


def test_flow_file_written_and_stays_on_loopback(lab_run: Any) -> None:
    from mitmproxy import io

    with lab_run.flow_path.open("rb") as handle:
        flows = list(io.FlowReader(handle).stream())
    assert flows, "mitmdump wrote no flows"
    addresses = {f.server_conn.peername[0] for f in flows if f.server_conn.peername}
    assert addresses, "no flow reached a server"
    assert all(a.startswith("127.") for a in addresses), addresses
    # Playwright's proxy option must have removed Chromium's loopback bypass: every
    # scenario whose request goes to the network has to be in the flow file.
    seen = {f.request.path.split("/")[2] for f in flows if f.request.path.startswith("/s/")}
    missing = [s.id for s in SCENARIOS if s.wire_decides and s.id not in seen]
    assert not missing, f"requests that bypassed mitmdump: {missing}"


def test_capture_addon_ran_when_present(lab_run: Any) -> None:
    """A colleague's addon that fails to load makes the lab fall back to a bare mitmdump;
    that must show up here, not as a quiet skip of every capture comparison."""
    from analysis.lab.proxy import REPO_ROOT

    if not (REPO_ROOT / "addons" / "cors.py").exists():
        pytest.skip("addons/cors.py does not exist yet")
    assert not lab_run.warnings, lab_run.warnings
    assert lab_run.capture_path is not None, "addons/cors.py ran but wrote no capture"


def _expectation(lab_run: Any, scenario: Scenario) -> tuple[bool, str | None, str | None]:
    e = scenario.expected
    if e.failed_parameter is None:
        return e.blocked, e.cors_error, None
    return e.blocked, e.cors_error, lab_run.fill(e.failed_parameter, scenario.id)


@pytest.mark.parametrize("scenario", KEY_ROWS, ids=[s.id for s in KEY_ROWS])
def test_lab_notes_rows_reproduce(lab_run: Any, scenario: Scenario) -> None:
    """The table of the lab notes, re-measured: if these fail, the lab is broken, not corscope."""
    truth = _truth(lab_run, scenario)
    got = (truth.blocked, truth.cors_error, truth.failed_parameter)
    assert got == _expectation(lab_run, scenario), truth


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_chromium_decides_as_the_scenario_expects(lab_run: Any, scenario: Scenario) -> None:
    """Each scenario's written expectation is what this Chromium actually does."""
    truth = _truth(lab_run, scenario)
    got = (truth.blocked, truth.cors_error, truth.failed_parameter)
    assert got == _expectation(lab_run, scenario), truth


@cache
def _corscope_index(path: Path) -> ExchangeIndex:
    from analysis.api import analyze

    return ExchangeIndex.of(analyze([str(path)]))


def _source_path(lab_run: Any, scenario: Scenario, source: str) -> Path:
    """The input corscope reads for `source`; skips when it cannot show the scenario."""
    if source == "flow":
        if not scenario.wire_decides:
            pytest.skip("what decided never reached the proxy; only the capture's probe sees it")
        return lab_run.flow_path
    if not scenario.wire_decides and not lab_run.probe:
        pytest.skip("not on the wire, and the capture ran without its probe")
    if lab_run.capture_path is None:
        pytest.skip(f"no capture: addons/cors.py absent or wrote nothing {lab_run.warnings}")
    return lab_run.capture_path


def _flow_cannot_tell(scenario: Scenario, source: str) -> list[Any]:
    """A strict xfail where the scenario says the flow file cannot show what decided."""
    if source != "flow" or not scenario.flow_cannot_tell:
        return []
    return [pytest.mark.xfail(strict=True, reason=scenario.flow_cannot_tell)]


def _agreement_params() -> list[Any]:
    return [
        pytest.param(scenario, source, id=f"{scenario.id}-{source}", marks=marks)
        for scenario in SCENARIOS
        for source in ("flow", "capture")
        for marks in [_flow_cannot_tell(scenario, source)]
    ]


@pytest.mark.parametrize(("scenario", "source"), _agreement_params())
def test_corscope_agrees_with_chromium(lab_run: Any, scenario: Scenario, source: str) -> None:
    path = _source_path(lab_run, scenario, source)
    truth = _truth(lab_run, scenario)
    result = compare(truth, _corscope_index(path), scenario.call)
    assert result.corscope is not None, (
        f"{result.explain()} (looked for {truth.method} {truth.url} in {path.name})"
    )
    assert result.agrees, result.explain()


@cache
def _unredacted_index(path: Path) -> ExchangeIndex:
    from analysis.api import analyze_files, document

    # Chromium prints URLs with their secrets; corscope's document redacts token-like query
    # parameters and URL credentials by default. The wording is what is compared here.
    return ExchangeIndex.of(document(analyze_files([path]), redact=False))


def _wording_known_to_differ(scenario: Scenario, source: str) -> str | None:
    """Why corscope's sentence is not Chromium's for this scenario and input (measured with
    Chromium 156); None when it must be."""
    if scenario.call.client in ("xhr", "beacon") and source == "flow":
        return (
            "XHR, sendBeacon and fetch() look alike on the wire (Sec-Fetch-Dest: empty); the"
            " flow file words their failures as 'Access to fetch'"
        )
    return None


def _wording_params() -> list[Any]:
    params = []
    for scenario in SCENARIOS:
        for source in ("flow", "capture"):
            reason = _wording_known_to_differ(scenario, source)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            marks = marks or _flow_cannot_tell(scenario, source)
            params.append(pytest.param(scenario, source, id=f"{scenario.id}-{source}", marks=marks))
    return params


@pytest.mark.parametrize(("scenario", "source"), _wording_params())
def test_corscope_words_it_as_chromium(lab_run: Any, scenario: Scenario, source: str) -> None:
    """The failure in the browser's own words: corscope's `chrome_message` is the CORS line
    Chromium printed in its console for the decisive request (the page's, or the worker's
    when a worker fetched on the page's behalf)."""
    truth = _truth(lab_run, scenario)
    if not truth.console:
        pytest.skip("Chromium printed no CORS console line for this request")
    path = _source_path(lab_run, scenario, source)
    exchange = _unredacted_index(path).find(truth.url, truth.method, call_mode(scenario.call))
    assert exchange is not None, f"no exchange for {truth.method} {truth.url} in {path.name}"
    assert (exchange.get("verdict") or {}).get("chrome_message") == truth.console[-1]
