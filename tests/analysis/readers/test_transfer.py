"""Transactions packed in a forked reader come back as they were."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from analysis.readers.har import read_har
from analysis.readers.transfer import pack, unpack

DATA = Path(__file__).resolve().parents[2] / "data"


def test_unpack_gives_back_what_was_packed() -> None:
    captured = [c for har in sorted(DATA.glob("*.har")) for c in read_har(har).captured]
    # Hints, a transaction without a response and one with an error among them.
    assert all(c.hints for c in captured)
    assert any(c.tx.response is None for c in captured)
    assert any(c.tx.error is not None for c in captured)
    assert unpack(pack(captured)) == captured


def test_order_moves_on_by_the_offset() -> None:
    captured = read_har(DATA / "chrome-redirect-chain.har").captured
    moved = unpack(pack(captured), order_offset=100)
    assert moved == [dataclasses.replace(c, order=c.order + 100) for c in captured]


def test_equal_header_lists_travel_once() -> None:
    captured = read_har(DATA / "chrome-preflight-put-ok-then-cached.har").captured
    tables, rows = pack(captured + captured)
    assert len(rows) == 2 * len(captured)
    assert len(tables) == len(pack(captured)[0])  # the repeats add no header list
    again = unpack((tables, rows))
    assert again[0].tx.request.headers is again[len(captured)].tx.request.headers
