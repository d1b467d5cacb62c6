"""Findings: what a finding collects from its exchanges for the fix."""

from __future__ import annotations

from dataclasses import replace

from analysis.api import Decided
from analysis.diagnosis import findings
from analysis.model import Exchange, Step
from analysis.verdict import decide
from tests import factories
from tests.factories import preflighted


def test_fix_lists_each_announced_header_once_in_order_however_many() -> None:
    # A hostile capture can announce tens of thousands of names; collecting them one
    # list lookup at a time was quadratic.
    names = [f"x-h{i}" for i in range(50_000)]
    announced = ", ".join(names + names[:10])
    exchange = preflighted("PUT", 204, [], announced=announced)
    decided = [Decided(exchange, decide(exchange))] * 3
    [finding] = findings.diagnose(decided)
    group = findings._Group(finding.root_cause, finding.api_origin, "blocked", False, None, [])  # type: ignore[arg-type]
    params = findings._fix_params(group, decided, finding.endpoints, finding.origins, {})
    assert params.headers == tuple(names)
    assert params.methods == ("PUT",)


def test_a_conditional_finding_names_its_condition_and_the_page_fixes_a_redirect_mode() -> None:
    url = factories.API + "/old"
    sent = [("Origin", factories.PAGE), ("Sec-Fetch-Mode", "cors")]
    answer = [("Location", factories.API + "/new"), ("Access-Control-Allow-Origin", "*")]
    base = factories.exchange(Step(url, None, factories.tx("GET", url, sent, 302, answer)))
    flow = Exchange("x", base.steps, replace(base.context, via_proxy=True))
    (found,) = findings.diagnose([Decided(flow, decide(flow))])
    assert found.root_cause == "browser-block" and found.conditional
    assert found.title.endswith("(if fetched with redirect: 'error')")
    assert found.fix.layer == "page"
