"""`analysis.progress`: a bar on stderr for slow work, silent otherwise."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import progress as progress_module
from analysis.progress import Progress
from analysis.readers import read

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_silent_when_stderr_is_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(out) as progress:
        assert progress.task("reading") is None
    assert out.getvalue() == ""


def test_silent_for_work_done_within_the_delay() -> None:
    out, clock = Terminal(), Clock()
    with Progress(out, clock=clock) as progress:
        task = progress.task("reading", unit="bytes")
        assert task is not None
        clock.now = 0.9
        task(50, 100)
        task(100, 100)
    assert out.getvalue() == ""


@pytest.mark.parametrize("rich", [True, False], ids=["rich", "plain"])
def test_drawn_after_a_second(rich: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not rich:
        monkeypatch.setattr(progress_module, "_rich_display", lambda stream: None)
    out, clock = Terminal(), Clock()
    with Progress(out, clock=clock) as progress:
        task = progress.task("reading", unit="bytes")
        assert task is not None
        clock.now = 1.5
        task(1_500_000, 3_000_000)
        drawn = out.getvalue()
        assert "reading" in drawn
        assert "1.5 MB" in drawn and "3.0 MB" in drawn
        clock.now = 1.52
        task(1_600_000, 3_000_000)  # too soon after the last redraw
        assert out.getvalue() == drawn
        clock.now = 2.0
        task(3_000_000, 3_000_000)
    assert len(out.getvalue()) > len(drawn)


def test_two_tasks_share_one_display() -> None:
    out, clock = Terminal(), Clock()
    with Progress(out, clock=clock) as progress:
        reading, deciding = progress.task("reading", "bytes"), progress.task("deciding")
        assert reading is not None and deciding is not None
        clock.now = 2.0
        reading(10, 10)
        deciding(5, 10)
    text = out.getvalue()
    assert "reading" in text and "deciding" in text and "5/10" in text


def test_dumb_terminal_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    assert Progress(Terminal()).task("reading") is None


def test_readers_drive_a_task() -> None:
    out, clock = Terminal(), Clock()
    with Progress(out, clock=clock, delay=0) as progress:
        task = progress.task("reading", unit="bytes")
        clock.now = 1.0
        read(DATA / "chrome-missing-acao.har", progress=task)
    assert "reading" in out.getvalue()


def test_rich_is_imported_only_to_draw() -> None:
    code = (
        "import sys, io\n"
        "from analysis.progress import Progress\n"
        "class T(io.StringIO):\n"
        "    def isatty(self): return True\n"
        "p = Progress(T(), delay=60)\n"
        "t = p.task('reading')\n"
        "t(1, 2)\n"
        "print('rich' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
