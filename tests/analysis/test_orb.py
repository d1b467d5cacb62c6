"""Opaque Response Blocking as Chromium 156 applies it (`services/network/orb/`), measured
in the lab with <img>, <script> and <link rel=stylesheet> loads of a cross-origin URL."""

from __future__ import annotations

import pytest

from analysis import orb
from analysis.model import Headers


def h(*pairs: tuple[str, str]) -> Headers:
    return Headers.of(pairs)


def ct(value: str, *more: tuple[str, str]) -> Headers:
    return h(("Content-Type", value), *more)


NOSNIFF = ("X-Content-Type-Options", "nosniff")


# --- The MIME type as Chromium's HttpResponseHeaders::GetMimeType reads it ----------------


@pytest.mark.parametrize(
    ("fields", "mime"),
    [
        ([("Content-Type", "application/JSON; charset=utf-8")], "application/json"),
        ([("Content-Type", "TEXT/HTML")], "text/html"),
        ([("Content-Type", " text/html (comment)")], "text/html"),
        ([("Content-Type", "json")], ""),
        ([("Content-Type", "*/*")], ""),
        ([("Content-Type", "")], ""),
        ([], ""),
        # Content-Type is split on commas like any list header: the last type wins.
        ([("Content-Type", "text/html, application/json")], "application/json"),
        ([("Content-Type", "application/json"), ("Content-Type", "text/css")], "text/css"),
        ([("Content-Type", 'text/html; a="x, y"')], "text/html"),
        ([("Content-Type", "text/plain, json")], "text/plain"),
    ],
)
def test_mime_type(fields: list[tuple[str, str]], mime: str) -> None:
    assert orb.mime_type(Headers.of(fields)) == mime


# --- What the headers decide (OpaqueResponseBlockingAnalyzer::Init) ----------------------


@pytest.mark.parametrize(
    ("status", "headers", "decision"),
    [
        (200, ct("text/css"), "allow"),
        (200, ct("image/svg+xml", NOSNIFF), "allow"),
        (200, ct("audio/mpeg"), "allow"),
        (403, ct("text/vtt", NOSNIFF), "allow"),
        (200, ct("application/dash+xml", NOSNIFF), "allow"),
        (200, ct("application/zip"), "block"),
        (404, ct("application/pdf"), "block"),
        (200, ct("text/csv"), "block"),
        (200, ct("multipart/byteranges"), "block"),
        (200, ct("text/html", NOSNIFF), "block"),
        (200, ct("application/ld+json", NOSNIFF), "block"),
        (200, ct("application/rss+xml", ("X-Content-Type-Options", "NoSniff")), "block"),
        (200, ct("text/plain", NOSNIFF), "block"),
        # Fetch's "determine nosniff" reads the first value of the list (measured: ORB
        # blocked a text/plain script with "nosniff, nosniff", a stylesheet "nosniff,foo").
        (200, ct("text/html", NOSNIFF, NOSNIFF), "block"),
        (200, ct("text/plain", ("X-Content-Type-Options", "nosniff, nosniff")), "block"),
        (200, ct("text/plain", ("X-Content-Type-Options", " NoSniff ,foo")), "block"),
        (200, ct("text/plain", ("X-Content-Type-Options", "nosniff;x")), "sniff"),
        (200, ct("text/plain", ("X-Content-Type-Options", "foo, nosniff")), "sniff"),
        (200, ct("text/html"), "sniff"),
        (200, ct("application/json"), "sniff"),
        (200, ct("text/javascript", NOSNIFF), "sniff"),
        (200, ct("application/octet-stream", NOSNIFF), "sniff"),
        (200, ct("image/png", NOSNIFF), "sniff"),
        (200, ct("json"), "allow"),
        (200, h(), "allow"),
        (206, ct("text/html", ("Content-Range", "bytes 10-19/5000")), "range"),
        (206, ct("text/html", ("Content-Range", "bytes 0-9/5000")), "sniff"),
        (206, h(("Content-Range", "bytes 10-19/5000")), "range"),
        (206, ct("text/html", NOSNIFF, ("Content-Range", "bytes 10-19/5000")), "block"),
        (206, ct("text/html", ("Content-Range", "bytes 10-19/*")), "range"),
        (206, ct("text/html", ("Content-Range", "bytes 19-10/5000")), "sniff"),
        (206, ct("text/html", ("Content-Range", "items 10-19/5000")), "sniff"),
        (206, ct("text/css", ("Content-Range", "bytes 10-19/5000")), "allow"),
        (200, ct("text/html", ("Content-Range", "bytes 10-19/5000")), "sniff"),
    ],
)
def test_decision_on_the_headers(status: int, headers: Headers, decision: str) -> None:
    assert orb.by_headers(status, headers) == decision


