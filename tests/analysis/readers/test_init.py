"""`analysis.readers`: format sniffing, `read` and `read_many`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.readers import read, read_many, sniff
from analysis.readers.errors import InputError

from .builders import API, PAGE, har_doc, har_entry, write_json, write_lines

DATA = Path(__file__).resolve().parents[2] / "data"


def expect_error(path: Path, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


def test_sniffs_by_content_not_extension(tmp_path: Path) -> None:
    har = write_json(tmp_path / "capture.jsonl", har_doc([har_entry()]))
    capture = write_lines(
        tmp_path / "session.har", [{"_corscope": {"format": "capture", "version": 1}}]
    )
    pretty = tmp_path / "pretty"
    pretty.write_text(json.dumps(har_doc([har_entry()]), indent=2))
    bom = tmp_path / "bom"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(har_doc([])).encode())
    assert sniff(har) == "har"
    assert sniff(capture) == "capture"
    assert sniff(pretty) == "har"
    assert sniff(bom) == "har"
    assert read(bom).exchanges == []


def test_one_line_har_whose_first_key_is_not_log(tmp_path: Path) -> None:
    path = tmp_path / "h"
    path.write_text(json.dumps({"comment": "x", "log": har_doc([har_entry()])["log"]}) + "\n")
    assert sniff(path) == "har"


def test_flow_files_are_sniffed_by_their_tnetstring_start(tmp_path: Path) -> None:
    path = tmp_path / "flows.har"
    path.write_bytes(b"1234:")
    assert sniff(path) == "flows"


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.har", "No such file")


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, "is a directory")


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.har"
    path.write_bytes(content)
    expect_error(path, "the file is empty")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"<html><body>hi</body></html>", "unknown format"),
        (b"\x89PNG\r\n\x1a\n", "unknown format"),
        (b'[{"log": {}}]', "JSON array"),
        (b"\xff\xfe{\x00", "unknown format"),
    ],
)
def test_unknown_formats(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "x"
    path.write_bytes(content)
    expect_error(path, fragment)


def test_read_many_combines_files_and_keeps_ids_unique(tmp_path: Path) -> None:
    a = write_json(
        tmp_path / "a.har", har_doc([har_entry(url=f"{API}/a", headers=[("Origin", PAGE)])])
    )
    b = write_json(
        tmp_path / "b.har", har_doc([har_entry(url=f"{API}/b", headers=[("Origin", PAGE)])])
    )
    capture = write_lines(
        tmp_path / "c.jsonl",
        [har_entry(url=f"{API}/c", _corscope_id="k1", _cors={"credentials": "include"})],
    )
    result = read_many([a, b, capture])
    assert [x.id for x in result.exchanges] == ["x0001", "2.x0001", "k1"]
    assert [x.origin_file for x in result.exchanges] == [str(a), str(b), str(capture)]
    assert result.format == "mixed"
    assert result.transactions == 3
    assert result.paths == [str(a), str(b), str(capture)]
    # Only exchanges with hints are listed, under their final (renamed) ids.
    assert result.hints == {"k1": {"credentials": "include"}}


def test_read_many_of_one_format_keeps_it(tmp_path: Path) -> None:
    paths = [DATA / "chrome-missing-acao.har", DATA / "chrome-redirect-chain.har"]
    result = read_many(paths)
    assert result.format == "har"
    assert len({x.id for x in result.exchanges}) == len(result.exchanges) == 4


def test_read_many_stops_at_the_first_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.har"
    bad.write_text("{")
    with pytest.raises(InputError) as info:
        read_many([DATA / "chrome-missing-acao.har", bad])
    assert str(info.value).startswith(f"{bad}: ")


def test_warnings_name_the_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [har_entry()], tail='{"request": {')
    result = read_many([path])
    assert result.warnings and all(w.startswith(f"{path}: ") for w in result.warnings)


def test_reading_pauses_the_cyclic_collector_and_restores_it() -> None:
    import gc

    from analysis.readers import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    read(DATA / "chrome-missing-acao.har")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():  # a caller that turned it off keeps it off
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_a_proxy_recorded_is_marked_as_sent_through_it(tmp_path: Path) -> None:
    # Chromium skips Local Network Access behind a proxy; the engine needs to know.
    examples = Path(__file__).resolve().parents[3] / "examples"
    for name in ("lab-session.mitm", "lab-session.capture.jsonl"):
        exchanges = read(examples / name).exchanges
        assert exchanges and all(x.context.via_proxy for x in exchanges)
    har = write_json(tmp_path / "s.har", har_doc([har_entry()]))
    exchanges = read(har).exchanges
    assert exchanges and not any(x.context.via_proxy for x in exchanges)
