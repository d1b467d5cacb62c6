"""One large flow file read by several processes at once (`corscope analyze --jobs N`).

Records of a flow file are independent: each is a length-prefixed tnetstring that
`flowstream` parses without looking at any other. So a first pass follows the length
prefixes only (a couple of microseconds a record), cuts the file into runs of records,
and forked workers read every run but the first while this process reads the first.

What comes back must cost less to take in than reading did, or nothing is gained, so
workers send their transactions as `transfer` packs them. The result is the serial
reader's, record for record: numbering continues across runs, warnings appear in file
order, a record that stops the file in one run drops every later run. A worker that
fails in any other way has its run read again here. Forked workers need `os.fork`;
elsewhere the file is read serially.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from array import array
from collections import Counter
from typing import Any

from .captured import Loaded
from .errors import InputError
from .flowstream import (
    _RELEASE_BYTES,
    ProgressFn,
    _extent,
    _FileReader,
    _Malformed,
    release_pages,
)
from .transfer import Forked, pack, unpack

MIN_RECORDS_PER_JOB = 2000
"""Below this many records a run, forking costs more than it saves."""
_MAIN_SHARE = 0.9
"""This process also takes in the other runs' results, so its own run is a bit shorter."""


def read_split(
    buf: Any, size: int, path: str, progress: ProgressFn | None, jobs: int
) -> tuple[Loaded, Counter[str]] | None:
    """The file read in `jobs` runs, or None where splitting does not apply (no fork,
    too few records, framing the serial reader should be the one to report)."""
    if not hasattr(os, "fork"):
        return None
    starts = _record_starts(buf, size)
    if starts is None or len(starts) < 2 * MIN_RECORDS_PER_JOB:
        return None
    jobs = max(1, min(jobs, len(starts) // MIN_RECORDS_PER_JOB))
    if jobs == 1:
        return None
    cuts = _cuts(len(starts), jobs)
    runs = [
        (starts[a], starts[b] if b < len(starts) else size, a)
        for a, b in zip(cuts, [*cuts[1:], len(starts)], strict=True)
    ]
    workers = [_Worker.start(buf, size, path, run) for run in runs[1:]]
    try:
        first, first_end, _ = runs[0]
        main = _FileReader(buf, size, path, _scaled(progress, first_end, size))
        loaded = main.run(first, first_end, 0)
        ways = Counter(main.ways)
        for worker, run in zip(workers, runs[1:], strict=True):
            if main.stopped:
                break  # serially, nothing after the stop is read
            part, part_ways, stopped = worker.result(buf, size, path, run)
            loaded.captured.extend(part.captured)
            loaded.skipped += part.skipped
            loaded.warnings.extend(w for w in part.warnings if w not in loaded.warnings)
            ways.update(part_ways)
            if stopped:
                break
    finally:
        for worker in workers:
            worker.close()
    if progress is not None:
        progress(size, size)
    return loaded, ways


def _record_starts(buf: Any, size: int) -> array[int] | None:
    starts = array("q")  # 8 bytes a record, not an int object each
    pos = released = 0
    try:
        while pos < size:
            starts.append(pos)
            pos = _extent(buf, pos, size)[1] + 1
            # Only the length prefixes are read, but each touched page (and the pages
            # read ahead with it) would count as this process's memory until the end.
            if pos - released > _RELEASE_BYTES:
                released = release_pages(buf, released, pos)
    except _Malformed:
        return None
    finally:
        release_pages(buf, released, min(pos, size))
    return starts


def _cuts(records: int, jobs: int) -> list[int]:
    """First record of each run: the first run a little shorter than the others."""
    share = records / (jobs - 1 + _MAIN_SHARE)
    return [0, *(round(share * (_MAIN_SHARE + k)) for k in range(jobs - 1))]


def _scaled(progress: ProgressFn | None, end: int, size: int) -> ProgressFn | None:
    """The first run's progress drawn across the whole file: the others keep pace."""
    if progress is None or end <= 0:
        return None
    return lambda done, _total: progress(min(size, done * size // end), size)


class _Worker:
    def __init__(self, forked: Forked) -> None:
        self.forked = forked

    @classmethod
    def start(cls, buf: Any, size: int, path: str, run: tuple[int, int, int]) -> _Worker:
        return cls(Forked.start(lambda: _read_and_pack(buf, size, path, run)))

    def result(
        self, buf: Any, size: int, path: str, run: tuple[int, int, int]
    ) -> tuple[Loaded, Counter[str], bool]:
        data = self.forked.result()
        if data is not None:
            with contextlib.suppress(Exception):
                return _unpack(data, path)
        # Whatever became of the worker, its records are still in the file.
        start, stop, records = run
        reader = _FileReader(buf, size, path, None)
        return reader.run(start, stop, records), reader.ways, reader.stopped

    def close(self) -> None:
        self.forked.close()


def _read_and_pack(buf: Any, size: int, path: str, run: tuple[int, int, int]) -> bytes:
    start, stop, records = run
    reader = _FileReader(buf, size, path, None)
    try:
        loaded = reader.run(start, stop, records)
    except InputError as e:
        return pickle.dumps(("error", e.message), protocol=pickle.HIGHEST_PROTOCOL)
    state = (
        pack(loaded.captured),
        loaded.warnings,
        loaded.skipped,
        dict(reader.ways),
        reader.stopped,
    )
    return pickle.dumps(("ok", state), protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes, path: str) -> tuple[Loaded, Counter[str], bool]:
    kind, state = pickle.loads(data)
    if kind == "error":
        raise InputError(path, state)
    packed, warnings, skipped, ways, stopped = state
    captured = unpack(packed)
    loaded = Loaded(captured=captured, format="flows", warnings=warnings, skipped=skipped)
    return loaded, Counter(ways), stopped
