"""Blink's refusals of scripts and stylesheets for their Content-Type (analysis/mime_block.py),
as measured with the lab (Chromium 156)."""

from __future__ import annotations

import pytest

from analysis import mime_block
from analysis.model import Headers


def h(*pairs: tuple[str, str]) -> Headers:
    return Headers(list(pairs))


NOSNIFF = ("X-Content-Type-Options", "nosniff")


def ct(value: str, *more: tuple[str, str]) -> Headers:
    return h(("Content-Type", value), *more)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        (ct("text/css", NOSNIFF), None),
        (ct("TEXT/CSS; charset=utf-8", NOSNIFF), None),
        (ct("text/plain", NOSNIFF), "nosniff"),
        (ct("text/javascript", ("X-Content-Type-Options", "NOSNIFF")), "nosniff"),
        (h(NOSNIFF), "nosniff"),
        (ct("javascript", NOSNIFF), "nosniff"),  # no MIME type at all
        (ct("text/plain, text/css", NOSNIFF), None),  # the last valid type counts
        (ct("text/plain", ("X-Content-Type-Options", "foo, nosniff")), None),
        (ct("text/plain"), None),  # no nosniff: applied whatever the type
        (ct("image/png"), None),
    ],
)
def test_stylesheet(headers: Headers, refused: str | None) -> None:
    for status in (200, 404):  # the type is looked at before the status
        assert mime_block.refusal("stylesheet", False, status, headers) == (refused, None)
        assert mime_block.refusal("stylesheet", None, status, headers) == (refused, None)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        (ct("text/javascript", NOSNIFF), None),
        (ct("text/jscript", NOSNIFF), None),
        (ct("application/x-javascript; charset=utf-8", NOSNIFF), None),
        (ct("TEXT/JavaScript", NOSNIFF), None),
        (ct("text/plain, text/javascript", NOSNIFF), None),
        (ct("text/javascript, text/css", NOSNIFF), "nosniff"),
        (ct("text/css", NOSNIFF), "nosniff"),
        (h(NOSNIFF), "nosniff"),
        (ct("text/plain", ("X-Content-Type-Options", "nosniff;x")), None),
        (ct("text/css"), None),
        (ct("application/json"), None),
        (h(), None),
        (ct("image/png"), "mime-type"),
        (ct("text/csv"), "mime-type"),
        (ct("video/mp4"), "mime-type"),
        (ct("audio/mpeg"), "mime-type"),
    ],
)
def test_classic_script(headers: Headers, refused: str | None) -> None:
    for status in (200, 404):  # measured: a 404 under nosniff is refused for its type
        assert mime_block.refusal("script", False, status, headers) == (refused, None)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        (ct("text/javascript"), None),
        (ct("text/livescript"), None),
        (ct("text/css"), "mime-type"),
        (ct("application/json", NOSNIFF), "mime-type"),
        (h(), "mime-type"),
        (ct(""), "mime-type"),
    ],
)
def test_module_script(headers: Headers, refused: str | None) -> None:
    assert mime_block.refusal("script", True, 200, headers) == (refused, None)
    assert mime_block.refusal("script", True, 201, headers) == (refused, None)
    # A status that is not ok fails the module fetch before its type is looked at.
    assert mime_block.refusal("script", True, 404, headers) == (None, None)


def test_a_cors_mode_script_may_be_either_kind() -> None:
    # Only a module script needs a JavaScript type without nosniff.
    assert mime_block.refusal("script", None, 200, ct("text/plain")) == (
        "mime-type",
        "module-script",
    )
    # Refused either way.
    assert mime_block.refusal("script", None, 200, ct("text/plain", NOSNIFF)) == (
        "nosniff",
        None,
    )
    # A 404: a classic script is refused for its type, a module script fails on the status.
    assert mime_block.refusal("script", None, 404, ct("text/css", NOSNIFF)) == (
        "nosniff",
        "classic-script",
    )
    assert mime_block.refusal("script", None, 200, ct("text/javascript")) == (None, None)


def test_other_destinations_are_not_looked_at() -> None:
    for kind in ("image", "fetch", "font", None):
        assert mime_block.refusal(kind, None, 200, ct("text/plain", NOSNIFF)) == (None, None)
