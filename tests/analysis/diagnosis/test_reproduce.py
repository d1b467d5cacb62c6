"""The curl command: right shape, quoted against hostile values, no secrets."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from analysis.diagnosis.reproduce import COOKIE_PLACEHOLDER, REDACTED, curl_command, safe_url

PAGE = "http://localhost:5173"


def argv(command: str) -> list[str]:
    """What a POSIX shell would pass to curl."""
    return shlex.split(command)


def test_preflight_shape() -> None:
    cmd = curl_command(
        "PUT",
        "https://api.test/items/7",
        PAGE,
        preflight=True,
        request_headers=["X-Request-Id", "content-type"],
    )
    assert cmd == (
        "curl -i -X OPTIONS https://api.test/items/7 -H 'Origin: http://localhost:5173'"
        " -H 'Access-Control-Request-Method: PUT'"
        " -H 'Access-Control-Request-Headers: content-type,x-request-id'"
    )


def test_preflight_without_unsafe_headers_omits_request_headers() -> None:
    cmd = curl_command("DELETE", "https://api.test/x", PAGE, preflight=True)
    assert "Access-Control-Request-Headers" not in cmd
    assert argv(cmd)[-1] == "Access-Control-Request-Method: DELETE"


def test_preflight_never_carries_a_cookie() -> None:
    cmd = curl_command("PUT", "https://api.test/x", PAGE, preflight=True, credentials=True)
    assert "Cookie" not in cmd


def test_simple_get_has_no_method_flag() -> None:
    cmd = curl_command("GET", "https://api.test/items", PAGE, preflight=False)
    assert argv(cmd) == ["curl", "-i", "https://api.test/items", "-H", f"Origin: {PAGE}"]


def test_other_methods_use_x_and_head_uses_capital_i() -> None:
    assert argv(curl_command("POST", "https://api.test/a", PAGE, preflight=False))[:4] == [
        "curl",
        "-i",
        "-X",
        "POST",
    ]
    assert argv(curl_command("HEAD", "https://api.test/a", PAGE, preflight=False))[:2] == [
        "curl",
        "-I",
    ]


def test_no_origin_header_when_unknown() -> None:
    cmd = curl_command("GET", "https://api.test/a", None, preflight=False)
    assert "Origin" not in cmd


def test_null_origin_is_kept() -> None:
    assert "'Origin: null'" in curl_command("GET", "https://api.test/a", "null", preflight=False)


def test_credentials_get_a_visible_cookie_placeholder() -> None:
    cmd = curl_command("GET", "https://api.test/me", PAGE, preflight=False, credentials=True)
    assert argv(cmd)[-2:] == ["-H", COOKIE_PLACEHOLDER]
    assert "<your session cookie>" in cmd


HOSTILE = [
    "http://evil.test'; rm -rf ~; echo '",
    "http://evil.test$(touch /tmp/corscope-pwned)",
    "http://evil.test`id`",
    'http://evil.test" && id "',
    "http://evil.test\nX-Injected: 1",
    "http://evil.test\r\n\r\nGET / HTTP/1.1",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_stay_single_arguments(hostile: str) -> None:
    cmd = curl_command(
        "PUT",
        "https://api.test/a?q=" + hostile,
        hostile,
        preflight=True,
        request_headers=[hostile],
    )
    assert "\n" not in cmd and "\r" not in cmd
    args = argv(cmd)
    assert args[:4] == ["curl", "-i", "-X", "OPTIONS"]
    origin = args[args.index("-H") + 1]
    assert origin.startswith("Origin: http://evil.test")
    # Every -H is followed by exactly one "Name: value" argument.
    flags = [i for i, a in enumerate(args) if a == "-H"]
    assert all(":" in args[i + 1] for i in flags)
    assert all(not a.startswith("X-Injected") for a in args)


def test_hostile_values_do_not_run_in_a_real_shell(tmp_path) -> None:
    marker = tmp_path / "pwned"
    origin = f"http://evil.test$(touch {marker})`touch {marker}`'; touch {marker}; '"
    cmd = curl_command("GET", f"https://api.test/?x=$(touch {marker})", origin, preflight=False)
    # Replace curl with printf so nothing goes on the network; the shell still parses it all.
    shell = "curl() { printf '%s\\n' \"$@\"; }; " + cmd
    out = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, check=True)
    assert not marker.exists()
    assert f"Origin: {origin}" in out.stdout.splitlines()


def test_hostile_method_is_quoted() -> None:
    cmd = curl_command("PUT;id", "https://api.test/a", PAGE, preflight=False)
    assert argv(cmd)[2:4] == ["-X", "PUT;id"]


def test_url_starting_with_dash_is_not_an_option() -> None:
    args = argv(curl_command("GET", "-o/tmp/x", PAGE, preflight=False))
    assert args[args.index("--url") + 1] == "-o/tmp/x"


def test_userinfo_is_removed() -> None:
    cmd = curl_command("GET", "https://alice:s3cret@api.test/a", PAGE, preflight=False)
    assert "alice" not in cmd and "s3cret" not in cmd
    assert "https://api.test/a" in cmd


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "access_token",
        "api_key",
        "apiKey",
        "client_secret",
        "session",
        "sig",
        "X-Amz-Signature",
        "password",
        "code",
        "auth",
        "Authorization",
    ],
)
def test_token_like_query_values_are_redacted(name: str) -> None:
    url = f"https://api.test/cb?page=2&{name}=abc123XYZ&sort=name"
    cmd = curl_command("GET", url, PAGE, preflight=False)
    assert "abc123XYZ" not in cmd
    assert f"{name}={REDACTED}" in cmd
    assert "page=2" in cmd and "sort=name" in cmd


def test_other_query_values_keep_their_encoding() -> None:
    assert (
        safe_url("https://api.test/s?q=a%20b&lang=en+GB") == "https://api.test/s?q=a%20b&lang=en+GB"
    )


def test_fragment_and_path_session_are_dropped() -> None:
    url = "https://api.test/app;jsessionid=ABCDEF/items#access_token=zzz"
    out = safe_url(url)
    assert "ABCDEF" not in out and "zzz" not in out
    assert out == f"https://api.test/app;jsessionid={REDACTED}/items"


def test_request_headers_are_names_only() -> None:
    cmd = curl_command(
        "GET",
        "https://api.test/a",
        PAGE,
        preflight=True,
        request_headers=["Authorization: Bearer eyJhbGciOi", "Cookie: sid=1", "x-a, X-A"],
    )
    assert "eyJ" not in cmd and "sid=1" not in cmd
    assert "Access-Control-Request-Headers: authorization,cookie,x-a" in cmd
