"""Chromium's console sentences, held to lines this machine's Chromium 156 printed for the
same failures (copied from its console, origins shortened)."""

from __future__ import annotations

import pytest

from analysis.wording import chrome_message, resource_kind

URL = "http://127.0.0.2:8001/s/x"
ORIGIN = "http://127.0.0.1:8000"
HEAD = f"from origin '{ORIGIN}' has been blocked by CORS policy: "


@pytest.mark.parametrize(
    ("reason", "hint", "resource_type", "expected"),
    [
        (
            "MissingAllowOriginHeader",
            None,
            "fetch",
            f"Access to fetch at '{URL}' {HEAD}No 'Access-Control-Allow-Origin' header is"
            " present on the requested resource.",
        ),
        (
            "AllowOriginMismatch",
            "http://wrong.example",
            "fetch",
            f"Access to fetch at '{URL}' {HEAD}The 'Access-Control-Allow-Origin' header has a"
            " value 'http://wrong.example' that is not equal to the supplied origin. Have the"
            " server send the header with a valid value.",
        ),
        (
            "PreflightMultipleAllowOriginValues",
            "http://a.example, http://b.example",
            "fetch",
            f"Access to fetch at '{URL}' {HEAD}Response to preflight request doesn't pass access"
            " control check: The 'Access-Control-Allow-Origin' header contains multiple values"
            " 'http://a.example, http://b.example', but only one is allowed. Have the server"
            " send the header with a valid value.",
        ),
        (
            "AllowOriginMismatch",
            "http://wrong.example",
            "xhr",
            f"Access to XMLHttpRequest at '{URL}' {HEAD}The 'Access-Control-Allow-Origin' header"
            " has a value 'http://wrong.example' that is not equal to the supplied origin.",
        ),
        (
            "WildcardOriginNotAllowed",
            None,
            "xhr",
            f"Access to XMLHttpRequest at '{URL}' {HEAD}The value of the"
            " 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*'"
            " when the request's credentials mode is 'include'. The credentials mode of requests"
            " initiated by the XMLHttpRequest is controlled by the withCredentials attribute.",
        ),
        (
            "AllowOriginMismatch",
            "http://wrong.example",
            "eventsource",
            f"Access to resource at '{URL}' {HEAD}The 'Access-Control-Allow-Origin' header has a"
            " value 'http://wrong.example' that is not equal to the supplied origin.",
        ),
        (
            "MissingAllowOriginHeader",
            None,
            "audio",
            f"Access to audio at '{URL}' {HEAD}No 'Access-Control-Allow-Origin' header is present"
            " on the requested resource.",
        ),
        (
            "CorsDisabledScheme",
            None,
            "fetch",
            f"Access to fetch at '{URL}' {HEAD}Cross origin requests are only supported for"
            " protocol schemes: chrome, chrome-experimental-site-token-provider, chrome-extension,"
            " chrome-untrusted, data, http, https, isolated-app.",
        ),
    ],
)
def test_chromium_156_console_lines(
    reason: str, hint: str | None, resource_type: str, expected: str
) -> None:
    message = chrome_message(
        reason,
        url=URL,
        initial_url=None,
        origin=ORIGIN,
        hint=hint,
        resource_type=resource_type,
    )
    assert message == expected


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [
        (None, "fetch"),
        ("xhr", "XMLHttpRequest"),
        ("audio", "audio"),
        ("video", "video"),
        ("media", "video"),
        ("eventsource", "resource"),
        ("font", "font"),
        ("something-new", "resource"),
    ],
)
def test_resource_kind(resource_type: str | None, kind: str) -> None:
    assert resource_kind(resource_type) == kind
