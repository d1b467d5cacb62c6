"""The capture file on disk, and the record of what this session wrote.

Every line is written with one unbuffered `write` to a file opened in append mode: once the
hook that wrote it returns, the line is in the kernel's hands, so a `kill -9` of the proxy
loses no exchange the browser already saw an answer for. O_APPEND also keeps two proxies
writing one file from splicing lines into each other.

The session (what `cors.report` and `cors.har` look at) is the byte ranges this process
appended to capture files, plus the lines kept in memory while the capture was off; not
whatever earlier runs left in the same file.
"""

from __future__ import annotations

import json
import logging
import os
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
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            self.write(meta)
            self.start = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:
            os.close(self._fd)
            raise

    def write(self, obj: dict[str, Any]) -> None:
        data = memoryview(encode(obj))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_END)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


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
    path: str | None
    """None: lines kept in memory because the capture was off."""
    start: int = 0
    end: int | None = None
    lines: list[bytes] = field(default_factory=list)


class Session:
    """Writes lines to the capture (or memory) and remembers where this session's are."""

    def __init__(self) -> None:
        self._file: CaptureFile | None = None
        self._segments: list[_Segment] = []
        self.lines_written = 0

    @property
    def capture_path(self) -> str | None:
        return self._file.path if self._file is not None else None

    def open(self, path: str, meta: dict[str, Any]) -> None:
        """Switch to the capture at `path` ("" = keep lines in memory)."""
        new_file = CaptureFile(path, meta) if path else None
        self.close()
        self._file = new_file
        if new_file is not None:
            self._segments.append(_Segment(path=new_file.path, start=new_file.start))
        else:
            self._segments.append(_Segment(path=None))

    def close(self) -> None:
        if self._file is not None:
            self._segments[-1].end = self._file.tell()
            self._file.close()
            self._file = None

    def write(self, obj: dict[str, Any]) -> None:
        if not self._segments:
            self._segments.append(_Segment(path=None))
        if self._file is not None:
            self._file.write(obj)
        else:
            self._segments[-1].lines.append(encode(obj))
        self.lines_written += 1

    def dump(self, path: str, meta: dict[str, Any]) -> None:
        """Write every line of this session, in order, to a fresh capture file at `path`."""
        with open(path, "wb") as out:
            out.write(encode(meta))
            for segment in self._segments:
                if segment.path is None:
                    out.writelines(segment.lines)
                    continue
                end = segment.end
                if end is None and self._file is not None:
                    end = self._file.tell()
                _copy_range(segment.path, segment.start, end, out)

    def describe(self) -> list[str]:
        """The files (and "memory") this session's lines live in, for messages."""
        names: list[str] = []
        for segment in self._segments:
            name = segment.path or "memory"
            if name not in names:
                names.append(name)
        return names


def _copy_range(path: str, start: int, end: int | None, out: Any) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        remaining = None if end is None else max(end - start, 0)
        while remaining is None or remaining > 0:
            chunk = f.read(65536 if remaining is None else min(65536, remaining))
            if not chunk:
                break
            out.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)
