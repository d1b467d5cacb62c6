"""Fetch's header rules as Chromium runs them (analysis/fetch.py)."""

from __future__ import annotations

import pytest

from analysis.fetch import cors_unsafe_header_names, is_safelisted_request_header
from analysis.model import Headers


@pytest.mark.parametrize(
    ("value", "safelisted"),
    [
        ("bytes=0-", True),
        ("bytes=5-10", True),
        ("bytes=5-5", True),
        ("bytes=0-0", True),
        ("bytes=00-05", True),
        # Measured in the lab, Chromium 156: the unit is matched byte for byte, a sign is
        # no digit, and a position must stay below 2^63 - 1.
        ("BYTES=0-", False),
        ("Bytes=5-10", False),
        ("bytes=+5-", False),
        ("bytes=0--1", False),
        ("bytes=9223372036854775806-", True),
        ("bytes=0-9223372036854775806", True),
        ("bytes=9223372036854775807-", False),
        ("bytes=0-9223372036854775807", False),
        ("bytes=99999999999999999999-", False),
        ("bytes=1-0", False),
        ("bytes=10-5", False),
        ("bytes=-5", False),
        ("bytes=0-1,3-4", False),
        ("bytes=0-,", False),
        ("bytes = 0-", False),
        ("bytes= 0-", False),
        ("items=0-5", False),
        ("bytes=0x1-", False),
        ("bytes=1e2-", False),
    ],
)
def test_a_range_is_safelisted_as_chromium_measures_it(value: str, safelisted: bool) -> None:
    assert is_safelisted_request_header("Range", value) is safelisted


@pytest.mark.parametrize(
    ("name", "value", "safelisted"),
    [
        ("DPR", "2", True),
        ("DPR", "2.5", True),
        ("DPR", "2.", False),
        ("DPR", "x", False),
        ("Device-Memory", "8", True),
        ("Downlink", "1.5", True),
        ("Width", "100", True),
        ("Width", "1.5", False),
        ("Viewport-Width", "100", True),
        ("RTT", "50", True),
        ("RTT", "1.5", False),
        ("ECT", "4g", True),
        ("ECT", "5g", False),
        ("ECT", "4G", False),
        ("Save-Data", "on", True),
        ("Save-Data", "ON", True),
        ("Save-Data", "off", False),
        ("Intervention", "x(1)", True),
        ("Intervention", "a" * 129, False),
        ("X-Lab", "1", False),
    ],
)
def test_chromium_safelists_client_hints_by_their_value(
    name: str, value: str, safelisted: bool
) -> None:
    assert is_safelisted_request_header(name, value) is safelisted


PAST_1024 = [
    ("Accept", "a" * 128),
    ("Accept-Language", "a" * 128),
    ("Content-Language", "a" * 128),
    ("Content-Type", "text/plain;x=" + "b" * 115),
    ("DPR", "1." + "0" * 126),
    ("Width", "1" * 128),
    ("Viewport-Width", "1" * 128),
    ("RTT", "1" * 128),
    ("Device-Memory", "8"),
]
"""Four 128-byte values of the spec's safelisted names and 513 bytes of client hints: 1025
bytes of safelisted values, one past the total."""


def test_client_hints_count_towards_the_1024_byte_total() -> None:
    # Measured in the lab (Chromium 156, ga-003): four spec-safelisted values and four
    # client hints of 128 bytes each, and a one-byte Device-Memory: 1025 bytes, and the
    # preflight announced every name.
    headers = PAST_1024
    assert cors_unsafe_header_names(headers) == sorted(name.lower() for name, _ in headers)
    at_the_limit = [*headers[:-2], ("RTT", "1" * 127), ("Device-Memory", "8")]
    assert cors_unsafe_header_names(at_the_limit) == []
    assert cors_unsafe_header_names([*headers[:4], ("DPR", "2")]) == []


def test_a_header_list_counts_client_hint_values_as_sent() -> None:
    # The header list a capture holds is judged on its deciding values only; a client
    # hint's value decides whether it is safelisted and how much it adds to the total.
    listed = Headers.of([*PAST_1024, ("X-Token", "t")])
    assert len(cors_unsafe_header_names(listed)) == 10
    assert cors_unsafe_header_names(Headers.of([("DPR", "2"), ("X-Token", "t")])) == ["x-token"]
    assert cors_unsafe_header_names(Headers.of([("DPR", "x")])) == ["dpr"]
