"""Readers: any capture file in, `Exchange`s out.

    result = read("session.har")     # or a capture (.jsonl) or a mitmproxy flow file
    result.exchanges, result.warnings

The format is sniffed from the content, never from the extension.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from analysis.model import Exchange

from .assemble import Assembled, assemble, assemble_consuming
from .captured import Captured, Hints, Loaded
from .errors import InputError

__all__ = [
    "Assembled",
    "Captured",
    "Hints",
    "InputError",
    "Loaded",
    "ProgressFn",
    "ReadResult",
    "assemble",
    "collector_paused",
    "read",
    "read_many",
    "sniff",
]

ProgressFn = Callable[[int, int], None]
"""Called now and then with (bytes read, bytes in all inputs); see `analysis.progress`."""

PROXY_FORMATS = frozenset({"flows", "capture"})
"""Formats a proxy records: the browser sent every request in them through it."""
_SNIFF_BYTES = 64 * 1024
_FIRST_KEY = re.compile(r'\{\s*"((?:[^"\\]|\\.)*)"')
# Keys a HAR entry written by the addon typically opens with.
_ENTRY_KEYS = frozenset(
    {
        "_corscope",
        "_corscope_id",
        "_id",
        "_cors",
        "startedDateTime",
        "request",
        "response",
        "pageref",
        "time",
        "timings",
        "cache",
        "serverIPAddress",
        "connection",
    }
)


@dataclass(slots=True)
class ReadResult:
    exchanges: list[Exchange]
    warnings: list[str]
    """Each names the file it is about."""
    format: str
    """"har", "capture", "flows", or "mixed" for several files of different formats."""
    transactions: int = 0
    """HTTP transactions read."""
    skipped: int = 0
    """Records that were not HTTP transactions (TCP/UDP/DNS flows, CONNECT tunnels)."""
    hints: dict[str, Hints] = field(default_factory=dict)
    """Per exchange id, the merged hints, including those `Context` has no field for.
    Exchanges without hints are not listed."""
    paths: list[str] = field(default_factory=list)


def sniff(path: str | os.PathLike[str]) -> str:
    """ "har", "capture" or "flows", judged by content. InputError for anything else."""
    spath = os.fspath(path)
    if os.path.isdir(spath):
        raise InputError(spath, "is a directory, not a capture file")
    try:
        with open(spath, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise InputError(spath, e.strerror or str(e)) from None
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip()
    if not stripped:
        raise InputError(spath, "the file is empty")
    if stripped.startswith(b"{"):
        return _sniff_json(stripped)
    if re.match(rb"\d+:", head):
        return "flows"
    if stripped.startswith(b"["):
        raise InputError(spath, "a JSON array, not a HAR file or a corscope capture")
    raise InputError(
        spath, "unknown format: not a HAR file, a corscope capture or a mitmproxy flow file"
    )


def _sniff_json(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace")
    match = _FIRST_KEY.match(text)
    first_key = match.group(1) if match else None
    if first_key == "log":
        return "har"
    first_line, newline, _ = text.partition("\n")
    if newline:
        try:
            obj = json.loads(first_line)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            if "log" in obj:
                return "har"
            if "_corscope" in obj or "request" in obj:
                return "capture"
    elif first_key in _ENTRY_KEYS:
        return "capture"  # one long line, or a capture of a single cut-off line
    # Any other JSON object: the HAR reader says precisely what is missing.
    return "har"


def read(
    path: str | os.PathLike[str], *, progress: ProgressFn | None = None, jobs: int = 1
) -> ReadResult:
    """One capture file. Every reader streams: memory grows with the transactions kept,
    not with the size of the file. `jobs` > 1 lets a large flow file or HAR be read by that
    many processes at once."""
    spath = os.fspath(path)
    fmt = sniff(spath)
    with collector_paused():
        loaded = _load(fmt, spath, progress, jobs)
        transactions = len(loaded.captured)
        assembled = assemble_consuming(
            loaded.captured,
            origin_file=spath,
            via_proxy=fmt in PROXY_FORMATS or loaded.via_proxy,
        )
    return ReadResult(
        exchanges=assembled.exchanges,
        warnings=list(loaded.warnings),
        format=fmt,
        transactions=transactions,
        skipped=loaded.skipped,
        hints=assembled.hints,
        paths=[spath],
    )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Reading makes millions of objects and no reference cycles. The cyclic collector
    would walk all of them again each time their number grows by a quarter, a sixth of
    the reading time for a large file, and find nothing to collect."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _load(fmt: str, path: str, progress: ProgressFn | None, jobs: int = 1) -> Loaded:
    # Imported here so that reading a HAR never needs mitmproxy, and vice versa.
    if fmt == "har":
        from .har import read_har

        return read_har(path, progress, jobs=jobs)
    if fmt == "capture":
        from .capture import read_capture

        return read_capture(path, progress)
    # The stream hands records it does not know to mitmproxy's FlowReader (`flows.py`).
    from .flowstream import read_flow_file

    return read_flow_file(path, progress, jobs=jobs)


def read_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: ProgressFn | None = None,
    jobs: int = 1,
) -> ReadResult:
    """Several files as one session. Exchanges are never joined across files; an id that
    another file already used gets the file's position as prefix ("2.x0001")."""
    paths = [os.fspath(p) for p in paths]
    combined = ReadResult(exchanges=[], warnings=[], format="")
    formats: set[str] = set()
    used: set[str] = set()
    suffixes: dict[str, int] = {}
    done, total = 0, _total_size(paths) if progress is not None else 0
    for number, path in enumerate(paths, start=1):
        result = read(path, progress=_offset(progress, done, total), jobs=jobs)
        done += _size(path)
        formats.add(result.format)
        combined.paths.extend(result.paths)
        combined.warnings.extend(result.warnings)
        combined.transactions += result.transactions
        combined.skipped += result.skipped
        for exchange in result.exchanges:
            original = exchange.id
            if original in used:
                xid = _unused(f"{number}.{original}", used, suffixes)
                exchange = dataclasses.replace(exchange, id=xid)
            used.add(exchange.id)
            combined.exchanges.append(exchange)
            hints = result.hints.get(original)
            if hints:
                combined.hints[exchange.id] = hints
    combined.format = formats.pop() if len(formats) == 1 else ("mixed" if formats else "")
    return combined


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # `read` says what is wrong with it


def _total_size(paths: list[str]) -> int:
    return sum(_size(p) for p in paths)


def _offset(progress: ProgressFn | None, done: int, total: int) -> ProgressFn | None:
    """One file's progress as part of all inputs."""
    if progress is None:
        return None
    return lambda read_bytes, _size: progress(done + read_bytes, total)


def _unused(candidate: str, used: set[str], suffixes: dict[str, int]) -> str:
    """The candidate, else the first of "candidate-2", "-3", ... not used yet. `suffixes`
    remembers where each candidate's search stopped, so that many exchanges with one id
    do not each count up from 2."""
    if candidate not in used:
        return candidate
    k = suffixes.get(candidate, 2)
    while f"{candidate}-{k}" in used:
        k += 1
    suffixes[candidate] = k + 1
    return f"{candidate}-{k}"
