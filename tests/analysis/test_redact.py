"""Redaction: secrets out, everything a reader needs to understand a CORS failure kept."""

from __future__ import annotations

import random
import re

import pytest

from analysis import redact
from analysis.redact import (
    REDACTED,
    is_secret_header,
    is_secret_param,
    redact_header,
    redact_headers,
    redact_text,
    redact_url,
    secret_values,
)

# --- Names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Cookie",
        "set-cookie",
        "Authorization",
        "Proxy-Authorization",
        "X-Api-Key",
        "x-apikey",
        "API_KEY",
        "X-Auth-Token",
        "X-CSRF-Token",
        "X-XSRF-TOKEN",
        "X-Amz-Security-Token",
        "X-Session-Id",
        "X-Client-Secret",
        "X-Hub-Signature-256",
        "Ocp-Apim-Subscription-Key",
        "x-goog-api-key",
        "X-Authorization",
    ],
)
def test_secret_header_names(name: str) -> None:
    assert is_secret_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "Origin",
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Headers",
        "Access-Control-Request-Headers",
        "Access-Control-Allow-Credentials",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Content-Type",
        "Keep-Alive",
        "Vary",
        "User-Agent",
    ],
)
def test_ordinary_header_names(name: str) -> None:
    assert not is_secret_header(name)


@pytest.mark.parametrize(
    "name",
    ["token", "KEY", "sig", "Signature", "password", "passwd", "code", "access_token",
     "id_token", "auth", "apikey", "api_key", "api-key", "X-Amz-Credential",
     "X-Amz-Security-Token", "sessionId", "client_secret", "refresh%5Ftoken"],
)  # fmt: skip
def test_secret_param_names(name: str) -> None:
    assert is_secret_param(name)


@pytest.mark.parametrize("name", ["page", "q", "id", "sort", "origin", "callback", "keyword"])
def test_ordinary_param_names(name: str) -> None:
    assert not is_secret_param(name)


# --- URLs --------------------------------------------------------------------------------


def test_url_keeps_names_and_drops_values() -> None:
    url = "https://api.test/v1/items?page=2&token=abc123&API_KEY=k-9&q=shoes"
    assert redact_url(url) == (
        f"https://api.test/v1/items?page=2&token={REDACTED}&API_KEY={REDACTED}&q=shoes"
    )


def test_url_userinfo_is_hidden() -> None:
    assert redact_url("https://alice:s3cret@api.test:8443/x") == (
        f"https://{REDACTED}@api.test:8443/x"
    )
    # An empty userinfo hides nothing: the value stays as the browser reports it.
    assert redact_url("http://@api.test:8443/x") == "http://@api.test:8443/x"


def test_url_fragment_params_are_redacted() -> None:
    url = "https://app.test/cb#access_token=eyJ.x.y&token_type=bearer&state=abc"
    assert redact_url(url) == (
        f"https://app.test/cb#access_token={REDACTED}&token_type={REDACTED}&state=abc"
    )


def test_url_fragment_anchor_is_kept() -> None:
    assert redact_url("https://app.test/docs#token") == "https://app.test/docs#token"


def test_url_is_otherwise_byte_for_byte() -> None:
    url = "http://api.test/a%20b/?x=%2F&y&=z&token=&sig=a%2Bb"
    assert redact_url(url) == f"http://api.test/a%20b/?x=%2F&y&=z&token=&sig={REDACTED}"


def test_relative_url() -> None:
    assert redact_url("/login?code=123&next=/") == f"/login?code={REDACTED}&next=/"


# --- Headers -----------------------------------------------------------------------------


def test_cookie_keeps_names() -> None:
    assert redact_header("Cookie", "sid=abc; theme=dark; lone") == (
        f"sid={REDACTED}; theme={REDACTED}; {REDACTED}"
    )


def test_set_cookie_keeps_attributes() -> None:
    value = "sid=abc; Path=/; Domain=api.test; SameSite=None; Secure; HttpOnly"
    assert redact_header("Set-Cookie", value) == (
        f"sid={REDACTED}; Path=/; Domain=api.test; SameSite=None; Secure; HttpOnly"
    )


def test_set_cookie_lines_joined_by_newline() -> None:
    assert redact_header("set-cookie", "a=1; Secure\nb=2") == f"a={REDACTED}; Secure\nb={REDACTED}"


def test_authorization_keeps_scheme() -> None:
    assert redact_header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x") == (
        f"Bearer {REDACTED}"
    )
    assert redact_header("Proxy-Authorization", "Basic dXNlcjpwdw==") == f"Basic {REDACTED}"
    assert redact_header("Authorization", "opaque-token") == REDACTED


def test_api_key_headers_are_hidden() -> None:
    assert redact_header("X-Api-Key", "live_1234") == REDACTED
    assert redact_header("X-CSRF-Token", "t") == REDACTED


def test_empty_values_stay_empty() -> None:
    assert redact_header("Cookie", "") == ""


def test_cors_headers_are_untouched() -> None:
    for name, value in [
        ("Access-Control-Allow-Origin", "http://localhost:5173"),
        ("Access-Control-Allow-Headers", "authorization, x-api-key"),
        ("Access-Control-Allow-Credentials", "true"),
        ("WWW-Authenticate", 'Bearer realm="api", error="invalid_token"'),
    ]:
        assert redact_header(name, value) == value


