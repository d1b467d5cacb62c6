"""A flow file read by several processes gives exactly what one process reads: the same
transactions in the same order, warnings, stops and errors."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest

from analysis.readers.captured import Loaded
from analysis.readers.errors import InputError

pytest.importorskip("mitmproxy")

from mitmproxy.io import tnetstring

from analysis.readers import flowsplit
from analysis.readers.flowstream import read_flow_file_counting

from . import flowgen
from .test_flowstream import LAB_FILES, as_version_17, dump, states

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(autouse=True)
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split even the small files of these tests, two records a run at least."""
    monkeypatch.setattr(flowsplit, "MIN_RECORDS_PER_JOB", 2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "gen.mitm"
    flowgen.write(str(path))
    return path


def outcome(path: Path, jobs: int) -> tuple[Loaded, dict[str, int]] | str:
    try:
        loaded, ways = read_flow_file_counting(path, jobs=jobs)
    except InputError as e:
        return f"InputError: {e}"
    return loaded, dict(ways)


def assert_split_reads_the_same(path: Path, jobs: tuple[int, ...] = (2, 3, 5)) -> Any:
    serial = outcome(path, 1)
    for n in jobs:
        split = outcome(path, n)
        if isinstance(serial, tuple) and isinstance(split, tuple):
            for want, have in zip(serial[0].captured, split[0].captured, strict=False):
                assert have == want, f"jobs={n}: flow {want.order} differs"
        assert split == serial, f"jobs={n}"
    return serial


def test_generated_flows(generated: Path) -> None:
    loaded, _ = assert_split_reads_the_same(generated)
    assert len(loaded.captured) > 50


def test_the_split_really_happens(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forked = []
    start = flowsplit._Worker.start
    monkeypatch.setattr(
        flowsplit._Worker, "start", classmethod(lambda cls, *a: forked.append(a) or start(*a))
    )
    read_flow_file_counting(generated, jobs=3)
    assert len(forked) == 2


@pytest.mark.parametrize("packed", LAB_FILES, ids=[p.name for p in LAB_FILES])
def test_lab_recordings(packed: Path, tmp_path: Path) -> None:
    path = tmp_path / packed.stem
    path.write_bytes(gzip.decompress(packed.read_bytes()))
    assert_split_reads_the_same(path, jobs=(2, 4))


def test_records_that_are_not_http_and_unknown_versions(generated: Path, tmp_path: Path) -> None:
    """Skipped records are counted and the one version warning appears once, wherever in
    the file they fall."""
    records: list[Any] = states(generated)[:20]
    records.insert(3, [b"not", b"a", b"flow"])
    for i in (5, 14, 17):
        records[i]["type"] = "tcp"
    assert_split_reads_the_same(dump(tmp_path / "mixed.mitm", records))


def test_a_version_only_mitmproxy_reads_is_named_once(generated: Path, tmp_path: Path) -> None:
    """Records of an older format in several runs: read by mitmproxy, one warning."""
    records: list[Any] = states(generated)[:24]
    for state in (records[2], records[11], records[20]):
        as_version_17(state)
    loaded, ways = assert_split_reads_the_same(dump(tmp_path / "old.mitm", records))
    assert ways["mitmproxy"] == 3
    [warning] = loaded.warnings
    assert "flow format version 17" in warning


@pytest.mark.parametrize("at", [1, 4, 9, 15])
def test_a_record_mitmproxy_refuses_stops_every_later_run(
    generated: Path, tmp_path: Path, at: int
) -> None:
    records = states(generated)[:18]
    records[at]["version"] = 999
    loaded, _ = assert_split_reads_the_same(dump(tmp_path / "future.mitm", records))
    assert len(loaded.captured) == at
    assert any(f"stopped after {at} complete flows" in w for w in loaded.warnings)


def test_broken_framing_is_read_by_one_process(generated: Path, tmp_path: Path) -> None:
    whole = b"".join(tnetstring.dumps(s) for s in states(generated)[:12])
    path = tmp_path / "cut.mitm"
    for cut in (len(whole) // 3, len(whole) // 2 + 7, len(whole) - 1):
        path.write_bytes(whole[:cut] + b"garbage")
        assert_split_reads_the_same(path)


def test_a_worker_that_dies_has_its_run_read_again(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any) -> bytes:
        raise MemoryError

    serial = outcome(generated, 1)
    monkeypatch.setattr(flowsplit, "_read_and_pack", crash)
    assert outcome(generated, 3) == serial


def test_small_files_are_not_split(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flowsplit, "MIN_RECORDS_PER_JOB", 10_000)
    monkeypatch.setattr(flowsplit._Worker, "start", None)  # would fail if called
    assert outcome(generated, 4) == outcome(generated, 1)
