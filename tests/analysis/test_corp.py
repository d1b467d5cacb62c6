"""Cross-Origin-Resource-Policy's check, as Chromium 156 runs it (measured with the lab)."""

from __future__ import annotations

import pytest

from analysis import corp
from analysis.model import Headers


def _headers(*values: str) -> Headers:
    return Headers.of(("Cross-Origin-Resource-Policy", v) for v in values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((), None),
        (("same-origin",), "same-origin"),
        ((" same-site\t",), "same-site"),
        (("cross-origin",), "cross-origin"),
        # Case-sensitive, one token, one field: anything else is no policy at all.
        (("Same-Origin",), None),
        (("same-origin;",), None),
        (("same-origin, same-origin",), None),
        (("same-origin", "same-origin"), None),
        (("'same-origin'",), None),
        (("",), None),
    ],
)
def test_policy_is_parsed_as_chromium_does(values: tuple[str, ...], expected: str | None) -> None:
    assert corp.policy(_headers(*values)) == expected


@pytest.mark.parametrize(
    ("page", "url", "value", "expected"),
    [
        ("http://127.0.0.1:3000", "http://127.0.0.2:8000/x", "same-origin", "corp-not-same-origin"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/x", "same-origin", None),
        ("http://127.0.0.1:3000", "http://127.0.0.2:8000/x", "cross-origin", None),
        ("http://127.0.0.1:3000", "http://127.0.0.2:8000/x", "Same-Origin", None),
        # An IP address is never same site, not even another port of the same address.
        ("http://127.0.0.1:3000", "http://127.0.0.1:8000/x", "same-site", "corp-not-same-site"),
        # Same registrable domain (an unlisted TLD counts as one label), any port.
        ("http://app.test:3000", "http://www.app.test:3000/x", "same-site", None),
        ("http://www.app.test", "http://evilapp.test/x", "same-site", "corp-not-same-site"),
        ("http://www.app.test", "http://app.test/x", "same-origin", "corp-not-same-origin"),
        # same-site never lets an http page have an https resource.
        ("http://app.example", "https://cdn.app.example/x", "same-site", "corp-not-same-site"),
        ("https://app.example", "http://cdn.app.example/x", "same-site", None),
        # A public suffix's subdomains are sites of their own.
        ("https://a.github.io", "https://b.github.io/x", "same-site", "corp-not-same-site"),
        ("https://a.example.co.uk", "https://b.example.co.uk/x", "same-site", None),
        ("https://example.co.uk", "https://other.co.uk/x", "same-site", "corp-not-same-site"),
        # An opaque origin is same origin and same site with nothing.
        ("null", "http://app.test/x", "same-site", "corp-not-same-site"),
    ],
)
def test_blocked(page: str, url: str, value: str, expected: str | None) -> None:
    assert corp.blocked(page, url, _headers(value)) == expected


def test_an_embedder_policy_makes_a_missing_policy_same_origin() -> None:
    page, url = "http://127.0.0.1:3000", "http://127.0.0.2:8000/x"
    defaulted = "corp-not-same-origin-after-defaulted-to-same-origin-by-coep"
    assert corp.blocked(page, url, Headers()) is None
    assert corp.blocked(page, url, Headers(), "require-corp") == defaulted
    assert corp.blocked(page, url, _headers("nonsense"), "require-corp") == defaulted
    assert corp.blocked(page, url, _headers("cross-origin"), "require-corp") is None
    assert corp.blocked(page, url, _headers("same-site"), "require-corp") == "corp-not-same-site"
    # credentialless asks it only of a response to a request that carried credentials.
    assert corp.blocked(page, url, Headers(), "credentialless") is None
    assert corp.blocked(page, url, Headers(), "credentialless", with_credentials=True) == defaulted


@pytest.mark.parametrize(
    ("site", "url", "value", "expected"),
    [
        ("cross-site", "http://127.0.0.2:8000/x", "same-origin", "corp-not-same-origin"),
        ("same-site", "https://api.app.test/x", "same-origin", "corp-not-same-origin"),
        ("cross-site", "http://127.0.0.2:8000/x", "same-site", "corp-not-same-site"),
        ("cross-site", "https://api.app.test/x", "same-site", "corp-not-same-site"),
        # Same scheme, same registrable domain: CORP's same site too.
        ("same-site", "https://api.app.test/x", "same-site", None),
        # Same site to fetch metadata is another port of the same IP, never CORP's.
        ("same-site", "http://127.0.0.1:8000/x", "same-site", "corp-not-same-site"),
        # Cross-site may be the https page of the same site, which may load http.
        ("cross-site", "http://api.app.localhost/x", "same-site", False),
        ("cross-site", "http://127.0.0.2:8000/x", "cross-origin", None),
        ("cross-site", "http://127.0.0.2:8000/x", None, None),
    ],
)
def test_blocked_for_site(site: corp.Site, url: str, value: str | None, expected: object) -> None:
    headers = _headers() if value is None else _headers(value)
    assert corp.blocked_for_site(site, url, headers) == expected
