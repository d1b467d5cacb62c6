"""mitmproxy flow files, read straight from the tnetstring bytes.

mitmproxy's `FlowReader` turns every record into a full `HTTPFlow` (connections,
certificates, bodies copied into memory), around a millisecond per flow. The analysis needs
a dozen fields per flow, so this reader works on an mmap of the file and never copies a
body it does not need: only the excerpt of preflight and error responses is read.

Three ways to read a record, fastest first:

1. `_fast`: the exact layout mitmproxy 11 and 12 write (format version 21, keys in
   `get_state` order reversed), matched by a few regular expressions. Every length prefix
   in the record is checked against what the expressions matched, so a record is either
   parsed exactly as tnetstring would parse it, or not at all.
2. `_generic`: a walk over the tnetstring items of any layout of the versions in
   `KNOWN_VERSIONS`, skipping the items it does not need by their length prefix.
3. mitmproxy's own `FlowReader`, for records neither understands (other format versions,
   fields of unexpected types). Such files still read, just slower, and a record mitmproxy
   refuses stops the file exactly as `flows.read_flows` stops it.

Memory follows what is kept, not the file: pages already read are unmapped as the reader
moves on, so even a file larger than memory reads in a window of tens of MB.

What comes out is, field for field, what `flows.read_flows` builds from `HTTPFlow`s: the URL
is mitmproxy's `pretty_url`, header bytes are decoded the same way, a body is inflated by
mitmproxy's own decoder where mitmproxy is importable. `tests/analysis/readers/
test_flowstream.py` holds the two readers to that over generated and recorded files.

Standard library only, except for records handed to mitmproxy and for inflating bodies.
"""

from __future__ import annotations

import contextlib
import ipaddress
import mmap
import operator
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analysis import orb
from analysis.model import Headers, Request, Response, Transaction

from .captured import Captured, Loaded
from .errors import InputError
from .flows import _metadata_hints

BODY_EXCERPT_BYTES = 1024
_MAX_DECODE_BYTES = 1 << 20
"""Compressed error bodies larger than this are not inflated just for an excerpt."""

KNOWN_VERSIONS: frozenset[int] = frozenset({19, 20, 21})
"""Flow format versions whose HTTP fields this reader knows. 19 brought today's field names
(`server_conn.peername`); 20 and 21 changed only connection fields the analysis ignores.
mitmproxy 11 and 12 both write 21."""

ProgressFn = Callable[[int, int], None]
"""Called now and then with (bytes read, file size)."""

_PROGRESS_EVERY = 1024
"""Records between progress calls: rare enough to cost nothing, often enough for a bar."""

# FlowReader's message for any framing it cannot parse; kept so that warnings read the same.
_INVALID = "Invalid data format."

_COMMA, _SEMI, _HASH, _CARET, _BANG, _TILDE, _RBRACKET, _RBRACE = b",;#^!~]}"

_HTTP2_OR_3 = (b"HTTP/2.0", b"HTTP/3")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AUTHORITY = re.compile(r"^(?P<host>[^:]+|\[.+\])(?::(?P<port>\d+))?$")
_LABEL = re.compile(rb"[A-Z\d\-_]{1,63}$", re.IGNORECASE)

_INTERN_LIMIT = 200_000
"""Distinct header fields shared per file. Traffic repeats most fields verbatim (content
types, CORS headers, user agents); one tuple per distinct field instead of one per
occurrence is much of what keeps a million exchanges in memory. The cache is dropped when
it grows past this, which only costs sharing, never correctness."""
_WORDS_LIMIT = 4096
"""Distinct methods, versions and reasons kept as one string each; more is a damaged file."""
_RELEASE_BYTES = 32 << 20
"""How much of the file may stay mapped in behind the reader."""
_CACHE_LIMIT = 4096
"""Distinct entries kept per cache of repeated parts: `server_conn` states (every flow on a
connection repeats it), request header lists, scheme://host:port per Host header. Dropped
when full, which costs speed, never correctness."""

_PSEUDO = ("", "")
"""Stands for an HTTP/2 pseudo header among decoded fields: dropped from `Headers`."""


class _Malformed(Exception):
    """The bytes are not what this reader expected; a slower reader takes over."""


class _FlowError(Exception):
    """mitmproxy's own reader refused a record; the message is its reason."""


def read_flow_file(
    path: str | os.PathLike[str], progress: ProgressFn | None = None, *, jobs: int = 1
) -> Loaded:
    """The file's transactions; with `jobs` > 1 a large file is read by that many
    processes at once (`flowsplit.py`), with the same result."""
    return read_flow_file_counting(path, progress, jobs=jobs)[0]


def read_flow_file_counting(
    path: str | os.PathLike[str], progress: ProgressFn | None = None, *, jobs: int = 1
) -> tuple[Loaded, Counter[str]]:
    """`read_flow_file`, and how many records each way of reading took ("fast",
    "generic", "mitmproxy"): for tests and benchmarks."""
    spath = os.fspath(path)
    try:
        f = open(spath, "rb")  # closed by the `with` below
    except OSError as e:
        raise InputError(spath, e.strerror or str(e)) from None
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
            buf: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError) as e:
            raise InputError(spath, getattr(e, "strerror", None) or str(e)) from None
        try:
            if isinstance(buf, mmap.mmap) and hasattr(mmap, "MADV_SEQUENTIAL"):
                with contextlib.suppress(OSError):
                    buf.madvise(mmap.MADV_SEQUENTIAL)
            if jobs > 1 and isinstance(buf, mmap.mmap):
                from .flowsplit import read_split

                split = read_split(buf, size, spath, progress, jobs)
                if split is not None:
                    return split
            reader = _FileReader(buf, size, spath, progress)
            return reader.run(), reader.ways
        finally:
            if isinstance(buf, mmap.mmap):
                buf.close()


