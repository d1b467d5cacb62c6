"""The fast ways of the HAR reader against the plain ones, on generated and hostile input.

`read_har` streams entries from a window and converts plain entries in one quick pass;
`read_har_document` is `json.loads` of the whole file and the careful field-by-field
conversion. Whatever the input, both must give the same transactions, or the same
InputError word for word: content strings full of escapes, quotes, `"text":` and
surrogate pairs, straddling the window at every size, and entries whose fields have every
wrong type the quick pass has to hand over to the careful one.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.readers import har
from analysis.readers.captured import Captured, Loaded
from analysis.readers.errors import InputError
from analysis.readers.har import entry_to_captured

from .builders import API, PAGE, har_doc, har_entry
from .test_harstream import assert_same


@pytest.fixture(
    params=[(1 << 20, 256 * 1024), (7, 0), (64, 16), (4096, 0), (4096, 100_000)],
    ids=["1MiB", "7B", "64B", "4KiB", "4KiB-ahead"],
)
def window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks from a few bytes (every token and escape across a boundary) to the real
    size, with and without reading ahead of each entry."""
    chunk, ahead = request.param
    monkeypatch.setattr(har, "_CHUNK_BYTES", chunk)
    monkeypatch.setattr(har, "_AHEAD", ahead)
    return int(chunk)


# --- nasty content ----------------------------------------------------------------------

_PIECES = [
    '"',
    "\\",
    '\\"',
    '"text": "',
    '"text":"',
    '", "text": "x"}',
    '}, {"request": {"method": "GET"}}',
    "]}",
    "\\u0022",
    "é",
    "✓",
    "😀",
    "\ud83d",  # a lone surrogate: json writes it as an escape, and reads it back
    "\ude00",
    "\n",
    "\t",
    "\x01",
    "\x7f",
    " ",
    "abc",
    "0123456789abcdef" * 8,
    "{" * 5,
    "[" * 5,
]


def nasty_text(rnd: random.Random, size: int) -> str:
    parts: list[str] = []
    total = 0
    while total < size:
        piece = rnd.choice(_PIECES)
        if rnd.random() < 0.3:
            piece *= rnd.randrange(1, 40)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


def nasty_entry(rnd: random.Random, i: int) -> dict[str, Any]:
    method = rnd.choice(["GET", "OPTIONS", "options", "POST"])
    status = rnd.choice([200, 204, 301, 404, 500, 0])
    headers = [("Origin", PAGE), ("X-Odd", nasty_text(rnd, rnd.randrange(0, 40)))]
    response_headers = [("Access-Control-Allow-Origin", rnd.choice([PAGE, "*"]))]
    if rnd.random() < 0.2:
        response_headers = []
    entry = har_entry(
        method,
        f"{API}/items/{i}?q={nasty_text(rnd, 5)}",
        headers,
        status=status,
        response_headers=response_headers,
        started=rnd.choice(
            ["2026-11-20T09:30:00.000Z", "2026-11-20T09:30:00.5+02:00", "2026-11-20T09:30:01"]
        ),
        pageref=rnd.choice(["page_1", "page_2", None]),
        _resourceType=rnd.choice(["fetch", "xhr", "preflight", None]),
        _initiator=rnd.choice([{"type": "script"}, {"type": "preflight"}, None]),
        _fromCache=rnd.choice(["disk", "memory", None]),
    )
    if rnd.random() < 0.3:
        entry["_cors"] = {"mode": "cors", "credentials": "include"}
        if rnd.random() < 0.5:
            entry["_cors"]["proxy"] = {"name": "mitmproxy"}
    if rnd.random() < 0.2:
        entry["response"]["_error"] = "net::ERR_FAILED"
    if rnd.random() < 0.2:
        entry["_id"] = rnd.choice([7, "e7", ""])
    if rnd.random() < 0.2:
        entry["time"] = rnd.choice([3, -1, 0.25])
    # The body: sometimes huge (past the window), sometimes base64, always awkward.
    size = rnd.choice([0, 1, 30, 1500, 6000, 70_000])
    text = nasty_text(rnd, size)
    content: dict[str, Any] = {"size": len(text), "mimeType": "text/plain", "text": text}
    if rnd.random() < 0.3:
        raw = text.encode("utf-8", "surrogatepass")
        content["text"] = base64.b64encode(raw).decode()
        content["encoding"] = "base64"
    entry["response"]["content"] = content
    if rnd.random() < 0.2:
        entry["request"]["postData"] = {"mimeType": "text/plain", "text": nasty_text(rnd, 500)}
    if rnd.random() < 0.1:
        entry["_initiator"] = {"type": "script", "text": text[:3000], "stack": [[[[{}]]]]}
    return entry


