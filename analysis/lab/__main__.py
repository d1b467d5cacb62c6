"""`python -m analysis.lab`: run the lab and print Chromium's verdict beside corscope's.

    python -m analysis.lab                          # the agreement table
    python -m analysis.lab --report lab.html        # and corscope's report on the session
    python -m analysis.lab --save-example examples/ # record the committed example session

Exit status: 0 when corscope agrees with Chromium on every scenario it could judge and
diagnoses every scenario's root cause as expected (analysis/lab/causes.py), 1 when it
disagrees somewhere or could not run, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from analysis.lab.causes import CauseReport
from analysis.lab.causes import check as check_causes
from analysis.lab.compare import Agreement, ExchangeIndex, chromium_verdict, compare
from analysis.lab.runner import LabRun, run_lab
from analysis.lab.scenarios import SCENARIOS, by_id

EXAMPLE_FIRST_PORT = 21000
"""Where the example's ports start: fixed, so the committed recording names the same
origins every time it is remade; below Linux's ephemeral range (32768+), so outgoing
connections never hold one of them."""
EXAMPLE_FLOWS = "lab-session.mitm"
EXAMPLE_CAPTURE = "lab-session.capture.jsonl"
EXAMPLE_TRUTH = "ground-truth.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corscope lab",
        description="Browse every lab scenario with headless Chromium through mitmdump and "
        "compare corscope's verdicts with Chromium's.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep flow file, capture and ground_truth.json here (default: a temporary directory)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="ID",
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="run the capture addon without its in-page probe (cors_probe=false)",
    )
    parser.add_argument(
        "--no-corscope", action="store_true", help="only record Chromium's verdicts"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="write corscope's report on the session there: HTML, or the JSON document when "
        "PATH ends in .json (or the HTML renderer is unavailable)",
    )
    parser.add_argument(
        "--save-example",
        type=Path,
        metavar="DIR",
        help=f"record the session into DIR as {EXAMPLE_FLOWS}, {EXAMPLE_CAPTURE} and "
        f"{EXAMPLE_TRUTH}, on fixed ports so that the origins stay the same",
    )
    parser.add_argument(
        "--first-port",
        type=int,
        metavar="PORT",
        help="count the servers' ports up from PORT instead of letting the OS pick "
        f"(--save-example uses {EXAMPLE_FIRST_PORT})",
    )
    return parser


def _analyze(path: Path) -> tuple[ExchangeIndex | None, str | None]:
    try:
        from analysis.api import analyze
    except ImportError as error:
        return None, f"analysis.api unavailable: {error}"
    try:
        document: Any = analyze([str(path)])
    except Exception as error:  # corscope failing is a result to report, not a crash
        return None, f"analyze({path.name}) failed: {type(error).__name__}: {error}"
    return ExchangeIndex.of(document), None


def _causes(run: LabRun, name: str, path: Path) -> tuple[CauseReport | None, str | None]:
    """corscope's findings on one source, held against the scenarios' root causes."""
    try:
        from analysis.api import analyze_files
        from analysis.diagnosis.findings import diagnose

        analysis = analyze_files([path])
        findings = diagnose(analysis.decided)
    except Exception as error:  # as above: a broken diagnosis is reported, not raised
        return None, f"diagnosis of {path.name} failed: {type(error).__name__}: {error}"
    chosen = [s for s in SCENARIOS if s.id in run.by_id()]
    return check_causes(run, chosen, analysis.decided, findings, name), None


def _shorten(run: LabRun) -> Callable[[str], str]:
    """Write this run's origins as their keys ({app}, {api} …): ports change every run and
    make the table unreadably wide. Each row is one scenario, so its deployment's API
    origin is simply {api}."""
    every = list(run.origins.items()) + [
        (key, url) for keys in run.deployments.values() for key, url in keys.items()
    ]
    patterns = [
        (re.compile(re.escape(url) + r"(?!\d)"), f"{{{key}}}")
        for key, url in sorted(every, key=lambda kv: -len(kv[1]))
    ]

    def shorten(text: str) -> str:
        for pattern, key in patterns:
            text = pattern.sub(key, text)
        return text

    return shorten


def _table(run: LabRun, inputs: dict[str, ExchangeIndex | None]) -> tuple[list[str], int]:
    scenarios = {s.id: s for s in SCENARIOS}
    names = list(inputs)
    header = ["scenario", "Chromium", *[f"corscope ({n})" for n in names], "agree?"]
    rows: list[list[str]] = []
    disagreements = 0
    short = _shorten(run)
    for truth in run.results:
        row = [truth.scenario_id, short(str(chromium_verdict(truth)))]
        marks: list[str] = []
        for name in names:
            index = inputs[name]
            scenario = scenarios.get(truth.scenario_id)
            if index is None:
                row.append("-")
                continue
            off_wire = scenario is not None and not scenario.wire_decides
            if off_wire and (name == "flow" or not run.probe):
                row.append("(not on the wire)")
                continue
            result: Agreement = compare(truth, index, scenario.call if scenario else None)
            row.append("no exchange" if result.corscope is None else short(str(result.corscope)))
            marks.append(("yes*" if result.conditional else "yes") if result.agrees else "NO")
            disagreements += not result.agrees
        row.append("/".join(marks) or "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines, disagreements


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            layer = s.fix_layer or "-"
            print(f"{s.id:46} {s.cause:32} {layer:16} {s.deployment_id:34} {s.title}")
        return 0
    try:
        chosen = tuple(by_id(i) for i in args.scenario) or SCENARIOS
    except KeyError as error:
        print(f"unknown scenario {error}", file=sys.stderr)
        return 2

    first_port = args.first_port
    if args.save_example is not None and first_port is None:
        first_port = EXAMPLE_FIRST_PORT

    with tempfile.TemporaryDirectory(prefix="corscope-lab-") as tmp:
        run = run_lab(
            args.workdir or Path(tmp), chosen, probe=not args.no_probe, first_port=first_port
        )
        problems = list(run.warnings)
        if args.save_example is not None:
            saved = save_example(run, args.save_example)
            print("example: " + ", ".join(str(p) for p in saved))
        if args.report is not None:
            problem = write_report(run, args.report)
            if problem:
                problems.append(problem)
        inputs: dict[str, ExchangeIndex | None] = {}
        causes: list[CauseReport] = []
        if not args.no_corscope:
            for name, path in (("flow", run.flow_path), ("capture", run.capture_path)):
                if path is None:
                    continue
                inputs[name], problem = _analyze(path)
                report, cause_problem = _causes(run, name, path)
                if report is not None:
                    causes.append(report)
                problems += [p for p in (problem, cause_problem) if p]
        lines, disagreements = _table(run, inputs)

    print("\n".join(lines))
    print("\norigins: " + ", ".join(f"{{{k}}} = {u}" for k, u in run.origins.items()))
    apis = sum(len(keys) for keys in run.deployments.values())
    print(f"{len(run.deployments)} deployments with {apis} API origins of their own")
    print(
        f"{len(run.results)} scenarios in {run.duration_s:.1f} s; "
        f"ground truth: {run.ground_truth_path if args.workdir else '(temporary)'}"
    )
    for problem in problems:
        print(f"note: {problem}")
    if any("yes*" in line for line in lines):
        print(
            "yes*: corscope's verdict was conditional; its condition checked against what "
            "the page really sent"
        )
    if disagreements:
        print(f"{disagreements} disagreement(s) between corscope and Chromium")
    wrong_causes = 0
    for report in causes:
        print(report.summary())
        for result in report.judged:
            if not result.ok:
                print("  " + result.explain().replace("\n", "\n  "))
        for problem in report.merged + report.split:
            print(f"  {problem}")
        wrong_causes += len(report.judged) - report.agreeing + len(report.merged + report.split)
    failed = (
        disagreements > 0
        or wrong_causes > 0
        or (not args.no_corscope and any(v is None for v in inputs.values()))
    )
    return 1 if failed else 0


def report_input(run: LabRun) -> Path:
    """The capture when the addon wrote one (its probe also saw what never reached the
    wire), else the flow file."""
    return run.capture_path or run.flow_path


def write_report(run: LabRun, path: Path) -> str | None:
    """corscope's report on the lab session; returns a problem to print, or None."""
    try:
        from analysis.api import analyze_files, document
        from analysis.diagnosis.findings import diagnose

        analysis = analyze_files([report_input(run)])
        findings = diagnose(analysis.decided)
    except Exception as error:  # a broken analysis is a result to report, not a crash
        return f"report not written: {type(error).__name__}: {error}"
    renderer = None
    if path.suffix.lower() != ".json":
        try:
            from reports.render import write_report as renderer
        except ImportError:
            renderer = None
    path.parent.mkdir(parents=True, exist_ok=True)
    if renderer is not None:
        renderer(path, analysis, findings)
    else:
        path.write_text(json.dumps(document(analysis, findings), indent=2) + "\n")
    print(f"report: {path} ({len(findings)} findings)")
    return None


def save_example(run: LabRun, directory: Path) -> list[Path]:
    """Copy the session's flow file, capture and ground truth into `directory`, under names
    that do not depend on where the lab ran."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = [directory / EXAMPLE_FLOWS]
    shutil.copyfile(run.flow_path, saved[0])
    capture = directory / EXAMPLE_CAPTURE
    capture.unlink(missing_ok=True)
    if run.capture_path is not None:
        shutil.copyfile(run.capture_path, capture)
        saved.append(capture)
    truth = json.loads(run.ground_truth_path.read_text())
    truth["flow_file"] = EXAMPLE_FLOWS
    truth["capture"] = EXAMPLE_CAPTURE if run.capture_path is not None else None
    saved.append(directory / EXAMPLE_TRUTH)
    saved[-1].write_text(json.dumps(truth, indent=2) + "\n")
    return saved


if __name__ == "__main__":
    sys.exit(main())
