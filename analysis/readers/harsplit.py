"""One large HAR read by several processes at once (`corscope analyze --jobs N`).

A HAR is one JSON document, but its entries are objects of one array that `har` converts
one at a time, and exporters write every entry's keys in the same order. JSON strings hold
no unescaped quote, so the text `}, {"startedDateTime":` (with the first entry's own first
key) is, nearly always, the seam between two entries. This process reads the document's
head up to the first entry and looks for such a seam past each cut; forked workers read
the entries from one seam to the next while this process reads the first run.

"Nearly always" is made exact: a run counts only if its last entry ends exactly where the
next run begins. The first run begins at the true first entry, so a run that ends on the
next one's start proves that start a true seam, and so on to the end of the array.
Anything else (a seam that was none, `pages` after the entries, a key given twice, any
error at all) and the file is read by `read_har`'s single pass, which also words every
error. The result is that pass's, entry for entry.
"""

from __future__ import annotations

import codecs
import json
import os
import pickle
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .captured import Captured, Loaded
from .errors import InputError
from .har import (
    _AFTER_ENTRY,
    _AHEAD,
    _CHUNK_BYTES,
    _DECODER,
    _KEPT_LOG_FIELDS,
    _PROGRESS_EVERY,
    _WS,
    ProgressFn,
    _careful_captured,
    _complete_utf8,
    _errors_are_browser_side,
    _loaded,
    _page_urls,
    _quick_captured,
    _sizes_mark_cache,
    page_slot,
)
from .transfer import Forked, pack, unpack

MIN_SPLIT_BYTES = 16 << 20
"""Below this, forking costs more than it saves."""
_HEAD_BYTES = 8 << 20
"""The head (all before the first entry: `creator`, `pages`...) must lie within this."""
_SEARCH_BYTES = 8 << 20
"""How far past a cut a seam is looked for."""
_TAIL_BYTES = 1 << 20
"""What may follow the entries (`comment`, the closing braces)."""
_MAIN_SHARE = 0.9
"""This process also takes in the other runs' results, so its own run is a bit shorter."""

_Fixed = tuple[dict[str, str], bool, bool]
"""What converting an entry needs from `log`, as `har._HarStream` works it out: the pages'
URLs, whether errors are the browser's, whether sizes mark cache hits."""


class _Head(NamedTuple):
    first: int
    """Byte offset of the first entry's "{"."""
    fixed: _Fixed
    seam: re.Pattern[bytes]
    """"}", ",", "{" and the first entry's first key, whitespace allowed between them."""
    creator: object = None
    """`log.creator`, for what `har._loaded` makes of the whole file."""


class _Run(NamedTuple):
    captured: list[Captured]
    pagerefs: list[object]
    tail: str | None
    """None: the run ended on its stop, right after a ","; else the text after the "]"."""


def read_split(path: str, size: int, progress: ProgressFn | None, jobs: int) -> Loaded | None:
    """The file read in `jobs` runs, or None where splitting does not apply (no fork, a
    small file, a document the single pass should read)."""
    if jobs < 2 or size < MIN_SPLIT_BYTES or not hasattr(os, "fork"):
        return None
    try:
        with open(path, "rb") as f:
            head = _head(f, path)
            starts = [] if head is None else _starts(f, head, size, jobs)
    except OSError:
        return None  # the single pass says what is wrong with the file
    if head is None or len(starts) < 2:
        return None
    runs = list(zip(starts, [*starts[1:], size], strict=True))
    workers = [Forked.start(_packing(path, run, head.fixed)) for run in runs[1:]]
    try:
        first = _read_run(path, runs[0], head.fixed, _scaled(progress, size))
        if first is None:
            return None
        captured, pagerefs, tail = first
        for worker in workers:
            if tail is not None:
                return None  # the array ended before this run's start: no seam
            data = worker.result()
            state = None if data is None else pickle.loads(data)
            if state is None:
                return None
            packed, more_pagerefs, tail = state
            captured.extend(unpack(packed, order_offset=len(captured)))
            pagerefs.extend(more_pagerefs)
    finally:
        for worker in workers:
            worker.close()
    if tail is None or not _tail_is_plain(tail):
        return None
    if progress is not None:
        progress(size, size)
    return _loaded(captured, pagerefs, head.fixed[1], head.creator)


