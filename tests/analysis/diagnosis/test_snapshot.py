"""The ranked findings of the committed example session, held against a snapshot.

The example is the real-browser lab's session (examples/lab-session.mitm and its capture
examples/lab-session.capture.jsonl), recorded on fixed ports so its origins never change.
Any change to readers, verdicts, rules or ranking that moves a finding shows up here as a
readable diff of the ranked list.

After a change that is meant to move findings, regenerate the snapshot and commit it with
the change that explains it:

    CORSCOPE_UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/analysis/diagnosis/test_snapshot.py

To re-record the example itself (needs Debian's chromium), then regenerate as above:

    .venv/bin/python -m analysis.lab --save-example examples/
"""

from __future__ import annotations

import difflib
import json
import os
from functools import cache
from pathlib import Path

import pytest

from analysis.api import analyze_files
from analysis.diagnosis.findings import diagnose

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SNAPSHOT = ROOT / "tests" / "data" / "example-ranking.json"
SOURCES = ("lab-session.mitm", "lab-session.capture.jsonl")
UPDATE = os.environ.get("CORSCOPE_UPDATE_SNAPSHOT") == "1"


@cache
def _deployments() -> dict[str, str]:
    """API origin → the lab deployment it belongs to, so the snapshot reads as scenarios."""
    truth = json.loads((EXAMPLES / "ground-truth.json").read_text())
    return {
        url: deployment
        for deployment, keys in truth.get("deployments", {}).items()
        for url in keys.values()
    }


def ranking(path: Path) -> list[dict[str, object]]:
    analysis = analyze_files([path])
    deployments = _deployments()
    return [
        {
            "rank": f.rank,
            "root_cause": f.root_cause,
            "severity": f.severity,
            "api_origin": f.api_origin,
            "deployment": deployments.get(f.api_origin),
            "fix_layer": f.fix.layer,
        }
        for f in diagnose(analysis.decided)
    ]


def _lines(rows: list[dict[str, object]]) -> list[str]:
    lines = []
    for r in rows:
        where = r["deployment"] or r["api_origin"]
        lines.append(
            f"{r['rank']:>3} {r['severity']:<8} {r['root_cause']:<36} {where} -> {r['fix_layer']}"
        )
    return lines


def _dump(snapshot: dict[str, list[dict[str, object]]]) -> str:
    """One finding per line, so that a changed ranking reads as a short diff in review."""
    parts = []
    for name, rows in snapshot.items():
        body = ",\n".join("    " + json.dumps(row) for row in rows)
        parts.append(f"  {json.dumps(name)}: [\n{body}\n  ]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _current() -> dict[str, list[dict[str, object]]]:
    return {name: ranking(EXAMPLES / name) for name in SOURCES if (EXAMPLES / name).exists()}


def test_example_ranking_matches_the_snapshot() -> None:
    missing = [name for name in SOURCES if not (EXAMPLES / name).exists()]
    assert not missing, f"example files missing: {missing} (python -m analysis.lab --save-example)"
    current = _current()
    if UPDATE:
        SNAPSHOT.write_text(_dump(current))
        pytest.skip(f"snapshot rewritten: {SNAPSHOT}")
    assert SNAPSHOT.exists(), "no snapshot yet: run with CORSCOPE_UPDATE_SNAPSHOT=1"
    expected = json.loads(SNAPSHOT.read_text())
    for name in SOURCES:
        if current[name] != expected.get(name):
            diff = "\n".join(
                difflib.unified_diff(
                    _lines(expected.get(name, [])),
                    _lines(current[name]),
                    "snapshot",
                    "now",
                    lineterm="",
                )
            )
            pytest.fail(
                f"the ranking of examples/{name} changed (if intended: "
                f"CORSCOPE_UPDATE_SNAPSHOT=1 .venv/bin/pytest {Path(__file__).relative_to(ROOT)})"
                f"\n{diff}"
            )


def test_example_has_every_lab_cause_ranked() -> None:
    """The example is worth snapshotting only if it shows each cause the lab demonstrates."""
    from analysis.lab.scenarios import SCENARIOS

    causes = {s.cause for s in SCENARIOS} - {"none"}
    found = {row["root_cause"] for row in ranking(EXAMPLES / "lab-session.capture.jsonl")}
    assert not causes - found, sorted(causes - found)


def test_example_is_small_enough_to_commit() -> None:
    files = [EXAMPLES / n for n in (*SOURCES, "ground-truth.json")]
    total = sum(f.stat().st_size for f in files if f.exists())
    # 3.0 MB at 139 failure modes, 3.9 MB at 159: every lab page, iframe (srcdoc and
    # about:blank ones too, since the fifteenth session) and worker script loads the probe
    # afresh (no-store); its 137 loads are 1.8 MB of the flow file's 3.0 MB.
    assert total < 4_200_000, f"{total} bytes"
