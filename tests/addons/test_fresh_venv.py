"""The addon loads in a Python that has mitmproxy and nothing else.

Proves the promise of `mitmdump -s addons/cors.py` with any mitmproxy installation: no
corscope install, no pandas, nothing from the project's venv. It builds a fresh venv and
installs mitmproxy into it from pip's local sources, which takes about a minute: hence
the `slow` mark (`pytest -m "not slow"` skips it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.api import analyze_files

from .harness import ADDON, Mitmdump, browser_like, send, serving

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPORT_ON_EXIT = """
from mitmproxy import ctx

class ReportOnExit:
    def done(self):
        ctx.master.commands.call("cors.report", {path!r})

addons = [ReportOnExit()]
"""


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "mitmproxy"],
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        pytest.fail(f"pip could not install mitmproxy into a fresh venv:\n{pip.stderr[-3000:]}")
    return venv / "bin"


def test_bare_venv_has_no_corscope(bare_python: Path) -> None:
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('analysis', 'addons', 'pandas') if u.find_spec(m)])"
    )
    # A PYTHONPATH exported to the test run would reach into the project from outside.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(bare_python / "python"), "-c", probe],
        capture_output=True, text=True, check=True, cwd="/", env=env,
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_addon_runs_in_a_bare_mitmproxy(bare_python: Path, tmp_path: Path) -> None:
    capture, report = tmp_path / "capture.jsonl", tmp_path / "report.json"
    helper = tmp_path / "report_on_exit.py"
    helper.write_text(REPORT_ON_EXIT.format(path=str(report)))

    def none(handler):
        return 200, [("Content-Type", "application/json")], b"{}"

    with serving("127.0.0.2", {"/none": none}) as api:
        proxy = Mitmdump(
            tmp_path,
            ["-s", str(ADDON), "-s", str(helper), "--set", f"cors_capture={capture}"],
            executable=str(bare_python / "mitmdump"),
        ).start()
        try:
            assert send(proxy, "GET", f"{api.origin}/none", browser_like()).status == 200
        finally:
            log = proxy.stop()

    assert "corscope: recording cross-origin exchanges" in log
    assert "CORS blocked GET" in log
    assert "Traceback" not in log and "error in script" not in log
    (decided,) = analyze_files([capture]).decided
    assert decided.verdict.reason == "MissingAllowOriginHeader"
    doc = json.loads(report.read_text())
    assert doc["schema"] == "corscope/1" and doc["summary"]["blocked"] == 1
