"""The addon's capture: JSON Lines, one HAR 1.2 entry per line, written as traffic passes
so that a killed proxy loses at most the line it was writing.

Besides entries, a line may be a `_corscope` line:
  {"_corscope": {"format": "capture", "version": 1}}             meta, usually first
  {"_corscope": {"annotate": "<entry id>"}, "_cors": {...}}       late hints for an entry
The page probe learns mode, credentials and the browser's verdict after the proxy wrote the
entry, hence annotations.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .captured import Captured, Loaded
from .errors import InputError
from .har import ProgressFn, decode_utf8, entry_to_captured
from .hints import cors_hints, describe_type

FORMAT_VERSION = 1
CREATOR = {"name": "corscope", "version": "0.1.0"}
_NAMES = {"har": "a HAR file", "flows": "a mitmproxy flow file"}
_PROGRESS_EVERY = 1024


@dataclass(slots=True)
class _Line:
    number: int
    kind: str
    """"entry", "annotate" or "meta"."""
    obj: dict[str, Any]


def read_capture(path: str | os.PathLike[str], progress: ProgressFn | None = None) -> Loaded:
    """Line by line: memory grows with the entries kept, not with the file."""
    spath = os.fspath(path)
    warnings: list[str] = []
    captured: list[Captured] = []
    by_id: dict[str, int] = {}
    for line in _lines(spath, warnings, progress):
        where = f"line {line.number}"
        if line.kind == "entry":
            c = entry_to_captured(line.obj, where=where, path=spath, order=line.number)
            if c.id is not None:
                by_id[c.id] = len(captured)
            captured.append(c)
        elif line.kind == "annotate":
            target = line.obj["_corscope"]["annotate"]
            extra = cors_hints(line.obj.get("_cors"), where, spath)
            index = by_id.get(target)
            if index is None:
                warnings.append(f"{spath}: {where}: annotation for unknown entry {target!r}")
                continue
            c = captured[index]
            captured[index] = dataclasses.replace(c, hints={**c.hints, **extra})
    return Loaded(captured=captured, format="capture", warnings=warnings)


def capture_to_har(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The capture as a standard HAR 1.2 document other tools import, annotations merged
    into each entry's `_cors`."""
    spath = os.fspath(path)
    from . import sniff  # the package imports this module; import at call time

    kind = sniff(spath)
    if kind != "capture":
        raise InputError(spath, f"not a corscope capture (it reads as {_NAMES[kind]})")
    entries: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    previous_start: str | None = None
    for line in _lines(spath, []):
        if line.kind == "entry":
            # Validate as the reader would, so a HAR we write is one we can read back.
            entry_to_captured(line.obj, where=f"line {line.number}", path=spath, order=0)
            entry = _complete(line.obj, previous_start)
            previous_start = entry["startedDateTime"]
            entry_id = entry.get("_corscope_id") or entry.get("_id")
            if isinstance(entry_id, str | int) and not isinstance(entry_id, bool):
                by_id[str(entry_id)] = entry
            entries.append(entry)
        elif line.kind == "annotate":
            cors_hints(line.obj.get("_cors"), f"line {line.number}", spath)
            target = by_id.get(line.obj["_corscope"]["annotate"])
            extra = line.obj.get("_cors")
            if target is not None and isinstance(extra, dict):
                merged = dict(target.get("_cors") or {})
                merged.update({k: v for k, v in extra.items() if v is not None})
                target["_cors"] = merged
    return {
        "log": {
            "version": "1.2",
            "creator": dict(CREATOR),
            "pages": [],
            "entries": entries,
        }
    }


def _complete(entry: dict[str, Any], previous_start: str | None) -> dict[str, Any]:
    """Fill the fields HAR 1.2 requires that a capture line may leave out. Importers such as
    DevTools reject an entry with any of them missing."""
    # An entry without a time sits right after the one before it, as the reader orders it.
    entry.setdefault("startedDateTime", previous_start or "1970-01-01T00:00:00.000Z")
    entry.setdefault("time", 0)
    entry.setdefault("cache", {})
    entry.setdefault("timings", {"send": 0, "wait": 0, "receive": 0})
    request = entry["request"]
    for key, default in _REQUEST_DEFAULTS.items():
        request.setdefault(key, default() if callable(default) else default)
    if entry.get("response") is None:
        entry["response"] = {}
    response = entry["response"]
    for key, default in _RESPONSE_DEFAULTS.items():
        response.setdefault(key, default() if callable(default) else default)
    return entry


_REQUEST_DEFAULTS: dict[str, Any] = {
    "httpVersion": "",
    "cookies": list,
    "headers": list,
    "queryString": list,
    "headersSize": -1,
    "bodySize": -1,
}
_RESPONSE_DEFAULTS: dict[str, Any] = {
    "status": 0,
    "statusText": "",
    "httpVersion": "",
    "cookies": list,
    "headers": list,
    "content": lambda: {"size": 0, "mimeType": "x-unknown"},
    "redirectURL": "",
    "headersSize": -1,
    "bodySize": -1,
}


def _lines(path: str, warnings: list[str], progress: ProgressFn | None = None) -> Iterator[_Line]:
    """Parsed lines, in order. A last line that does not parse is what a killed proxy
    leaves behind: dropped with a warning. Anywhere else it is an error."""
    try:
        f = open(path, "rb")  # closed by the `with` below, inside the generator
        size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    with f:
        number = 0
        done = 0
        pending: bytes | None = None
        for raw in f:
            if pending is not None:
                number += 1
                line = _parse(pending, number, path, last=False, warnings=warnings)
                if line is not None:
                    yield line
                if progress is not None and number % _PROGRESS_EVERY == 0:
                    progress(done, size)
            done += len(raw)
            pending = raw
        if pending is not None:
            number += 1
            line = _parse(pending, number, path, last=True, warnings=warnings)
            if line is not None:
                yield line
        if progress is not None:
            progress(done, size)


def _parse(raw: bytes, number: int, path: str, *, last: bool, warnings: list[str]) -> _Line | None:
    where = f"line {number}"
    if not raw.strip():
        return None
    try:
        if number == 1:
            text = decode_utf8(raw, path, where)
        else:
            text = raw.decode("utf-8")
        obj = json.loads(text)
    except (InputError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        if last:
            warnings.append(f"{path}: {where} is cut off (capture interrupted?); dropped it")
            return None
        if isinstance(e, UnicodeDecodeError):
            raise InputError(path, f"{where}: not UTF-8 text") from None
        if isinstance(e, InputError):
            raise
        msg = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
        raise InputError(path, f"{where}: not valid JSON ({msg})") from None
    if not isinstance(obj, dict):
        raise InputError(path, f"{where}: expected a JSON object, not {describe_type(obj)}")
    meta = obj.get("_corscope")
    if meta is None:
        return _Line(number, "entry", obj)
    if not isinstance(meta, dict):
        raise InputError(path, f"{where}: _corscope must be an object, not {describe_type(meta)}")
    if "annotate" in meta:
        target = meta["annotate"]
        if not isinstance(target, str) or not target:
            raise InputError(path, f"{where}: _corscope.annotate must be an entry id string")
        return _Line(number, "annotate", obj)
    version = meta.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        warnings.append(
            f"{path}: {where}: capture format version {version} is newer than this "
            f"corscope reads ({FORMAT_VERSION}); reading what it can"
        )
    return _Line(number, "meta", obj)
