"""`analysis.parallel`: deciding on several processes gives the serial result exactly."""

from __future__ import annotations

import gzip
import importlib.util
import multiprocessing
from pathlib import Path

import pytest

from analysis import parallel
from analysis.api import decide_all
from analysis.model import Exchange
from analysis.parallel import decide_all_parallel, decide_parallel, usable_cpus
from analysis.readers import read_many
from analysis.verdict import decide

DATA = Path(__file__).resolve().parents[1] / "data"
LAB = Path(__file__).resolve().parent / "readers" / "data"


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory: pytest.TempPathFactory) -> list[Exchange]:
    """Chrome exports and the lab's recordings: blocked, allowed, conditional, warned,
    same-origin and navigation exchanges, repeated to a size worth splitting."""
    paths = sorted(DATA.glob("*.har"))
    if importlib.util.find_spec("mitmproxy") is not None:
        for packed in sorted(LAB.glob("lab-*.mitm.gz")):
            path = tmp_path_factory.mktemp("lab") / packed.stem
            path.write_bytes(gzip.decompress(packed.read_bytes()))
            paths.append(path)
    once = read_many(paths).exchanges
    return once * (1200 // len(once) + 1)


@pytest.mark.parametrize("jobs", [2, 3])
def test_decide_parallel_equals_serial(exchanges: list[Exchange], jobs: int) -> None:
    assert decide_parallel(exchanges, jobs, min_per_job=50) == [decide(x) for x in exchanges]


def test_decide_all_parallel_equals_decide_all(exchanges: list[Exchange]) -> None:
    decided, skipped = decide_all_parallel(exchanges, 2, min_per_job=50)
    assert (decided, skipped) == decide_all(exchanges)
    assert skipped > 0 and decided  # both kinds are in the input


def test_spawned_workers_give_the_same(
    exchanges: list[Exchange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fork is not available (macOS, Windows) the slices are sent to the workers."""
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    small = exchanges[:200]
    assert decide_parallel(small, 2, min_per_job=50) == [decide(x) for x in small]


def test_small_inputs_stay_in_this_process(
    exchanges: list[Exchange], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object) -> None:
        raise AssertionError("started processes for a small input")

    monkeypatch.setattr(parallel, "_forked", no_pool)
    monkeypatch.setattr(parallel, "_spawned", no_pool)
    assert decide_parallel(exchanges[:100], 8) == [decide(x) for x in exchanges[:100]]
    assert decide_parallel(exchanges, 1) == [decide(x) for x in exchanges]


def test_all_cores_by_default(exchanges: list[Exchange]) -> None:
    assert usable_cpus() >= 1
    assert decide_parallel(exchanges, 0, min_per_job=50) == [decide(x) for x in exchanges]


def test_progress_counts_every_exchange(exchanges: list[Exchange]) -> None:
    for jobs in (1, 2):
        calls: list[tuple[int, int]] = []

        def record(done: int, total: int, calls: list[tuple[int, int]] = calls) -> None:
            calls.append((done, total))

        decide_parallel(exchanges, jobs, min_per_job=50, progress=record)
        assert calls[-1] == (len(exchanges), len(exchanges))
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_empty_input() -> None:
    assert decide_parallel([], 4) == []
    assert decide_all_parallel([], 4) == ([], 0)


def _lengths(items: list[Exchange]) -> list[int]:
    return [len(x.steps) for x in items]


def test_map_slices_gives_every_slice_in_order(exchanges: list[Exchange]) -> None:
    results = parallel.map_slices(exchanges, _lengths, 2, min_per_job=50)
    assert results is not None
    parts = list(results)
    assert len(parts) > 2
    assert [n for part in parts for n in part] == _lengths(exchanges)


def test_map_slices_leaves_small_inputs_to_the_caller(exchanges: list[Exchange]) -> None:
    assert parallel.map_slices(exchanges, _lengths, 2) is None  # under MIN_PER_JOB a job
    assert parallel.map_slices(exchanges, _lengths, 1, min_per_job=1) is None
