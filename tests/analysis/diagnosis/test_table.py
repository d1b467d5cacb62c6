"""The exchange table: endpoints fold ids so one route is one endpoint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from analysis import parallel
from analysis.api import Decided, decide_all
from analysis.diagnosis import table
from analysis.diagnosis.table import endpoint
from analysis.readers import read_many

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://api.test/users/123", "GET /users/{id}"),
        ("http://api.test/users/123/orders/9?x=1", "GET /users/{id}/orders/{id}"),
        ("http://api.test/u/550e8400-e29b-41d4-a716-446655440000", "GET /u/{id}"),
        ("http://api.test/blob/deadbeefcafe", "GET /blob/{id}"),
        ("http://api.test/t/eyJhbGciOiJIUzI1NiJ9abc", "GET /t/{id}"),
        ("http://api.test/user-preferences-settings-page", "GET /user-preferences-settings-page"),
        ("http://api.test/v2/items", "GET /v2/items"),
        ("http://api.test", "GET /"),
    ],
)
def test_endpoint_folds_ids_not_routes(url: str, expected: str) -> None:
    assert endpoint("GET", url) == expected


def test_rows_worked_out_on_several_processes_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchanges = read_many(sorted(DATA.glob("*.har"))).exchanges
    decided, _ = decide_all(exchanges * (400 // len(exchanges) + 1))
    serial = table.build(decided)
    forked: list[int] = []

    def small_slices(items: Sequence[Decided], work: Callable, jobs: int | None) -> list | None:
        parts = parallel.map_slices(items, work, jobs, min_per_job=50)
        forked.append(len(parts or ()))
        return parts

    monkeypatch.setattr(table, "map_slices", small_slices)
    assert_frame_equal(table.build(decided, jobs=2), serial)
    assert forked and forked[0] > 1
