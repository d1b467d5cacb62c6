"""The exchange table: endpoints fold ids so one route is one endpoint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

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


def _path_by_urlsplit(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


@pytest.mark.parametrize(
    "url",
    [
        "https://h.test/a/b?c=/d#e/f",
        "https://h.test/a#b?c",
        "https://h.test?x=/y",
        "https://h.test#/y",
        "http://h.test",
        "http://",
        "http:///x",
        "https://user:p@h.test:8443/p;params/q",
        "https://h.test\\evil/x",
        "https://h.test/a b",
        " https://h.test/a",
        "https://h.test/a\t/b",
        "https://h.test/a\n/b",
        "https://h.test/\x00",
        "https://h.test/caf\u00e9",
        "https://[::1]:8080/x",
        "https://[::1/x",
        "https://h]/x",
        "https://h.test/x]",
        "HTTPS://H.TEST/Up",
        "ftp://h.test/x",
        "/relative/path",
        "not a url",
        "",
    ],
)
def test_endpoint_path_agrees_with_urlsplit(url: str) -> None:
    assert table._path(url) == _path_by_urlsplit(url)


def test_rows_worked_out_on_several_processes_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchanges = read_many(sorted(DATA.glob("*.har"))).exchanges
    decided, _ = decide_all(exchanges * (400 // len(exchanges) + 1))
    serial = table.build(decided)
    forked: list[int] = []

    def small_slices(items: Sequence[Decided], work: Callable, jobs: int | None) -> list | None:
        results = parallel.map_slices(items, work, jobs, min_per_job=50)
        parts = list(results or ())
        forked.append(len(parts))
        return parts if results is not None else None

    monkeypatch.setattr(table, "map_slices", small_slices)
    assert_frame_equal(table.build(decided, jobs=2), serial)
    assert forked and forked[0] > 1