def nasty_document(seed: int, entries: int = 12) -> dict[str, Any]:
    rnd = random.Random(seed)
    items = [nasty_entry(rnd, i) for i in range(entries)]
    pages = [
        {"id": "page_1", "title": f"{PAGE}/app"},
        {"id": "page_2", "title": "Some title"},
    ]
    return har_doc(items, pages=pages)


def layouts(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "compact", json.dumps(doc)
    yield "tight", json.dumps(doc, separators=(",", ":"))
    yield "pretty", json.dumps(doc, indent=2)
    yield "crlf", json.dumps(doc, indent="\t").replace("\n", "\r\n")


@pytest.mark.parametrize("seed", range(4))
def test_nasty_content_reads_the_same(seed: int, tmp_path: Path, window: int) -> None:
    doc = nasty_document(seed)
    for name, text in layouts(doc):
        path = tmp_path / f"{name}.har"
        path.write_text(text, encoding="utf-8")
        got = assert_same(path)
        assert isinstance(got, Loaded), (name, got)
        assert len(got.captured) == len(doc["log"]["entries"])  # none dropped


def test_the_quick_pass_is_taken_and_agrees(tmp_path: Path) -> None:
    """Plain entries take the quick pass (not only the careful one), and it agrees."""
    doc = nasty_document(7, entries=40)
    taken = 0
    for i, entry in enumerate(doc["log"]["entries"]):
        quick = har._quick_captured(
            copy.deepcopy(entry), "log.entries[0]", "-", i, {"page_1": f"{PAGE}/app"}, True
        )
        careful = har._careful_captured(
            entry, "log.entries[0]", "-", i, {"page_1": f"{PAGE}/app"}, True
        )
        if quick is not None:
            taken += 1
            assert quick == careful
    assert taken >= 30


# --- hostile content: the same error, never entries dropped ------------------------------


def _huge_body_document(text_json: str) -> str:
    """A document whose second entry's body is the given raw JSON string token."""
    marker = "@@BODY@@"
    entries = [har_entry(url=f"{API}/{i}", headers=[("Origin", PAGE)]) for i in range(3)]
    entries[1]["response"]["content"]["text"] = marker
    return json.dumps(har_doc(entries)).replace(json.dumps(marker), text_json)


@pytest.mark.parametrize(
    "body",
    [
        '"' + "a" * 50_000 + "\x01" + "b" * 50_000 + '"',  # a raw control character
        '"' + "a" * 50_000 + "\n" + '"',
        '"' + "a" * 70_000 + "\\x" + '"',  # an invalid escape
        '"' + "a" * 70_000 + "\\u12" + '"',
        '"' + "a" * 70_000 + '\\"' + "}]}}",  # the string never ends
        '"' + "a" * 70_000,
        '"' + "a" * 70_000 + '\\\\"' + "x",  # ends, then garbage
        '"' + "\\ud83d\\ude00" * 10_000 + '"',  # valid: surrogate pairs
        '"' + "\\ud83d" * 10_000 + '"',  # valid: lone surrogates
        '"' + "é✓😀" * 20_000 + '"',  # valid: multi-byte characters across chunks
        '"' + '\\"text\\": \\"' * 10_000 + '"',  # valid
    ],
)
def test_hostile_bodies_give_the_same_outcome(body: str, tmp_path: Path, window: int) -> None:
    path = tmp_path / "hostile.har"
    path.write_text(_huge_body_document(body), encoding="utf-8")
    got = assert_same(path)
    if isinstance(got, Loaded):
        assert len(got.captured) == 3


def test_a_bad_byte_inside_a_huge_body(tmp_path: Path, window: int) -> None:
    text = _huge_body_document('"' + "a" * 70_000 + "@" + "b" * 10 + '"').encode()
    path = tmp_path / "bytes.har"
    path.write_bytes(text.replace(b"@", b"\xff"))
    got = assert_same(path)
    assert isinstance(got, str) and "not UTF-8" in got


# --- the quick pass against the careful one, entry by entry ------------------------------

_ODD_VALUES: list[Any] = [
    None,
    "",
    "x",
    "OPTIONS",
    "disk",
    "2026-11-20T09:30:00Z",
    "not a date",
    0,
    1,
    404,
    -3,
    404.0,
    2.5,
    True,
    False,
    [],
    [1],
    {},
    {"type": 1},
    {"name": "a", "value": "b"},
    [{"name": "a", "value": "b"}],
    [{"name": ":authority", "value": "b"}],
    [{"name": "", "value": "b"}],
    [{"name": "a"}],
    [{"name": "a", "value": None}],
    [{"name": "a", "value": 1}],
    [["a", "b"]],
    [{"name": ["a"], "value": "b"}],
    {"mode": "cors"},
    {"mode": "bogus"},
    {"proxy": {}},
    {"proxy": 1, "credentials": "include"},
    {"text": "x" * 3000, "encoding": "base64"},
    {"text": base64.b64encode(b"\xff\xfe body").decode(), "encoding": "base64"},
    {"text": "%%%", "encoding": "base64"},
    {"text": 5},
    {"text": "body", "encoding": 5},
]

_PATHS: list[tuple[str, ...]] = [
    ("request",),
    ("request", "method"),
    ("request", "url"),
    ("request", "headers"),
    ("request", "httpVersion"),
    ("response",),
    ("response", "status"),
    ("response", "statusText"),
    ("response", "httpVersion"),
    ("response", "headers"),
    ("response", "content"),
    ("response", "_error"),
    ("response", "_fetchedViaServiceWorker"),
    ("response", "redirectURL"),
    ("response", "bodySize"),
    ("response", "_transferSize"),
    ("response", "content", "size"),
    ("_error",),
    ("_fromCache",),
    ("_resourceType",),
    ("_initiator",),
    ("pageref",),
    ("_cors",),
    ("time",),
    ("startedDateTime",),
    ("serverIPAddress",),
    ("_corscope_id",),
    ("_id",),
]


def _mutated(rnd: random.Random) -> object:
    entry: Any = har_entry(
        rnd.choice(["GET", "OPTIONS"]),
        headers=[("Origin", PAGE), ("Accept", "*/*")],
        status=rnd.choice([200, 404]),
        response_headers=[("Access-Control-Allow-Origin", PAGE)],
        pageref="page_1",
    )
    entry["response"]["content"]["text"] = "plain body"
    if rnd.random() < 0.3:
        # A revalidation as Playwright records it: the validator, no body on the wire.
        entry["request"]["headers"].append({"name": "If-None-Match", "value": '"v1"'})
        entry["response"]["content"]["size"] = 10
    if rnd.random() < 0.3:
        # An HTTP-cache answer as Playwright records it from Chromium.
        entry["response"].update(bodySize=-120, _transferSize=0, headersSize=120)
        entry["serverIPAddress"] = "127.0.0.2"
    for _ in range(rnd.choice([1, 1, 2, 3])):
        path = rnd.choice(_PATHS)
        target = entry
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            value = copy.deepcopy(rnd.choice(_ODD_VALUES))
            if value is None and rnd.random() < 0.5:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
    if rnd.random() < 0.05:
        return rnd.choice([None, [], "entry", 3])
    return entry


def _convert(fn: Callable[..., Captured], entry: object, pages: dict[str, str]) -> list[object]:
    """The outcome for errors judged browser-side and proxy-side, and with sizes marking
    cache answers (Playwright's Chromium HARs)."""
    out: list[object] = []
    for side, sizes in ((True, False), (False, False), (True, True)):
        try:
            out.append(fn(copy.deepcopy(entry), "log.entries[3]", "x.har", 3, pages, side, sizes))
        except InputError as e:
            out.append(f"InputError: {e}")
    return out


def _via_entry_to_captured(
    entry: object,
    where: str,
    path: str,
    order: int,
    pages: dict[str, str],
    side: bool,
    sizes: bool,
) -> Captured:
    return entry_to_captured(
        entry,
        where=where,
        path=path,
        order=order,
        pages=pages,
        errors_are_browser_side=side,
        sizes_mark_cache=sizes,
    )


def test_quick_and_careful_conversions_agree_on_every_odd_field() -> None:
    rnd = random.Random(42)
    pages = {"page_1": f"{PAGE}/app"}

    quick_taken = 0
    for _ in range(4000):
        entry = _mutated(rnd)
        if har._quick_captured(copy.deepcopy(entry), "w", "p", 3, pages, True) is not None:
            quick_taken += 1
        expected = _convert(har._careful_captured, copy.deepcopy(entry), pages)
        got = _convert(_via_entry_to_captured, entry, pages)
        assert got == expected, entry
    assert quick_taken > 300  # the quick pass is exercised, not only the careful one


def test_whole_header_lists_are_shared_and_equal(tmp_path: Path) -> None:
    entries = [
        har_entry(url=f"{API}/{i}", headers=[("Origin", PAGE), ("Accept", "*/*")]) for i in range(5)
    ]
    path = tmp_path / "shared.har"
    path.write_text(json.dumps(har_doc(entries)))
    loaded = assert_same(path)
    assert isinstance(loaded, Loaded)
    first = loaded.captured[0].tx.request.headers
    assert all(c.tx.request.headers is first for c in loaded.captured)
    assert first.fields == (("Origin", PAGE), ("Accept", "*/*"))
