"""`is_valid_url`: which Access-Control-Allow-Origin values Chromium's GURL parses. The
values marked "lab" were answered to a real Chromium, which named its error by them."""

from __future__ import annotations

import pytest

from analysis.url_validity import is_valid_url, resolve

PARSES = [
    "http://127.0.0.%31:8080",  # lab: the escape is decoded first
    "http://www.%61pp.test:8080",  # lab
    "http://127.0.0.1:\t8080",  # lab: tabs and newlines are dropped anywhere
    "http://127.0.\t0.1:8080",  # lab
    "http://127.0.0.1.:8080",  # lab: one trailing dot
    "http://xn--a.test:8080",  # lab: ASCII labels are not checked as punycode
    "http://*.app.test:8080",  # lab
    "HTTP://127.0.0.1:8080",  # lab
    "https://example.com",
    "https://example.com:",
    "https://user:pw@example.com/path?q#f",
    "http:example.com",
    "http://bücher.test",
    "http://0x7f.1",  # hex and two-part IPv4
    "http://0177.0.0.1",
    "http://4294967295",
    "https://[::1]:443",
    "https://[::ffff:1.2.3.4]",
    "http://1_0",  # not a number: a domain
    "foo:anything goes",  # not a special scheme
    " https://example.com ",
    "http://bücher." + "a" * 64 + ".test:8080",  # lab: UTS #46 leaves long labels be
    "http://bücher..test:8080",  # lab: and empty ones
    "http://\U0001f600.app.test:8080",  # lab: emoji (IDNA 2008 alone would refuse it)
    "http://a\u094d\u200db.test:8080",  # ZWJ after a virama
    "capacitor://localhost",  # a native app's origin: opaque host
    "file:///",  # lab
]

REFUSED = [
    "http://\u2488x.test:8080",  # lab: ⒈ maps to "1.", which UTS #46 disallows
    "http://\u2024x.test:8080",  # lab: one dot leader, likewise
    "http://a\u200db.test:8080",  # lab: ZWJ not after a virama
    "http://a\u200cb.test:8080",  # lab: ZWNJ likewise
    "http://\u0301b.test:8080",  # lab: a label begins with a combining mark
    "http://bücher.xn--a.test:8080",  # lab: bad punycode beside a Unicode label
    "file://a^b/",  # lab: file hosts follow the host rules
    "file://127.0.0.300/",  # lab
    "foo://a^b",  # lab: an opaque host still has forbidden code points
    "foo://h:99999",  # lab
    "foo://[zz]",  # lab
    "http://127.0.0.300:8080",  # lab: ends in a number, so it must be IPv4
    "http://127.0.0.256:8080",  # lab
    "http://1.2.3.4.5:8080",  # lab
    "http://[zz]:8080",  # lab
    "http://127.0.0.1%2F:8080",  # lab: decodes to a forbidden code point
    "http://a^b.test:8080",  # lab
    "http://example.com:99999",  # lab
    "",
    "null",
    "example.com",
    "//example.com",
    "http://",
    "http://:8080",
    "http://a%zz.test",
    "http://a%.test",
    "http://a b.test",
    "http://a<b.test",
    "http://a|b.test",
    "http://a\x7fb.test",
    "http://example.com:8o",
    "http://example.com:٣",  # a digit, but not ASCII
    "http://4294967296",
    "http://256.1.1.1",
    "http://0x100.1.1.1",
    "http://1..2",
    "http://09.1.1.1",  # 0-octal with a 9
    "https://[::1]x",
    "https://[fe80::1%25eth0]",
    "https://[::1",
    "http://%ff.test",  # not UTF-8 once decoded
    "http://\ud800.test",  # a HAR can carry a lone surrogate
]


@pytest.mark.parametrize("value", PARSES)
def test_gurl_parses(value: str) -> None:
    assert is_valid_url(value)


@pytest.mark.parametrize("value", REFUSED)
def test_gurl_refuses(value: str) -> None:
    assert not is_valid_url(value)


BASE = "http://127.0.0.2:4000/s/id"


@pytest.mark.parametrize(
    ("location", "url"),
    [
        # lab (Chromium 156): where the browser went for each redirect's Location.
        ("http:\\\\127.0.0.3:5000\\s\\h1", "http://127.0.0.3:5000/s/h1"),
        ("\\\\127.0.0.3:5000/s/h1", "http://127.0.0.3:5000/s/h1"),
        ("//127.0.0.3:5000/s/h1", "http://127.0.0.3:5000/s/h1"),
        ("http://127.0.0.3:5000/s/x/../s/id/h1", "http://127.0.0.3:5000/s/s/id/h1"),
        ("http://127.0.0.2:4000/s/./id/h1", "http://127.0.0.2:4000/s/id/h1"),
        ("http://%3127.0.0.3:5000/s/h1", "http://127.0.0.3:5000/s/h1"),
        ("http://127.0.0.3.:5000/s/h1", "http://127.0.0.3:5000/s/h1"),
        ("http://127.0.0.3:5000/s/h1\x01", "http://127.0.0.3:5000/s/h1"),
        (" http://127.0.0.3:5000/s/h1 ", "http://127.0.0.3:5000/s/h1"),
        ("http://127.0.0.3:5000/s\t/h1", "http://127.0.0.3:5000/s/h1"),
        ("http://127.0.0.3:5000/s/h1?q=\udce9", "http://127.0.0.3:5000/s/h1?q=%E9"),
        ("HTTP://127.0.0.3:05000/s/h1#frag", "http://127.0.0.3:5000/s/h1"),
        ("id/h1", "http://127.0.0.2:4000/s/id/h1"),
        ("./id/h1", "http://127.0.0.2:4000/s/id/h1"),
        ("/s/id/h1", "http://127.0.0.2:4000/s/id/h1"),
        # URL Standard: the base's own scheme without slashes is a relative reference.
        ("http:/127.0.0.3:5000/s/h1", "http://127.0.0.2:4000/127.0.0.3:5000/s/h1"),
        ("http:h1", "http://127.0.0.2:4000/s/h1"),
        ("https:/a.test/x", "https://a.test/x"),
        ("https://a.test:443/x y", "https://a.test/x%20y"),
        ("?x=1", "http://127.0.0.2:4000/s/id?x=1"),
    ],
)
def test_a_location_resolves_as_chromium_parses_it(location: str, url: str) -> None:
    assert resolve(BASE, location) == url


@pytest.mark.parametrize(
    "location", ["data:,x", "http://[::1]/", "http://ex ample/", "http://bücher.test/"]
)
def test_a_location_this_reading_stops_short_of_is_left_to_the_caller(location: str) -> None:
    assert resolve(BASE, location) is None
