"""A flow carried to the worker as a snapshot and rebuilt there records exactly as the
flow itself: same capture line, same `Captured`, for every kind of flow the recorder is
tested on."""

from __future__ import annotations

import marshal

import pytest

from addons.capture import entry_for
from addons.record import Recorder
from addons.rules import pick
from addons.snapshot import rebuild, snapshot, strip_bodies

from .test_record import FLOWS


@pytest.mark.parametrize("name", list(FLOWS))
def test_rebuilt_flow_records_as_the_flow(name: str) -> None:
    f = FLOWS[name]()
    carried = marshal.loads(marshal.dumps(snapshot(f, "e1", 7)))
    rebuilt, entry_id, order = rebuild(carried)
    assert (entry_id, order, rebuilt.id) == ("e1", 7, f.id)
    facts = pick(f.request.headers.fields)
    for redact in (True, False):
        assert entry_for(rebuilt, "e1", facts, redact=redact) == entry_for(
            f, "e1", facts, redact=redact
        )
        want = Recorder().record(f, "e1", facts, f.request.pretty_url, redact=redact, order=7)
        got = Recorder().record(
            rebuilt, "e1", facts, rebuilt.request.pretty_url, redact=redact, order=7
        )
        assert got.line == want.line
        assert got.captured == want.captured and got.captured.hints == want.captured.hints


def test_large_bodies_cross_as_their_length() -> None:
    f = FLOWS["cors get"]()
    f.response.raw_content = b"x" * 5_000_000
    f.request.raw_content = b"y" * 3_000_000
    carried = marshal.dumps(snapshot(f, "e1", 1))
    assert len(carried) < 10_000
    rebuilt, _, _ = rebuild(marshal.loads(carried))
    assert len(rebuilt.response.raw_content) == 5_000_000
    assert len(rebuilt.request.raw_content) == 3_000_000
    strip_bodies(rebuilt)
    assert rebuilt.response.raw_content is None and rebuilt.request.raw_content is None


def test_an_error_body_keeps_what_the_excerpt_reads() -> None:
    f = FLOWS["server error"]()
    rebuilt, _, _ = rebuild(marshal.loads(marshal.dumps(snapshot(f, "e1", 1))))
    assert rebuilt.response.raw_content[:1024] == f.response.raw_content[:1024]
    assert len(rebuilt.response.raw_content) == len(f.response.raw_content)
