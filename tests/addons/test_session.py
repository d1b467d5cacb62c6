"""The capture file: append-only lines, crash-safe, and the session's own share of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from addons.session import CaptureFile, Session, meta_line


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_line_is_on_disk_when_write_returns(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    capture = CaptureFile(str(path), meta_line())
    capture.write({"_corscope_id": "a"})
    # No flush, no close: another reader sees the line at once.
    assert lines(path) == [meta_line(), {"_corscope_id": "a"}]
    capture.close()


def test_appends_to_an_existing_capture(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"_corscope": {"format": "capture", "version": 1}}\n{"_corscope_id": "old"}\n')
    capture = CaptureFile(str(path), meta_line(session="s2"))
    capture.write({"_corscope_id": "new"})
    capture.close()
    ids = [obj.get("_corscope_id") for obj in lines(path)]
    assert ids == [None, "old", None, "new"]


def test_cut_off_last_line_is_dropped_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(
        b'{"_corscope": {"format": "capture", "version": 1}}\n{"_corscope_id": "ok"}\n{"_cors'
    )
    capture = CaptureFile(str(path), meta_line())
    capture.write({"_corscope_id": "next"})
    capture.close()
    assert [obj.get("_corscope_id") for obj in lines(path)] == [None, "ok", None, "next"]


def test_cut_off_only_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"_corscope": {"for')
    CaptureFile(str(path), meta_line()).close()
    assert lines(path) == [meta_line()]


def test_unwritable_path_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        CaptureFile(str(tmp_path / "missing-dir" / "c.jsonl"), meta_line())


def test_session_dump_holds_only_this_sessions_lines(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text('{"_corscope_id": "earlier-run"}\n')
    second = tmp_path / "b.jsonl"
    session = Session()
    session.open(str(first), meta_line())
    session.write({"_corscope_id": "1"})
    session.open("", meta_line())  # capture switched off: memory
    session.write({"_corscope_id": "2"})
    session.open(str(second), meta_line())
    session.write({"_corscope_id": "3"})
    out = tmp_path / "dump.jsonl"
    session.dump(str(out), meta_line(session="dump"))
    dumped = lines(out)
    assert dumped[0] == meta_line(session="dump")
    assert [obj["_corscope_id"] for obj in dumped if "_corscope_id" in obj] == ["1", "2", "3"]
    assert session.describe() == [str(first), "memory", str(second)]
    session.close()
    assert session.lines_written == 3


def test_session_without_capture_keeps_lines_in_memory(tmp_path: Path) -> None:
    session = Session()
    session.write({"_corscope_id": "1"})
    out = tmp_path / "dump.jsonl"
    session.dump(str(out), meta_line())
    assert lines(out)[1] == {"_corscope_id": "1"}
    assert session.capture_path is None


def test_a_deleted_capture_is_written_anew(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    session = Session(check_every=0)
    session.open(str(path), meta_line())
    session.write({"_corscope_id": "1"})
    path.unlink()
    session.write({"_corscope_id": "2"})
    assert lines(path) == [meta_line(), {"_corscope_id": "2"}]
    rotated = tmp_path / "c.jsonl.1"
    path.rename(rotated)
    session.write({"_corscope_id": "3"})
    assert lines(path) == [meta_line(), {"_corscope_id": "3"}]
    out = tmp_path / "dump.jsonl"
    session.dump(str(out), meta_line())
    # Everything this session wrote, wherever it lives now.
    assert [o["_corscope_id"] for o in lines(out) if "_corscope_id" in o] == ["1", "2", "3"]
    session.close()


def test_a_closed_session_can_still_be_dumped(tmp_path: Path) -> None:
    """mitmproxy calls every addon's `done` in turn: a report asked for after ours ran."""
    path = tmp_path / "c.jsonl"
    session = Session()
    session.open(str(path), meta_line())
    session.write({"_corscope_id": "1"})
    session.close()
    out = tmp_path / "dump.jsonl"
    session.dump(str(out), meta_line())
    assert [o.get("_corscope_id") for o in lines(out)] == [None, "1"]


def test_the_capture_is_looked_for_once_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking that the path still names the file costs two system calls: done at most
    once per `check_every` seconds of writing, however many lines are written."""
    import addons.session as session_module

    clock = [1000.0]
    monkeypatch.setattr(session_module.time, "monotonic", lambda: clock[0])
    checks = []
    real = CaptureFile.replaced
    monkeypatch.setattr(CaptureFile, "replaced", lambda self: checks.append(1) or real(self))
    path = tmp_path / "c.jsonl"
    session = Session(check_every=2.0)
    session.open(str(path), meta_line())
    for n in range(5):
        session.write({"_corscope_id": str(n)})
    assert checks == []
    clock[0] += 2.5
    for n in range(5, 10):
        session.write({"_corscope_id": str(n)})
    assert len(checks) == 1  # found in place: not looked for again until the next interval
    clock[0] += 2.5
    path.unlink()
    for n in range(10, 15):
        session.write({"_corscope_id": str(n)})
    assert len(checks) == 2
    # The check found the file gone: every line from then on is in the new one.
    assert [o.get("_corscope_id") for o in lines(path)] == [None, *map(str, range(10, 15))]
    session.close()
