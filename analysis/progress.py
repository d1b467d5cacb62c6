"""Progress bars on stderr, for work that takes more than a second.

    with Progress() as progress:
        result = read_many(paths, progress=progress.task("reading", unit="bytes"))
        decided = decide_all_parallel(exchanges, jobs, progress=progress.task("deciding"))

A task is a plain callback, `(done, total) -> None`, so the readers never import this
module: the addon runs them inside a bare mitmproxy, which may have no rich. Here rich is
imported only once a bar is actually drawn, and a plain one-line counter stands in where
rich is missing.

Nothing is drawn when stderr is not a terminal (pipes, CI logs, `2>file`), nor for work
that is done within `delay` seconds: a bar that flashes up is noise.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

ProgressFn = Callable[[int, int], None]
"""(done, total): bytes for reading, exchanges for deciding."""

_REFRESH_S = 0.1
"""Least time between redraws: a callback may come thousands of times a second."""


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


class Progress:
    """The bars of one command. Use as a context manager; `task()` hands out callbacks."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        delay: float = 1.0,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.delay = delay
        self.clock = clock
        self._display: _Display | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._display is not None:
            self._display.close()
            self._display = None

    def task(self, label: str, unit: str = "") -> ProgressFn | None:
        """A callback for one piece of work, or None when nothing will be drawn: callers
        then skip the calls altogether."""
        if not self.enabled:
            return None
        return _Task(self, label, unit, self.clock())

    def _draw(self, task: _Task, done: int, total: int) -> None:
        if self._display is None:
            self._display = _rich_display(self.stream) or _PlainDisplay(self.stream)
        self._display.update(task, done, total)


class _Task:
    __slots__ = ("drawn_at", "label", "owner", "started", "unit")

    def __init__(self, owner: Progress, label: str, unit: str, started: float) -> None:
        self.owner = owner
        self.label = label
        self.unit = unit
        self.started = started
        self.drawn_at = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = self.owner.clock()
        if now - self.started < self.owner.delay:
            return
        if now - self.drawn_at < _REFRESH_S and done < total:
            return
        self.drawn_at = now
        self.owner._draw(self, done, total)


class _Display:
    def update(self, task: _Task, done: int, total: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _RichDisplay(_Display):
    def __init__(self, stream: TextIO, progress_module: Any, console_module: Any) -> None:
        p = progress_module
        self.bar = p.Progress(
            p.TextColumn("{task.description}"),
            p.BarColumn(),
            p.TaskProgressColumn(),
            p.TextColumn("{task.fields[amount]}"),
            p.TimeRemainingColumn(),
            console=console_module.Console(file=stream),
            transient=True,
            # No refresh thread: `parallel` forks worker processes while a bar is up.
            auto_refresh=False,
        )
        self.bar.start()
        self.ids: dict[_Task, Any] = {}

    def update(self, task: _Task, done: int, total: int) -> None:
        if task not in self.ids:
            self.ids[task] = self.bar.add_task(task.label, total=total, amount="")
        amount = _amount(done, total, task.unit)
        self.bar.update(self.ids[task], completed=done, total=total, amount=amount)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.stop()


class _PlainDisplay(_Display):
    """One line, rewritten in place: for a Python without rich."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.width = 0

    def update(self, task: _Task, done: int, total: int) -> None:
        percent = f"{100 * done // total:3d}% " if total else ""
        line = f"{task.label} {percent}{_amount(done, total, task.unit)}"
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = max(self.width, len(line))

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _rich_display(stream: TextIO) -> _Display | None:
    try:
        from rich import console, progress
    except ImportError:
        return None
    return _RichDisplay(stream, progress, console)


def _amount(done: int, total: int, unit: str) -> str:
    if unit == "bytes":
        return f"{_bytes(done)}/{_bytes(total)}"
    suffix = f" {unit}" if unit else ""
    return f"{done:,}/{total:,}{suffix}"


def _bytes(n: int) -> str:
    size, unit = float(n), "B"
    for bigger in ("kB", "MB", "GB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
