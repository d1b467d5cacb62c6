"""Geometry for the two inline SVG charts: failing requests per finding, and over time.

Only numbers and labels leave this module; the template draws them, so every label is
escaped like any other text. Widths are in SVG user units: the SVG scales to its box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports import fmt

if TYPE_CHECKING:
    from analysis.api import Decided

WIDTH = 640
_BAR_ROW = 40
_BAR_MAX = 560
_MAX_BARS = 8
_LABEL_CHARS = 84
_PLOT_TOP = 16
PLOT_HEIGHT = 200
_PLOT_LEFT = 36
_DAY = 86400
# A bucket size a reader can name, chosen so the chart has at most this many columns.
_MAX_COLUMNS = 60
_BUCKETS = (
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    21600,
    43200,
    86400,
)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    tooltip: str
    value: int
    severity: str
    anchor: str | None
    y: int
    width: float


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: list[Bar]
    height: int
    width: int = WIDTH


@dataclass(frozen=True, slots=True)
class Column:
    x: float
    width: float
    segments: list[tuple[str, float, float]]
    """(kind, y, height) from the bottom up: blocked, conditional, allowed."""
    tooltip: str


@dataclass(frozen=True, slots=True)
class TimeChart:
    columns: list[Column]
    bucket: str
    peak: int
    start: str
    middle: str
    end: str
    height: int
    plot_top: int = _PLOT_TOP
    plot_bottom: int = _PLOT_TOP + PLOT_HEIGHT
    plot_left: int = _PLOT_LEFT
    width: int = WIDTH


@dataclass(frozen=True, slots=True)
class FindingCount:
    """What the bar chart needs of one finding, already scrubbed for display."""

    title: str
    severity: str
    count: int
    anchor: str
    rank: int


def by_finding(counts: Sequence[FindingCount]) -> BarChart | None:
    if not counts:
        return None
    shown = list(counts[:_MAX_BARS])
    rest = list(counts[_MAX_BARS:])
    peak = max([c.count for c in shown] + [sum(c.count for c in rest)] + [1])
    bars = []
    for index, c in enumerate(shown):
        label = f"#{c.rank} {c.title}"
        bars.append(_bar(label, c.count, c.severity, c.anchor, index, peak))
    if rest:
        total = sum(c.count for c in rest)
        bars.append(_bar(f"{len(rest)} more findings", total, "other", None, len(bars), peak))
    return BarChart(bars=bars, height=len(bars) * _BAR_ROW + 4)


def _bar(label: str, value: int, severity: str, anchor: str | None, index: int, peak: int) -> Bar:
    short = label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
    width = max(round(_BAR_MAX * value / peak, 1), 2.0)
    return Bar(short, f"{label}: {value:,}", value, severity, anchor, index * _BAR_ROW, width)


def over_time(decided: Sequence[Decided], plot_height: int = PLOT_HEIGHT) -> TimeChart | None:
    times = [(d.exchange.started, d.verdict.blocked) for d in decided]
    stamped = [(t, b) for t, b in times if t is not None and fmt.is_calendar_time(t)]
    if not stamped:
        return None
    first = min(t for t, _ in stamped)
    last = max(t for t, _ in stamped)
    span = last - first
    size = next((b for b in _BUCKETS if span / b < _MAX_COLUMNS), None)
    if size is None:
        # Longer than the largest named bucket allows: whole days, still at most
        # _MAX_COLUMNS columns however far apart the capture's times are.
        size = _DAY * (int(span / _DAY / (_MAX_COLUMNS - 1)) + 1)
    origin = first - first % size
    clock = fmt.clock_ms if size < 1 else fmt.day if size >= _DAY else fmt.clock
    count = int((last - origin) // size) + 1
    buckets = [[0, 0, 0] for _ in range(count)]
    for started, blocked in stamped:
        kind = 0 if blocked is True else 1 if blocked is None else 2
        buckets[min(int((started - origin) // size), count - 1)][kind] += 1
    peak = max(sum(b) for b in buckets) or 1
    plot_width = WIDTH - _PLOT_LEFT
    step = plot_width / count
    gap = min(2.0, step * 0.2)
    columns = []
    for index, (blocked, conditional, allowed) in enumerate(buckets):
        y = float(_PLOT_TOP + plot_height)
        segments = []
        for kind, value in (
            ("blocked", blocked),
            ("conditional", conditional),
            ("allowed", allowed),
        ):
            if value:
                height = plot_height * value / peak
                y -= height
                segments.append((kind, round(y, 1), round(height, 1)))
        begin = origin + index * size
        tooltip = (
            f"{clock(begin)}–{clock(begin + size)}: {blocked:,} blocked,"
            f" {conditional:,} conditional, {allowed:,} allowed"
        )
        columns.append(
            Column(
                round(_PLOT_LEFT + index * step + gap / 2, 1),
                round(step - gap, 1),
                segments,
                tooltip,
            )
        )
    return TimeChart(
        columns=columns,
        bucket=_bucket_name(size),
        peak=peak,
        start=clock(origin),
        middle=clock(origin + count * size / 2),
        end=clock(origin + count * size),
        height=_PLOT_TOP + plot_height + 24,
        plot_bottom=_PLOT_TOP + plot_height,
    )


def plot_height_beside(bars: BarChart | None) -> int:
    """A time plot about as tall as the bar chart next to it, so neither panel is mostly
    empty space."""
    if bars is None:
        return 120
    return max(100, min(PLOT_HEIGHT, bars.height - 70))


def _bucket_name(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    seconds = int(seconds)
    if seconds == 1:
        return "second"
    if seconds < 60:
        return f"{seconds} seconds"
    if seconds == 60:
        return "minute"
    if seconds < 3600:
        return f"{seconds // 60} minutes"
    if seconds == 3600:
        return "hour"
    if seconds < _DAY:
        return f"{seconds // 3600} hours"
    return "day" if seconds == _DAY else f"{seconds // _DAY:,} days"
