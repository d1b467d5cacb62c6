"""Take secrets out of captured values before anything leaves the machine.

Reports get forwarded to other teams, pasted into tickets and attached to chats, so the
default is to hide every value that grants access, while keeping what a reader needs to
understand a CORS failure: header *names*, cookie *names* and attributes, the auth scheme,
query parameter *names*, and the shape of every URL. Standard library only: the mitmproxy
addon may import this inside mitmproxy's own Python.

What counts as a secret (all comparisons case-insensitive):

Header values
  * ``Cookie``: each cookie keeps its name, its value becomes ``REDACTED``.
  * ``Set-Cookie``: the cookie's value becomes ``REDACTED``; attributes (Path, Domain,
    SameSite, Secure, HttpOnly, Expires, …) stay, they often explain a credentials failure.
  * ``Authorization``, ``Proxy-Authorization``: the scheme stays (``Bearer REDACTED``).
  * any header whose name contains ``token``, ``secret``, ``password``, ``passwd``,
    ``session``, ``signature``, ``csrf``, ``xsrf``, ``apikey``, ``api-key``, ``api_key``,
    ``auth`` or ``cookie``, or whose last ``-``/``_`` separated word is ``key`` (e.g.
    ``X-Api-Key``, ``X-Auth-Token``, ``X-CSRF-Token``, ``X-Amz-Security-Token``,
    ``X-Session-Id``, ``Ocp-Apim-Subscription-Key``): the whole value becomes ``REDACTED``.
    ``WWW-Authenticate`` and ``Proxy-Authenticate`` are challenges, not credentials, and
    they explain 401s, so they are kept.
  * every other header: URLs inside the value are redacted as below (Referer, Location).

URLs
  * user name and password (``https://user:pw@host``) become ``REDACTED@``;
  * query and fragment parameters named ``token``, ``key``, ``secret``, ``session``,
    ``sig``, ``signature``, ``password``, ``passwd``, ``pwd``, ``code``, ``auth``,
    ``apikey``, ``api_key``, ``jwt``, the OAuth ones (``access_token``, ``id_token``,
    ``refresh_token``, ``client_secret``), or whose name contains ``token``,
    ``secret``, ``password``, ``signature``, ``apikey``, ``api_key``, ``session`` or
    ``credential`` (AWS ``X-Amz-Credential``): the name stays, the value becomes
    ``REDACTED``. Everything else is kept byte for byte, never re-encoded.

Not covered: secrets inside URL paths (``/reset/3f9a…``) and inside request bodies, which
the report does not show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote, unquote_plus

REDACTED = "REDACTED"

# Values shorter than this cannot be told apart from ordinary words in free text; replacing
# them would garble messages. They are still redacted in their own header or parameter.
MIN_SECRET_LENGTH = 4

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
_CHALLENGE_HEADERS = frozenset({"www-authenticate", "proxy-authenticate"})
_SECRET_NAME_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "session",
    "signature",
    "csrf",
    "xsrf",
    "apikey",
    "api-key",
    "api_key",
    "auth",
    "cookie",
)
_URL_HEADERS = frozenset({"location", "content-location", "referer", "refresh"})

_SECRET_PARAMS = frozenset(
    {
        "token",
        "key",
        "secret",
        "session",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "code",
        "auth",
        "apikey",
        "api_key",
        "jwt",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
    }
)
_SECRET_PARAM_PARTS = (
    "token",
    "secret",
    "password",
    "signature",
    "apikey",
    "api_key",
    "session",
    "credential",
)
# In prose and JSON, "code" and "key" are ordinary words ("status code: 404"); only URLs
# and headers are trusted to use them for secrets.
_PROSE_COMMON = frozenset({"code", "key"})

# Text from the network can hold runs of hundreds of kB, on which a pattern that is tried
# at every position of a run and matches to its end is quadratic: a URL starts only where
# its run of scheme characters does (the lookbehind), the run is never given back
# (possessive), and a parameter name is matched for at most 256 characters (a name may
# start after any dot of a run, so it cannot be anchored the same way).
_URL_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9+.\-])([0-9+.\-]*+)([A-Za-z][A-Za-z0-9+.\-]*+://[^\s'\"<>`]+)"
)
"""A URL's scheme starts at the first letter of its run; group 1 is what comes before."""
_HEADER_IN_TEXT = re.compile(r"(?<![\w-])([A-Za-z0-9][A-Za-z0-9_-]*)([ \t]*:[ \t]*)([^\r\n'\"]+)")
_PAIR_IN_TEXT = re.compile(
    r"(?<![\w-])([\"']?)([A-Za-z][A-Za-z0-9_.-]{0,255})\1(\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s&,;'\"})\]]+)"
)


# --- Names -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def is_secret_header(name: str) -> bool:
    """True when the value of this header grants access and must not be shared."""
    lowered = name.strip().lower()
    if lowered in _CHALLENGE_HEADERS:
        return False
    if lowered in _CREDENTIAL_HEADERS or any(part in lowered for part in _SECRET_NAME_PARTS):
        return True
    return re.split(r"[-_]", lowered)[-1] == "key"


@lru_cache(maxsize=4096)
def is_secret_param(name: str) -> bool:
    """True when a query or fragment parameter of this name carries a secret."""
    lowered = unquote_plus(name).strip().lower().replace("-", "_")
    return lowered in _SECRET_PARAMS or any(part in lowered for part in _SECRET_PARAM_PARTS)


