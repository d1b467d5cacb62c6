"""A HAR read by several processes gives exactly what one pass reads: the same transactions
in the same order, and for bad input the same InputError, word for word."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from analysis.readers import har, harsplit
from analysis.readers.captured import Loaded
from analysis.readers.errors import InputError
from analysis.readers.har import read_har

from .builders import har_doc, har_entry
from .test_harstream import SAMPLES, document, write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(autouse=True)
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split even the small files of these tests."""
    monkeypatch.setattr(harsplit, "MIN_SPLIT_BYTES", 0)


@pytest.fixture(params=[1 << 20, 7], ids=["1MiB", "7B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Tiny windows put every token, escape and multi-byte character across a boundary."""
    monkeypatch.setattr(har, "_CHUNK_BYTES", request.param)
    monkeypatch.setattr(harsplit, "_CHUNK_BYTES", request.param)
    return int(request.param)


def outcome(path: Path, jobs: int) -> Loaded | str:
    try:
        return read_har(path, jobs=jobs)
    except InputError as e:
        return f"InputError: {e}"


def assert_split_reads_the_same(path: Path, jobs: tuple[int, ...] = (2, 3, 5)) -> Any:
    serial = outcome(path, 1)
    for n in jobs:
        split = outcome(path, n)
        if isinstance(serial, Loaded) and isinstance(split, Loaded):
            for want, have in zip(serial.captured, split.captured, strict=False):
                assert have == want, f"jobs={n}: entry {want.order} differs"
        assert split == serial, f"jobs={n}"
    return serial


def split_result(path: Path, jobs: int) -> Loaded | None:
    """What the split itself made of the file (None: it left the file to the single pass)."""
    return harsplit.read_split(str(path), path.stat().st_size, None, jobs)


def many(entries: int = 60) -> dict[str, Any]:
    doc = document(entries)
    for i, entry in enumerate(doc["log"]["entries"]):
        entry["startedDateTime"] = f"2026-11-20T09:{i // 60:02d}:{i % 60:02d}.000Z"
        entry["response"]["content"]["text"] = "x" * (i * 37 % 500)
    return doc


# --- the same transactions ----------------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2, "\t"], ids=["compact", "pretty", "tabs"])
def test_runs_join_into_the_single_pass(indent: Any, tmp_path: Path, chunk: int) -> None:
    path = write(tmp_path / "x.har", json.dumps(many(), indent=indent, ensure_ascii=False))
    loaded = assert_split_reads_the_same(path)
    assert isinstance(loaded, Loaded) and len(loaded.captured) == 60
    split = split_result(path, 4)
    assert split is not None and split == loaded


def test_the_split_really_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forked = []
    start = harsplit.Forked.start
    monkeypatch.setattr(
        harsplit.Forked, "start", classmethod(lambda cls, work: forked.append(work) or start(work))
    )
    read_har(write(tmp_path / "x.har", json.dumps(many())), jobs=3)
    assert len(forked) == 2


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_browser_exports(sample: Path, chunk: int) -> None:
    assert_split_reads_the_same(sample)


def test_a_seam_inside_an_entry_is_found_out(tmp_path: Path) -> None:
    """Objects nested in an entry that open with the entry's own first key look like a
    seam to the search, even whole entries; their run does not end where the next begins."""
    doc = many()
    for entry in doc["log"]["entries"]:
        entry["_nested"] = [{"startedDateTime": n} for n in range(20)]
        entry["_copies"] = [har_entry(url=f"https://copy.example.test/{n}") for n in range(3)]
    path = write(tmp_path / "x.har", json.dumps(doc))
    assert b'}, {"startedDateTime":' in path.read_bytes()
    assert_split_reads_the_same(path, jobs=(2, 3, 4, 7, 11))


def test_entries_after_the_array_are_not_taken_for_its_own(tmp_path: Path) -> None:
    """Entries in an array after `entries` hold seams the search finds past a cut."""
    doc = many(30)
    doc["log"]["_archive"] = [har_entry(url=f"https://old.example.test/{n}") for n in range(60)]
    path = write(tmp_path / "x.har", json.dumps(doc))
    loaded = assert_split_reads_the_same(path, jobs=(2, 3, 4, 6))
    assert isinstance(loaded, Loaded) and len(loaded.captured) == 30


@pytest.mark.parametrize(
    "shape", ["pages-after-entries", "creator-after-entries", "log-twice", "bom", "trailer"]
)
def test_documents_the_single_pass_must_read(shape: str, tmp_path: Path) -> None:
    doc = many()
    log = doc["log"]
    if shape in ("pages-after-entries", "creator-after-entries"):
        key = shape.split("-")[0]
        log[key] = log.pop(key)
    text = json.dumps(doc)
    if shape == "log-twice":
        text = text[:-1] + ', "log": {"entries": []}}'
    elif shape == "bom":
        text = "\ufeff" + text
    elif shape == "trailer":
        text = text[:-2] + ', "comment": "}]"}, "x": [1, {"log": 2}]}'
    path = write(tmp_path / "x.har", text)
    loaded = assert_split_reads_the_same(path)
    if shape == "trailer":
        assert split_result(path, 3) == loaded  # nothing after the entries that matters
    else:
        assert split_result(path, 3) is None


def test_a_worker_that_dies_leaves_the_file_to_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "x.har", json.dumps(many()))

    def dying(*args: Any) -> Any:
        def work() -> bytes:
            os._exit(3)

        return work

    monkeypatch.setattr(harsplit, "_packing", dying)
    assert split_result(path, 3) is None
    assert read_har(path, jobs=3) == read_har(path)


# --- the same errors -----------------------------------------------------------------------


def test_damage_anywhere_words_the_same_error(tmp_path: Path) -> None:
    text = json.dumps(many(12))
    rnd = random.Random(7)
    path = tmp_path / "damaged.har"
    replacements = ['"', "{", "}", "[", "]", ",", ":", " ", "x", "1", "\\", "\n", "\x01"]
    for _ in range(120):
        i = rnd.randrange(len(text))
        damaged = text[:i] + rnd.choice(replacements) + text[i + rnd.choice((0, 1)) :]
        assert_split_reads_the_same(write(path, damaged), jobs=(3,))


def test_cut_short_anywhere_words_the_same_error(tmp_path: Path) -> None:
    text = json.dumps(many(6))
    path = tmp_path / "cut.har"
    for cut in range(0, len(text), 41):
        assert_split_reads_the_same(write(path, text[:cut]), jobs=(3,))


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_bad_entries_and_bytes_late_in_the_file(where: float, tmp_path: Path) -> None:
    entries = [har_entry(url=f"https://api.example.test/{i}") for i in range(40)]
    at = int(len(entries) * where)
    for bad in ({"request": 7}, 7, [har_entry()]):
        doc = har_doc([*entries[:at], bad, *entries[at:]])
        message = assert_split_reads_the_same(write(tmp_path / "bad.har", json.dumps(doc)))
        assert isinstance(message, str) and f"log.entries[{at}]" in message
    text = json.dumps(har_doc(entries)).encode()
    spot = int(len(text) * where)
    message = assert_split_reads_the_same(write(tmp_path / "bytes.har", text[:spot] + b"\xff"))
    assert isinstance(message, str) and "not UTF-8" in message
