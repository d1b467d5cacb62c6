"""Which flows are recorded: the cheap test every flow goes through."""

from __future__ import annotations

import pytest

from addons.rules import RedirectTargets, is_cors_relevant, pick, refused_as_same_origin

API = "http://api.test:8000/data"


def relevant(method: str, url: str, *pairs: tuple[str, str]) -> bool:
    fields = [(k.encode(), v.encode()) for k, v in pairs]
    return is_cors_relevant(method, pick(fields), lambda: url)


@pytest.mark.parametrize(
    ("method", "url", "headers", "expected"),
    [
        # Fetch Metadata says CORS mode, or a cross-site/same-site initiator.
        ("GET", API, [("Sec-Fetch-Mode", "cors")], True),
        ("GET", API, [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")], True),
        ("GET", API, [("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Mode", "no-cors")], True),
        # A user-typed navigation and same-origin subresources are not cross-origin.
        ("GET", API, [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate")], False),
        ("GET", API, [("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "no-cors")], False),
        # Without Fetch Metadata (older browsers, other clients): the Origin header decides.
        ("GET", API, [("Origin", "http://localhost:5173")], True),
        ("POST", API, [("Origin", "http://api.test:8000")], False),
        ("GET", API, [("Origin", "http://API.test:8000")], False),
        ("GET", API, [("Origin", "null")], True),
        ("OPTIONS", API, [("Access-Control-Request-Method", "PUT")], True),
        ("OPTIONS", API, [], False),
        ("GET", API, [], False),
        ("GET", "http://api.test/x", [("Origin", "http://api.test:80")], False),
    ],
)
def test_recording_rule(method: str, url: str, headers: list, expected: bool) -> None:
    assert relevant(method, url, *headers) is expected


def test_pick_takes_the_first_value_of_watched_headers() -> None:
    fields = [(b"Origin", b"a"), (b"X-Other", b"b"), (b"ORIGIN", b"c"), (b"Accept", b"*/*")]
    assert pick(fields) == {b"origin": b"a", b"accept": b"*/*"}


def test_url_is_only_built_when_the_origin_must_be_compared() -> None:
    def url() -> str:
        raise AssertionError("not needed")

    assert is_cors_relevant("GET", pick([(b"Sec-Fetch-Mode", b"cors")]), url)
    assert not is_cors_relevant("GET", pick([(b"Accept", b"*/*")]), url)


def test_redirect_targets_are_taken_once() -> None:
    targets = RedirectTargets()
    targets.note(302, "/next#frag", "http://api.test:8000/start")
    targets.note(200, "/ignored", "http://api.test:8000/start")
    targets.note(301, None, "http://api.test:8000/start")
    assert not targets.take("http://api.test:8000/ignored")
    assert targets.take("http://api.test:8000/next")
    assert not targets.take("http://api.test:8000/next")


def test_redirect_targets_are_bounded() -> None:
    targets = RedirectTargets(limit=2)
    for n in range(3):
        targets.note(302, f"/t{n}", "http://a.test/")
    assert not targets.take("http://a.test/t0")
    assert targets.take("http://a.test/t1") and targets.take("http://a.test/t2")


@pytest.mark.parametrize(
    ("mode", "status", "location", "refused"),
    [
        (b"same-origin", 302, b"http://api.test/x", True),
        (b"same-origin", 307, b"//api.test/x", True),
        (b"same-origin", 302, b"/elsewhere", False),
        (b"same-origin", 200, b"http://api.test/x", False),
        (b"cors", 302, b"http://api.test/x", False),
        (b"navigate", 302, b"http://api.test/x", False),
        (b"same-origin", 302, None, False),
    ],
)
def test_a_same_origin_request_redirected_away_is_recorded(
    mode: bytes, status: int, location: bytes | None, refused: bool
) -> None:
    facts = {b"sec-fetch-mode": mode}
    text = None if location is None else location.decode()
    refusal = refused_as_same_origin(facts, status, lambda: text, lambda: "http://app.test/a")
    assert refusal is refused
