"""Beacons are hostile input: anything malformed is dropped, nothing crashes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from addons.beacon import MAX_BODY_BYTES, Junk, PageRecord, WorkerRecord, parse

PAGE = "http://localhost:5173/orders"
NOW = 1_750_000_000.0
MS = NOW * 1000


def fetch_record(**over: Any) -> dict[str, Any]:
    record = {
        "kind": "fetch",
        "url": "http://api.test:8000/data",
        "method": "GET",
        "mode": "cors",
        "credentials": "include",
        "redirect": "follow",
        "t": MS - 500,
        "failed": True,
        "aborted": False,
        "status": 0,
        "controlled": False,
        "timing": {"deliveryType": "", "workerStart": 0, "transferSize": 0, "responseStatus": 0},
    }
    record.update(over)
    return record


def body(*records: Any, **over: Any) -> bytes:
    doc = {"v": 1, "from": "page", "page": PAGE, "sent": MS, "records": list(records)}
    doc.update(over)
    return json.dumps(doc).encode()


def test_page_record() -> None:
    beacon = parse(body(fetch_record(), {"kind": "load", "t": MS}), "http://localhost:5173", NOW)
    assert beacon.source == "page" and beacon.page == PAGE
    assert beacon.loads == 1 and beacon.rejected == 0
    (record,) = beacon.records
    assert isinstance(record, PageRecord)
    assert record.url == "http://api.test:8000/data"
    assert record.credentials == "include"
    assert record.t == pytest.approx(NOW - 0.5)
    assert record.browser_blocked is True
    assert record.timing is not None and record.timing.transfer_size == 0


def test_a_sandboxed_sender_says_its_origin_is_opaque() -> None:
    assert parse(body(fetch_record(), opaque=True), PAGE, NOW).opaque is True
    assert parse(body(fetch_record()), PAGE, NOW).opaque is False
    assert parse(body(fetch_record(), opaque="yes"), PAGE, NOW).opaque is False


def test_the_page_when_the_call_was_made_is_kept() -> None:
    # A single-page app changes route between the call and the beacon that reports it.
    then = PAGE.rstrip("/") + "/orders/7"
    beacon = parse(body(fetch_record(page=then)), PAGE, NOW)
    (record,) = beacon.records
    assert isinstance(record, PageRecord) and (record.page, beacon.page) == (then, PAGE)
    (older,) = parse(body(fetch_record()), PAGE, NOW).records
    assert isinstance(older, PageRecord) and older.page is None  # a probe before this field


@pytest.mark.parametrize(
    ("names", "kept"),
    [
        (["X-B", "accept", "x-b"], ("x-b", "accept")),
        ([], ()),
        (None, None),
        ("x-a", None),
        (["x a"], None),
        ([3], None),
        (["x"] * 65, None),
    ],
)
def test_the_header_names_a_call_set(names: object, kept: tuple[str, ...] | None) -> None:
    # Names the probe would never send cost only this field, not the record.
    (record,) = parse(body(fetch_record(headerNames=names)), PAGE, NOW).records
    assert isinstance(record, PageRecord) and record.header_names == kept


def test_the_csp_directive_that_refused_a_call_is_kept() -> None:
    (record,) = parse(body(fetch_record(csp="connect-src")), PAGE, NOW).records
    assert isinstance(record, PageRecord) and record.refused_by_csp == "connect-src"
    (older,) = parse(body(fetch_record()), PAGE, NOW).records
    assert isinstance(older, PageRecord) and older.refused_by_csp is None


def test_a_call_from_a_worker_is_a_flag() -> None:
    (record,) = parse(body(fetch_record(fromWorker=True)), PAGE, NOW).records
    assert isinstance(record, PageRecord) and record.from_worker is True
    (older,) = parse(body(fetch_record()), PAGE, NOW).records
    assert isinstance(older, PageRecord) and older.from_worker is False


def test_integrity_metadata_is_a_flag() -> None:
    (record,) = parse(body(fetch_record(integrity=True)), PAGE, NOW).records
    assert isinstance(record, PageRecord) and record.integrity is True
    (older,) = parse(body(fetch_record()), PAGE, NOW).records
    assert isinstance(older, PageRecord) and older.integrity is False


def test_clock_skew_is_taken_out() -> None:
    # The page's clock runs 3 s behind the proxy's.
    skewed = body(fetch_record(t=MS - 3500), sent=MS - 3000)
    (record,) = parse(skewed, "http://localhost:5173", NOW).records
    assert record.t == pytest.approx(NOW - 0.5)


def test_outcomes() -> None:
    def blocked(**over: Any) -> bool | None:
        (record,) = parse(body(fetch_record(**over)), PAGE, NOW).records
        return record.browser_blocked

    assert blocked(failed=True) is True
    assert blocked(failed=False, status=200) is False
    assert blocked(failed=False, status=0, type="opaque") is False
    assert blocked(failed=False, aborted=True) is None
    assert blocked(failed=False, status=0) is None  # e.g. a timeout: not a verdict


def test_a_page_beacon_is_a_record_without_an_outcome() -> None:
    # navigator.sendBeacon: credentials always, and the page never learns how it ended.
    sent = fetch_record(kind="beacon", method="POST", failed=False, status=None, timing=None)
    (record,) = parse(body(sent), PAGE, NOW).records
    assert isinstance(record, PageRecord)
    assert (record.kind, record.method, record.credentials) == ("beacon", "POST", "include")
    assert record.browser_blocked is None


def test_an_event_stream_is_a_page_record() -> None:
    # The page cannot tell a refused stream from a failed one: no outcome, only how asked.
    asked = fetch_record(kind="eventsource", failed=False, status=None, timing=None)
    (record,) = parse(body(asked), PAGE, NOW).records
    assert isinstance(record, PageRecord)
    assert (record.kind, record.credentials, record.browser_blocked) == (
        "eventsource",
        "include",
        None,
    )


def test_an_element_load_carries_its_destination() -> None:
    # A font or a crossorigin image, reported from Resource Timing: status 0 is a refusal.
    loaded = fetch_record(kind="element", destination="font", credentials="same-origin")
    (record,) = parse(body(loaded), PAGE, NOW).records
    assert isinstance(record, PageRecord)
    assert (record.kind, record.destination, record.browser_blocked) == ("element", "font", True)
    (fetched,) = parse(body(fetch_record(destination="font")), PAGE, NOW).records
    assert isinstance(fetched, PageRecord) and fetched.destination is None


@pytest.mark.parametrize("destination", [None, "", "spaceship", 7])
def test_an_element_load_without_a_known_destination_is_dropped(destination: object) -> None:
    beacon = parse(body(fetch_record(kind="element", destination=destination)), PAGE, NOW)
    assert (beacon.rejected, beacon.records) == (1, [])


def test_worker_record() -> None:
    record = {
        "kind": "sw",
        "url": "http://api.test:8000/data",
        "method": "GET",
        "mode": "cors",
        "credentials": "same-origin",
        "redirect": "follow",
        "destination": "",
        "t": MS,
        "answer": "cache",
        "type": "basic",
        "status": 200,
        "statusText": "OK",
        "headers": [["content-type", "application/json"]],
        "requestHeaders": [["x-id", "1"]],
        "failure": None,
    }
    beacon = parse(body(record, **{"from": "worker"}), PAGE, NOW)
    (parsed,) = beacon.records
    assert isinstance(parsed, WorkerRecord)
    assert parsed.answer == "cache"
    assert parsed.headers == (("content-type", "application/json"),)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"v": 2, "from": "page", "page": "http://localhost:5173/", "records": []}',
        b'{"v": 1, "from": "server", "page": "http://localhost:5173/", "records": []}',
        b'{"v": 1, "from": "page", "page": "http://evil.test/", "records": []}',
        b'{"v": 1, "from": "page", "page": "javascript:alert(1)", "records": []}',
        b'{"v": 1, "from": "page", "page": "http://localhost:5173/", "records": {}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"v": 1, "from": "page", "page": "http://localhost:5173/", "sent": ' + b"9" * 5000 + b"}",
        b"x" * (MAX_BODY_BYTES + 1),
    ],
)
def test_junk(payload: bytes) -> None:
    with pytest.raises(Junk):
        parse(payload, "http://localhost:5173", NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "nope"},
        {"url": "ftp://api.test/x"},
        {"url": "http://api.test/\r\nx"},
        {"url": "http://" + "a" * 9000},
        {"url": 7},
        {"method": "GET\r\nX-Evil: 1"},
        {"method": ""},
        {"mode": "navigate-ish"},
        {"credentials": True},
        {"redirect": "sometimes"},
        {"t": float("nan")},
        {"t": 5},
        {"t": "now"},
        {"t": True},
        {"failed": "yes"},
        {"status": 1000},
        {"status": 1.5},
        {"status": -1},
        {"timing": "fast"},
        {"timing": {"deliveryType": "x" * 100}},
        {"timing": {"transferSize": -1}},
        {"timing": {"workerStart": 10**400}},
        {"type": "weird"},
        {"page": "http://evil.test/"},
        {"page": "not a url"},
        {"page": None},
        {"csp": "Connect Src"},
        {"csp": 3},
        {"integrity": "sha256-x"},
    ],
)
def test_bad_records_are_dropped_one_by_one(change: dict[str, Any]) -> None:
    text = json.dumps(
        {
            "v": 1,
            "from": "page",
            "page": PAGE,
            "sent": MS,
            "records": [fetch_record(**change), fetch_record()],
        }
    )
    beacon = parse(text.encode(), PAGE, NOW)
    assert beacon.rejected == 1
    assert len(beacon.records) == 1


def test_worker_records_are_checked_too() -> None:
    base = {
        "kind": "sw",
        "url": "http://api.test/x",
        "method": "GET",
        "mode": "cors",
        "credentials": "omit",
        "t": MS,
        "answer": "synthetic",
        "destination": "",
    }
    bad = [
        {**base, "headers": [["bad name", "v"]]},
        {**base, "headers": [["x", "a\r\nb"]]},
        {**base, "headers": "x: y"},
        {**base, "headers": [["x"]]},
        {**base, "answer": "teleport"},
        {**base, "destination": "rocket"},
        {**base, "failure": "bored"},
        {**base, "statusText": "x" * 1000},
        {**base, "kind": "fetch"},  # a worker does not send page records
    ]
    beacon = parse(body(*bad, base, **{"from": "worker"}), PAGE, NOW)
    assert beacon.rejected == len(bad)
    assert len(beacon.records) == 1


def test_record_count_is_capped() -> None:
    small = {
        "kind": "fetch",
        "url": "http://a.test/",
        "method": "GET",
        "mode": "cors",
        "credentials": "omit",
        "t": MS,
    }
    beacon = parse(body(*[small] * 250), PAGE, NOW)
    assert len(beacon.records) == 200 and beacon.rejected == 50


def test_headers_are_capped() -> None:
    record = {
        "kind": "sw",
        "url": "http://api.test/x",
        "method": "GET",
        "mode": "cors",
        "credentials": "omit",
        "t": MS,
        "answer": "synthetic",
        "headers": [["x-h", "v"]] * 100,
    }
    (parsed,) = parse(body(record, **{"from": "worker"}), PAGE, NOW).records
    assert len(parsed.headers) == 64
