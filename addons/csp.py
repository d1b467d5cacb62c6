"""Would a page's Content Security Policy let the probe run and report?

The probe is a same-origin `<script src>` that later sends same-origin beacons. A page
whose enforced policy forbids either is left untouched: an injected script that the
browser refuses would put a CSP violation in the developer's console, which is exactly
the kind of noise the addon must not add. Report-only policies block nothing.

CSP Level 3 source matching, reduced to the one question asked here (is this same-origin
URL allowed?). When in doubt the answer is no: a skipped probe costs a little context, a
violation costs the developer's trust.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

SCRIPT_DIRECTIVES = ("script-src-elem", "script-src", "default-src")
CONNECT_DIRECTIVES = ("connect-src", "default-src")

_META_CSP = re.compile(
    r"""<meta\b[^>]*\bhttp-equiv\s*=\s*["']?\s*content-security-policy\s*["'\s>/][^>]*>""",
    re.IGNORECASE,
)
_CONTENT_ATTR = re.compile(r"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True, slots=True)
class Refusal:
    directive: str
    policy: str


def policies(header_values: list[str]) -> list[dict[str, list[str]]]:
    """Parse header values (each may hold several comma-separated policies)."""
    parsed: list[dict[str, list[str]]] = []
    for value in header_values:
        for text in value.split(","):
            policy: dict[str, list[str]] = {}
            for part in text.split(";"):
                tokens = part.split()
                if not tokens:
                    continue
                name = tokens[0].lower()
                # The first occurrence of a directive wins; later ones are ignored.
                policy.setdefault(name, tokens[1:])
            if policy:
                parsed.append(policy)
    return parsed


def meta_policies(document_head: str) -> list[str]:
    """`<meta http-equiv="Content-Security-Policy" content=…>` values in a document's start."""
    values: list[str] = []
    for tag in _META_CSP.finditer(document_head):
        match = _CONTENT_ATTR.search(tag.group(0))
        if match:
            raw = next(g for g in match.groups() if g is not None)
            values.append(html.unescape(raw))
    return values


def refusal(
    policy_list: list[dict[str, list[str]]], url: str, directives: tuple[str, ...]
) -> Refusal | None:
    """The first enforced policy that would block a request for `url` under the first
    present directive of `directives` (the fallback chain), or None when all allow it."""
    for policy in policy_list:
        if "sandbox" in policy and (
            "allow-scripts" not in (t.lower() for t in policy["sandbox"])
            or any(name in policy for name in directives)
        ):
            # Without allow-scripts nothing runs. With it the document has an opaque
            # origin, whose reports still arrive (a text/plain beacon needs no CORS;
            # measured in sandboxed iframes, Chromium 156); but whether 'self' and the
            # like match it is unsure, so any source list that applies refuses.
            return Refusal("sandbox", _render(policy))
        for name in directives:
            if name in policy:
                if not _allows(policy[name], url, script=name.startswith("script")):
                    return Refusal(name, _render(policy))
                break
    return None


def _render(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([k, *v]) for k, v in policy.items())


def _allows(sources: list[str], url: str, *, script: bool) -> bool:
    lowered = [s.lower() for s in sources]
    if script and "'strict-dynamic'" in lowered:
        # Host and 'self' sources are ignored; only nonces and hashes load scripts, and a
        # parser-inserted tag without the page's nonce has neither.
        return False
    try:
        target = urlsplit(url)
    except ValueError:
        return False
    return any(_matches(source, target) for source in lowered)


def _matches(source: str, parts: SplitResult) -> bool:
    scheme = parts.scheme
    if source == "'self'":
        return True  # the probe only ever asks about the page's own origin
    if source == "*":
        return scheme in ("http", "https")
    if source.startswith("'"):
        return False  # 'none', nonces, hashes, keywords: none admits a plain script URL
    if re.fullmatch(r"[a-z][a-z0-9+.-]*:", source):
        wanted = source[:-1]
        return wanted == scheme or (wanted == "http" and scheme == "https")
    return _host_source(source, parts)


_HOST_SOURCE = re.compile(
    r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\*|(?:\*\.)?[a-z0-9.-]+|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>\d+|\*))?(?P<path>/[^?#]*)?$"
)


def _host_source(source: str, parts: SplitResult) -> bool:
    match = _HOST_SOURCE.match(source)
    if not match:
        return False
    scheme = parts.scheme
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return False
    want_scheme = match.group("scheme")
    if want_scheme is not None and not (
        want_scheme == scheme or (want_scheme == "http" and scheme == "https")
    ):
        return False
    want_host = match.group("host").strip("[]")
    if want_host.startswith("*."):
        if not host.endswith(want_host[1:]):
            return False
    elif want_host != "*" and want_host != host:
        return False
    want_port = match.group("port")
    if want_port is None:
        # An empty port matches the URL scheme's default port (CSP 3 port-part match).
        if port != _DEFAULT_PORTS.get(scheme):
            return False
    elif want_port != "*" and int(want_port) != port:
        return False
    path = match.group("path")
    if path and path != "/":
        target_path = parts.path
        return target_path.startswith(path) if path.endswith("/") else target_path == path
    return True
