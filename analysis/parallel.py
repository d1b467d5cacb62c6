"""Deciding verdicts on every local core: `corscope analyze --jobs N`.

A verdict depends on its own exchange and nothing else (`verdict.decide` is a pure
function), so deciding a capture is a map, and any split of the exchanges gives the same
verdicts. Worker processes are forked where the platform allows it: they find the
exchanges already in their memory and send back only verdicts, so the cost of handing
work out does not grow with the size of the exchanges. Elsewhere (spawn), each worker is
sent its slice.

Standard library only, like the rest of the engine.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from analysis.model import Exchange
from analysis.readers import collector_paused
from analysis.verdict import Verdict, decide

ProgressFn = Callable[[int, int], None]
"""(exchanges decided, exchanges in all)."""

MIN_PER_JOB = 2000
"""Below this many exchanges per extra process, starting processes costs more than it
saves: the work stays in this process."""
_SLICES_PER_JOB = 8
"""More slices than processes even out slices that happen to be slow, and let progress
move."""

T = TypeVar("T")
R = TypeVar("R")
_shared_items: Sequence[Any] = ()
"""What forked workers work on, as they inherit it (see `_forked`)."""
_shared_work: Callable[[Sequence[Any]], Any] | None = None


def usable_cpus() -> int:
    """The cores this process may run on (a container's or taskset's limit included)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_jobs() -> int:
    """What `corscope analyze` uses unless told: every usable core where processes fork
    (they inherit the exchanges; past the per-job minimums only), else one process, as
    sending every exchange to spawned ones costs about what deciding it does."""
    return usable_cpus() if _can_fork() else 1


def decide_parallel(
    exchanges: Sequence[Exchange],
    jobs: int | None = None,
    *,
    progress: ProgressFn | None = None,
    min_per_job: int | None = None,
) -> list[Verdict]:
    """`[decide(x) for x in exchanges]`, on `jobs` processes (None or 0: every usable
    core). Small inputs are decided here, whatever `jobs` says."""
    return [v for _, v in _run(exchanges, jobs, progress, min_per_job, keep_all=True)]


def decide_all_parallel(
    exchanges: Sequence[Exchange],
    jobs: int | None = None,
    *,
    progress: ProgressFn | None = None,
    min_per_job: int | None = None,
) -> tuple[list[Any], int]:
    """`analysis.api.decide_all` on `jobs` processes: the cross-origin exchanges with their
    verdicts, in input order, and how many were not. Workers send back only the verdicts
    that are kept."""
    from analysis.api import Decided, VerdictSharing

    shared = VerdictSharing()
    decided = [
        Decided(exchanges[i], shared(verdict))
        for i, verdict in _run(exchanges, jobs, progress, min_per_job, keep_all=False)
    ]
    return decided, len(exchanges) - len(decided)


def _kept(verdict: Verdict) -> bool:
    """What `decide_all` keeps: CORS applied, or an opaque no-cors fetch worth a warning."""
    return verdict.cors or bool(verdict.warnings)


def _run(
    exchanges: Sequence[Exchange],
    jobs: int | None,
    progress: ProgressFn | None,
    min_per_job: int | None,
    *,
    keep_all: bool,
) -> Iterator[tuple[int, Verdict]]:
    n = len(exchanges)
    jobs = _jobs_for(n, jobs, min_per_job)
    if jobs == 1:
        # Verdicts hold no reference cycles: the collector would only walk them.
        with collector_paused():
            yield from _serial(exchanges, progress, keep_all)
        return
    bounds = _slices(n, jobs)
    if _can_fork():
        results = _forked(exchanges, partial(_decide_slice, keep_all=keep_all), bounds, jobs)
    else:
        results = _spawned(exchanges, bounds, jobs, keep_all)
    for (start, stop), verdicts in zip(bounds, results, strict=True):
        for offset, verdict in verdicts:
            yield start + offset, verdict
        if progress is not None:
            progress(stop, n)


def _serial(
    exchanges: Sequence[Exchange], progress: ProgressFn | None, keep_all: bool
) -> Iterator[tuple[int, Verdict]]:
    n = len(exchanges)
    for i, exchange in enumerate(exchanges):
        verdict = decide(exchange)
        if keep_all or _kept(verdict):
            yield i, verdict
        if progress is not None and (i + 1) % 1024 == 0:
            progress(i + 1, n)
    if progress is not None:
        progress(n, n)


def _spawned(
    exchanges: Sequence[Exchange], bounds: list[tuple[int, int]], jobs: int, keep_all: bool
) -> Iterator[list[tuple[int, Verdict]]]:
    """Where processes cannot be forked, each worker is sent its slice."""
    work = [(exchanges[start:stop], keep_all) for start, stop in bounds]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        yield from pool.imap(_decide_sent, work)


def _decide_sent(work: tuple[Sequence[Exchange], bool]) -> list[tuple[int, Verdict]]:
    return _decide_slice(*work)


def _decide_slice(exchanges: Sequence[Exchange], keep_all: bool) -> list[tuple[int, Verdict]]:
    out = []
    for i, exchange in enumerate(exchanges):
        verdict = decide(exchange)
        if keep_all or _kept(verdict):
            out.append((i, verdict))
    return out


def map_slices(
    items: Sequence[T],
    work: Callable[[Sequence[T]], R],
    jobs: int | None,
    *,
    min_per_job: int | None = None,
) -> Iterator[R] | None:
    """`work` over consecutive slices of `items` on forked processes, the results in
    order as they arrive; None when that does not apply (one job, too few items, no
    fork), and the caller does the work itself. Workers find `items` in memory and send
    back only what `work` returns, so that should be small next to the items; the caller
    takes in each result before the next, so that all of them never live at once."""
    n = len(items)
    jobs = _jobs_for(n, jobs, min_per_job)
    if jobs == 1 or not _can_fork():
        return None
    return _forked(items, work, _slices(n, jobs), jobs)


def _jobs_for(n: int, jobs: int | None, min_per_job: int | None) -> int:
    """The processes worth starting for `n` items (None or 0 asked: every usable core)."""
    jobs = usable_cpus() if not jobs or jobs < 0 else jobs
    return max(1, min(jobs, n // max(1, min_per_job or MIN_PER_JOB)))


def _slices(n: int, jobs: int) -> list[tuple[int, int]]:
    step = -(-n // (jobs * _SLICES_PER_JOB))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _forked(
    items: Sequence[T], work: Callable[[Sequence[T]], R], bounds: list[tuple[int, int]], jobs: int
) -> Iterator[R]:
    """`work` on each slice, in forked processes that inherit `items`: only the bounds go
    out and only the results come back."""
    global _shared_items, _shared_work
    _shared_items, _shared_work = items, work
    # Objects the collector has frozen are left alone in the children, so the pages they
    # share with this process stay shared rather than copied one by one.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_work_on_slice, bounds)
    finally:
        gc.unfreeze()
        _shared_items, _shared_work = (), None


def _work_on_slice(bounds: tuple[int, int]) -> Any:
    start, stop = bounds
    assert _shared_work is not None
    return _shared_work(_shared_items[start:stop])
