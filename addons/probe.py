"""The page probe on the wire: inject it into HTML documents and in front of dedicated and
shared worker scripts, put the agent in front of service-worker scripts, and answer the
reserved paths on the page's own origin.

These are the only changes the addon ever makes to traffic, and only with `cors_probe` on.
Anything unusual (a body that does not decode, a streamed body, a CSP that would refuse
the probe) means: leave the response exactly as it came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.model import origin_of

from . import csp
from .beacon import MAX_BODY_BYTES
from .rules import RESERVED_PREFIX, Facts, pick

if TYPE_CHECKING:
    from mitmproxy import http

PROBE_PATH = RESERVED_PREFIX + "probe.js"
MAX_REPORT_BYTES = MAX_BODY_BYTES
REPORT_PATH = RESERVED_PREFIX + "report"
PROBE_TAG = f'<script src="{PROBE_PATH}"></script>'
AGENT_MARK = "__corscope_sw__"
PROBE_MARK = "__corscope__"
"""In the probe's first statement; a worker script that has it carries the probe already."""
_SCAN_CHARS = 64 * 1024
"""How far into a document to look for <head> and meta CSP tags."""

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\A\ufeff?\s*(?:<!--.*?-->\s*)*<!doctype\b[^>]*>", re.IGNORECASE | re.DOTALL)
_PROLOGUE = re.compile(
    r"""\A\ufeff?(?:\s|/\*.*?\*/|//[^\n]*\n)*(?:(?P<q>['"])use strict(?P=q)[ \t]*;?)?""", re.DOTALL
)
_JS_TYPES = (b"javascript", b"ecmascript")


@dataclass(frozen=True, slots=True)
class Assets:
    probe: bytes
    agent: str
    """The service-worker agent, joined into one line."""
    worker_probe: str
    """The probe, joined into one line, for dedicated and shared workers."""


def load_assets(folder: Path | None = None) -> Assets:
    """Read probe.js and sw_agent.js next to this module. Raises OSError if missing."""
    folder = folder or Path(__file__).resolve().parent
    probe = (folder / "probe.js").read_bytes()
    agent_source = (folder / "sw_agent.js").read_text("utf-8")
    return Assets(
        probe=probe, agent=one_line(agent_source), worker_probe=one_line(probe.decode("utf-8"))
    )


def one_line(source: str) -> str:
    """Drop the leading comment block and join the lines: the probe and the agent are
    written for this (block comments only, explicit semicolons) so that they fit in front
    of a worker's first line without moving any of the worker's own lines."""
    body = re.sub(r"\A\s*/\*.*?\*/\s*", "", source, count=1, flags=re.DOTALL)
    return " ".join(line.strip() for line in body.splitlines() if line.strip())


# --- documents --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Injection:
    done: bool
    refused_by: csp.Refusal | None = None
    """Set when a Content Security Policy would refuse the probe: page left untouched."""


def target(flow: http.HTTPFlow, request_facts: Facts | None = None) -> str | None:
    """ "page" for a successful HTML answer to a navigation, "service-worker" for a
    service-worker script, "worker" for a dedicated or shared worker's script, None for
    everything else: the only responses the probe goes into."""
    resp = flow.response
    if resp is None or resp.status_code != 200:
        return None
    response_facts = pick(resp.headers.fields)
    ctype = response_facts.get(b"content-type", b"").lower().lstrip()
    facts = request_facts if request_facts is not None else pick(flow.request.headers.fields)
    if ctype.startswith(b"text/html"):
        if flow.request.method not in ("GET", "POST"):
            return None
        if b"attachment" in response_facts.get(b"content-disposition", b"").lower():
            return None
        return "page" if is_navigation(facts) else None
    if facts.get(b"service-worker", b"").lower() == b"script":
        where = "service-worker"
    elif facts.get(b"sec-fetch-dest") in (b"worker", b"sharedworker"):
        # Its fetches never pass the page's probe: a worker is a client of its own.
        where = "worker"
    else:
        return None  # every other response, so the request's headers are asked first
    # Chromium runs no worker script served as anything else.
    return where if any(t in ctype for t in _JS_TYPES) else None


def is_navigation(facts: Facts) -> bool:
    mode = facts.get(b"sec-fetch-mode")
    if mode is not None:
        return mode == b"navigate"
    dest = facts.get(b"sec-fetch-dest")
    if dest is not None:
        return dest in (b"document", b"iframe", b"frame")
    # A client without Fetch Metadata: only one that asks for HTML is a browser navigating.
    return b"text/html" in facts.get(b"accept", b"")


