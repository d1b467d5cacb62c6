"""Reports rendered once per test session, from real HAR files and from hand-built captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.api import Analysis, analyze_files
from reports.render import render_report
from tests.reports import scenarios
from tests.reports.builders import analysis_of, findings_for

DATA = Path(__file__).parents[1] / "data"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def har_analysis() -> Analysis:
    return analyze_files(sorted(DATA.glob("*.har")))


@pytest.fixture(scope="session")
def session_analysis() -> Analysis:
    return analysis_of(scenarios.session(), inputs=["/home/someone/captures/shop.har"])


@pytest.fixture(scope="session")
def har_html(har_analysis: Analysis) -> str:
    return render_report(har_analysis, findings_for(har_analysis))


@pytest.fixture(scope="session")
def session_html(session_analysis: Analysis) -> str:
    return render_report(session_analysis, findings_for(session_analysis))


@pytest.fixture(scope="session")
def hostile_html() -> str:
    analysis = analysis_of(scenarios.hostile())
    return render_report(analysis, findings_for(analysis))


@pytest.fixture(scope="session")
def secrets_analysis() -> Analysis:
    return analysis_of(scenarios.with_secrets())


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
