"""Which flows are recorded: the cheap test every flow goes through."""

from __future__ import annotations

import pytest

from addons.rules import (
    EmbedderPolicies,
    RedirectTargets,
    is_cors_relevant,
    pick,
    refused_as_same_origin,
)

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
        # An http page's no-cors load of a named http host: no Fetch Metadata, no Origin;
        # its Referer names the page (measured, Chromium 156: <img> from www.app.test).
        ("GET", API, [("Referer", "http://www.app.test:8000/page"), ("Accept", "image/*")], True),
        ("GET", API, [("Referer", "http://api.test:8000/page")], False),
        # A navigation away from the page names it too: a document, not a subresource.
        ("GET", API, [("Referer", "http://www.app.test/"), ("Accept", "text/html,*/*")], False),
        # A <link rel=prefetch> asks for HTML first too, and says what it is.
        (
            "GET",
            API,
            [("Referer", "http://a.test/"), ("Accept", "text/html"), ("Sec-Purpose", "prefetch")],
            True,
        ),
        # With Fetch Metadata, Sec-Fetch-Site already said same-origin.
        ("GET", API, [("Sec-Fetch-Site", "same-origin"), ("Referer", "http://a.test/")], False),
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


def test_documents_are_recorded_once_their_origin_declared_an_embedder_policy() -> None:
    documents = EmbedderPolicies()
    page = pick([(b"Sec-Fetch-Dest", b"document"), (b"Sec-Fetch-Mode", b"navigate")])
    html = [(b"Content-Type", b"text/html")]
    policy = [*html, (b"Cross-Origin-Embedder-Policy", b"require-corp")]
    here, there = (lambda: "https://app.test/a"), (lambda: "https://other.test/")
    assert not documents.needed(page, html, here)  # no policy seen yet: nothing to say
    assert documents.needed(page, policy, here)
    assert documents.needed(pick([(b"Sec-Fetch-Dest", b"iframe")]), policy, there)
    # A later document of that origin without it: the policy it no longer has.
    assert documents.needed(page, html, lambda: "https://app.test/b")
    assert not documents.needed(page, None, here)
    # A subresource's own header says nothing about the page.
    assert not documents.needed(pick([(b"Sec-Fetch-Dest", b"image")]), policy, here)