def inject_probe(flow: http.HTTPFlow, url: str | None = None) -> Injection:
    """`url`: the request's `pretty_url`, if the caller has it already."""
    resp = flow.response
    assert resp is not None
    if resp.raw_content is None:  # streamed: the body is not ours to hold
        return Injection(False)
    try:
        text = resp.text
    except ValueError:  # an encoding or charset mitmproxy cannot decode
        return Injection(False)
    if not text or PROBE_PATH in text[:_SCAN_CHARS]:
        return Injection(False)
    origin = origin_of(url if url is not None else flow.request.pretty_url)
    if origin is None:
        return Injection(False)
    refused = _refusal(resp.headers.get_all("content-security-policy"), text, origin)
    if refused is not None:
        return Injection(False, refused_by=refused)
    at = insertion_point(text)
    resp.text = text[:at] + PROBE_TAG + text[at:]
    return Injection(True)


def _refusal(header_values: list[str], text: str, origin: str) -> csp.Refusal | None:
    values = list(header_values) + csp.meta_policies(text[:_SCAN_CHARS])
    if not values:
        return None
    parsed = csp.policies(values)
    return csp.refusal(parsed, origin + PROBE_PATH, csp.SCRIPT_DIRECTIVES) or csp.refusal(
        parsed, origin + REPORT_PATH, csp.CONNECT_DIRECTIVES
    )


def insertion_point(text: str) -> int:
    """Right after <head>; else after <html>; else after a doctype (never before it: that
    would throw the page into quirks mode); else at the very start."""
    head = text[:_SCAN_CHARS]
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        match = pattern.search(head)
        if match:
            return match.end()
    return 1 if text.startswith("\ufeff") else 0


# --- worker scripts ------------------------------------------------------------------------


def inject_agent(flow: http.HTTPFlow, assets: Assets, url: str | None = None) -> Injection:
    """The agent in front of a service worker's script. `url`: the request's
    `pretty_url`, if the caller has it already."""
    return _in_front(flow, assets.agent, AGENT_MARK, url)


def inject_worker_probe(flow: http.HTTPFlow, assets: Assets, url: str | None = None) -> Injection:
    """The probe in front of a dedicated or shared worker's script, classic or module
    (the wire does not say which, and the probe is valid as either)."""
    return _in_front(flow, assets.worker_probe, PROBE_MARK, url)


def _in_front(flow: http.HTTPFlow, code: str, mark: str, url: str | None) -> Injection:
    resp = flow.response
    assert resp is not None
    if resp.raw_content is None:
        return Injection(False)
    try:
        text = resp.text
    except ValueError:
        return Injection(False)
    if text is None or mark in text[:_SCAN_CHARS]:
        return Injection(False)
    origin = origin_of(url if url is not None else flow.request.pretty_url)
    if origin is None:
        return Injection(False)
    # The worker's own policy governs what it sends to the report path.
    values = resp.headers.get_all("content-security-policy")
    if values:
        refused = csp.refusal(csp.policies(values), origin + REPORT_PATH, csp.CONNECT_DIRECTIVES)
        if refused is not None:
            return Injection(False, refused_by=refused)
    match = _PROLOGUE.match(text)
    at = match.end() if match else 0
    # Semicolons on both sides: a directive may lack its own, and the worker's first
    # statement may start with a parenthesis.
    resp.text = text[:at] + ";" + code + ";" + text[at:]
    return Injection(True)


# --- the reserved paths -----------------------------------------------------------------


def reserved_route(request: http.Request) -> str | None:
    """The reserved path a request is for (query dropped), or None."""
    path = request.path
    if not path.startswith(RESERVED_PREFIX):
        return None
    return path.split("?", 1)[0]


def script_response(assets: Assets) -> http.Response:
    from mitmproxy import http

    return http.Response.make(
        200,
        assets.probe,
        {
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # A sandboxed frame loads it from an opaque origin, with `Origin: null` and, on
            # a host without Fetch Metadata, nothing to say it was no-cors: let it pass in
            # any mode, so the probe's own load never reads as a CORS failure.
            "Access-Control-Allow-Origin": "*",
        },
    )


def empty_response(status: int) -> http.Response:
    from mitmproxy import http

    return http.Response.make(status, b"", {"Cache-Control": "no-store"})
