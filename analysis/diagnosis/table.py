"""One row per decided exchange: the table every diagnosis rule reads.

Rules look across exchanges ("this API answers 2xx with CORS headers but 5xx without"), so
the facts they compare are pulled out once here, into a pandas DataFrame. Which layers
answered (`layers`, `preflight_layers`) come from the stack fingerprint of the one
response: a preflight answered by a gateway and an actual response made by the app behind
it differ there, and that difference is a root cause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import numpy as np
import pandas as pd

from analysis.api import Decided
from analysis.diagnosis.stacks import fingerprint
from analysis.model import Exchange, Headers, Response, Transaction, origin_of, scheme_of
from analysis.parallel import map_slices
from analysis.provenance import is_shared_cache_hit
from analysis.verdict import page_origin

COLUMNS = [
    "id",
    "api_origin",
    "endpoint",
    "method",
    "page_origin",
    "page",
    "blocked",
    "conditional",
    "reason",
    "stage",
    "failed_parameter",
    "fault",
    "source",
    "status",
    "preflight_status",
    "preflight_ms",
    "preflight_acao",
    "started",
    "acao",
    "acao_lines",
    "acac",
    "set_cookie",
    "server",
    "preflight_server",
    "credentials",
    "tainted",
    "warnings",
    "body",
    "preflight_body",
    "cache_hit",
    "mode",
    "final_url",
    "location",
    "vary",
    "layers",
    "made_by_proxy",
    "preflight_vary",
    "preflight_allow",
    "preflight_layers",
    "preflight_location",
    "preflight_max_age",
    "preflight_acam",
    "preflight_made_by_proxy",
    "worker_type",
    "origin_sent",
    "condition",
]

_STARTED = COLUMNS.index("started")
_OBJECT_COLUMNS = [name for name in COLUMNS if name != "started"]

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})$"
)
_TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{16,}$")


@lru_cache(maxsize=65_536)
def _is_id(segment: str) -> bool:
    """Numbers, hex, UUIDs, and long tokens that mix letters and digits; a long readable
    slug such as `user-preferences` is a route, not an id."""
    if _ID_SEGMENT.match(segment):
        return True
    return bool(
        _TOKEN_SEGMENT.match(segment)
        and any(ch.isdigit() for ch in segment)
        and any(ch.isalpha() for ch in segment)
    )


def endpoint(method: str, url: str) -> str:
    """`GET /api/users/{id}`: the path with ids folded, so one route is one endpoint."""
    path = _path(url) or "/"
    segments = ["{id}" if _is_id(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


_URLSPLIT_CHECKS = frozenset(" []")
"""Spaces urlsplit strips at the ends, brackets it validates as an IPv6 host."""


def _path(url: str) -> str:
    """`urlsplit(url).path` ("" where it raises). A plain http(s) URL is cut by hand: the
    path runs from the end of the authority to the query or fragment; anything urlsplit
    would clean or check first (controls, spaces, non-ASCII, brackets) goes through it."""
    scheme = 8 if url.startswith("https://") else 7 if url.startswith("http://") else 0
    if scheme and url.isascii() and url.isprintable() and not _URLSPLIT_CHECKS.intersection(url):
        start = len(url)
        for mark in "/?#":
            at = url.find(mark, scheme)
            if -1 < at < start:
                start = at
        end = len(url)
        for mark in "?#":
            at = url.find(mark, start)
            if -1 < at < end:
                end = at
        return url[start:end]
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


_CHUNK = 8192
"""Rows turned into columns at a time: the transposition runs in C, on a bounded batch."""


def build(decided: Sequence[Decided], jobs: int | None = 1) -> pd.DataFrame:
    """The table, its rows worked out on `jobs` processes for large inputs (None or 0:
    every core); a row depends on its own exchange only, so any split gives the same."""
    parts = map_slices(decided, _rows, jobs) if jobs != 1 else None
    if parts is None:
        parts = (_rows(decided[start : start + _CHUNK]) for start in range(0, len(decided), _CHUNK))
    # One object block, filled in place a batch of rows at a time, becomes the frame's
    # storage: lists per column and then the frame's copy of them held every value twice.
    # object dtype keeps None as None (rules test `is None`); only time is numeric.
    block = np.empty((len(decided), len(_OBJECT_COLUMNS)), dtype=object)
    started = np.empty(len(decided), dtype=float)
    at = 0
    for rows in parts:
        end = at + len(rows)
        for position, values in enumerate(zip(*rows, strict=True)):
            if position == _STARTED:
                started[at:end] = [np.nan if v is None else v for v in values]
                continue
            # fromiter: tuples in cells stay cells, where array() would read them as rows.
            column = np.fromiter(values, dtype=object, count=end - at)
            block[at:end, position - (position > _STARTED)] = column
        at = end
    frame = pd.DataFrame(block, columns=_OBJECT_COLUMNS, dtype=object, copy=False)
    frame.insert(_STARTED, "started", started)
    return frame


def _rows(decided: Sequence[Decided]) -> list[tuple]:
    if len(_STRINGS) > _CACHE_LIMIT:
        _STRINGS.clear()
    return [_row(d, _ANSWERS, _STRINGS) for d in decided]


_CACHE_LIMIT = 65_536
"""Entries per cache of repeated values; past it a cache starts over (time, not results)."""


class _Answer(NamedTuple):
    """What the table reads off one response."""

    acao: str | None = None
    acao_lines: int = 0
    acac: str | None = None
    set_cookie: bool = False
    server: str | None = None
    vary: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    allow: str | None = None
    max_age: str | None = None
    acam: str | None = None


_NO_ANSWER = _Answer()


class _Answers:
    """`_Answer`s remembered per response shape (status, names, the values of all but the
    volatile fields, body excerpt): a capture repeats the same few shapes thousands of
    times, and nothing read here is a volatile field."""

    def __init__(self) -> None:
        self._seen: dict[tuple, _Answer] = {}

    def of(self, response: Response | None) -> _Answer:
        if response is None:
            return _NO_ANSWER
        key = (
            response.status,
            response.made_by_proxy,
            _shape(response.headers),
            response.body_excerpt,
        )
        found = self._seen.get(key)
        if found is None:
            found = _answer(response)
            if len(self._seen) > _CACHE_LIMIT:
                self._seen.clear()
            self._seen[key] = found
        return found


def _answer(response: Response) -> _Answer:
    headers = response.headers
    return _Answer(
        acao=headers.get("access-control-allow-origin"),
        acao_lines=len(headers.get_all("access-control-allow-origin")),
        acac=headers.get("access-control-allow-credentials"),
        set_cookie="set-cookie" in headers,
        server=_server(response),
        vary=_tokens(headers.get("vary")),
        layers=() if response.made_by_proxy else fingerprint([response]).layers,
        allow=headers.get("allow"),
        max_age=headers.get("access-control-max-age"),
        acam=headers.get("access-control-allow-methods"),
    )


def _shape(headers: Headers) -> tuple:
    """What identifies the response's stack: names, and the values of all but the volatile
    fields (of Set-Cookie, the cookie's name)."""
    layout = headers.layout
    keep, cookies = layout.derive(_shape_plan)
    fields = headers.fields
    return (
        layout.names,
        tuple([fields[i][1] for i in keep]),
        tuple([fields[i][1].split("=", 1)[0] for i in cookies]),
    )


def _shape_plan(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Positions of the fields whose values identify a stack, and of the Set-Cookies."""
    kinds = [_kind(name) for name in names]
    return (
        tuple(i for i, kind in enumerate(kinds) if kind == "keep"),
        tuple(i for i, kind in enumerate(kinds) if kind == "cookie"),
    )


def _kind(name: str) -> str:
    lower = name.lower()
    if lower in _VOLATILE:
        return "volatile"
    return "cookie" if lower == "set-cookie" else "keep"


_ANSWERS = _Answers()
"""By response shape, for the whole process: shapes repeat across inputs too."""
_STRINGS: dict[str | tuple[str, ...], str | tuple[str, ...]] = {}
"""Endpoint names and the rows' tuples of warning ids, one of each: a table of a million
rows holds them once per distinct value, not once per row."""


# Headers whose values differ on every response but say nothing about the stack: only
# their presence stays in the cache key, so repeated response shapes are fingerprinted once.
_VOLATILE = frozenset(
    {
        "date",
        "content-length",
        "etag",
        "last-modified",
        "expires",
        "age",
        "x-request-id",
        "x-amzn-requestid",
        "x-amz-cf-id",
        "x-amzn-trace-id",
        "x-amz-apigw-id",
        "cf-ray",
        "x-timer",
        "x-cache-hits",
        "server-timing",
        "x-runtime",
        "x-correlation-id",
        "traceparent",
        "x-varnish",
        "apigw-requestid",
        "request-id",
    }
)


def _row(
    d: Decided, answers: _Answers, strings: dict[str | tuple[str, ...], str | tuple[str, ...]]
) -> tuple:
    """The row's values in `COLUMNS` order; repeated values made once (`strings`)."""
    ex, v = d.exchange, d.verdict
    failed_url = v.failed_url or ex.final_url
    if scheme_of(failed_url) not in ("http", "https"):
        # A redirect to ftp: or javascript: fails at a URL no server answers: the API
        # is the one that redirected there, the last URL on the wire.
        failed_url = ex.final_url
    final = _final_response(ex)
    preflight = _failed_or_first_preflight(ex)
    pf_response = preflight.response if preflight is not None else None
    answer, pf_answer = answers.of(final), answers.of(pf_response)
    method = ex.method
    intern = strings.setdefault
    return (
        ex.id,
        origin_of(failed_url) or failed_url,
        intern(name := endpoint(method, failed_url), name),
        method,
        page_origin(ex),
        ex.context.page_url,
        v.blocked is True,
        v.blocked is None,
        v.reason,
        v.stage,
        v.failed_parameter,
        v.fault,
        v.source,
        final.status if final is not None else None,
        pf_response.status if pf_response is not None else None,
        preflight.duration_ms if preflight is not None else None,
        pf_answer.acao,
        ex.started,
        answer.acao,
        answer.acao_lines,
        answer.acac,
        answer.set_cookie,
        answer.server,
        pf_answer.server,
        v.credentials,
        _tainted(ex),
        intern(ids := tuple([w.id for w in v.warnings]), ids),
        final.body_excerpt if final is not None else None,
        pf_response.body_excerpt if pf_response is not None else None,
        bool(final is not None and is_shared_cache_hit(final.headers)),
        v.mode,
        ex.final_url,
        _location(final.headers if final is not None else None, _answered_url(ex)),
        answer.vary,
        answer.layers,
        bool(final is not None and final.made_by_proxy),
        pf_answer.vary,
        pf_answer.allow,
        pf_answer.layers,
        _location(
            pf_response.headers if pf_response is not None else None,
            preflight.request.url if preflight is not None else None,
        ),
        pf_answer.max_age,
        pf_answer.acam,
        bool(pf_response is not None and pf_response.made_by_proxy),
        ex.context.worker_response_type,
        _origin_sent(ex),
        v.condition,
    )


def _origin_sent(ex: Exchange) -> str | None:
    """The Origin header the server was judged on: the last request's (the one whose
    answer failed or passed), preflight or actual."""
    for step in reversed(ex.steps):
        for tx in (step.actual, step.preflight.transaction if step.preflight else None):
            if tx is not None and tx.request.headers.get("origin") is not None:
                return tx.request.headers.get("origin")
    return None


def _answered_url(ex: Exchange) -> str:
    """The URL whose actual response `_final_response` is, to resolve its Location."""
    for step in reversed(ex.steps):
        if step.actual is not None:
            return step.actual.request.url
    return ex.final_url


def _location(headers: Headers | None, base: str | None) -> str | None:
    value = headers.get("location") if headers is not None else None
    if not value:
        return None
    try:
        return urljoin(base or "", value.strip())
    except ValueError:
        return value.strip()


@lru_cache(maxsize=4096)
def _tokens(value: str | None) -> tuple[str, ...]:
    """A comma-separated header as lower-case tokens: `Vary: Origin, Accept` → (origin, accept)."""
    return tuple(t.strip().lower() for t in (value or "").split(",") if t.strip())


def _final_response(ex: Exchange) -> Response | None:
    for step in reversed(ex.steps):
        if step.actual is not None and step.actual.response is not None:
            return step.actual.response
    return None


def _failed_or_first_preflight(ex: Exchange) -> Transaction | None:
    found = [s.preflight.transaction for s in ex.steps if s.preflight and s.preflight.transaction]
    return found[-1] if found else None


def _server(response: Response | None) -> str | None:
    if response is None:
        return None
    parts = [response.headers.get("server"), response.headers.get("x-powered-by")]
    joined = " / ".join(p for p in parts if p)
    return joined or None


def _tainted(ex: Exchange) -> bool:
    for step in ex.steps[1:]:
        for tx in (step.preflight.transaction if step.preflight else None, step.actual):
            if tx is not None and tx.request.headers.get("origin") == "null":
                return True
    return False
