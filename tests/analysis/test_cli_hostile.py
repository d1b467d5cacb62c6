"""Every input is hostile: `corscope analyze` on damaged captures, HARs and flow files.

Seeded mutations of real files (the bundled lab session, the Chrome HARs under
tests/data): values swapped for other JSON types, odd strings and huge numbers, keys
dropped, bytes overwritten, files cut short. Whatever comes in, the run ends with 0 or 1
and a sound JSON document and report, or with 2 and one line naming the file. Never a
traceback.
"""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mitmproxy.io import tnetstring

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "examples" / "lab-session.capture.jsonl"
FLOWS = ROOT / "examples" / "lab-session.mitm"
HARS = sorted((ROOT / "tests" / "data").glob("*.har"))
CASES = 40
"""Mutated files per format; the property held over 5,500 of them in a longer run."""

JSON_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 1e308, -(2**63), 2**64, "", "\x00", "\ud800", "é" * 3,
    [], {}, [1], {"a": 1}, "-1", "9" * 40, "http://", "null", "*", "GET", "\r\n", " , ,",
    "a" * 5000, "1969-12-31T23:59:59Z", "9999-99-99", "0000-01-01T00:00:00Z",
]  # fmt: skip
FLOW_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**70, 1.5, -1e300, b"", b"\x00", b"\xff\xfe", "é", "", [],
    {}, [b"a"], b"a" * 3000, [[b"origin", b"null"]], [[b"a"]], [b"a", b"b"], b"-1",
    b"http://", b"*",
]  # fmt: skip


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*at, index))


def _mutated(value: Any, replacements: list[Any], rng: random.Random) -> Any:
    """`value` with one to four of its members replaced by a value of `replacements` or
    dropped."""
    value = copy.deepcopy(value)
    for _ in range(rng.randint(1, 4)):
        paths = list(_paths(value))
        if not paths:
            break
        *parent_path, last = rng.choice(paths)
        parent = value
        for key in parent_path:
            parent = parent[key]
        if rng.random() < 0.2:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(rng.choice(replacements))
    return value


def _damaged(data: bytes, rng: random.Random) -> bytes:
    """Now and then, a few bytes overwritten or the file cut short."""
    if rng.random() < 0.15:
        spoiled = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            spoiled[rng.randrange(len(spoiled))] = rng.randrange(256)
        data = bytes(spoiled)
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data))]
    return data


def _capture(rng: random.Random) -> bytes:
    lines = [json.loads(line) for line in CAPTURE.read_text(encoding="utf-8").splitlines()[:60]]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lines))
        lines[at] = _mutated(lines[at], JSON_VALUES, rng)
    ascii_only = rng.random() < 0.5
    text = "".join(json.dumps(line, ensure_ascii=ascii_only) + "\n" for line in lines)
    return _damaged(text.encode("utf-8", "surrogatepass"), rng)


def _har(rng: random.Random) -> bytes:
    doc = json.loads(rng.choice(HARS).read_text(encoding="utf-8"))
    text = json.dumps(_mutated(doc, JSON_VALUES, rng), ensure_ascii=rng.random() < 0.5)
    return _damaged(text.encode("utf-8", "surrogatepass"), rng)


def _flows(rng: random.Random) -> bytes:
    records = []
    with FLOWS.open("rb") as f:
        while len(records) < 40:
            try:
                records.append(tnetstring.load(f))
            except ValueError:
                break
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(records))
        records[at] = _mutated(records[at], FLOW_VALUES, rng)
    out = io.BytesIO()
    for record in records:
        try:
            out.write(tnetstring.dumps(record))
        except (TypeError, ValueError):
            out.write(tnetstring.dumps(records[0]))  # a value tnetstring cannot say
    return _damaged(out.getvalue(), rng)


MAKERS = {"capture": (_capture, ".jsonl"), "har": (_har, ".har"), "flows": (_flows, ".mitm")}


@pytest.mark.parametrize("seed", range(CASES))
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_damaged_input_ends_cleanly(tmp_path: Path, kind: str, seed: int) -> None:
    make, suffix = MAKERS[kind]
    rng = random.Random(f"{kind}-{seed}")
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(make(rng))
    document, report = tmp_path / "out.json", tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["analyze", str(path), "--json", str(document), "-o", str(report), "-j", "1"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output + result.stderr
    if result.exit_code == 2:
        (line,) = result.stderr.strip().splitlines()
        assert str(path) in line
        return
    assert result.exit_code in (0, 1), result.stderr
    assert json.loads(document.read_text(encoding="utf-8"))["schema"] == "corscope/1"
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
