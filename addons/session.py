"""The capture file on disk, and the record of what this session wrote.

Every line is written with one unbuffered `write` to a file opened in append mode: once the
hook that wrote it returns, the line is in the kernel's hands, so a `kill -9` of the proxy
loses no exchange the browser already saw an answer for. O_APPEND also keeps two proxies
writing one file from splicing lines into each other. With the analysis worker
(`addons/worker.py`) this file is written in the worker, and the proxy's hook hands the flow
to a pipe instead; the worker reads that pipe to its end even after a `kill -9` of the
proxy, so the promise holds.

The session (what `cors.report` and `cors.har` look at) is the byte ranges this process
appended to capture files, plus the lines kept in memory while the capture was off; not
whatever earlier runs left in the same file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("corscope")

FORMAT_VERSION = 1


def meta_line(**extra: Any) -> dict[str, Any]:
    return {"_corscope": {"format": "capture", "version": FORMAT_VERSION, **extra}}


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("ascii") + b"\n"


class CaptureFile:
    """A capture opened for appending. Raises OSError if it cannot be opened."""

    def __init__(self, path: str, meta: dict[str, Any]) -> None:
        self.path = path
        _drop_cut_off_tail(path)
        # Read-write: the session reads its own lines back through this descriptor.
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            self.write(meta)
            self.start = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:
            os.close(self._fd)
            raise

    def replaced(self) -> bool:
        """True when the path no longer names the file being written (deleted, rotated)."""
        try:
            on_disk = os.stat(self.path)
        except OSError:
            return True
        mine = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino)

    def write(self, obj: dict[str, Any]) -> None:
        self.write_line(encode(obj))

    def write_line(self, line: bytes) -> None:
        """One whole line, newline included, as `encode` makes it."""
        data = memoryview(line)
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_END)

    def copy_range(self, start: int, end: int, out: Any) -> None:
        """Copy bytes [start, end) of this file to `out`; pread leaves the append offset be.
        Once closed (the session ended, yet a last report is asked for), by its path."""
        if self._fd < 0:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                _copy(fd, start, end, out)
            finally:
                os.close(fd)
        else:
            _copy(self._fd, start, end, out)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _copy(fd: int, start: int, end: int, out: Any) -> None:
    while start < end:
        chunk = os.pread(fd, min(65536, end - start), start)
        if not chunk:
            break
        out.write(chunk)
        start += len(chunk)


def _drop_cut_off_tail(path: str) -> None:
    """A proxy killed mid-write leaves a last line without its newline. Appending after it
    would glue the next line on and turn a harmless cut-off tail into a broken line in the
    middle of the file, which readers reject; so the fragment goes."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return
    if size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        keep = _last_newline_end(f, size)
        f.truncate(keep)
    logger.warning("corscope: %s ended in a cut-off line (killed proxy?); dropped it", path)


def _last_newline_end(f: Any, size: int) -> int:
    pos = size
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        f.seek(pos)
        chunk = f.read(step)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return pos + index + 1
    return 0


@dataclass(slots=True)
class _Segment:
    file: CaptureFile | None
    """None: lines kept in memory because the capture was off."""
    start: int = 0
    end: int | None = None
    """None while this is the segment being written."""
    lines: list[bytes] = field(default_factory=list)


class Session:
    """Writes lines to the capture (or memory) and remembers where this session's are.

    Each capture file stays open until the session closes, and its lines are read back
    through that descriptor: what this session wrote stays readable for `cors.report`
    even if the file was renamed or deleted meanwhile."""

    def __init__(self, *, check_every: float = 2.0) -> None:
        """`check_every`: seconds between checks that the capture is still where it was."""
        self._segments: list[_Segment] = []
        self._meta: dict[str, Any] = {}
        self._check_every = check_every
        self._checked = time.monotonic()
        self.lines_written = 0

    @property
    def _current(self) -> CaptureFile | None:
        return self._segments[-1].file if self._segments else None

    @property
    def capture_path(self) -> str | None:
        current = self._current
        return current.path if current is not None else None

    def open(self, path: str, meta: dict[str, Any]) -> None:
        """Switch to the capture at `path` ("" = keep lines in memory). Raises OSError,
        and then keeps writing where it wrote before."""
        self._meta = meta
        new_file = CaptureFile(path, meta) if path else None
        self._end_segment()
        self._segments.append(_Segment(new_file, new_file.start if new_file else 0))

    def _end_segment(self) -> None:
        current = self._current
        if current is not None and self._segments[-1].end is None:
            self._segments[-1].end = current.tell()

    def close(self) -> None:
        self._end_segment()
        for segment in self._segments:
            if segment.file is not None:
                segment.file.close()

    def write(self, obj: dict[str, Any]) -> None:
        self.write_line(encode(obj))

    def write_line(self, line: bytes) -> None:
        """One whole line, newline included, as `encode` makes it: in the kernel's hands
        (or in memory, with the capture off) when this returns."""
        if not self._segments:
            self._segments.append(_Segment(None))
        current = self._current
        if current is not None:
            current = self._follow_the_path(current)
            current.write_line(line)
        else:
            self._segments[-1].lines.append(line)
        self.lines_written += 1

    def _follow_the_path(self, current: CaptureFile) -> CaptureFile:
        """Someone deleted or rotated the capture under the running proxy (to start afresh,
        or logrotate): write a new file at the same path rather than into a ghost."""
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return current
        self._checked = now
        if not current.replaced():
            return current
        self.open(current.path, self._meta)
        logger.warning(
            "corscope: %s was moved or deleted; writing a new capture there", current.path
        )
        new = self._current
        assert new is not None
        return new

    def dump(self, path: str, meta: dict[str, Any]) -> None:
        """Write every line of this session, in order, to a fresh capture file at `path`."""
        with open(path, "wb") as out:
            out.write(encode(meta))
            for segment in self._segments:
                if segment.file is None:
                    out.writelines(segment.lines)
                else:
                    end = segment.end if segment.end is not None else segment.file.tell()
                    segment.file.copy_range(segment.start, end, out)

    def describe(self) -> list[str]:
        """The files (and "memory") this session's lines live in, for messages."""
        names: list[str] = []
        for segment in self._segments:
            name = segment.file.path if segment.file is not None else "memory"
            if name not in names:
                names.append(name)
        return names