def _packing(path: str, run: tuple[int, int], fixed: _Fixed) -> Callable[[], bytes]:
    def work() -> bytes:
        result = _read_run(path, run, fixed)
        state = None if result is None else (pack(result.captured), result.pagerefs, result.tail)
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    return work


def _scaled(progress: ProgressFn | None, size: int) -> ProgressFn | None:
    """The first run's progress drawn across the whole file: the others keep pace."""
    if progress is None:
        return None
    return lambda done, total: progress(min(size, done * size // max(1, total)), size)


# --- the head: where the entries start, and what converting them needs ------------------


def _head(f: Any, path: str) -> _Head | None:
    data = f.read(_HEAD_BYTES)
    if data.startswith(codecs.BOM_UTF8):
        return None
    try:
        return _parse_head(data[: _complete_utf8(data)].decode("utf-8"), path)
    except (json.JSONDecodeError, UnicodeDecodeError, IndexError, RecursionError, InputError):
        return None


def _parse_head(text: str, path: str) -> _Head | None:
    """`{... "log": {... "entries": [{"key"` walked as `_HarStream` walks it."""
    p = _ws(text, 0)
    if text[p] != "{":
        return None
    seen: set[str] = set()
    while True:
        key, p = _key(text, p + 1)
        if key in seen:
            return None  # json keeps the last one: the single pass decides
        seen.add(key)
        if key == "log":
            return _parse_log(text, p, path)
        p = _ws(text, _DECODER.raw_decode(text, p)[1])
        if text[p] != ",":
            return None


def _parse_log(text: str, p: int, path: str) -> _Head | None:
    if text[p] != "{":
        return None
    fields: dict[str, Any] = {}
    while True:
        key, p = _key(text, p + 1)
        if key in fields:
            return None
        if key == "entries":
            break
        fields[key], p = _DECODER.raw_decode(text, p)
        p = _ws(text, p)
        if text[p] != ",":
            return None  # `log` ends without entries
    if text[p] != "[":
        return None
    p = _ws(text, p + 1)
    if text[p] != "{":
        return None  # no entries, or not objects: nothing to split
    key_at = _ws(text, p + 1)
    if text[key_at] != '"':
        return None
    key_end = json.decoder.scanstring(text, key_at + 1)[1]
    creator = fields.get("creator")
    fixed = (
        _page_urls(fields.get("pages"), path),
        _errors_are_browser_side(creator),
        _sizes_mark_cache(creator, fields.get("browser")),
    )
    ws = rb"[ \t\n\r]*"
    key = re.escape(text[key_at:key_end].encode("utf-8"))
    seam = re.compile(rb"\}" + ws + rb"," + ws + rb"\{" + ws + key + ws + rb":")
    return _Head(len(text[:p].encode("utf-8")), fixed, seam, creator)


def _key(text: str, p: int) -> tuple[str, int]:
    """The key after `p` and whitespace, and where its value starts (after ":")."""
    p = _ws(text, p)
    if text[p] != '"':
        raise IndexError(p)
    key, p = json.decoder.scanstring(text, p + 1)
    p = _ws(text, p)
    if text[p] != ":":
        raise IndexError(p)
    return key, _ws(text, p + 1)


def _ws(text: str, p: int) -> int:
    return _WS.match(text, p).end()  # type: ignore[union-attr]  # `*` always matches


def _starts(f: Any, head: _Head, size: int, jobs: int) -> list[int]:
    """Where each run starts: the first entry, then the first seam past each cut."""
    starts = [head.first]
    share = (size - head.first) / (jobs - 1 + _MAIN_SHARE)
    for k in range(jobs - 1):
        cut = head.first + round(share * (_MAIN_SHARE + k))
        if cut <= starts[-1]:
            continue
        f.seek(cut)
        data = f.read(_SEARCH_BYTES)
        found = head.seam.search(data)
        if found is not None:
            starts.append(cut + data.index(b"{", found.start()))
    return starts


def _tail_is_plain(text: str) -> bool:
    """Is what follows the entries valid JSON that closes `log` and the document, without
    a second `entries` or `log`, or a field the entries were converted without?"""
    try:
        p = _ws(text, 0)
        for forbidden in ({"entries", *_KEPT_LOG_FIELDS}, {"log"}):
            while text[p] == ",":
                key, p = _key(text, p + 1)
                if key in forbidden:
                    return False
                p = _ws(text, _DECODER.raw_decode(text, p)[1])
            if text[p] != "}":
                return False
            p = _ws(text, p + 1)
        return p == len(text)
    except (json.JSONDecodeError, IndexError, RecursionError):
        return False


# --- a run of entries ---------------------------------------------------------------------


class _Window:
    """The text of `length` bytes of the file from where it stands, a chunk at a time."""

    def __init__(self, f: Any, length: int) -> None:
        self.f = f
        self.left = length
        self.text = ""
        self.carry = b""

    def more(self, keep: int, grow: bool = False) -> bool:
        """Drop the text before `keep` (every position moves back by `keep`) and decode
        the next chunk onto the rest; False at the end of the run."""
        if not self.left:
            return False
        want = max(_CHUNK_BYTES, len(self.text) - keep) if grow else _CHUNK_BYTES
        data = self.f.read(min(self.left, want))
        if not data:
            raise OSError("the file got shorter")
        self.left -= len(data)
        data = self.carry + data
        cut = _complete_utf8(data) if self.left else len(data)
        self.carry = data[cut:]
        self.text = self.text[keep:] + data[:cut].decode("utf-8")
        return True

    def skip_ws(self, p: int) -> int:
        """Past the whitespace at `p`, reading on as needed (which may move positions:
        the result is in the text as it is then)."""
        while True:
            end = _ws(self.text, p)
            if end < len(self.text) or not self.more(end):
                return end
            p = 0


def _read_run(
    path: str, run: tuple[int, int], fixed: _Fixed, progress: ProgressFn | None = None
) -> _Run | None:
    """The entries from `run`'s start (an entry's "{") to its stop; None for anything the
    single pass should decide. Entries are numbered from 0."""
    start, stop = run
    pages, browser_side, sizes = fixed
    captured: list[Captured] = []
    pagerefs: list[object] = []
    scan, after = _DECODER.raw_decode, _AFTER_ENTRY.match
    try:
        with open(path, "rb") as f:
            f.seek(start)
            window = _Window(f, stop - start)
            window.more(0)
            p = 0
            while True:
                if len(window.text) - p < _AHEAD and window.more(p):
                    p = 0
                while True:
                    try:
                        entry, end = scan(window.text, p)
                        break
                    except json.JSONDecodeError:
                        if not window.more(p, grow=True):
                            return None  # not JSON, or an entry cut short: no seam
                        p = 0
                if type(entry) is not dict:
                    return None
                index = len(captured)
                where = f"log.entries[{index}]"
                pagerefs.append(page_slot(entry))
                captured.append(
                    _quick_captured(entry, where, path, index, pages, browser_side, sizes)
                    or _careful_captured(entry, where, path, index, pages, browser_side, sizes)
                )
                del entry
                if progress is not None and index % _PROGRESS_EVERY == 0:
                    progress(stop - start - window.left, stop - start)
                m = after(window.text, end)
                if m is not None and m.end() < len(window.text):
                    p = m.end()
                    continue
                p = window.skip_ws(end)
                mark = window.text[p : p + 1]
                if mark == ",":
                    p = window.skip_ws(p + 1)
                    if p == len(window.text):
                        return _Run(captured, pagerefs, None)  # exactly on the stop
                    continue
                if mark != "]" or window.left > _TAIL_BYTES:
                    return None
                keep = p + 1
                while window.more(keep):
                    keep = 0
                return _Run(captured, pagerefs, window.text[keep:])
    except (OSError, UnicodeDecodeError, InputError, RecursionError):
        return None
