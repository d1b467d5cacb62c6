"""The table of all exchanges: compressed columns for the page's script, the first rows as
HTML, and past a limit, a count by endpoint of the requests not listed one by one.

Why it is built this way (issue 7: under 10 MB and a first screen under 1 s, at a million
exchanges):

* **Bounded.** A report someone forwards to the API team is read by a person. Past
  `ROW_LIMIT` (200,000) requests, listing each one makes the file grow without end and
  helps nobody, so the table lists at most `ROW_LIMIT` requests, chosen problems first:
  every blocked, conditional, undecided, failed-below-CORS or disputed request, then the
  allowed ones with warnings, then the plain allowed ones. The kind that no longer fits
  whole is shared fairly between its groups (endpoint with ids folded, page origin, verdict,
  reason, status, finding): each group keeps up to the same number of requests, spread
  evenly over the session, so a rare failure is never crowded out by a frequent one.
  Everything not listed is *counted*, never dropped: `Summary` holds one line per group
  with its count, first and last time and an example id; the page says how many of each
  kind are listed, that listed + counted = total, and that every request is in
  `corscope analyze --json`. So the file stays around a few MB however long the capture.
* **Compact.** The listed rows travel column by column (times and numeric id suffixes as
  deltas, every repeated string — method, URL, origin, reason — stored once and referred to
  by index), as JSON, gzip-compressed and base64-encoded in a non-executable `<script>`
  element. The page's own script decodes it with the browser's `DecompressionStream`
  (Chromium 80, Firefox 113, Safari 16.4), which fetches nothing, so the CSP
  `default-src 'none'` stands. Columns of small integers compress about tenfold: 100k rows
  take well under 1 MB instead of 4.6 MB of row-wise JSON.
* **First screen first.** The data block sits at the end of the document and is only
  decoded when the table is used; the first `SERVER_ROWS` rows, the counts and the
  summary are plain HTML, readable without JavaScript.
* **Linear.** One pass over the exchanges, URL work (redaction, origin, endpoint) done once
  per distinct URL, one more pass over the selected rows to encode them.

Base64 text cannot end its element, and captured values inside it reach the page only via
`textContent`, so nothing captured can become markup.

Column layout (keep in step with `report.js`; `decode` below reads it back):
    id  string index of the id without its numeric suffix   in  that suffix, as a delta
    t   milliseconds after `t0`, as a delta                  m   method      u  URL
    s   status      p  page origin   v  verdict code   r  reason   f  finding rank (0: none)
    g   flag bits (`FLAG_*`)         src  response source
`null` in `in`/`t`/`s` means none (deltas then continue from the last non-null value).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from analysis.diagnosis.table import endpoint as endpoint_of
from reports import fmt, origins
from reports.scrub import Scrubber

if TYPE_CHECKING:
    from analysis.api import Decided
    from analysis.verdict import Verdict

SERVER_ROWS = 100
ROW_LIMIT = 200_000
"""At most this many requests are listed one by one; the rest are counted by group."""
DATA_BUDGET = 6_000_000
"""Base64 characters the rows may take; past it, fewer rows are listed (rows whose URLs and
ids are all different compress less well than a session's usual repetition)."""
_SAMPLE = 20_000
SUMMARY_ROWS = 300
"""Groups of unlisted requests shown one per line; smaller groups are added up."""

# Verdict codes, their words and CSS classes: the script reads the same lists from the data.
ALLOWED, BLOCKED, CONDITIONAL, UNDECIDED, FAULT = range(5)
VERDICT_WORDS = ["Allowed", "Blocked", "Blocked if credentialed", "Undecided", "Failed below CORS"]
VERDICT_CLASSES = ["allowed", "blocked", "conditional", "conditional", "fault"]
FLAG_CONFIRMED, FLAG_WARNINGS, FLAG_PREFLIGHT, FLAG_REDIRECTED, FLAG_DISPUTED = 1, 2, 4, 8, 16

# Kinds, in the order they are listed: what the API team needs first.
PROBLEMS, WARNED, PLAIN = range(3)
KIND_WORDS = [
    "Blocked, conditional, undecided, failed below CORS or disputed by the browser",
    "Allowed, with warnings",
    "Allowed, without warnings",
]

_DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class TableRow:
    """One server-rendered row, in the same words the script uses for the rest."""

    id: str
    time: str
    method: str
    url: str
    status: str
    page_origin: str
    verdict: str
    verdict_class: str
    reason: str
    finding: int
    finding_title: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class Kind:
    """How many requests of one kind there are and how many the table lists."""

    words: str
    total: int
    listed: int
    per_group: int | None = None
    """Set when only part of the kind is listed: at most this many per group."""


@dataclass(frozen=True, slots=True)
class Group:
    """Requests not listed one by one that share endpoint, page, verdict, reason, status
    and finding."""

    method: str
    endpoint: str
    page_origin: str
    verdict: str
    verdict_class: str
    reason: str
    status: str
    finding: int
    finding_title: str
    count: int
    listed: int
    first: str
    last: str
    example: str


@dataclass(slots=True)
class Summary:
    """What the table leaves out, counted: `listed + counted == total`, always."""

    limit: int
    kinds: list[Kind]
    counted: int
    groups: list[Group]
    more_groups: int = 0
    more_requests: int = 0
    more_by_verdict: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Table:
    total: int
    listed: int
    first: list[TableRow]
    data: Markup
    """Base64 of the gzip-compressed JSON columns, for a non-executable `<script>`."""
    summary: Summary | None = None


def verdict_code(v: Verdict) -> int:
    if v.fault is not None:
        return FAULT
    if v.blocked is True:
        return BLOCKED
    if v.blocked is None:
        return CONDITIONAL if v.condition == "credentials-include" else UNDECIDED
    return ALLOWED


def kind_of(code: int, flags: int) -> int:
    if code != ALLOWED or flags & FLAG_DISPUTED:
        return PROBLEMS
    return WARNED if flags & FLAG_WARNINGS else PLAIN


class _Strings:
    """Each distinct string once; rows hold its index."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}

    def ref(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass(slots=True)
class _Columns:
    """Every row of the table as columns: string-table references and small integers."""

    ids: list[str]
    ms: list[int | None]
    """Milliseconds after the first exchange."""
    method: list[int]
    url: list[int]
    """References into the raw (not yet redacted) URLs."""
    status: list[int | None]
    page: list[int]
    code: list[int]
    """`verdict_code`."""
    reason: list[int]
    rank: list[int]
    """Rank of the exchange's first finding, 0 for none."""
    flags: list[int]
    source: list[int]

    @classmethod
    def sized(cls, n: int) -> _Columns:
        return cls(
            [""] * n, [None] * n, [0] * n, [0] * n, [None] * n, [0] * n,
            [0] * n, [0] * n, [0] * n, [0] * n, [0] * n,
        )  # fmt: skip


def build(
    decided: Sequence[Decided],
    owner: Mapping[str, int],
    titles: Sequence[tuple[str, str]],
    scrub: Scrubber,
    *,
    limit: int | None = None,
    budget: int | None = None,
) -> Table:
    """`owner` maps exchange id → rank of its first finding; `titles` lists (title,
    severity) by rank, starting at rank 1. `limit` and `budget` default to `ROW_LIMIT` and
    `DATA_BUDGET`."""
    limit = ROW_LIMIT if limit is None else limit
    budget = DATA_BUDGET if budget is None else budget
    ordered, starts = _in_time_order(decided)
    n = len(ordered)
    strings = _Strings()
    ref = strings.ref
    index = strings.index
    t0 = next((t for t in starts if t is not None), None)
    t0_ms = None if t0 is None else round(t0 * 1000)

    # One pass: every row as columns of small integers. URL and page-origin work (redaction
    # above all) is done once per distinct value.
    cols = _Columns.sized(n)
    # Local names for the hot loop below.
    ids, ms, method, url, status, page = (
        cols.ids, cols.ms, cols.method, cols.url, cols.status, cols.page,
    )  # fmt: skip
    code, reason, rank, flags, source = cols.code, cols.reason, cols.rank, cols.flags, cols.source
    # URLs stay raw here and are redacted only when shown: a listed row, a first row.
    raw_urls = _Strings()
    raw_ref, raw_index = raw_urls.ref, raw_urls.index
    page_refs: dict[str | None, int] = {}
    for i, d in enumerate(ordered):
        ex, v = d.exchange, d.verdict
        ids[i] = ex.id
        raw = ex.url
        found = raw_index.get(raw)
        url[i] = raw_ref(raw) if found is None else found
        final = ex.last.actual
        if final is not None and final.response is not None:
            status[i] = final.response.status
        started = starts[i]
        if started is not None and t0 is not None:
            ms[i] = round((started - t0) * 1000)
        code[i] = verdict_code(v)
        why = v.reason or v.browser_reason or v.condition or ""
        if not why and v.warnings:
            why = v.warnings[0].id
        found = index.get(why)
        reason[i] = ref(why) if found is None else found
        rank[i] = owner.get(ex.id, 0)
        flags[i] = (
            (FLAG_CONFIRMED if v.confirmed else 0)
            | (FLAG_WARNINGS if v.warnings else 0)
            | (FLAG_PREFLIGHT if v.preflight_required else 0)
            | (FLAG_REDIRECTED if len(ex.steps) > 1 else 0)
            | (FLAG_DISPUTED if v.browser is not None and not v.confirmed else 0)
        )
        origin = origins.page(ex)
        found = page_refs.get(origin)
        if found is None:
            found = page_refs[origin] = ref(scrub.url(origin or ""))
        page[i] = found
        verb = ex.method
        found = index.get(verb)
        method[i] = ref(verb) if found is None else found
        found = index.get(v.source)
        source[i] = ref(v.source) if found is None else found

    words = strings.values
    shown: dict[int, str] = {}

    def shown_url(raw: int) -> str:
        text = shown.get(raw)
        if text is None:
            text = shown[raw] = scrub.url(raw_urls.values[raw])
        return text

    endpoints = _Endpoints(scrub)
    groups: _Groups | None = None

    def encode(chosen: list[int]) -> Markup:
        return _encode(chosen, n, t0_ms, titles, words, shown_url, cols)

    while True:
        summary: Summary | None = None
        if n <= limit:
            listed = list(range(n))
        else:
            if groups is None:
                groups = _group(endpoints, raw_urls.values, cols)
            listed, summary = _select(limit, groups, ms, ids, words, t0_ms, titles)
        if len(listed) > 4 * _SAMPLE:
            # Rows spread over the listing, encoded first: a cheap, slightly high estimate
            # of the whole (shared strings and small deltas count for more in a sample).
            sample = listed[:: len(listed) // _SAMPLE]
            estimate = len(encode(sample)) * len(listed) / len(sample)
            if estimate > budget:
                limit = max(SERVER_ROWS, int(len(listed) * budget / estimate * 0.95))
                continue
        payload = encode(listed)
        if len(payload) <= budget or len(listed) <= SERVER_ROWS:
            break
        # Rarely: rows that barely compress. List fewer, in proportion, and count the rest.
        limit = max(SERVER_ROWS, int(len(listed) * budget / len(payload) * 0.9))

    first = [
        TableRow(
            id=ids[i],
            time=_clock(t0_ms, ms[i]),
            method=words[method[i]],
            url=shown_url(url[i]),
            status="" if status[i] is None else str(status[i]),
            page_origin=words[page[i]],
            verdict=VERDICT_WORDS[code[i]],
            verdict_class=VERDICT_CLASSES[code[i]],
            reason=words[reason[i]],
            finding=rank[i],
            finding_title=_title(titles, rank[i]),
            confirmed=bool(flags[i] & FLAG_CONFIRMED),
        )
        for i in listed[:SERVER_ROWS]
    ]
    return Table(total=n, listed=len(listed), first=first, data=payload, summary=summary)


@dataclass(slots=True)
class _Groups:
    """Rows by group (kind, verdict, method, endpoint, page, reason, status, finding), in
    time order within each group; made once however often the limit changes."""

    keys: list[tuple[Any, ...]]
    members: list[list[int]]
    kind: list[int]
    endpoints: _Endpoints


def _group(endpoints: _Endpoints, raw_urls: list[str], cols: _Columns) -> _Groups:
    method, url, status, page = cols.method, cols.url, cols.status, cols.page
    code, reason, rank, flags = cols.code, cols.reason, cols.rank, cols.flags
    n = len(code)
    group_of: dict[tuple[Any, ...], int] = {}
    keys: list[tuple[Any, ...]] = []
    kind: list[int] = [0] * n
    members: list[list[int]] = []
    of_url: dict[int, int] = {}  # raw URL index → endpoint index
    for i in range(n):
        u = url[i]
        e = of_url.get(u)
        if e is None:
            e = of_url[u] = endpoints.ref(raw_urls[u])
        k = kind_of(code[i], flags[i])
        key = (k, code[i], method[i], e, page[i], reason[i], status[i], rank[i])
        g = group_of.get(key)
        if g is None:
            g = group_of[key] = len(keys)
            keys.append(key)
            members.append([])
        kind[i] = k
        members[g].append(i)
    return _Groups(keys, members, kind, endpoints)


def _select(
    limit: int,
    groups: _Groups,
    ms: list[int | None],
    ids: list[str],
    words: list[str],
    t0_ms: int | None,
    titles: Sequence[tuple[str, str]],
) -> tuple[list[int], Summary]:
    """The rows to list (in time order) and the count of the others by group."""
    n = len(groups.kind)
    group_keys, members, kind = groups.keys, groups.members, groups.kind
    endpoints = groups.endpoints
    totals = [0, 0, 0]
    for k in kind:
        totals[k] += 1
    room = limit
    take: list[int] = [0] * len(group_keys)  # rows listed per group
    kinds: list[Kind] = []
    for k in (PROBLEMS, WARNED, PLAIN):
        ours = [g for g, key in enumerate(group_keys) if key[0] == k]
        if totals[k] <= room:
            for g in ours:
                take[g] = len(members[g])
            kinds.append(Kind(KIND_WORDS[k], totals[k], totals[k]))
            room -= totals[k]
            continue
        # Fair shares: every group of this kind keeps up to `per_group`; what the shares
        # leave of the room goes one each to the largest groups still cut.
        per_group = _fair_share([len(members[g]) for g in ours], room)
        for g in ours:
            take[g] = min(per_group, len(members[g]))
        spare = room - sum(take[g] for g in ours)
        cut = [g for g in ours if len(members[g]) > per_group]
        cut.sort(key=lambda g: -len(members[g]))
        for g in cut[:spare]:
            take[g] += 1
        if spare > 0 and cut:
            per_group += 1
        kinds.append(Kind(KIND_WORDS[k], totals[k], room, per_group))
        room = 0

    chosen = bytearray(n)
    for g, count in enumerate(take):
        rows_of = members[g]
        size = len(rows_of)
        if count >= size:
            for i in rows_of:
                chosen[i] = 1
        else:
            for j in range(count):  # spread evenly over the group's time span
                chosen[rows_of[j * size // count]] = 1
    listed = [i for i in range(n) if chosen[i]]

    order = {c: position for position, c in enumerate((BLOCKED, FAULT, CONDITIONAL, UNDECIDED))}
    keyed: list[tuple[tuple[int, int], Group]] = []
    for g, key in enumerate(group_keys):
        rows_of = members[g]
        if take[g] >= len(rows_of):
            continue
        left = [i for i in rows_of if not chosen[i]]
        _, c, m, e, p, r, s, f = key
        line = Group(
            method=words[m],
            endpoint=endpoints.names.values[e],
            page_origin=words[p],
            verdict=VERDICT_WORDS[c],
            verdict_class=VERDICT_CLASSES[c],
            reason=words[r],
            status="" if s is None else str(s),
            finding=f,
            finding_title=_title(titles, f),
            count=len(left),
            listed=take[g],
            first=_clock(t0_ms, ms[left[0]]),
            last=_clock(t0_ms, ms[left[-1]]),
            example=ids[left[0]],
        )
        keyed.append(((order.get(c, len(order)), -line.count), line))
    keyed.sort(key=lambda pair: pair[0])
    lines = [line for _, line in keyed]
    shown, tail = lines[:SUMMARY_ROWS], lines[SUMMARY_ROWS:]
    by_verdict: dict[str, int] = {}
    for line in tail:
        by_verdict[line.verdict] = by_verdict.get(line.verdict, 0) + line.count
    summary = Summary(
        limit=limit,
        kinds=kinds,
        counted=n - len(listed),
        groups=shown,
        more_groups=len(tail),
        more_requests=sum(line.count for line in tail),
        more_by_verdict=list(by_verdict.items()),
    )
    return listed, summary


def _fair_share(sizes: Sequence[int], room: int) -> int:
    """The largest `r` with `sum(min(size, r)) <= room`: every group keeps up to `r`."""
    low, high = 0, max(sizes, default=0)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(size, middle) for size in sizes) <= room:
            low = middle
        else:
            high = middle - 1
    return low


class _Endpoints:
    """`https://api.test/users/{id}` per URL: the origin and the path with ids folded, as
    the findings name endpoints. Worked out once per distinct path (query strings, cache
    busters above all, make far more URLs than paths). Only the origin can hold a secret
    (user info); a path is shown as captured, as everywhere in the report."""

    def __init__(self, scrub: Scrubber) -> None:
        self.names = _Strings()
        self._scrub = scrub
        self._folded: dict[str, str] = {}
        self._origins: dict[str, str] = {}

    def ref(self, url: str) -> int:
        origin, path = origins.split(url)
        if origin:
            for mark in "?#":
                cut = path.find(mark)
                if cut >= 0:
                    path = path[:cut]
        folded = self._folded.get(path)
        if folded is None:
            # "X /users/{id}" → "/users/{id}"
            probe = "http://h" + path if origin else self._scrub.url(url)
            folded = self._folded[path] = endpoint_of("X", probe)[2:]
        shown = self._origins.get(origin)
        if shown is None:
            shown = self._origins[origin] = self._scrub.url(origin)
        return self.names.ref(shown + folded)


def _encode(
    listed: list[int],
    total: int,
    t0_ms: int | None,
    titles: Sequence[tuple[str, str]],
    words: list[str],
    shown_url: Callable[[int], str],
    cols: _Columns,
) -> Markup:
    """The listed rows as gzip-compressed JSON columns, base64-encoded."""
    ids, ms = cols.ids, cols.ms
    # Only the strings the listed rows use, numbered in order of first use.
    strings = _Strings()
    ref = strings.ref

    def column(refs: list[int], text: Callable[[int], str] = words.__getitem__) -> list[int]:
        remap: dict[int, int] = {}
        out = []
        append = out.append
        for i in listed:
            old = refs[i]
            new = remap.get(old)
            if new is None:
                new = remap[old] = ref(text(old))
            append(new)
        return out

    columns: dict[str, list[Any]] = {}
    c_id: list[int] = []
    c_in: list[int | None] = []
    c_t: list[int | None] = []
    last_ms = 0
    last_num = 0
    for i in listed:
        stem, num = _split_id(ids[i])
        c_id.append(ref(stem))
        if num is None:
            c_in.append(None)
        else:
            c_in.append(num - last_num)
            last_num = num
        t = ms[i]
        if t is None:
            c_t.append(None)
        else:
            c_t.append(t - last_ms)
            last_ms = t
    columns["id"], columns["in"], columns["t"] = c_id, c_in, c_t
    columns["m"], columns["u"] = column(cols.method), column(cols.url, shown_url)
    columns["s"] = [cols.status[i] for i in listed]
    columns["p"] = column(cols.page)
    columns["v"] = [cols.code[i] for i in listed]
    columns["r"] = column(cols.reason)
    columns["f"] = [cols.rank[i] for i in listed]
    columns["g"] = [cols.flags[i] for i in listed]
    columns["src"] = column(cols.source)
    payload = {
        "t0": t0_ms,
        "n": len(listed),
        "total": total,
        "strings": strings.values,
        "verdicts": VERDICT_WORDS,
        "classes": VERDICT_CLASSES,
        "findings": [[title, severity] for title, severity in titles],
        "cols": columns,
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # A HAR can carry lone surrogates, which UTF-8 cannot encode: they read as "?", as
    # in the rest of the file (`render.write_report`).
    raw = text.encode("utf-8", errors="replace")
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    return Markup(base64.b64encode(packed).decode("ascii"))  # only [A-Za-z0-9+/=]


def decode(data: str) -> dict[str, Any]:
    """The data block back as a dict with `rows`: one dict per listed row, every value as
    the page shows it (for tests and anyone reading a report by program)."""
    payload: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(data)))
    cols, s = payload["cols"], payload["strings"]
    out: list[dict[str, Any]] = []
    t = num = 0
    t0 = payload["t0"]
    for i in range(payload["n"]):
        ident = s[cols["id"][i]]
        if cols["in"][i] is not None:
            num += cols["in"][i]
            ident += str(num)
        ms = None
        if cols["t"][i] is not None:
            t += cols["t"][i]
            ms = t
        out.append(
            {
                "id": ident,
                "ms": ms,
                "time": _clock(t0, ms),
                "method": s[cols["m"][i]],
                "url": s[cols["u"][i]],
                "status": cols["s"][i],
                "page_origin": s[cols["p"][i]],
                "verdict": payload["verdicts"][cols["v"][i]],
                "reason": s[cols["r"][i]],
                "finding": cols["f"][i],
                "flags": cols["g"][i],
                "source": s[cols["src"][i]],
            }
        )
    payload["rows"] = out
    return payload


def _split_id(ident: str) -> tuple[str, int | None]:
    """`"12fc5b-17"` → `("12fc5b-", 17)`: a counting suffix encodes as a small delta. A
    suffix with a leading zero stays in the stem, so the id reads back byte for byte."""
    stem = ident.rstrip(_DIGITS)
    digits = ident[len(stem) :]
    if not digits or len(digits) > 15 or (digits[0] == "0" and len(digits) > 1):
        return ident, None
    return stem, int(digits)


def _in_time_order(decided: Sequence[Decided]) -> tuple[list[Decided], list[float | None]]:
    """Sorted by start, undated last (a capture usually is already), with the starts. A
    start no calendar holds (a hostile capture's inf, NaN, 1e300) counts as undated."""
    starts = [_dated(d.exchange.started) for d in decided]
    previous = float("-inf")
    dated = True
    for started in starts:
        if started is None:
            dated = False
        elif not dated or started < previous:
            order = sorted(range(len(starts)), key=lambda i: _start_key(starts[i]))
            return [decided[i] for i in order], [starts[i] for i in order]
        else:
            previous = started
    return list(decided), starts


def _dated(started: float | None) -> float | None:
    return started if started is not None and fmt.is_calendar_time(started) else None


def _start_key(started: float | None) -> tuple[bool, float]:
    return (started is None, started or 0.0)


def _title(titles: Sequence[tuple[str, str]], rank: int) -> str:
    return titles[rank - 1][0] if 0 < rank <= len(titles) else ""


def _clock(t0_ms: int | None, ms: int | None) -> str:
    """HH:MM:SS.mmm in UTC, computed as the script does (integer milliseconds)."""
    if t0_ms is None or ms is None:
        return ""
    seconds, millis = divmod(t0_ms + ms, 1000)
    moment = fmt.utc(seconds)
    return moment.strftime("%H:%M:%S.") + f"{millis:03d}" if moment is not None else ""
