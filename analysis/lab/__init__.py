"""The real-browser lab: Chromium judges scenarios served from loopback, through mitmdump.

`run_lab(workdir)` runs every scenario and returns Chromium's verdicts together with the
flow file (and the capture, when the project's addon is present) that corscope must judge
the same way. Heavy imports (Playwright) wait until the lab actually runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.lab.__main__ import main
    from analysis.lab.runner import GroundTruth, LabRun, run_lab
    from analysis.lab.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "GroundTruth", "LabRun", "main", "run_lab"]


def __getattr__(name: str) -> Any:
    if name in ("GroundTruth", "LabRun", "run_lab"):
        from analysis.lab import runner

        return getattr(runner, name)
    if name == "main":
        from analysis.lab.__main__ import main

        return main
    if name == "SCENARIOS":
        from analysis.lab.scenarios import SCENARIOS

        return SCENARIOS
    raise AttributeError(name)
