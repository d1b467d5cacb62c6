"""`python -m analysis.lab`: run the lab and print Chromium's verdict beside corscope's.

Exit status: 0 when corscope agrees with Chromium on every scenario it could judge, 1 when
it disagrees somewhere or could not run, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from analysis.lab.compare import Agreement, ExchangeIndex, chromium_verdict, compare
from analysis.lab.runner import LabRun, run_lab
from analysis.lab.scenarios import SCENARIOS, by_id


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


def _shorten(run: LabRun) -> Callable[[str], str]:
    """Write this run's origins as their keys ({app}, {api} …): ports change every run and
    make the table unreadably wide."""
    patterns = [
        (re.compile(re.escape(url) + r"(?!\d)"), f"{{{key}}}")
        for key, url in sorted(run.origins.items(), key=lambda kv: -len(kv[1]))
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
            print(f"{s.id:48} {s.cause:32} {s.title}")
        return 0
    try:
        chosen = tuple(by_id(i) for i in args.scenario) or SCENARIOS
    except KeyError as error:
        print(f"unknown scenario {error}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="corscope-lab-") as tmp:
        run = run_lab(args.workdir or Path(tmp), chosen, probe=not args.no_probe)
        problems = list(run.warnings)
        inputs: dict[str, ExchangeIndex | None] = {}
        if not args.no_corscope:
            for name, path in (("flow", run.flow_path), ("capture", run.capture_path)):
                if path is None:
                    continue
                inputs[name], problem = _analyze(path)
                if problem:
                    problems.append(problem)
        lines, disagreements = _table(run, inputs)

    print("\n".join(lines))
    print("\norigins: " + ", ".join(f"{{{k}}} = {u}" for k, u in run.origins.items()))
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
    failed = disagreements > 0 or (not args.no_corscope and any(v is None for v in inputs.values()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
