"""corscope's diagnosis of the lab session: every scenario's root cause comes out as a
finding of its own, with the expected id, and its fix names the expected layer.

The flow file mitmdump wrote and the capture the project's addon wrote are each diagnosed
as a user would (`analyze_files` + `diagnose`), from the one session-wide lab run. What a
check means is in analysis/lab/causes.py; a failure names the scenario, the cause and
layer it expects, and the findings its exchanges actually landed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis.lab.causes import CauseReport, check
from analysis.lab.scenarios import SCENARIOS
from analysis.lab.spec import Scenario

SOURCES = ["flow", "capture"]
CAUSED = [s for s in SCENARIOS if s.cause != "none"]
CONTROLS = [s for s in SCENARIOS if s.cause == "none"]

_reports: dict[tuple[int, str], CauseReport] = {}


def _path(lab_run: Any, source: str) -> Path:
    if source == "flow":
        return Path(lab_run.flow_path)
    if lab_run.capture_path is None:
        pytest.skip(f"no capture: addons/cors.py absent or wrote nothing {lab_run.warnings}")
    return Path(lab_run.capture_path)


def _report(lab_run: Any, source: str) -> CauseReport:
    """Diagnose each source once per session; every test below reads the same report."""
    key = (id(lab_run), source)
    if key not in _reports:
        from analysis.api import analyze_files
        from analysis.diagnosis.findings import diagnose

        analysis = analyze_files([_path(lab_run, source)])
        findings = diagnose(analysis.decided)
        _reports[key] = check(lab_run, SCENARIOS, analysis.decided, findings, source)
    return _reports[key]


def _result(lab_run: Any, scenario: Scenario, source: str) -> Any:
    report = _report(lab_run, source)
    result = next(r for r in report.results if r.scenario_id == scenario.id)
    if result.skipped:
        pytest.skip(result.skipped)
    return result


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("scenario", CAUSED, ids=[s.id for s in CAUSED])
def test_root_cause_is_its_own_finding(lab_run: Any, scenario: Scenario, source: str) -> None:
    result = _result(lab_run, scenario, source)
    assert result.ok, f"[{source}] {result.explain()}"


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("scenario", CONTROLS, ids=[s.id for s in CONTROLS])
def test_controls_get_no_blocked_finding(lab_run: Any, scenario: Scenario, source: str) -> None:
    result = _result(lab_run, scenario, source)
    assert result.ok, f"[{source}] {result.explain()}"


@pytest.mark.parametrize("source", SOURCES)
def test_distinct_causes_are_never_merged(lab_run: Any, source: str) -> None:
    report = _report(lab_run, source)
    assert not report.merged, f"[{source}] " + "\n".join(report.merged)


@pytest.mark.parametrize("source", SOURCES)
def test_one_cause_of_one_deployment_is_one_finding(lab_run: Any, source: str) -> None:
    report = _report(lab_run, source)
    assert not report.split, f"[{source}] " + "\n".join(report.split)


def test_every_declared_cause_is_diagnosed_somewhere(lab_run: Any) -> None:
    """Between the two sources, no scenario goes unjudged: what the flow file cannot show,
    the capture's probe must."""
    judged = {
        r.scenario_id
        for source in SOURCES
        if source == "flow" or lab_run.capture_path is not None
        for r in _report(lab_run, source).judged
    }
    missing = [s.id for s in SCENARIOS if s.id not in judged]
    if lab_run.capture_path is None or not lab_run.probe:
        pytest.skip(f"without the capture's probe these cannot be judged: {missing}")
    assert not missing, missing