# --- What the first bytes decide (OpaqueResponseBlockingAnalyzer::Sniff) -----------------


@pytest.mark.parametrize(
    ("body", "sniffed"),
    [
        (b'{"user": "alice"}', "json"),
        (b'\n  {\n "a" : 1}', "json"),
        (b'{"a\\"b": 1}', "json"),
        (b"[1, 2]", "other"),
        (b'"text"', "other"),
        (b"{}", "other"),
        (b'{"unfinished', "other"),
        (b")]}',\n{}", "json"),
        (b"for(;;);{}", "json"),
        (b"while(1);[1]", "json"),
        (b"{}&& {}", "json"),
        (b"<!DOCTYPE html><html>", "html"),
        (b"\n\n   <html><p>x</p></html>", "html"),
        (b"<HTML><BODY>", "html"),
        (b"<p>hello", "html"),
        (b"<d", "other"),
        (b"<!-- generated -->\n<div>x</div>", "html"),
        # A comment runs to the end of its line (an HTML/JavaScript polyglot).
        (b"<!-- generated --><div>x</div>", "other"),
        # One UTF-8 BOM is passed over (measured); not a second, nor one after whitespace.
        (b"\xef\xbb\xbf<!DOCTYPE html>", "html"),
        (b'\xef\xbb\xbf{"a": 1}', "json"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>", "xml"),
        (b"\xef\xbb\xbffor(;;);{}", "json"),
        (b"\xef\xbb\xbf  \n<html>", "html"),
        (b"\xef\xbb\xbf<!-- c -->\n<p>x", "html"),
        (b"  \xef\xbb\xbf<html>", "other"),
        (b"\xef\xbb\xbf\xef\xbb\xbf<html>", "other"),
        # A UTF-16 BOM passes for an MPEG audio frame header (mask FF E0): allowed.
        (b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", "media"),
        (b"\xef\xbb\xbf", "other"),
        (b'<?xml version="1.0"?><r/>', "xml"),
        (b'\n<?xml version="1.0"?><r/>', "xml"),
        (b"<r><a>1</a></r>", "other"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "other"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image"),
        (b"GIF89a\x01\x00", "image"),
        (b"BM not really", "image"),
        (b"ID3\x03\x00", "media"),
        (b"\x00\x00\x00\x18ftypmp42", "media"),
        (b"\x1a\x45\xdf\xa3", "media"),
        (b"var x = 1;", "other"),
        (b"", "other"),
        (b" " * 1100 + b"<html>", "other"),
        (b'{"pad": "' + b"x" * 1500 + b'"}', "json"),
    ],
)
def test_sniff(body: bytes, sniffed: str) -> None:
    assert orb.sniff(body) == sniffed


@pytest.mark.parametrize(
    ("headers", "sniffed", "blocked"),
    [
        (ct("application/json"), "json", True),
        (ct("application/json"), "other", False),
        (ct("text/javascript"), "json", True),
        (ct("text/html"), "image", False),
        (ct("text/plain"), "html", True),
        (ct("font/woff2"), "json", True),
        (ct("application/json"), None, None),
        (h(), None, False),
        (ct("application/pdf"), None, True),
    ],
)
def test_decide(headers: Headers, sniffed: str | None, blocked: bool | None) -> None:
    assert orb.decide(200, headers, sniffed) is blocked


@pytest.mark.parametrize(
    ("method", "sent", "status", "response", "keeps"),
    [
        ("GET", h(("Sec-Fetch-Mode", "no-cors")), 200, ct("application/json"), True),
        ("GET", h(("Sec-Fetch-Mode", "cors")), 200, ct("application/json"), False),
        ("GET", h(("Origin", "http://a.test")), 200, ct("application/json"), False),
        ("POST", h(("Origin", "http://a.test")), 200, ct("application/json"), True),
        ("GET", h(), 200, ct("text/html"), True),
        ("GET", h(), 200, ct("text/css"), False),
        ("GET", h(), 200, ct("text/html", NOSNIFF), False),
        ("GET", h(), 200, h(), False),
    ],
)
def test_keeps_sniff_only_where_the_body_decides(
    method: str, sent: Headers, status: int, response: Headers, keeps: bool
) -> None:
    assert orb.keeps_sniff(method, sent, status, response) is keeps
