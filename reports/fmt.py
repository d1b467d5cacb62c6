"""Plain-words formatting of times, durations and counts. Times are UTC so a forwarded report
reads the same in every time zone."""

from __future__ import annotations

import math
from datetime import UTC, datetime

_FIRST, _LAST = -62_135_596_800.0, 253_402_300_799.0
"""0001-01-01 00:00:00 and 9999-12-31 23:59:59 UTC, the moments `datetime` holds."""


def is_calendar_time(epoch: float) -> bool:
    """False for what no calendar holds: a hostile capture's 1e300, inf or NaN."""
    return _FIRST <= epoch <= _LAST


def utc(epoch: float) -> datetime | None:
    if not is_calendar_time(epoch):
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def when(epoch: float | None) -> str | None:
    moment = utc(epoch) if epoch is not None else None
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else None


def clock(epoch: float | None) -> str:
    moment = utc(epoch) if epoch is not None else None
    return moment.strftime("%H:%M:%S") if moment is not None else ""


def clock_ms(epoch: float) -> str:
    moment = utc(epoch)
    if moment is None:
        return ""
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def day(epoch: float) -> str:
    moment = utc(epoch)
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
