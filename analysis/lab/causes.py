"""Hold corscope's diagnosis against what each scenario demonstrates.

Each scenario names the root cause it shows and the layer its fix must change. On a lab
session corscope must give every such cause a finding of its own, with the expected id:

- the scenario's exchanges belong to a finding with its cause, and (when it is blocked) to
  no blocked finding with another; a scenario the browser allows gets no blocked finding;
- that finding's fix changes the declared layer (and leaves the declared one alone);
- two scenarios with different causes never share a finding (distinct causes merged);
- one cause within one deployment is one finding, whatever the endpoints (never split).

A scenario's exchanges are those of its decisive visit: same URL, method and mode as the
page's call, less the ones its `before` visits made to the same URL (they come first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.lab.compare import call_mode, norm_url
from analysis.lab.runner import GroundTruth, LabRun
from analysis.lab.spec import Scenario


@dataclass(frozen=True)
class Seen:
    """One finding an exchange of the scenario belongs to."""

    finding_id: str
    root_cause: str
    severity: str
    layer: str
    leave_alone: str | None

    def __str__(self) -> str:
        alone = f", leave {self.leave_alone}" if self.leave_alone else ""
        return f"{self.finding_id} {self.root_cause} [{self.severity}; fix {self.layer}{alone}]"


@dataclass(frozen=True)
class CauseResult:
    scenario_id: str
    expected: str
    fix_layer: str | None
    exchanges: tuple[str, ...] = ()
    seen: tuple[Seen, ...] = ()
    problems: tuple[str, ...] = ()
    skipped: str | None = None
    """Why the source cannot show this scenario (its decisive answer never reached the
    wire), or None."""

    @property
    def ok(self) -> bool:
        return self.skipped is None and not self.problems

    def explain(self) -> str:
        actual = "; ".join(str(s) for s in self.seen) or "no finding"
        layer = f" fixed in {self.fix_layer}" if self.fix_layer else ""
        return f"{self.scenario_id}: expected {self.expected}{layer}; actual: {actual}" + "".join(
            f"\n  - {p}" for p in self.problems
        )


@dataclass
class CauseReport:
    source: str
    results: list[CauseResult]
    merged: list[str] = field(default_factory=list)
    """Findings that hold scenarios of different causes."""
    split: list[str] = field(default_factory=list)
    """(deployment, cause) pairs spread over several findings."""

    @property
    def judged(self) -> list[CauseResult]:
        return [r for r in self.results if r.skipped is None]

    @property
    def agreeing(self) -> int:
        return sum(r.ok for r in self.judged)

    def summary(self) -> str:
        skipped = len(self.results) - len(self.judged)
        text = f"root causes ({self.source}): {self.agreeing}/{len(self.judged)} scenarios agree"
        if skipped:
            text += f", {skipped} not judged (not on the wire)"
        if self.merged:
            text += f", {len(self.merged)} finding(s) merge distinct causes"
        if self.split:
            text += f", {len(self.split)} cause(s) split over findings"
        return text


def scenario_exchanges(decided: Sequence[Any], truth: GroundTruth, scenario: Scenario) -> list[Any]:
    """The `Decided` exchanges of the scenario's decisive visit, in document order."""
    mode = call_mode(scenario.call)
    url = norm_url(truth.url)
    found = [
        d
        for d in decided
        if norm_url(d.exchange.url) == url
        and d.exchange.method == truth.method
        and d.verdict.mode in (None, mode)
    ]
    call = scenario.call
    earlier = sum(
        1
        for v in scenario.before
        if (v.call.api, v.call.sub, v.call.method, call_mode(v.call))
        == (call.api, call.sub, call.method, mode)
    )
    return found[earlier:]


def _owners(findings: Iterable[Any]) -> dict[str, list[Any]]:
    owners: dict[str, list[Any]] = defaultdict(list)
    for finding in findings:
        for exchange_id in finding.exchanges:
            owners[exchange_id].append(finding)
    return owners