# --- URLs --------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL with userinfo and secret parameter values replaced; otherwise unchanged."""
    if "?" not in url and "#" not in url and "@" not in url:
        return url
    rest, hash_, fragment = url.partition("#")
    head, question, query = rest.partition("?")
    head = _without_userinfo(head)
    if question:
        query = _redact_params(query)
    if hash_ and "=" in fragment:
        fragment = _redact_params(fragment)
    return head + question + query + hash_ + fragment


def _without_userinfo(head: str) -> str:
    scheme, sep, after = head.partition("://")
    if not sep:
        return head
    authority, slash, path = after.partition("/")
    if "@" not in authority:
        return head
    userinfo, _, host = authority.rpartition("@")
    if not userinfo:
        return head  # `http://@host`: nothing to hide, and a made-up user would mislead
    return f"{scheme}://{REDACTED}@{host}{slash}{path}"


def _redact_params(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and value and is_secret_param(name):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


# --- Headers -----------------------------------------------------------------------------


def redact_header(name: str, value: str) -> str:
    """The value of one header field as it may be shared."""
    lowered = name.strip().lower()
    if not value:
        return value
    if lowered == "cookie":
        return _redact_cookie_pairs(value)
    if lowered == "set-cookie":
        return "\n".join(_redact_set_cookie(line) for line in value.split("\n"))
    if lowered in _CREDENTIAL_HEADERS:
        scheme, space, _credentials = value.strip().partition(" ")
        return f"{scheme} {REDACTED}" if space else REDACTED
    if is_secret_header(name):
        return REDACTED
    if lowered in _URL_HEADERS:
        return _redact_refresh(value) if lowered == "refresh" else redact_url(value)
    return _redact_urls(value)


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header fields in their order, duplicates kept, values redacted."""
    return [(name, redact_header(name, value)) for name, value in headers]


def _redact_cookie_pairs(value: str) -> str:
    pairs = []
    for pair in value.split(";"):
        name, eq, _cookie_value = pair.partition("=")
        if not eq:
            # A cookie without "=" is all value and no name (RFC 6265bis §5.6).
            pairs.append(f" {REDACTED}" if pair.startswith(" ") else REDACTED)
        else:
            pairs.append(f"{name}={REDACTED}")
    return ";".join(pairs)


def _redact_set_cookie(line: str) -> str:
    cookie, semicolon, attributes = line.partition(";")
    name, eq, _value = cookie.partition("=")
    cookie = f"{name}={REDACTED}" if eq else REDACTED
    return cookie + semicolon + attributes


def _redact_refresh(value: str) -> str:
    delay, sep, target = value.partition(";")
    return delay + sep + redact_url(target) if sep else value


# --- Free text ---------------------------------------------------------------------------


def secret_values(headers: Iterable[tuple[str, str]] = (), urls: Iterable[str] = ()) -> set[str]:
    """The raw secret values in these headers and URLs, to scrub from free text later.

    Free text (a curl command, a console message, an error body) can repeat a secret
    anywhere and in any shape; the values themselves are what to look for.
    """
    found: set[str] = set()
    for name, value in headers:
        lowered = name.strip().lower()
        if not value:
            continue
        if lowered == "cookie":
            found.update(v for _, _, v in (p.partition("=") for p in value.split(";")))
        elif lowered == "set-cookie":
            for line in value.split("\n"):
                found.add(line.partition(";")[0].partition("=")[2])
        elif lowered in _CREDENTIAL_HEADERS:
            found.add(value.strip().partition(" ")[2])
        if is_secret_header(name):
            found.add(value)
    for url in urls:
        found.update(_url_secrets(url))
    return {s.strip() for s in found if len(s.strip()) >= MIN_SECRET_LENGTH}


def _url_secrets(url: str) -> set[str]:
    found: set[str] = set()
    rest, _, fragment = url.partition("#")
    head, _, query = rest.partition("?")
    authority = head.partition("://")[2].partition("/")[0]
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        found.update({userinfo, *userinfo.split(":")})
    for params in (query, fragment):
        for part in params.split("&"):
            name, eq, value = part.partition("=")
            if eq and value and is_secret_param(name):
                found.update({value, unquote(value), unquote_plus(value)})
    return found


def redact_text(text: str, secrets: Iterable[str] = (), *, scrub_pairs: bool = True) -> str:
    """Free text (curl commands, console messages, bodies) with secrets taken out.

    Three passes: the known secret values, wherever they appear; every URL; and, with
    `scrub_pairs`, `Name: value` header lines and `name=value` / `"name": "value"` pairs
    with secret names. Text corscope wrote itself (fix snippets, where `SESSION_COOKIE_…
    = "None"` is configuration, not a secret) passes `scrub_pairs=False`.
    """
    if not text:
        return text
    for secret in sorted(
        {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _redact_urls(text)
    if scrub_pairs:
        text = _HEADER_IN_TEXT.sub(_header_match, text)
        text = _PAIR_IN_TEXT.sub(_pair_match, text)
    return text


def _redact_urls(text: str) -> str:
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: m.group(1) + redact_url(m.group(2)), text)


def _header_match(match: re.Match[str]) -> str:
    name, colon, value = match.groups()
    if not is_secret_header(name):
        return match.group(0)
    return name + colon + redact_header(name, value)


def _pair_match(match: re.Match[str]) -> str:
    quote, name, sep, value = match.groups()
    lowered = name.lower().replace("-", "_")
    if lowered in _PROSE_COMMON or not is_secret_param(name) or REDACTED in value:
        return match.group(0)
    if value[:1] in "\"'" and len(value) >= 2:
        value = value[0] + REDACTED + value[-1]
    else:
        value = REDACTED
    return f"{quote}{name}{quote}{sep}{value}"
