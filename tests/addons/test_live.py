"""Live pairing: preflights with their requests, redirect hops into one exchange."""

from __future__ import annotations

import gc

from mitmproxy import http

from addons.capture import entry_for
from addons.live import Decision, LiveVerdicts
from analysis.readers.har import entry_to_captured
from analysis.readers.hints import cors_hints

from .flows import API, PAGE, T0, cors_get, preflight

ALLOW = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")]
ALLOW_PUT = [*ALLOW, ("Access-Control-Allow-Methods", "PUT")]


def add(live: LiveVerdicts, f: http.HTTPFlow, entry_id: str) -> Decision:
    entry = entry_for(f, entry_id)
    captured = entry_to_captured(entry, where=entry_id, path="-", order=0)
    return live.add(captured, entry_id, entry.get("_cors", {}), f)


def test_simple_request_is_decided_at_once() -> None:
    d = add(LiveVerdicts(), cors_get(), "a")
    assert d.final and d.newly_blocked
    assert d.verdict.reason == "MissingAllowOriginHeader"


def test_preflight_waits_for_its_request() -> None:
    live = LiveVerdicts()
    first = add(live, preflight(response_headers=ALLOW_PUT), "p")
    assert not first.final and not first.newly_blocked
    assert live.pending == 1
    second = add(live, cors_get(method="PUT", response_headers=ALLOW, at=T0 + 0.02), "a")
    assert second.final and second.verdict.blocked is False
    assert [m.entry_id for m in second.group.members] == ["p", "a"]
    assert second.exchange.first.preflight is not None
    assert live.pending == 0


def test_failed_preflight_is_decided_at_once() -> None:
    live = LiveVerdicts()
    d = add(live, preflight(response_headers=ALLOW), "p")
    assert d.final and d.newly_blocked
    assert d.verdict.reason == "MethodDisallowedByPreflightResponse"
    assert d.verdict.failed_parameter == "PUT"
    assert live.pending == 0


def test_request_pairs_only_with_its_own_preflight() -> None:
    live = LiveVerdicts()
    add(live, preflight(response_headers=ALLOW_PUT), "p")
    other_origin = add(
        live,
        cors_get(method="PUT", origin="http://other.test", response_headers=ALLOW, at=T0 + 0.02),
        "x",
    )
    assert [m.entry_id for m in other_origin.group.members] == ["x"]
    other_method = add(live, cors_get(response_headers=ALLOW, at=T0 + 0.03), "y")
    assert [m.entry_id for m in other_method.group.members] == ["y"]
    assert live.pending == 1


def test_stale_preflight_is_not_paired() -> None:
    live = LiveVerdicts(ttl=30.0)
    add(live, preflight(response_headers=ALLOW_PUT), "p")
    late = add(live, cors_get(method="PUT", response_headers=ALLOW, at=T0 + 60), "a")
    assert [m.entry_id for m in late.group.members] == ["a"]
    assert live.pending == 0


def test_redirect_hops_join_one_exchange() -> None:
    live = LiveVerdicts()
    hop1 = add(
        live,
        cors_get(
            API + "/old",
            status=302,
            response_headers=[*ALLOW, ("Location", "http://api2.test/new")],
        ),
        "h1",
    )
    assert not hop1.final
    hop2 = add(
        live,
        cors_get("http://api2.test/new", origin="null", response_headers=ALLOW, at=T0 + 0.05),
        "h2",
    )
    assert hop2.final
    assert [s.url for s in hop2.exchange.steps] == [API + "/old", "http://api2.test/new"]
    # After a cross-origin hop the origin is `null`, so echoing the page's origin fails.
    assert hop2.verdict.reason == "AllowOriginMismatch"
    assert hop2.verdict.failed_url == "http://api2.test/new"


def test_redirect_that_fails_its_own_check_is_final() -> None:
    d = add(
        LiveVerdicts(),
        cors_get(API + "/old", status=301, response_headers=[("Location", "/new")]),
        "h1",
    )
    assert d.final and d.verdict.stage == "redirect"


def test_annotation_redecides() -> None:
    live = LiveVerdicts()
    wildcard = [("Access-Control-Allow-Origin", "*")]
    d = add(live, cors_get(response_headers=wildcard), "a")
    assert d.verdict.blocked is None  # credentials unknown: blocked only if included
    assert d.verdict.condition == "credentials-include"
    extra = {"credentials": "include"}
    after = live.annotate("a", extra, cors_hints(extra, "-", "-"))
    assert after is not None
    assert after.verdict.reason == "WildcardOriginNotAllowed"
    assert after.newly_blocked
    assert after.group.members[0].cors["credentials"] == "include"
    assert live.annotate("unknown", extra, cors_hints(extra, "-", "-")) is None


def test_flows_are_held_weakly() -> None:
    live = LiveVerdicts()
    f = cors_get()
    d = add(live, f, "a")
    member = d.group.members[0]
    assert member.flow is not None and member.flow() is f
    del f
    gc.collect()
    assert member.flow() is None


def test_index_is_bounded() -> None:
    live = LiveVerdicts(max_entries=2)
    for n in range(3):
        add(live, cors_get(at=T0 + n), f"e{n}")
    assert live.group_of("e0") is None
    assert live.group_of("e2") is not None
