"""A curl command that shows a CORS problem without a browser.

    curl_command("PUT", url, "http://localhost:5173", preflight=True,
                 request_headers=["content-type"])
    # curl -i -X OPTIONS https://api.test/items -H 'Origin: http://localhost:5173' \\
    #   -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type'

The command lands in a shareable report and in someone's terminal, so every value is cut to
one line and passed through `shlex.quote` (a captured URL can hold `'`, `$(…)` or a newline),
and secrets stay out: user names and passwords in the URL are dropped, token-like query
parameters read `REDACTED`, and cookies are never copied, only shown as a placeholder.

Standard library only.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = "REDACTED"
COOKIE_PLACEHOLDER = "Cookie: <your session cookie>"

# A parameter whose name contains one of these is treated as a secret.
_SECRET_WORDS = ("token", "key", "secret", "session", "sig", "password", "code", "auth")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")


def curl_command(
    method: str,
    url: str,
    origin: str | None,
    *,
    preflight: bool,
    request_headers: Sequence[str] = (),
    credentials: bool = False,
) -> str:
    """The curl command that replays what the browser sent, as far as CORS is concerned.

    For a preflight: the OPTIONS request with Origin, Access-Control-Request-Method and
    Access-Control-Request-Headers. Otherwise the request itself with its Origin; when it
    was sent with credentials, a visible Cookie placeholder stands in for the cookie
    (preflights never carry credentials, so they never get one)."""
    target = safe_url(url)
    verb = _clean(method) or "GET"
    args = ["curl"]
    if preflight:
        args += ["-i", "-X", "OPTIONS"]
    elif verb.upper() == "HEAD":
        # curl -X HEAD would wait for a body that never comes; -I asks for headers only.
        args += ["-I"]
    elif verb == "GET":
        args += ["-i"]
    else:
        args += ["-i", "-X", verb]
    # A URL that starts with "-" would be read as an option; --url says it is not.
    args += ["--url", target] if target.startswith("-") else [target]
    if origin is not None:
        args += ["-H", "Origin: " + _clean(origin)]
    if preflight:
        args += ["-H", "Access-Control-Request-Method: " + verb]
        names = _header_names(request_headers)
        if names:
            args += ["-H", "Access-Control-Request-Headers: " + ",".join(names)]
    elif credentials:
        args += ["-H", COOKIE_PLACEHOLDER]
    return " ".join(shlex.quote(a) for a in args)


def safe_url(url: str) -> str:
    """The URL without user info, fragment or secret-looking query values, on one line."""
    text = _clean(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return _redact_query(text)
    netloc = parts.netloc.rpartition("@")[2]
    path = _redact_path_params(parts.path)
    return urlunsplit((parts.scheme, netloc, path, _redact_query(parts.query), ""))


def _clean(value: str) -> str:
    return _CONTROL.sub("", str(value)).strip()


def _is_secret(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _redact_query(query: str) -> str:
    # Rebuilt by hand rather than with urlencode, so the parameters that stay keep their
    # exact encoding and order.
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name = piece.partition("=")[0]
        pieces.append(name + "=" + REDACTED if _is_secret(name) else piece)
    return "&".join(pieces)


def _redact_path_params(path: str) -> str:
    """`/app;jsessionid=ABC/x` keeps the parameter's name but not its value."""
    if ";" not in path:
        return path
    segments = []
    for segment in path.split("/"):
        head, *params = segment.split(";")
        kept = []
        for param in params:
            name, sep, _ = param.partition("=")
            kept.append(name + "=" + REDACTED if sep and _is_secret(name) else param)
        segments.append(";".join([head, *kept]))
    return "/".join(segments)


def _header_names(names: Sequence[str]) -> list[str]:
    """As the browser sends them: lower case, sorted, no duplicates, no spaces. Only names:
    an entry like "authorization: Bearer …" loses everything after the colon."""
    found: set[str] = set()
    for entry in names:
        for name in _clean(entry).split(","):
            name = name.partition(":")[0].strip().lower()
            if _TOKEN.match(name):
                found.add(name)
    return sorted(found)
