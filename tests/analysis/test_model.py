"""The model's lookups: header access by name, and origins of URLs."""

from __future__ import annotations

import pickle
from urllib.parse import urlsplit

import pytest

from analysis.model import Headers, origin_of

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def _origin_by_urlsplit(url: str) -> str | None:
    """The definition `origin_of` must agree with: the whole URL through `urlsplit`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@pytest.mark.parametrize(
    "url",
    [
        "https://a.test/x",
        "HTTPS://A.Test:443/x?y#z",
        "http://h.test:80",
        "https://user:pass@h.test:8443/p",
        "https://[::1]:8080/x",
        "https://h.test?x=/",
        "https://h.test#f/",
        "https://h.test\t/x",
        " https://h.test/x",
        "https://h.test\\x/y",
        "https://h.test:99999/",
        "https://[::1/x",
        "data:text/plain,x",
        "blob:https://h.test/uuid",
        "ws://h.test/x",
        "file:///x",
        "https:///x",
        "https://h.test:/x",
        "https://@h.test/x",
        "javascript://h.test/x",
        "https://h\n.test/x",
        "\x00https://h.test/",
        "https://h.test/x://y",
        "https://a.test/p?next=https://b.test/",
        "not a url",
        "",
    ],
)
def test_origin_of_reads_only_the_authority_yet_agrees_with_the_whole_url(url: str) -> None:
    assert origin_of(url) == _origin_by_urlsplit(url)


def test_headers_lookup_is_case_insensitive_keeps_duplicates_and_order() -> None:
    headers = Headers(
        (("Vary", "Origin"), ("X-A", " 1 "), ("vary", "Accept"), ("Set-Cookie", "a=1"))
    )
    assert headers.get_all("VARY") == ["Origin", "Accept"]
    assert headers.get("vary") == "Origin, Accept"
    assert headers.get("x-a") == "1"
    assert headers.get("missing") is None
    assert "set-cookie" in headers and "cookie" not in headers
    assert headers.names() == ["Vary", "X-A", "vary", "Set-Cookie"]


def test_a_folded_value_reads_as_chromium_joins_it() -> None:
    # mitmproxy keeps an obs-fold continuation line as "\r\n " in the value; Chromium's
    # AssembleRawHeaders joins it with one space (measured, Chromium 156).
    headers = Headers(
        (
            ("Access-Control-Allow-Origin", "http://a.test:\r\n 8080"),
            ("Access-Control-Allow-Credentials", "true\r\n "),
            ("Access-Control-Allow-Methods", "\r\n GET,\r\n\t PUT"),
        )
    )
    assert headers.get("access-control-allow-origin") == "http://a.test: 8080"
    assert headers.get("access-control-allow-credentials") == "true"
    assert headers.get("access-control-allow-methods") == "GET, PUT"


def test_headers_with_the_same_names_share_one_layout_but_not_values() -> None:
    first = Headers((("Date", "Mon"), ("ETag", '"1"')))
    second = Headers((("Date", "Tue"), ("ETag", '"2"')))
    assert first.layout is second.layout
    assert first.get("date") == "Mon" and second.get("date") == "Tue"
    assert first != second
    assert Headers((("Date", "Mon"),)) == Headers((("Date", "Mon"),))
    assert hash(Headers((("A", "1"),))) == hash(Headers((("A", "1"),)))


def test_headers_pickle_as_their_fields_and_share_the_layout_again() -> None:
    headers = Headers((("Vary", "Origin"), ("Date", "Mon")))
    assert headers.get("vary") == "Origin"  # the index exists now
    back = pickle.loads(pickle.dumps(headers))
    assert back == headers and back.get("date") == "Mon"
    assert back.layout is headers.layout


def test_what_follows_from_the_names_is_worked_out_once_per_layout() -> None:
    seen: list[tuple[str, ...]] = []

    def lowered(names: tuple[str, ...]) -> tuple[str, ...]:
        seen.append(names)
        return tuple(n.lower() for n in names)

    first = Headers((("X-A", "1"), ("Vary", "Origin")))
    second = Headers((("X-A", "2"), ("Vary", "Accept")))
    assert first.layout.derive(lowered) == ("x-a", "vary")
    assert second.layout.derive(lowered) == ("x-a", "vary")
    assert seen == [("X-A", "Vary")]
    assert Headers((("x-a", "1"),)).layout.derive(lowered) == ("x-a",)
    assert len(seen) == 2