def release_pages(buf: Any, start: int, end: int) -> int:
    """Unmap the whole pages of the mapping between `start` and `end`; where the next
    release begins. Every page this process touched in the mapping counts as its memory
    until then, so reading a 5 GB file would look like (and, under pressure, be) 5 GB
    held; nothing refers back to pages already read."""
    start -= start % mmap.PAGESIZE
    end -= end % mmap.PAGESIZE
    if end > start:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            buf.madvise(mmap.MADV_DONTNEED, start, end - start)
    return max(start, end)


# --- tnetstring framing ------------------------------------------------------------------


def _extent(buf: Any, pos: int, limit: int) -> tuple[int, int]:
    """(start of the data, position of the type tag) of the item at `pos`, which must end
    before `limit`."""
    colon = buf.find(b":", pos, pos + 13)
    if colon <= pos:
        raise _Malformed
    digits = buf[pos:colon]
    if not digits.isdigit():
        raise _Malformed
    start = colon + 1
    end = start + int(digits)
    if end >= limit:
        raise _Malformed
    return start, end


def _value(buf: Any, pos: int, limit: int) -> tuple[Any, int]:
    """The item at `pos` as `mitmproxy.io.tnetstring` loads it, and the next position."""
    start, end = _extent(buf, pos, limit)
    tag = buf[end]
    if tag == _COMMA:
        return buf[start:end], end + 1
    if tag == _SEMI:
        return buf[start:end].decode("utf-8"), end + 1
    if tag == _HASH:
        return int(buf[start:end]), end + 1
    if tag == _CARET:
        return float(buf[start:end]), end + 1
    if tag == _BANG:
        data = buf[start:end]
        if data == b"true":
            return True, end + 1
        if data == b"false":
            return False, end + 1
        raise _Malformed
    if tag == _TILDE:
        if end != start:
            raise _Malformed
        return None, end + 1
    if tag == _RBRACKET:
        items = []
        p = start
        while p < end:
            item, p = _value(buf, p, end)
            items.append(item)
        return items, end + 1
    if tag == _RBRACE:
        obj: dict[Any, Any] = {}
        p = start
        while p < end:
            key, p = _value(buf, p, end)
            obj[key], p = _value(buf, p, end)
        return obj, end + 1
    raise _Malformed


def _skip(buf: Any, pos: int, limit: int) -> int:
    return _extent(buf, pos, limit)[1] + 1


def _key(buf: Any, pos: int, limit: int) -> tuple[str, int]:
    start, end = _extent(buf, pos, limit)
    if buf[end] != _SEMI:
        raise _Malformed  # byte-string keys: a format from before Python 3, left to mitmproxy
    return buf[start:end].decode("utf-8"), end + 1


def _number(value: bytes, tag: bytes) -> int | float | None:
    if tag == b"#":
        return int(value)
    if tag == b"^":
        return float(value)
    if value:
        raise _Malformed
    return None


def _timestamps_typed(msg: _Message) -> bool:
    """What mitmproxy's own check of a message's fields demands of its times (a number
    to start, a number or null to end; ints and bools pass as numbers). A record that
    fails it is refused by `FlowReader` ("Invalid data format."), so it goes there."""
    start, end = msg.timestamp_start, msg.timestamp_end
    return isinstance(start, int | float) and (end is None or isinstance(end, int | float))


# --- the fields the analysis reads -------------------------------------------------------


@dataclass(slots=True)
class _Message:
    """A request's or response's state, reduced to what the analysis reads."""

    version: bytes
    names: tuple[bytes, ...]
    values: tuple[bytes, ...]
    inners: tuple[bytes, ...] | None
    """Each field's tnetstring bytes without its outer frame, where the fast way saw them:
    the key under which the field's decoded pair is shared."""
    timestamp_start: Any
    timestamp_end: Any
    content: tuple[int, int] | None = None
    """Where the body's bytes lie in the file; None for a missing body."""
    lowered: bytes | None = None
    """The names for `_header`, made on first use."""
    block: _Block | None = None
    # request only
    method: bytes = b""
    scheme: bytes = b""
    host: Any = ""
    port: Any = 0
    path: bytes = b""
    authority: bytes = b""
    # response only
    status: Any = 0
    reason: bytes = b""


@dataclass(slots=True)
class _Block:
    """One header list as parsed, shared by every message that sent the same bytes."""

    names: tuple[bytes, ...]
    values: tuple[bytes, ...]
    inners: tuple[bytes, ...]
    headers: Headers | None = None


@dataclass(slots=True)
class _Flow:
    version: Any
    kind: Any
    request: _Message | None = None
    response: _Message | None = None
    error: Any = None
    server: tuple[Any, Any] | None = None
    """(peername, timestamp_start) of `server_conn`, None when it is null."""
    metadata: Any = None


class _Layout:
    """A run of fields as mitmproxy 11 and 12 lay them out, as one regular expression.

    `_item("x")` captures an item and its length prefix (groups `x` and `x_n`); `match`
    holds every prefix to what matched, in one comparison. Then the match is the
    tnetstring parse of those bytes, whatever the items contain: an item that happens to
    contain the text that follows it ends the lazy match early, and fails the check."""

    def __init__(self, *parts: bytes) -> None:
        self.regex = re.compile(b"".join(parts), re.S)
        index = self.regex.groupindex
        # Positions in `Match.groups()`, which is cheaper to take than `groupdict()`.
        pairs = [(index[n + "_n"] - 1, index[n] - 1) for n in index if n + "_n" in index]
        self.lengths = _getter([n for n, _ in pairs])
        self.items = _getter([v for _, v in pairs])

    def match(self, buf: Any, pos: int, endpos: int) -> re.Match[bytes]:
        """The match, whose groups are read by name (`m["path"]`)."""
        m = self.regex.match(buf, pos, endpos)
        if m is None:
            raise _Malformed
        found = m.groups()
        lengths, items = self.lengths(found), self.items(found)
        if None in lengths:  # optional items that were absent
            kept = [(n, v) for n, v in zip(lengths, items, strict=True) if n is not None]
            lengths, items = tuple(n for n, _ in kept), tuple(v for _, v in kept)
        if list(map(int, lengths)) != list(map(len, items)):
            raise _Malformed
        return m


