"""What the HTTP cache keeps, and what a 304 changes of it."""

from __future__ import annotations

import pytest

from analysis.http_cache import (
    fresh_after,
    freshness_lifetime,
    kept,
    not_stored_fields,
    partition_site,
    plain_directives,
    updated,
)
from analysis.model import Headers, Response


def response(*fields: tuple[str, str], status: int = 200) -> Response:
    return Response(status, Headers.of(list(fields)))


def test_a_304_replaces_every_stored_field_of_a_name_it_carries() -> None:
    stored = response(
        ("Access-Control-Allow-Origin", "https://a.test"),
        ("Vary", "Origin"),
        ("Vary", "Accept-Encoding"),
        ("Access-Control-Allow-Credentials", "true"),
    )
    fresh = response(
        ("access-control-allow-origin", "https://b.test"), ("Vary", "Origin"), status=304
    )
    merged = updated(stored, fresh)
    assert merged.status == 200
    assert merged.headers.get_all("access-control-allow-origin") == ["https://b.test"]
    assert merged.headers.get_all("vary") == ["Origin"]
    assert merged.headers.get("access-control-allow-credentials") == "true"


@pytest.mark.parametrize(
    "name",
    ["ETag", "Content-Type", "Content-Length", "Content-Encoding", "Content-Range",
     "Connection", "X-Frame-Options", "X-Content-Type-Options", "X-WebKit-CSP"],
)  # fmt: skip
def test_some_fields_are_never_taken_from_a_304(name: str) -> None:
    merged = updated(response((name, "stored")), response((name, "fresh"), status=304))
    assert merged.headers.get(name) == "stored"


@pytest.mark.parametrize(
    ("cache_control", "dropped"),
    [
        (['no-cache="Access-Control-Allow-Origin"'], True),
        (['no-cache="access-control-allow-origin"'], True),
        (['max-age=60, no-cache="X-A, Access-Control-Allow-Origin"'], True),
        (["max-age=60", 'No-Cache="Access-Control-Allow-Origin"'], True),
        (["no-cache=Access-Control-Allow-Origin"], False),  # unquoted: ignored (measured)
        (['no-cache="Access-Control-Allow-Origin'], False),  # no closing quote
        (['private="Access-Control-Allow-Origin"'], False),
        (["no-cache"], False),
    ],
)
def test_the_stored_copy_leaves_out_what_no_cache_names(
    cache_control: list[str], dropped: bool
) -> None:
    fields = [("Cache-Control", v) for v in cache_control]
    stored = kept(response(*fields, ("Access-Control-Allow-Origin", "https://a.test")))
    assert ("access-control-allow-origin" not in stored.headers) is dropped
    assert stored.headers.get_all("cache-control") == cache_control


def test_a_quoted_no_cache_is_not_the_plain_directive() -> None:
    lines = ['public, max-age=600, no-cache="Set-Cookie, Access-Control-Allow-Origin"']
    assert plain_directives(lines) == {"public"}
    assert not_stored_fields(lines) == {"set-cookie", "access-control-allow-origin"}
    assert plain_directives(["No-Cache", "no-store"]) == {"no-cache", "no-store"}


@pytest.mark.parametrize(
    ("origin", "site"),
    [
        ("http://127.0.0.1:5173", "http://127.0.0.1"),
        ("https://app.example.com", "https://example.com"),
        ("http://[::1]:8080", "http://[::1]"),
    ],
)
def test_the_cache_partition_is_the_site(origin: str, site: str) -> None:
    assert partition_site(origin) == site


DATE = "Sat, 28 Nov 2026 05:39:18 GMT"
LATER = "Sat, 28 Nov 2026 05:49:18 GMT"


@pytest.mark.parametrize(
    ("fields", "lifetime"),
    [
        ([("Cache-Control", "public, max-age=600")], 600.0),
        ([("Cache-Control", 'max-age=600, no-cache="Set-Cookie"')], 600.0),  # not no-cache
        ([("Cache-Control", "max-age=600, no-cache")], None),
        ([("Cache-Control", "no-store, max-age=600")], None),
        ([("Cache-Control", "max-age=soon")], None),
        ([("Date", DATE), ("Expires", LATER)], 600.0),
        ([("Expires", LATER)], None),  # no Date to measure from
        ([("ETag", '"v1"')], None),  # a heuristic lifetime is the cache's own guess
    ],
)
def test_the_freshness_lifetime_is_the_explicit_one(
    fields: list[tuple[str, str]], lifetime: float | None
) -> None:
    assert freshness_lifetime(response(*fields)) == lifetime


def test_the_current_age_counts_the_age_it_came_with() -> None:
    copy = response(("Cache-Control", "max-age=600"), ("Age", "590"))
    assert fresh_after(copy, 5.0)
    assert not fresh_after(copy, 11.0)
