"""One lab run per test session: real servers, real mitmdump, real Chromium.

Set CORSCOPE_LAB_DIR to keep the run's flow file, capture and ground_truth.json somewhere
you can open after the tests (default: pytest's temporary directory). The capture
addon runs with its in-page probe, so the capture comparison also covers what never
reaches the wire; CORSCOPE_LAB_PROBE=0 runs it without.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from analysis.lab.browser import CHROMIUM


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the lab")
    from analysis.lab.runner import run_lab

    kept = os.environ.get("CORSCOPE_LAB_DIR")
    workdir = Path(kept) if kept else tmp_path_factory.mktemp("lab")
    probe = os.environ.get("CORSCOPE_LAB_PROBE", "1") != "0"
    return run_lab(workdir, probe=probe)
