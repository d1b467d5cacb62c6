"""The streaming HAR reader against the whole-document one: the same transactions, and
for bad input the same InputError, word for word, while memory stays with the entries."""

from __future__ import annotations

import base64
import json
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.readers import har
from analysis.readers.captured import Loaded
from analysis.readers.errors import InputError
from analysis.readers.har import read_har, read_har_document

from .builders import API, PAGE, har_doc, har_entry

DATA = Path(__file__).resolve().parents[2] / "data"
SAMPLES = sorted(DATA.glob("*.har"))


def outcome(reader: Callable[[Path], Loaded], path: Path) -> Loaded | str:
    try:
        return reader(path)
    except InputError as e:
        return f"InputError: {e}"


def assert_same(path: Path) -> Loaded | str:
    expected = outcome(read_har_document, path)
    got = outcome(read_har, path)
    assert got == expected
    return got


@pytest.fixture(params=[1 << 20, 7, 64], ids=["1MiB", "7B", "64B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Tiny windows put every token, escape and multi-byte character across a boundary."""
    monkeypatch.setattr(har, "_CHUNK_BYTES", request.param)
    return int(request.param)


def document(entries: int = 6) -> dict[str, Any]:
    items = []
    for i in range(entries):
        items.append(
            har_entry(
                "OPTIONS" if i % 3 == 0 else "GET",
                f"{API}/items/{i}?q=ü",
                [("Origin", PAGE), ("X-Odd", 'quote " and \\ backslash'), (":authority", "a")],
                status=[200, 404, 500][i % 3],
                response_headers=[("Access-Control-Allow-Origin", PAGE), ("X-Dup", "1")],
                started=f"2026-11-20T09:30:0{i}.000Z",
                pageref="page_1",
                _resourceType="fetch",
                _cors={"mode": "cors"} if i % 2 else None,
            )
        )
        items[-1]["response"]["content"] = {
            "size": 3,
            "mimeType": "text/plain",
            "text": base64.b64encode("nö ✓ 😀 body".encode()).decode(),
            "encoding": "base64",
        }
    return har_doc(items, pages=[{"id": "page_1", "title": f"{PAGE}/app"}])


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- valid documents -------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_browser_exports_read_the_same(sample: Path, chunk: int) -> None:
    loaded = assert_same(sample)
    assert isinstance(loaded, Loaded) and loaded.captured


@pytest.mark.parametrize(
    "shape",
    [
        "compact",
        "pretty",
        "bom",
        "pages-after-entries",
        "creator-after-entries",
        "mitmproxy-creator",
        "extra-keys",
        "empty-entries",
        "no-pages",
    ],
)
def test_layouts_read_the_same(shape: str, tmp_path: Path, chunk: int) -> None:
    doc = document()
    log = doc["log"]
    text = json.dumps(doc)
    if shape == "pretty":
        text = json.dumps(doc, indent=2, ensure_ascii=False)
    elif shape == "bom":
        text = "\ufeff" + text
    elif shape in ("pages-after-entries", "creator-after-entries", "mitmproxy-creator"):
        key = "creator" if shape != "pages-after-entries" else "pages"
        if shape == "mitmproxy-creator":
            log["creator"] = {"name": "mitmproxy", "version": "11"}
            log["entries"][1]["response"]["_error"] = "proxy said no"
        value = log.pop(key)
        log[key] = value
        text = json.dumps(doc)
    elif shape == "extra-keys":
        text = json.dumps({"comment": [1, {"x": "}"}], **doc, "trailer": "]"})
    elif shape == "empty-entries":
        log["entries"] = []
        text = json.dumps(doc)
    elif shape == "no-pages":
        del log["pages"]
        text = json.dumps(doc)
    loaded = assert_same(write(tmp_path / "x.har", text))
    assert isinstance(loaded, Loaded)


# --- bad documents --------------------------------------------------------------------------


def test_cut_at_every_position_words_the_same_error(tmp_path: Path, chunk: int) -> None:
    text = json.dumps(document(2), indent=1)
    path = tmp_path / "cut.har"
    step = 1 if chunk != 7 else 3  # the 7-byte window is slow; every third cut suffices
    for cut in range(0, len(text), step):
        write(path, text[:cut])
        assert_same(path)


def test_damage_anywhere_words_the_same_error(tmp_path: Path, chunk: int) -> None:
    text = json.dumps(document(3))
    rnd = random.Random(chunk)
    path = tmp_path / "damaged.har"
    replacements = ['"', "{", "}", "[", "]", ",", ":", " ", "x", "1", "\\", "\n", "\x01"]
    for _ in range(150):
        i = rnd.randrange(len(text))
        damaged = text[:i] + rnd.choice(replacements) + text[i + rnd.choice((0, 1)) :]
        write(path, damaged)
        assert_same(path)


@pytest.mark.parametrize(
    "text",
    [
        '{"log": {"entries": [}, }}',
        '{"log": {"entries": [{"request": 1},]}}',
        '{"log": {"entries": []}} x',
        '{"log": {"entries": []}}  \n\n',
        '{"log": {"entries": []}, }',
        '{"log" {"entries": []}}',
        '{"log": {"entries": [] "pages": []}}',
        '{"log": {"entries": [{}]} "x": 1}',
        '{"log": {"entries": [' + "[" * 100_000 + "]" * 100_000 + "]}}",
        '{"log": {"entries": [{"a": "\\x"}]}}',
        '{"log": {"entries": [{"a": "unterminated}]}}',
        '{"log": {"entries": [{"a": "' + "\x01" + '"}]}}',
        '{"log": {"entries": [1e999]}}',
        '{"log": {"entries": [NaN]}}',
        '{"log": {"entries": {}}}',
        '{"log": {"entries": [], "entries": [{}]}}',
        '{"log": {}, "log": {"entries": []}}',
        '{"log": []}',
        '{"version": 1}',
        "{}",
        '{"log": {"pages": "p", "entries": [7]}}',
        '{"log": {"entries": [7], "pages": "p"}}',
        '{"log": {"entries": [7], "pages": [], "x": tru}}',
        '{"log": {"entries": [{"request": {}}], "pages": [{"id": 1}]}}',
        '{"log": {"entries": [{"request": {}}]}}\n\n  \t',
        '{"log": {"entries": [{"request": {}}]}}\x0b',
        '{"log": {"entries": [{"request": {}}]\u00a0}}',
        '\ufeff\ufeff{"log": {"entries": []}}',
    ],
)
def test_malformed_documents_word_the_same_error(text: str, tmp_path: Path, chunk: int) -> None:
    assert_same(write(tmp_path / "bad.har", text))


@pytest.mark.parametrize(
    "tail",
    [b"\xff", b' "\xc3"', b"\xe2\x82", b"x\xff"],
)
def test_a_bad_byte_anywhere_outranks_everything(tmp_path: Path, tail: bytes, chunk: int) -> None:
    bad_json = b'{"log": {"entries": [{"request": 7}] x ' + b" " * 300 + tail
    bad_entry = json.dumps(har_doc([{"request": 7}, har_entry()])).encode() + b" " * 70 + tail
    for content in (bad_json, bad_entry, b"\xef\xbb\xbf" + bad_entry):
        message = assert_same(write(tmp_path / "bytes.har", content))
        assert isinstance(message, str) and "not UTF-8" in message


def test_entry_error_waits_for_a_later_syntax_error(tmp_path: Path, chunk: int) -> None:
    text = json.dumps(har_doc([{"request": 7}, har_entry()]))[:-2] + "]"
    message = assert_same(write(tmp_path / "x.har", text))
    assert isinstance(message, str) and "not valid JSON" in message


# --- memory -------------------------------------------------------------------------------


def test_memory_grows_with_the_entries_not_the_bodies(tmp_path: Path) -> None:
    """1 MB bodies: the peak stays the same whether the file holds 15 or 60 of them (the
    whole-document parse holds every body at once, several times over)."""
    body = base64.b64encode(random.Random(1).randbytes(750_000)).decode()

    def peak_for(count: int) -> tuple[int, int]:
        entries = []
        for i in range(count):
            entry = har_entry(url=f"{API}/img/{i}.png", headers=[("Origin", PAGE)])
            entry["response"]["content"] = {"size": 1, "mimeType": "image/png", "text": body}
            entries.append(entry)
        path = tmp_path / f"big{count}.har"
        path.write_text(json.dumps(har_doc(entries)))
        tracemalloc.start()
        try:
            loaded = read_har(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(loaded.captured) == count
        return peak, path.stat().st_size

    few, _ = peak_for(15)
    many, size = peak_for(60)
    assert many < few * 1.5, (few, many)
    assert many < size / 4, (many, size)


def test_capture_memory_grows_with_the_entries_not_the_bodies(tmp_path: Path) -> None:
    """The capture (JSON lines) reads line by line: the same property, same test."""
    from analysis.readers.capture import read_capture

    body = base64.b64encode(random.Random(2).randbytes(750_000)).decode()

    def peak_for(count: int) -> int:
        path = tmp_path / f"cap{count}.jsonl"
        with path.open("w") as f:
            for i in range(count):
                entry = har_entry(url=f"{API}/img/{i}.png", _corscope_id=f"e{i}")
                entry["response"]["content"] = {"size": 1, "mimeType": "image/png", "text": body}
                f.write(json.dumps(entry) + "\n")
        tracemalloc.start()
        try:
            loaded = read_capture(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(loaded.captured) == count
        return peak

    few, many = peak_for(15), peak_for(60)
    assert many < few * 1.5, (few, many)
