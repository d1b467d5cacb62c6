from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.readers import read
from analysis.readers.capture import capture_to_har, read_capture
from analysis.readers.errors import InputError

from .builders import API, PAGE, har_entry, write_json, write_lines

META = {"_corscope": {"format": "capture", "version": 1}}


def entry(n: int, **extra: Any) -> dict[str, Any]:
    return har_entry(
        "GET",
        f"{API}/api/{n}",
        [("Origin", PAGE)],
        started=f"2026-11-20T09:30:0{n}.000Z",
        _corscope_id=f"e{n}",
        **extra,
    )


def annotate(target: str, **cors: Any) -> dict[str, Any]:
    return {"_corscope": {"annotate": target}, "_cors": cors}


def test_capture_reads_entries_with_their_ids(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [META, entry(1), entry(2, _cors={"mode": "cors"})])
    result = read(path)
    assert result.format == "capture"
    assert result.warnings == []
    assert [x.id for x in result.exchanges] == ["e1", "e2"]
    assert result.exchanges[1].context.mode == "cors"


def test_annotation_merges_into_the_earlier_entry(tmp_path: Path) -> None:
    lines = [
        META,
        entry(1, _cors={"initiatorOrigin": PAGE, "mode": "no-cors"}),
        entry(2),
        annotate(
            "e1",
            mode="cors",
            credentials="include",
            browser={"blocked": True, "reason": "InvalidAllowCredentials", "failed_parameter": ""},
        ),
    ]
    path = write_lines(tmp_path / "c.jsonl", lines)
    x1, x2 = read(path).exchanges
    assert x1.context.mode == "cors"  # the later annotation wins
    assert x1.context.credentials == "include"
    assert x1.context.page_origin == PAGE  # kept from the entry
    assert x1.context.browser is not None and x1.context.browser.reason == "InvalidAllowCredentials"
    assert x2.context.credentials is None


def test_annotation_for_an_unknown_entry_is_a_warning(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [entry(1), annotate("nope", mode="cors")])
    loaded = read_capture(path)
    assert len(loaded.captured) == 1
    assert loaded.warnings == [f"{path}: line 2: annotation for unknown entry 'nope'"]


def test_cut_off_last_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    cut = json.dumps(entry(3))[:57]
    path = write_lines(tmp_path / "c.jsonl", [META, entry(1), entry(2)], tail=cut)
    result = read(path)
    assert [x.id for x in result.exchanges] == ["e1", "e2"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"{path}: line 4 is cut off")


def test_cut_off_inside_a_multibyte_character(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    text = json.dumps(entry(1)) + "\n" + json.dumps(entry(2, comment="ü"), ensure_ascii=False)
    data = text.encode("utf-8")
    path.write_bytes(data[: data.index("ü".encode()) + 1])
    result = read(path)
    assert [x.id for x in result.exchanges] == ["e1"]
    assert "cut off" in result.warnings[0]


def test_garbled_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "c.jsonl", [META, entry(1)], tail='{"request": \n' + json.dumps(entry(2)) + "\n"
    )
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: line 3: not valid JSON")


def test_non_utf8_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = json.dumps(entry(1)).encode()
    path.write_bytes(good + b"\n" + good.replace(b"GET", b"G\xffT") + b"\n" + good + b"\n")
    with pytest.raises(InputError, match=r"line 2: not UTF-8"):
        read(path)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ([1, 2], "line 2: expected a JSON object, not an array"),
        ({"_corscope": "x"}, "line 2: _corscope must be an object"),
        ({"_corscope": {"annotate": 5}}, "line 2: _corscope.annotate must be an entry id"),
        (annotate("e1", credentials="always"), "line 2: _cors.credentials is 'always'"),
        ({"_corscope_id": "e9", "request": {"method": "GET"}}, "line 2: request.url must be"),
    ],
)
def test_bad_lines_name_their_line(tmp_path: Path, line: Any, fragment: str) -> None:
    path = write_lines(tmp_path / "c.jsonl", [entry(1), line, entry(3)])
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


def test_newer_format_version_warns(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "c.jsonl", [{"_corscope": {"format": "capture", "version": 9}}, entry(1)]
    )
    result = read(path)
    assert len(result.exchanges) == 1
    assert "version 9" in result.warnings[0]


def test_capture_without_meta_line_is_sniffed_from_its_entries(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "noext", [entry(1)])
    assert read(path).format == "capture"


def test_capture_to_har_merges_annotations_and_reads_back(tmp_path: Path) -> None:
    bare = {
        "_corscope_id": "e5",
        "request": {"method": "PUT", "url": f"{API}/api/5", "headers": []},
    }
    lines = [META, entry(1, _cors={"mode": "cors"}), bare, annotate("e1", credentials="include")]
    path = write_lines(tmp_path / "c.jsonl", lines)
    har = capture_to_har(path)
    log = har["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "corscope"
    assert [e["_corscope_id"] for e in log["entries"]] == ["e1", "e5"]
    assert log["entries"][0]["_cors"] == {"mode": "cors", "credentials": "include"}
    # HAR 1.2's required fields are all there for other tools.
    for e in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(e)
        assert {
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        } <= set(e["request"])
        assert {"status", "statusText", "content", "redirectURL", "headersSize"} <= set(
            e["response"]
        )
    assert log["entries"][1]["startedDateTime"] == log["entries"][0]["startedDateTime"]
    back = read(write_json(tmp_path / "back.har", har))
    assert back.format == "har"
    assert [x.id for x in back.exchanges] == ["e1", "e5"]
    assert back.exchanges[0].context.credentials == "include"


def test_capture_to_har_refuses_other_formats(tmp_path: Path) -> None:
    path = write_json(tmp_path / "x.har", {"log": {"entries": []}})
    with pytest.raises(InputError, match="not a corscope capture"):
        capture_to_har(path)
