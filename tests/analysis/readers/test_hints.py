from __future__ import annotations

import pytest

from analysis.model import BrowserVerdict
from analysis.readers.errors import InputError
from analysis.readers.hints import cors_hints, resource_type_from_dest


def test_every_known_key_becomes_a_hint() -> None:
    hints = cors_hints(
        {
            "initiatorOrigin": "http://127.0.0.1:5173",
            "pageUrl": "http://127.0.0.1:5173/orders",
            "mode": "no-cors",
            "credentials": "same-origin",
            "redirect": "manual",
            "source": "cdn-cache",
            "resourceType": "xhr",
            "headerNames": ["X-B", "accept", "x-b"],
            "integrity": True,
            "fromWorker": True,
            "browser": {"blocked": False},
            "futureKey": {"ignored": True},
        },
        "entry 0",
        "f.har",
    )
    assert hints == {
        "initiator_origin": "http://127.0.0.1:5173",
        "page_url": "http://127.0.0.1:5173/orders",
        "mode": "no-cors",
        "credentials": "same-origin",
        "redirect_mode": "manual",
        "source": "cdn-cache",
        "resource_type": "xhr",
        "header_names": ("x-b", "accept"),
        "integrity": True,
        "from_worker": True,
        "browser": BrowserVerdict(blocked=False),
    }


def test_nulls_mean_unknown() -> None:
    assert cors_hints({"mode": None, "browser": None}, "entry 0", "f") == {}
    assert cors_hints(None, "entry 0", "f") == {}


def test_cdp_spelling_of_failed_parameter_is_accepted() -> None:
    hints = cors_hints(
        {"browser": {"blocked": True, "reason": "AllowOriginMismatch", "failedParameter": "x"}},
        "entry 0",
        "f",
    )
    assert hints["browser"] == BrowserVerdict(True, "AllowOriginMismatch", "x")


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ("cors", "_cors must be an object, not a string"),
        ({"source": "disk"}, "_cors.source is 'disk'"),
        ({"redirect": True}, "_cors.redirect must be a string, not a boolean"),
        ({"browser": []}, "_cors.browser must be an object"),
        ({"browser": {"blocked": True, "reason": 3}}, "_cors.browser.reason"),
        ({"browser": {"blocked": True, "failed_parameter": 3}}, "failed_parameter"),
        ({"headerNames": "x-a"}, "_cors.headerNames must be a list"),
        ({"headerNames": ["x a"]}, "_cors.headerNames holds 'x a'"),
        ({"headerNames": ["x"] * 65}, "at most 64 names"),
        ({"integrity": "sha256-x"}, "_cors.integrity must be a boolean, not a string"),
        ({"fromWorker": 1}, "_cors.fromWorker must be a boolean, not a number"),
    ],
)
def test_wrong_values_name_entry_and_field(obj: object, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        cors_hints(obj, "log.entries[4]", "s.har")
    assert str(info.value).startswith("s.har: log.entries[4]: ")
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        ("empty", "fetch"),
        ("style", "stylesheet"),
        ("Font", "font"),
        ("object", "object"),
        ("", None),
        (None, None),
    ],
)
def test_resource_type_from_sec_fetch_dest(dest: str | None, expected: str | None) -> None:
    assert resource_type_from_dest(dest) == expected


def test_a_service_worker_answer_and_why_the_browser_refused_it() -> None:
    worker = {"answer": "network", "type": "basic", "failure": "redirected-response"}
    assert cors_hints({"worker": worker}, "line 3", "c.jsonl") == {
        "worker_answer": "network",
        "worker_response_type": "basic",
        "worker_failure": "redirected-response",
    }
    assert cors_hints({"worker": {"failure": None}}, "line 3", "c.jsonl") == {}
    with pytest.raises(InputError, match=r"line 3: _cors.worker.failure must be"):
        cors_hints({"worker": {"failure": 7}}, "line 3", "c.jsonl")