def test_urls_inside_ordinary_headers() -> None:
    assert redact_header("Referer", "http://app.test/?session=s1") == (
        f"http://app.test/?session={REDACTED}"
    )
    assert redact_header("Location", "/next?token=abc") == f"/next?token={REDACTED}"
    assert redact_header("Link", "<https://x.test/?sig=1>; rel=next") == (
        f"<https://x.test/?sig={REDACTED}>; rel=next"
    )
    assert redact_header("Refresh", "0; url=/x?token=zz") == f"0; url=/x?token={REDACTED}"


def test_redact_headers_keeps_order_and_duplicates() -> None:
    fields = [("Cookie", "a=1"), ("Origin", "http://p"), ("cookie", "b=2")]
    assert redact_headers(fields) == [
        ("Cookie", f"a={REDACTED}"),
        ("Origin", "http://p"),
        ("cookie", f"b={REDACTED}"),
    ]


# --- Free text -----------------------------------------------------------------------------


def test_secret_values_collects_what_redaction_hides() -> None:
    found = secret_values(
        [("Cookie", "sid=abc123; t=1"), ("Authorization", "Bearer tok-42x"), ("Accept", "*/*")],
        ["https://u:pw1234@api.test/?token=a%2Fbcd&page=2"],
    )
    assert {"abc123", "tok-42x", "pw1234", "a%2Fbcd", "a/bcd"} <= found
    assert "1" not in found  # too short to look for in free text
    assert "*/*" not in found and "2" not in found


def test_text_known_secrets_and_urls() -> None:
    text = "Access to fetch at 'https://api.test/x?sig=abc' failed for session s3cr3t-value"
    assert redact_text(text, {"s3cr3t-value"}) == (
        f"Access to fetch at 'https://api.test/x?sig={REDACTED}' failed for session {REDACTED}"
    )


def test_text_curl_command() -> None:
    curl = (
        "curl -i 'https://api.test/x?access_token=zzz' -H 'Origin: http://p'"
        " -H 'Authorization: Bearer abc.def' -H 'Cookie: sid=1; t=2' -H 'X-Api-Key: k1'"
    )
    assert redact_text(curl) == (
        f"curl -i 'https://api.test/x?access_token={REDACTED}' -H 'Origin: http://p'"
        f" -H 'Authorization: Bearer {REDACTED}' -H 'Cookie: sid={REDACTED}; t={REDACTED}'"
        f" -H 'X-Api-Key: {REDACTED}'"
    )


def test_text_json_pairs() -> None:
    body = '{"access_token": "eyJ", "code": 404, "password":hunter2, "detail": "nope"}'
    assert redact_text(body) == (
        f'{{"access_token": "{REDACTED}", "code": 404, "password":{REDACTED}, "detail": "nope"}}'
    )


def test_text_without_pair_scrubbing_keeps_configuration() -> None:
    snippet = 'SESSION_COOKIE_SAMESITE = "None"\nCORS_ALLOWED_ORIGINS = ["http://p"]'
    assert redact_text(snippet, scrub_pairs=False) == snippet


def test_text_leaves_cors_messages_alone() -> None:
    message = (
        "Access to fetch at 'http://api.test/items' from origin 'http://localhost:5173' has"
        " been blocked by CORS policy: Request header field x-api-key is not allowed by"
        " Access-Control-Allow-Headers in preflight response."
    )
    assert redact_text(message) == message


def test_text_longest_secret_first() -> None:
    assert redact_text("abcd abcdef", {"abcd", "abcdef"}) == f"{REDACTED} {REDACTED}"


# --- Hostile text: the patterns stay linear and mean what they meant ------------------------

_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_PLAIN_PAIR = re.compile(
    r"(?<![\w-])([\"']?)([A-Za-z][A-Za-z0-9_.-]*)\1(\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s&,;'\"})\]]+)"
)
"""The patterns written plainly, quadratic on long runs: what the guarded ones must match."""


def _samples(count: int) -> list[str]:
    pieces = [*"ab1+.-:/ ?=&\"'_é", "://", "token", "http", "x.", '"token":', "password"]
    rnd = random.Random(7)
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 25))) for _ in range(count)]


def test_guarded_patterns_find_what_the_plain_ones_find() -> None:
    for text in _samples(30_000):
        plain = [m.span() for m in _PLAIN_URL.finditer(text)]
        assert [m.span(2) for m in redact._URL_IN_TEXT.finditer(text)] == plain, text
        plain = [m.span() for m in _PLAIN_PAIR.finditer(text)]
        assert [m.span() for m in redact._PAIR_IN_TEXT.finditer(text)] == plain, text


@pytest.mark.parametrize(
    "run", ["a" * 200_000, "a." * 100_000, "1" * 200_000, "a-" * 100_000, "é" * 200_000]
)
def test_long_runs_are_redacted_in_one_pass(run: str) -> None:
    # Quadratic patterns took hours on these (an Access-Control-Allow-Origin of 200 kB).
    text = f"{run} http://h.test/?token=abc {run}://x token=abc"
    assert redact_text(text).count(REDACTED) == 2
