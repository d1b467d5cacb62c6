"""Blink's header-map order against Chromium's own choice of the header it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.blink_headers import map_order, name_hash, network_order

MEASURED = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "chromium-header-order.json").read_text()
)
CASES: list[list[Any]] = MEASURED["cases"]


def _first_missing(order: list[str], allowed: set[str]) -> str | None:
    return next((name for name in order if name not in allowed), None)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_the_name_chromium_reports_with_everything_the_page_set(case: list[Any]) -> None:
    trustworthy, client, set_order, safelisted, allowed, _, chromium = case
    xhr = client == "xhr"
    order = network_order(set_order, xhr=xhr, client_hints=trustworthy)
    assert _first_missing(order, {a.lower() for a in [*allowed, *safelisted]}) == chromium


def test_from_what_the_wire_shows_it_is_right_far_more_often_than_alphabetical() -> None:
    """A flow file has only the preflight's sorted Access-Control-Request-Headers: the
    headers script set that were safelisted, and an XHR's call order, are not on it."""
    model = alphabetical = 0
    for trustworthy, client, _, _, allowed, announced, chromium in CASES:
        names = announced.split(",")
        missing = {a.lower() for a in allowed}
        order = network_order(names, xhr=client == "xhr", client_hints=trustworthy)
        model += _first_missing(order, missing) == chromium
        alphabetical += _first_missing(names, missing) == chromium
    assert model >= 0.9 * len(CASES)
    assert alphabetical <= 0.5 * len(CASES)


def test_fetch_inserts_sorted_so_the_call_order_does_not_matter() -> None:
    names = ["x-c", "X-A", "x-b"]
    assert network_order(names) == network_order(list(reversed(names)))


def test_the_table_doubles_at_half_full_and_keeps_every_name() -> None:
    names = [f"x-h{i}" for i in range(40)]
    assert sorted(map_order(names)) == sorted(names)


def test_the_hash_folds_case_and_is_never_zero() -> None:
    assert name_hash("X-Request-Id") == name_hash("x-request-id")
    assert 0 < name_hash("a") < 1 << 24
    assert name_hash("a") != name_hash("b")