def _getter(keys: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """`operator.itemgetter` that always gives a tuple."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        key = keys[0]
        return lambda found: (found[key],)
    return lambda found: ()


def _item(name: str, value: bytes = rb".*?", tag: bytes = rb",") -> bytes:
    """A length-prefixed item: bytes (","), str (";"), int ("#")..."""
    n = name.encode()
    return rb"(?P<%s_n>\d{1,12}):(?P<%s>%s)%s" % (n, n, value, tag)


def _ts(name: str) -> bytes:
    """A timestamp: int, float or null; its tag in `<name>_t`."""
    n = name.encode()
    return rb"(?P<%s_n>\d{1,12}):(?P<%s>[^#^~]*)(?P<%s_t>[#^~])" % (n, n, n)


def _size(name: str) -> bytes:
    """The length prefix of an item skipped by its length (a body, a connection)."""
    return rb"(?P<%s>\d{1,12}):" % name.encode()


_RESPONSE_HEAD = (
    rb"6:reason;"
    + _item("reason")
    + rb"11:status_code;"
    + _item("status", rb"\d{1,12}", rb"#")
    + rb"13:timestamp_end;"
    + _ts("resp_end")
    + rb"15:timestamp_start;"
    + _ts("resp_start")
    + rb"8:trailers;0:~7:content;(?:0:~|"
    + _size("resp_body")
    + rb")"
)
_REQUEST_HEAD = (
    rb"7:request;"
    + _size("request")
    + rb"4:path;"
    + _item("path")
    + rb"9:authority;"
    + _item("authority")
    + rb"6:scheme;"
    + _item("scheme")
    + rb"6:method;"
    + _item("method")
    + rb"4:port;"
    + _item("port", rb"\d{1,12}", rb"#")
    + rb"4:host;"
    + _item("host", rb".*?", rb";")
    + rb"13:timestamp_end;"
    + _ts("req_end")
    + rb"15:timestamp_start;"
    + _ts("req_start")
    + rb"8:trailers;0:~7:content;(?:0:~|"
    + _size("req_body")
    + rb")"
)
_CONNECTION_FLAGS = (
    rb"6:marked;"
    + _item("marked", tag=rb";")
    + rb"9:is_replay;(?:0:~|"
    + _item("replay", rb"[a-z]*", rb";")
    + rb")11:intercepted;(?:5:false!|4:true!)11:server_conn;(?:0:~|"
    + _size("server")
    + rb")"
)
_BACKUP_TO_METADATA = (
    rb"6:backup;0:~17:timestamp_created;"
    + _ts("created")
    + rb"7:comment;"
    + _item("comment", tag=rb";")
    + rb"8:metadata;"
)
_ID_TO_END = (
    rb"2:id;" + _item("id", tag=rb";") + rb"4:type;4:http;7:version;2:(?P<version>19|20|21)#\}"
)

# Up to the response body, or without a response up to the request body.
_START = _Layout(rb"9:websocket;0:~8:response;", _size("response"), _RESPONSE_HEAD)
_NO_RESPONSE = b"9:websocket;0:~8:response;0:~"
_START_NO_RESPONSE = _Layout(_NO_RESPONSE, _REQUEST_HEAD)
# After the response headers: the end of the response, the request up to its body.
_RESPONSE_END = _Layout(rb"12:http_version;" + _item("resp_version") + rb"\}", _REQUEST_HEAD)
# After the request headers, up to the server connection; the usual case first.
_REQUEST_END = _Layout(
    rb"12:http_version;" + _item("req_version") + rb"\}",
    _BACKUP_TO_METADATA,
    rb"0:\}",
    _CONNECTION_FLAGS,
)
_REQUEST_END_METADATA = _Layout(
    rb"12:http_version;" + _item("req_version") + rb"\}",
    _BACKUP_TO_METADATA,
    _size("metadata"),
)
_FLAGS = _Layout(_CONNECTION_FLAGS)
_CLIENT = _Layout(rb"11:client_conn;", _size("client"))
# After the client connection, to the end; the usual case (no error) first.
_END = _Layout(rb"5:error;0:~", _ID_TO_END)
_ERROR = _Layout(rb"5:error;", _size("error"))
_TAIL = _Layout(_ID_TO_END)
_HEADERS = re.compile(rb"7:headers;(\d{1,12}):")
_TS = rb"(\d{1,12}):([^#^~]*)([#^~])"
_OPT_STR = rb"(?:0:~|(\d{1,12}):(.*?);)"
_LIST = rb"(\d{1,12}):(.*?)\]"
_SERVER = re.compile(
    rb"3:via;0:~19:timestamp_tcp_setup;"
    + _TS
    + rb"7:address;"
    + _LIST
    + rb"19:timestamp_tls_setup;"
    + _TS
    + rb"13:timestamp_end;"
    + _TS
    + rb"15:timestamp_start;"
    + _TS
    + rb"3:sni;"
    + _OPT_STR
    + rb"11:tls_version;"
    + _OPT_STR
    + rb"11:cipher_list;"
    + _LIST
    + rb"6:cipher;"
    + _OPT_STR
    + rb"11:alpn_offers;"
    + _LIST
    + rb"4:alpn;(?:0:~|(\d{1,12}):(.*?),)16:certificate_list;"
    + _LIST
    + rb"3:tls;(?:5:false!|4:true!)5:error;"
    + _OPT_STR
    + rb"18:transport_protocol;(\d{1,12}):(.*?);2:id;(\d{1,12}):(.*?);"
    + rb"8:sockname;(?:0:~|"
    + _LIST
    + rb")8:peername;(?:0:~|(\d{1,12}):)",
    re.S,
)
"""`server_conn` as mitmproxy 11 and 12 write it: peername comes last."""
_SERVER_PAIRS = (0, 3, 5, 8, 11, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34)
"""Indexes of the (length prefix, item) group pairs in `_SERVER`, item right after."""
_FIELD = re.compile(rb"(\d{1,12}):((\d{1,12}):([^,]*),(\d{1,12}):([^\]]*),)\]", re.S)
"""A header field whose name has no "," and whose value has no "]": nearly all of them,
and twice as fast to find as `_ANY_FIELD`, which takes the rest."""
_ANY_FIELD = re.compile(rb"(\d{1,12}):((\d{1,12}):(.*?),(\d{1,12}):(.*?),)\]", re.S)


def _split_fields(
    block: bytes, pattern: re.Pattern[bytes]
) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]] | None:
    """(names, values, fields) of a header list's bytes, or None where the pattern does
    not give the tnetstring parse.

    It does when the fields tile the block and every name and value has the length its
    prefix announces: then each field ends where its own bytes say, so a value that
    contains framing (say `x,]9:5:Inject,...`) cannot pass for a field of its own. A
    field's own length prefix is then implied; a wrong one is a damaged file, which
    mitmproxy would refuse and this accepts, like the connection state it skips."""
    rows = pattern.findall(block)
    if not rows:
        return None
    field_lens, inners, name_lens, names, value_lens, values = zip(*rows, strict=True)
    tiles = sum(map(len, field_lens + inners)) + 2 * len(rows) == len(block)
    if not tiles or list(map(int, name_lens + value_lens)) != list(map(len, names + values)):
        return None
    return names, values, inners


class _FileReader:
    def __init__(self, buf: Any, size: int, path: str, progress: ProgressFn | None) -> None:
        self.buf = buf
        self.size = size
        self.path = path
        self.progress = progress
        self.loaded = Loaded(captured=[], format="flows")
        self.records = 0
        self.warned_version = False
        self.fields: dict[bytes, tuple[str, str]] = {}
        """Decoded header fields by their tnetstring bytes."""
        self.pairs: dict[tuple[str, str], tuple[str, str]] = {}
        """The one tuple shared by every occurrence of a field."""
        self.names: dict[str, str] = {}
        """One string per header name, for the fields too varied to share (request ids,
        dates, tokens): their names repeat where their values do not."""
        self.servers: dict[bytes, tuple[Any, Any] | None] = {}
        self.ways: Counter[str] = Counter()
        self.released = 0
        """Where the pages still mapped in begin (see `_release`)."""
        self.stopped = False
        """A record ended the reading early (`_stop`)."""
        self.origins: dict[tuple[Any, ...], str] = {}
        self.blocks: dict[bytes, _Block] = {}
        self.words: dict[str, dict[bytes, str]] = {"method": {}, "version": {}, "reason": {}}
        """Methods, versions, reasons: a handful of values, one string each."""

    def run(self, start_at: int = 0, stop_at: int | None = None, records: int = 0) -> Loaded:
        """Read the records from `start_at` to `stop_at` (a record boundary; default the
        end of the file), the first of them being record number `records` + 1."""
        buf, size = self.buf, self.size
        stop = size if stop_at is None else stop_at
        self.released = start_at - start_at % mmap.PAGESIZE
        pos = start_at
        self.records = records
        while pos < stop:
            try:
                start, end = _extent(buf, pos, size)
            except _Malformed:
                self._stop(_INVALID)
                break
            try:
                captured = self._record(pos, start, end)
            except _FlowError as e:
                self._stop(str(e))
                break
            self.records += 1
            if captured is None:
                self.loaded.skipped += 1
            else:
                self.loaded.captured.append(captured)
            pos = end + 1
            if self.records % 64 == 0:
                self._release(pos)
                if self.records % _PROGRESS_EVERY == 0:
                    if self.progress is not None:
                        self.progress(pos, size)
                    if len(self.fields) > _INTERN_LIMIT:
                        self.fields.clear()
                    if len(self.pairs) > _INTERN_LIMIT:
                        self.pairs.clear()
                    if len(self.names) > _INTERN_LIMIT:
                        self.names.clear()
        if self.progress is not None:
            self.progress(pos, size)
        return self.loaded

    def _release(self, pos: int) -> None:
        """Unmap the pages before `pos`, once enough of them are behind the reader."""
        if pos - self.released >= _RELEASE_BYTES and isinstance(self.buf, mmap.mmap):
            self.released = release_pages(self.buf, self.released, pos)

    def _stop(self, reason: str) -> None:
        """What `flows.read_flows` does when mitmproxy stops reading a file."""
        self.stopped = True
        if self.records == 0:
            raise InputError(self.path, f"not a readable mitmproxy flow file: {reason}")
        self.loaded.warnings.append(
            f"{self.path}: stopped after {self.records} complete flows: {reason} "
            "(file truncated?); kept those"
        )

    def _record(self, pos: int, start: int, end: int) -> Captured | None:
        number = self.records + 1
        if self.buf[end] == _RBRACE:
            flow = None
            way = "fast"
            try:
                flow = self._fast(start, end)
            except (_Malformed, ValueError, IndexError, TypeError, OverflowError):
                flow = None
            if flow is None:
                way = "generic"
                try:
                    flow = self._generic(start, end)
                except (_Malformed, ValueError, IndexError, KeyError, TypeError, OverflowError):
                    flow = None
            if flow is not None and not (
                isinstance(flow.version, int) and flow.version in KNOWN_VERSIONS
            ):
                # Only a record that names a format version is a flow of another version
                # (old ones name it as a list, like [0, 11]); the rest is mitmproxy's to refuse.
                if not self.warned_version and isinstance(flow.version, int | list):
                    self.warned_version = True
                    self.loaded.warnings.append(
                        f"{self.path}: flow format version {flow.version!r} is not one "
                        "corscope parses itself; reading those flows with mitmproxy (slower)"
                    )
                flow = None
            if flow is not None:
                if flow.kind != "http":
                    self.ways[way] += 1
                    return None
                try:
                    captured = self._captured(flow, number)
                except (_Malformed, ValueError, IndexError, KeyError, TypeError, AttributeError):
                    pass  # let mitmproxy say what is wrong with it
                else:
                    self.ways[way] += 1
                    return captured
        self.ways["mitmproxy"] += 1
        return self._with_mitmproxy(self.buf[pos : end + 1], number)

    # --- 1. the layout mitmproxy 11 and 12 write -------------------------------------------

    def _fast(self, start: int, end: int) -> _Flow:
        buf = self.buf
        flow = _Flow(version=None, kind="http")
        if buf[start : start + len(_NO_RESPONSE)] == _NO_RESPONSE:
            m = _START_NO_RESPONSE.match(buf, start, end)
        else:
            m = _START.match(buf, start, end)
            rend = m.end("response") + 1 + int(m["response"])
            p, content = self._body(m.end(), m["resp_body"], rend)
            response = _Message(
                version=b"",
                names=(),
                values=(),
                inners=None,
                timestamp_start=_number(m["resp_start"], m["resp_start_t"]),
                timestamp_end=_number(m["resp_end"], m["resp_end_t"]),
                content=content,
                status=_status(int(m["status"])),
                reason=m["reason"],
            )
            p = self._fast_headers(response, p, rend)
            m = _RESPONSE_END.match(buf, p, end)
            if m.end("resp_version") + 1 != rend:
                raise _Malformed
            response.version = m["resp_version"]
            flow.response = response
        qend = m.end("request") + 1 + int(m["request"])
        p, content = self._body(m.end(), m["req_body"], qend)
        flow.request = _Message(
            version=b"",
            names=(),
            values=(),
            inners=None,
            timestamp_start=_number(m["req_start"], m["req_start_t"]),
            timestamp_end=_number(m["req_end"], m["req_end_t"]),
            content=content,
            path=m["path"],
            authority=m["authority"],
            scheme=m["scheme"],
            method=m["method"],
            port=int(m["port"]),
            host=m["host"].decode("utf-8"),
        )
        p = self._fast_headers(flow.request, p, qend)

        try:
            m = _REQUEST_END.match(buf, p, end)
            flow.metadata = {}
        except _Malformed:
            m = _REQUEST_END_METADATA.match(buf, p, end)
            if m.end("req_version") + 1 != qend:
                raise _Malformed from None
            flow.request.version = m["req_version"]
            flow.metadata, p = _value(buf, m.start("metadata"), end)
            m = _FLAGS.match(buf, p, end)
        else:
            if m.end("req_version") + 1 != qend:
                raise _Malformed
            flow.request.version = m["req_version"]
        p = m.end()
        if m["server"] is not None:
            send = p + int(m["server"])
            if send >= end or buf[send] != _RBRACE:
                raise _Malformed
            flow.server = self._server(p, send)
            p = send + 1

        m = _CLIENT.match(buf, p, end)
        p = m.end() + int(m["client"])
        if p >= end or buf[p] != _RBRACE:
            raise _Malformed
        try:
            m = _END.match(buf, p + 1, end + 1)
        except _Malformed:
            m = _ERROR.match(buf, p + 1, end)
            flow.error, p = _value(buf, m.start("error"), end)
            m = _TAIL.match(buf, p, end + 1)
        if m.end() != end + 1:
            raise _Malformed
        flow.version = int(m["version"])
        return flow

    def _body(self, pos: int, size: bytes | None, end: int) -> tuple[int, tuple[int, int] | None]:
        """Skip a body whose length prefix matched as `size` (None: a null body)."""
        if size is None:
            return pos, None
        bend = pos + int(size)
        if bend >= end or self.buf[bend] != _COMMA:
            raise _Malformed
        return bend + 1, (pos, bend)

    def _fast_headers(self, msg: _Message, pos: int, end: int) -> int:
        """Fill in the message's header fields from the list at `pos`; where it ends."""
        buf = self.buf
        m = _HEADERS.match(buf, pos, end)
        if m is None:
            raise _Malformed
        hstart = m.end()
        hend = hstart + int(m.group(1))
        if hend >= end or buf[hend] != _RBRACKET:
            raise _Malformed
        if hend == hstart:
            return hend + 1
        block = buf[hstart:hend]
        # A browser sends the same request headers again and again: such messages share
        # one parse and, in the end, one `Headers`.
        known = self.blocks.get(block)
        if known is None:
            split = _split_fields(block, _FIELD) or _split_fields(block, _ANY_FIELD)
            if split is None:
                raise _Malformed
            known = _Block(*split)
            if len(self.blocks) > _CACHE_LIMIT:
                self.blocks.clear()
            self.blocks[block] = known
        msg.names, msg.values, msg.inners, msg.block = (
            known.names,
            known.values,
            known.inners,
            known,
        )
        return hend + 1

    def _server(self, start: int, end: int) -> tuple[Any, Any]:
        """(peername, timestamp_start); every flow over one connection repeats its state,
        so the answer is remembered by the state's bytes."""
        block = self.buf[start:end]
        known = self.servers.get(block)
        if known is None:
            known = self._server_fast(start, end) or self._server_walk(start, end)
            if len(self.servers) > _CACHE_LIMIT:
                self.servers.clear()
            self.servers[block] = known
        return known

    def _server_fast(self, start: int, end: int) -> tuple[Any, Any] | None:
        m = _SERVER.match(self.buf, start, end)
        if m is None:
            return None
        g = m.groups()
        for i in _SERVER_PAIRS:
            if g[i] is not None and int(g[i]) != len(g[i + 1]):
                return None
        if g[36] is None:
            if m.end() != end:
                return None
            peer = None
        else:
            peer, p = _value(self.buf, m.end() - len(g[36]) - 1, end + 1)
            if p != end:
                return None
        return peer, _number(g[12], g[13])

    def _server_walk(self, start: int, end: int) -> tuple[Any, Any]:
        buf = self.buf
        server: dict[str, Any] = {}
        p = start
        while p < end:
            key, p = _key(buf, p, end)
            if key in ("peername", "timestamp_start"):
                server[key], p = _value(buf, p, end)
            else:
                p = _skip(buf, p, end)
        return server.get("peername"), server.get("timestamp_start")

    # --- 2. any layout of a known version ----------------------------------------------------

    def _generic(self, start: int, end: int) -> _Flow:
        buf = self.buf
        flow = _Flow(version=None, kind=None)
        # Where the messages are; parsed once `type` says they are HTTP (DNS flows have
        # a request and a response too).
        messages: dict[str, tuple[int, int]] = {}
        p = start
        while p < end:
            key, p = _key(buf, p, end)
            if key in ("request", "response"):
                vstart, vend = _extent(buf, p, end)
                tag = buf[vend]
                if tag == _RBRACE:
                    messages[key] = (vstart, vend)
                elif tag != _TILDE or vend != vstart:
                    raise _Malformed
                p = vend + 1
            elif key == "server_conn":
                vstart, vend = _extent(buf, p, end)
                if buf[vend] == _RBRACE:
                    flow.server = self._server(vstart, vend)
                elif buf[vend] != _TILDE:
                    raise _Malformed
                p = vend + 1
            elif key == "type":
                flow.kind, p = _value(buf, p, end)
            elif key == "version":
                flow.version, p = _value(buf, p, end)
            elif key == "error":
                flow.error, p = _value(buf, p, end)
            elif key == "metadata":
                flow.metadata, p = _value(buf, p, end)
            else:
                p = _skip(buf, p, end)  # connections, websocket messages, backups, ...
        if flow.kind == "http":
            if "request" not in messages:
                raise _Malformed
            flow.request = self._message(*messages["request"])
            if "response" in messages:
                flow.response = self._message(*messages["response"])
        return flow

    def _message(self, start: int, end: int) -> _Message:
        buf = self.buf
        fields: dict[str, Any] = {}
        names: tuple[bytes, ...] = ()
        values: tuple[bytes, ...] = ()
        content = None
        p = start
        while p < end:
            key, p = _key(buf, p, end)
            if key == "headers":
                vstart, vend = _extent(buf, p, end)
                if buf[vend] != _RBRACKET:
                    raise _Malformed
                pairs = []
                q = vstart
                while q < vend:
                    pair, q = _value(buf, q, vend)
                    if (
                        not isinstance(pair, list)
                        or len(pair) != 2
                        or not isinstance(pair[0], bytes)
                        or not isinstance(pair[1], bytes)
                    ):
                        raise _Malformed
                    pairs.append(pair)
                names = tuple(n for n, _ in pairs)
                values = tuple(v for _, v in pairs)
                p = vend + 1
            elif key == "content":
                vstart, vend = _extent(buf, p, end)
                tag = buf[vend]
                if tag == _COMMA:
                    content = (vstart, vend)
                elif tag != _TILDE:
                    raise _Malformed
                p = vend + 1
            elif key in ("trailers", "timestamp_created"):
                p = _skip(buf, p, end)
            else:
                fields[key], p = _value(buf, p, end)
        msg = _Message(
            version=fields["http_version"],
            names=names,
            values=values,
            inners=None,
            timestamp_start=fields["timestamp_start"],
            timestamp_end=fields["timestamp_end"],
            content=content,
        )
        if "status_code" in fields:
            msg.status = fields["status_code"]
            msg.reason = fields["reason"]
        else:
            msg.method = fields["method"]
            msg.scheme = fields["scheme"]
            msg.host = fields["host"]
            msg.port = fields["port"]
            msg.path = fields["path"]
            msg.authority = fields["authority"]
        return msg

    # --- the flow as `flows._captured` sees it ---------------------------------------------

    def _captured(self, flow: _Flow, number: int) -> Captured | None:
        req = flow.request
        if req is None:
            raise _Malformed
        method = self._word("method", req.method)
        if method.upper() == "CONNECT":
            return None
        request = Request(
            method=method,
            url=self._url(req, method),
            headers=self._headers(req),
            http_version=self._word("version", req.version) or None,
        )
        resp = flow.response
        response = (
            self._response(resp, method, flow.server, request.headers) if resp is not None else None
        )

        error = None
        error_at = None
        if flow.error:  # an empty error state is none, as mitmproxy reads it
            error = flow.error["msg"]
            error_at = flow.error["timestamp"]
            if not isinstance(error, str):
                raise _Malformed

        for msg in (req, resp):
            if msg is not None and not _timestamps_typed(msg):
                raise _Malformed
        started = req.timestamp_start
        end: float | None = None
        if resp is not None:
            end = resp.timestamp_end or resp.timestamp_start
        elif flow.error is not None:
            end = error_at
        duration = (end - started) * 1000.0 if end and started else None

        peer = flow.server[0] if flow.server is not None else None
        tx = Transaction(
            request=request,
            response=response,
            error=error,
            started=started,
            duration_ms=duration if duration is not None and duration >= 0 else None,
            server_ip=str(peer[0]) if peer else None,
        )
        metadata = flow.metadata
        if not metadata:
            return Captured(tx=tx, order=number)
        hints, entry_id = _metadata_hints(metadata, number, self.path)
        return Captured(tx=tx, hints=hints, order=number, id=entry_id)

    def _word(self, kind: str, value: bytes) -> str:
        """A method, version or reason as mitmproxy decodes it, one string per value: a
        million exchanges would otherwise hold a million copies of "GET" and "HTTP/1.1"."""
        known = self.words[kind]
        word = known.get(value)
        if word is None:
            # A method as sent, unlike mitmproxy's upper-cased `Request.method`: fetch
            # upper-cases only six, and a preflight announces `patch` for a `patch`.
            word = value.decode("iso-8859-1") if kind == "reason" else _native(value)
            if len(known) < _WORDS_LIMIT:
                known[value] = word
        return word

    def _url(self, req: _Message, method: str) -> str:
        """`_pretty_url`; the scheme, host and port part remembered per Host header."""
        if method.upper() == "CONNECT":
            return _pretty_url(req, method)
        host_header = _header(req, b"host")
        key = (
            req.scheme,
            req.version in _HTTP2_OR_3,
            req.authority,
            host_header,
            req.host,
            req.port,
        )
        prefix = self.origins.get(key)
        if prefix is None:
            prefix = self.origins[key] = _pretty_url(req, method, host_header, path="")
            if len(self.origins) > _CACHE_LIMIT:
                self.origins.clear()
        path = _native(req.path)
        return prefix if path == "*" else prefix + path

    def _headers(self, msg: _Message) -> Headers:
        block = msg.block
        if block is not None:
            if block.headers is None:
                block.headers = self._decoded_headers(msg)
            return block.headers
        return self._decoded_headers(msg)

    def _decoded_headers(self, msg: _Message) -> Headers:
        names, values, inners = msg.names, msg.values, msg.inners
        if not names:
            return Headers()
        if inners is not None:
            # Fields seen before, by their bytes: one lookup each, all in C.
            pairs = list(map(self.fields.get, inners))
            if None in pairs:
                for i, pair in enumerate(pairs):
                    if pair is None:
                        pairs[i] = self.fields[inners[i]] = self._decoded(names[i], values[i])
            if _PSEUDO in pairs:
                pairs = [pair for pair in pairs if pair is not _PSEUDO]
            return Headers(tuple(pairs))
        try:
            # One decode for all fields; NUL cannot occur inside UTF-8 sequences, so the
            # split gives each field's own decoding whenever the counts agree.
            text_names = b"\x00".join(names).decode("utf-8").split("\x00")
            text_values = b"\x00".join(values).decode("utf-8").split("\x00")
            if len(text_names) != len(names) or len(text_values) != len(values):
                raise ValueError
        except ValueError:
            text_names = list(map(_text, names))
            text_values = list(map(_text, values))
        names_seen = self.names
        text_names = list(map(names_seen.setdefault, text_names, text_names))
        decoded = list(zip(text_names, text_values, strict=True))
        if any(n[:1] == ":" for n in text_names):
            decoded = [pair for pair in decoded if not pair[0].startswith(":")]
        return Headers(tuple(map(self.pairs.setdefault, decoded, decoded)))

    def _decoded(self, name: bytes, value: bytes) -> tuple[str, str]:
        key = _text(name)
        if key.startswith(":"):
            return _PSEUDO  # HTTP/2 and /3 pseudo headers are framing, not header fields
        pair = (self.names.setdefault(key, key), _text(value))
        return self.pairs.setdefault(pair, pair)

    def _response(
        self, resp: _Message, method: str, server: tuple[Any, Any] | None, sent: Headers
    ) -> Response:
        status = resp.status
        if not isinstance(status, int) or not isinstance(resp.reason, bytes):
            raise _Malformed
        excerpt = None
        if method.upper() == "OPTIONS" or status >= 400:
            excerpt = self._excerpt(resp)
        headers = self._headers(resp)
        sniffed = None
        if orb.keeps_sniff(method, sent, status, headers):
            sniffed = self._sniffed(resp)
        return Response(
            status=status,
            headers=headers,
            reason=self._word("reason", resp.reason),
            http_version=self._word("version", resp.version) or None,
            body_excerpt=excerpt,
            # No server connection behind it: mitmproxy or an addon made the response.
            made_by_proxy=server is None or server[1] is None,
            sniffed=sniffed,
        )

    def _sniffed(self, resp: _Message) -> str | None:
        """ORB's class of the decoded body's first KiB; None when the flow kept no body
        or a compressed one too large to inflate here (as `flows._sniffed`)."""
        if resp.content is None:
            return None
        start, end = resp.content
        encoding = _header(resp, b"content-encoding")
        if encoding is None:
            return orb.sniff(bytes(self.buf[start : min(end, start + orb.SNIFF_BYTES)]))
        if end - start > _MAX_DECODE_BYTES:
            return None
        return orb.sniff(bytes(_decode(self.buf[start:end], encoding)[: orb.SNIFF_BYTES]))

    def _excerpt(self, resp: _Message) -> str | None:
        if resp.content is None:
            return None
        start, end = resp.content
        if end == start:
            return None
        encoding = _header(resp, b"content-encoding")
        if encoding is not None and end - start <= _MAX_DECODE_BYTES:
            content = _decode(self.buf[start:end], encoding)
        else:
            content = self.buf[start : min(end, start + BODY_EXCERPT_BYTES)]
        if not content:
            return None
        return content[:BODY_EXCERPT_BYTES].decode("utf-8", errors="replace")

    # --- 3. records handed to mitmproxy ----------------------------------------------------

    def _with_mitmproxy(self, record: bytes, number: int) -> Captured | None:
        try:
            from mitmproxy import exceptions
            from mitmproxy import http as mhttp
        except ImportError:
            raise InputError(
                self.path,
                f"flow {number} is in a format only mitmproxy reads (pip install mitmproxy)",
            ) from None
        from .flows import _captured

        try:
            flow = _load_with_mitmproxy(record)
        # The exceptions `flows.read_flows` turns into a warning or an error.
        except (exceptions.FlowReadException, AttributeError, KeyError, TypeError, ValueError) as e:
            raise _FlowError(str(e) or type(e).__name__) from None
        if not isinstance(flow, mhttp.HTTPFlow) or flow.request.method == "CONNECT":
            return None
        return _captured(flow, number, self.path)


def _load_with_mitmproxy(record: bytes) -> Any:
    """One record through `FlowReader`, which also keeps its cross-record migration state
    (old WebSocket flows) and raises what it raises for a whole file."""
    import io

    from mitmproxy.io import FlowReader

    for flow in FlowReader(io.BytesIO(record)).stream():
        return flow
    raise ValueError(_INVALID)


# --- mitmproxy's views of the raw fields -------------------------------------------------


_STATUSES = {code: code for code in range(100, 1000)}


def _status(code: int) -> int:
    """One int object per status code: past 256, every `int()` makes a new one."""
    return _STATUSES.get(code, code)


def _native(value: bytes) -> str:
    if not isinstance(value, bytes):
        raise _Malformed
    return value.decode("utf-8", "surrogateescape")


def _text(value: bytes) -> str:
    # As mitmproxy's own Headers do: a byte that is not UTF-8 survives as a lone surrogate,
    # which no URL or token takes for a character (Chromium finds such a value invalid
    # where a latin-1 reading would make a valid one: "caf\xe9").
    return value.decode("utf-8", "surrogateescape")


def _header(msg: _Message, name: bytes) -> str | None:
    """`mitmproxy.http.Headers.get`: every value of the field, folded with ", "."""
    lowered = msg.lowered
    if lowered is None:
        # Names joined by two NULs and framed by one, lowercased in one call: a field is
        # found by its framed name, its index by the NULs before it.
        lowered = msg.lowered = b"\x00" + b"\x00\x00".join(msg.names).lower() + b"\x00"
    key = b"\x00" + name + b"\x00"
    count = lowered.count(key)
    if count == 0:
        return None
    if count == 1 and lowered.count(b"\x00") == 2 * len(msg.names):
        index = lowered.count(b"\x00", 0, lowered.find(key)) // 2
        return _native(msg.values[index])
    found = [_native(v) for k, v in zip(msg.names, msg.values, strict=True) if k.lower() == name]
    return ", ".join(found) if found else None


def _pretty_url(
    req: _Message, method: str, host_header: str | None = None, path: str | None = None
) -> str:
    """`mitmproxy.http.Request.pretty_url`, quirks included. `host_header` is the Host
    header's value when the caller looked it up already; `path` replaces the request's."""
    if method.upper() == "CONNECT":
        return _authority(req.authority)
    scheme = _native(req.scheme)
    if path is None:
        path = _native(req.path)
    if path == "*":
        path = ""
    if host_header is None:
        host_header = _header(req, b"host")
    if req.version in _HTTP2_OR_3:
        host_header = _authority(req.authority) or host_header
    if not host_header:
        host, port = req.host, req.port
        if not isinstance(host, str) or not isinstance(port, int):
            raise _Malformed
    else:
        host, parsed_port = _parse_authority(host_header)
        port = parsed_port or _DEFAULT_PORTS.get(scheme) or 443
    if _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}{path}"
    return f"{scheme}://{host}:{port}{path}"