def _seen(finding: Any) -> Seen:
    return Seen(
        finding.id, finding.root_cause, finding.severity, finding.fix.layer, finding.fix.leave_alone
    )


def skip_reason(scenario: Scenario, source: str, probe: bool) -> str | None:
    if scenario.wire_decides:
        return None
    if source == "flow":
        return "its decisive answer never reached the proxy"
    if not probe:
        return "not on the wire, and the capture ran without its probe"
    return None


def check_scenario(
    scenario: Scenario,
    truth: GroundTruth,
    decided: Sequence[Any],
    owners: Mapping[str, list[Any]],
) -> CauseResult:
    exchanges = scenario_exchanges(decided, truth, scenario)
    ids = tuple(d.exchange.id for d in exchanges)
    findings = list({f.id: f for i in ids for f in owners.get(i, [])}.values())
    seen = tuple(_seen(f) for f in findings)
    result = CauseResult(scenario.id, scenario.cause, scenario.fix_layer, ids, seen)
    problems: list[str] = []
    if not exchanges:
        problems.append(f"no exchange for {truth.method} {truth.url}")
    blocked = [f for f in findings if f.severity == "blocked"]
    if scenario.cause == "none":
        problems += [f"a control got a blocked finding: {_seen(f)}" for f in blocked]
        return _with(result, problems)
    mine = [f for f in findings if f.root_cause == scenario.cause]
    if exchanges and not mine:
        problems.append(f"no finding with root cause {scenario.cause}")
    others = [f for f in blocked if f.root_cause != scenario.cause]
    if not scenario.expected.blocked:
        others = blocked
    problems += [f"also in a blocked finding with another cause: {_seen(f)}" for f in others]
    for finding in mine:
        if scenario.fix_layer and finding.fix.layer != scenario.fix_layer:
            problems.append(
                f"{finding.id}'s fix changes {finding.fix.layer}, not {scenario.fix_layer}"
            )
        alone = scenario.fix_leave_alone
        if alone and finding.fix.leave_alone != alone:
            problems.append(
                f"{finding.id}'s fix leaves {finding.fix.leave_alone} alone, not {alone}"
            )
    return _with(result, problems)


def _with(result: CauseResult, problems: list[str]) -> CauseResult:
    return CauseResult(
        result.scenario_id,
        result.expected,
        result.fix_layer,
        result.exchanges,
        result.seen,
        tuple(problems),
    )


def check(
    run: LabRun,
    scenarios: Sequence[Scenario],
    decided: Sequence[Any],
    findings: Sequence[Any],
    source: str,
) -> CauseReport:
    """Every scenario of `run` against `findings` diagnosed from one source ("flow" or
    "capture")."""
    truths = run.by_id()
    owners = _owners(findings)
    report = CauseReport(source, [])
    holders: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    spread: dict[tuple[str, str], set[str]] = defaultdict(set)
    for scenario in scenarios:
        truth = truths.get(scenario.id)
        if truth is None:
            continue
        skipped = skip_reason(scenario, source, run.probe)
        if skipped is not None:
            report.results.append(
                CauseResult(scenario.id, scenario.cause, scenario.fix_layer, skipped=skipped)
            )
            continue
        result = check_scenario(scenario, truth, decided, owners)
        report.results.append(result)
        if scenario.cause == "none":
            continue
        for exchange_id in result.exchanges:
            for finding in owners.get(exchange_id, []):
                holders[finding.id][scenario.cause].add(scenario.id)
                if finding.root_cause == scenario.cause:
                    spread[(scenario.deployment_id, scenario.cause)].add(finding.id)
    for finding_id, causes in sorted(holders.items()):
        if len(causes) > 1:
            named = "; ".join(f"{c}: {', '.join(sorted(ids))}" for c, ids in sorted(causes.items()))
            report.merged.append(f"finding {finding_id} holds distinct causes ({named})")
    for (deployment, cause), finding_ids in sorted(spread.items()):
        if len(finding_ids) > 1:
            report.split.append(
                f"deployment {deployment}: {cause} split over findings {sorted(finding_ids)}"
            )
    return report