def _authority(value: bytes) -> str:
    if not isinstance(value, bytes):
        raise _Malformed
    try:
        return value.decode("idna")
    except UnicodeError:
        return value.decode("utf8", "surrogateescape")


def _parse_authority(authority: str) -> tuple[str, int | None]:
    """`mitmproxy.net.http.url.parse_authority(authority, check=False)`."""
    m = _AUTHORITY.match(authority)
    if m:
        host = m.group("host")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if _is_valid_host(host):
            if not m.group("port"):
                return host, None
            port = int(m.group("port"))
            if 0 <= port <= 65535:
                return host, port
    return authority, None


def _is_valid_host(host: str) -> bool:
    """`mitmproxy.net.check.is_valid_host` for a str."""
    try:
        host_bytes = host.encode("idna")
    except UnicodeError:
        return False
    try:
        host_bytes.decode("idna")
    except ValueError:
        return False
    if len(host_bytes) > 255:
        return False
    if host_bytes and host_bytes.endswith(b"."):
        host_bytes = host_bytes[:-1]
    if all(_LABEL.match(x) for x in host_bytes.split(b".")):
        return True
    try:
        ipaddress.ip_address(host_bytes.decode("idna"))
        return True
    except ValueError:
        return False


def _decode(raw: bytes, encoding: str) -> bytes:
    """`Message.get_content(strict=False)`: the body inflated, or as stored when that fails."""
    if not encoding:
        return raw
    try:
        from mitmproxy.net import encoding as mencoding
    except ImportError:
        return _decode_stdlib(raw, encoding)
    try:
        content = mencoding.decode(raw, encoding)
    except (ValueError, TypeError):  # TypeError: a text codec, e.g. "rot13"
        return raw
    return content if isinstance(content, bytes) else raw


def _decode_stdlib(raw: bytes, encoding: str) -> bytes:
    """Without mitmproxy: what the standard library can inflate, else the stored bytes."""
    name = encoding.strip().lower()
    try:
        if name == "gzip":
            return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        if name == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)
    except zlib.error:
        return raw
    return raw
