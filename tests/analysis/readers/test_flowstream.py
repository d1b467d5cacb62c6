"""The streaming flow reader against mitmproxy's FlowReader: the same transactions, hints,
warnings and errors, for files written by mitmproxy 11 and 12 and recorded by the lab."""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.readers import read
from analysis.readers.assemble import assemble
from analysis.readers.captured import Loaded
from analysis.readers.errors import InputError

mitmproxy = pytest.importorskip("mitmproxy")

from mitmproxy import io  # noqa: E402
from mitmproxy.io import tnetstring  # noqa: E402
from mitmproxy.net import check  # noqa: E402
from mitmproxy.net.http import url  # noqa: E402

from analysis.readers import flowstream  # noqa: E402
from analysis.readers.flows import read_flows  # noqa: E402
from analysis.readers.flowstream import read_flow_file, read_flow_file_counting  # noqa: E402

from . import flowgen  # noqa: E402
from .test_flows import other_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parent / "data"
LAB_FILES = sorted(DATA.glob("lab-*.mitm.gz"))


def outcome(reader: Callable[[Path], Loaded], path: Path) -> Loaded | str:
    try:
        return reader(path)
    except InputError as e:
        return f"InputError: {e}"


def assert_same(path: Path) -> Loaded | str:
    expected = outcome(read_flows, path)
    got = outcome(read_flow_file, path)
    if isinstance(expected, Loaded) and isinstance(got, Loaded):
        for want, have in zip(expected.captured, got.captured, strict=False):
            assert have == want, f"flow {want.order} differs"
    assert got == expected
    return got


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "gen.mitm"
    flowgen.write(str(path))
    return path


def states(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        return [f.get_state() for f in io.FlowReader(f).stream()]


def as_version_17(state: dict[str, Any]) -> None:
    """A flow state in format 17: older than the stream knows, which mitmproxy migrates."""
    state["version"] = 17
    state["server_conn"]["ip_address"] = state["server_conn"]["peername"]
    state["server_conn"]["source_address"] = state["server_conn"]["sockname"]
    state["server_conn"]["via2"] = None
    state["client_conn"]["address"] = state["client_conn"]["peername"]
    state["client_conn"]["tls_extensions"] = []
    for conn in ("client_conn", "server_conn"):
        state[conn]["tls_established"] = state[conn]["tls"]


def dump(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(tnetstring.dumps(r) for r in records))
    return path


# --- the same transactions ----------------------------------------------------------------


def test_generated_flows_read_exactly_as_flowreader_reads_them(generated: Path) -> None:
    loaded = assert_same(generated)
    assert isinstance(loaded, Loaded)
    assert len(loaded.captured) > 90
    assert loaded.skipped == 5  # TCP x2, UDP, DNS, CONNECT; a WebSocket flow is HTTP
    _, ways = read_flow_file_counting(generated)
    # The point of the stream: mitmproxy's own layout takes the fast way.
    assert ways["fast"] >= 90
    assert ways["mitmproxy"] == 0


def test_a_header_name_is_one_string_however_varied_its_values(generated: Path) -> None:
    """Fields with values that never repeat (dates, request ids) still share their name: a
    string per occurrence was a tenth of what a million exchanges held."""
    names: dict[str, str] = {}
    varied = 0
    for c in read_flow_file(generated).captured:
        for message in (c.tx.request, c.tx.response):
            for name, _ in message.headers if message is not None else ():
                varied += name in names
                assert names.setdefault(name, name) is name
    assert varied > 100


def test_no_cors_answers_keep_only_the_class_of_their_first_kib(generated: Path) -> None:
    loaded = assert_same(generated)
    assert isinstance(loaded, Loaded)
    kept = [
        c.tx.response.sniffed
        for c in loaded.captured
        if "/orb/" in c.tx.request.url and c.tx.response is not None
    ]
    assert kept == [
        *("json", "html", "image", "other", None),  # plain; a body the flow did not keep
        *("html", "xml", "other", None),  # gzip, br, broken gzip as stored, too large
        *(None, None),  # a CORS GET; CSS, which ORB never sniffs
        "json",  # Sec-Fetch-Mode names the mode, whatever else was sent
        "html",  # a POST carries Origin in no-cors mode too
    ]


def test_flows_written_by_the_other_mitmproxy_version(tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no second venv with the other mitmproxy version in this checkout")
    path = tmp_path / "other.mitm"
    done = subprocess.run(
        [str(python), "-m", "tests.analysis.readers.flowgen", str(path), "11"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(".")[0] != mitmproxy.version.VERSION.split(".")[0]
    assert_same(path)
    assert read_flow_file_counting(path)[1]["fast"] >= 90


@pytest.mark.parametrize("packed", LAB_FILES, ids=[p.name for p in LAB_FILES])
def test_lab_recordings_read_exactly_as_flowreader_reads_them(packed: Path, tmp_path: Path) -> None:
    """Real Chromium traffic through mitmdump (`python -m analysis.lab`), as mitmproxy 11
    and 12 recorded it."""
    path = tmp_path / packed.stem
    path.write_bytes(gzip.decompress(packed.read_bytes()))
    loaded = assert_same(path)
    assert isinstance(loaded, Loaded) and len(loaded.captured) > 200
    assert read_flow_file_counting(path)[1] == {"fast": len(loaded.captured)}


def test_read_uses_the_stream_and_assembles_the_same(generated: Path) -> None:
    expected = assemble(read_flows(generated).captured, origin_file=str(generated), via_proxy=True)
    result = read(generated)
    assert result.exchanges == expected.exchanges
    assert result.hints == expected.hints


def test_other_key_orders_take_the_generic_way(generated: Path, tmp_path: Path) -> None:
    rnd = random.Random(3)

    def shuffled(obj: Any) -> Any:
        if isinstance(obj, dict):
            items = list(obj.items())
            rnd.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        return obj

    path = dump(tmp_path / "shuffled.mitm", [shuffled(s) for s in states(generated)])
    assert_same(path)
    ways = read_flow_file_counting(path)[1]
    assert ways["generic"] > 90 and ways["mitmproxy"] == 0


@pytest.mark.parametrize("version", [19, 20])
def test_older_format_versions_with_the_same_fields(
    generated: Path, tmp_path: Path, version: int
) -> None:
    records = states(generated)
    for state in records:
        state["version"] = version
    path = dump(tmp_path / f"v{version}.mitm", records)
    assert_same(path)
    assert read_flow_file_counting(path)[1]["mitmproxy"] == 0


# --- what mitmproxy has to read -----------------------------------------------------------


def test_unknown_version_goes_to_mitmproxy_with_one_warning(
    generated: Path, tmp_path: Path
) -> None:
    records = states(generated)[:6]
    for state in records[2:4]:
        as_version_17(state)
    path = dump(tmp_path / "old.mitm", records)
    expected = read_flows(path)
    loaded, ways = read_flow_file_counting(path)
    assert loaded.captured == expected.captured
    assert ways["mitmproxy"] == 2
    [warning] = loaded.warnings
    assert "flow format version 17" in warning and "mitmproxy" in warning


def test_version_mitmproxy_cannot_read_stops_like_flowreader(
    generated: Path, tmp_path: Path
) -> None:
    records = states(generated)[:5]
    records[3]["version"] = 999
    path = dump(tmp_path / "future.mitm", records)
    expected = read_flows(path)
    loaded = read_flow_file(path)
    assert loaded.captured == expected.captured
    assert loaded.warnings[1:] == expected.warnings
    assert "999" in loaded.warnings[0]


@pytest.mark.parametrize("value", [[], {}, "", b"", "1.5", None, [1.5]], ids=repr)
@pytest.mark.parametrize("field", ["request.timestamp_start", "response.timestamp_end"])
def test_times_of_the_wrong_type_stop_like_flowreader(
    generated: Path, tmp_path: Path, field: str, value: Any
) -> None:
    """mitmproxy refuses a time that is no number (a null end passes); an empty list once
    got through as a start time and crashed the sort by time."""
    records = states(generated)[:5]
    message, key = field.split(".")
    records[3][message][key] = value
    assert_same(dump(tmp_path / "times.mitm", records))
    rnd = random.Random(5)
    for state in records:
        items = list(state.items())
        rnd.shuffle(items)
        state.clear()
        state.update(items)
    assert_same(dump(tmp_path / "times-shuffled.mitm", records))


@pytest.mark.parametrize("value", ["", {}, 0, [], "refused", {"msg": 1}], ids=repr)
def test_empty_and_odd_error_states_read_as_flowreader_reads_them(
    generated: Path, tmp_path: Path, value: Any
) -> None:
    """mitmproxy keeps an empty error state as it is (no `Error`), which crashed the
    conversion of its flow; other odd ones it refuses."""
    records = states(generated)[:5]
    records[3]["error"] = value
    loaded = assert_same(dump(tmp_path / "errors.mitm", records))
    if not value and isinstance(loaded, Loaded):
        assert loaded.captured[3].tx.error is None


def test_a_record_that_is_no_flow(generated: Path, tmp_path: Path) -> None:
    records: list[Any] = states(generated)[:3]
    records.insert(2, [b"not", b"a", b"flow"])
    assert_same(dump(tmp_path / "list.mitm", records))
    records[2] = {"version": 21, "type": "http"}
    assert_same(dump(tmp_path / "keyless.mitm", records))


def test_without_mitmproxy_the_stream_still_reads(tmp_path: Path) -> None:
    """Inside a Python without mitmproxy (the addon's, pipx's), files in mitmproxy's own
    layout still read; only records in another format need it."""
    path = tmp_path / "lab.mitm"
    path.write_bytes(gzip.decompress(LAB_FILES[0].read_bytes()))
    code = (
        "import sys; sys.modules['mitmproxy'] = None\n"
        "from analysis.readers import read\n"
        "r = read(sys.argv[1]); print(len(r.exchanges), r.warnings)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{len(read(path).exchanges)} []"


# --- cut-off and damaged files ------------------------------------------------------------


def test_cut_anywhere_keeps_what_flowreader_keeps(generated: Path, tmp_path: Path) -> None:
    records = states(generated)[:12]
    whole = b"".join(tnetstring.dumps(r) for r in records)
    bounds = []
    pos = 0
    for r in records:
        pos += len(tnetstring.dumps(r))
        bounds.append(pos)
    rnd = random.Random(5)
    cuts = {1, 2, 5, len(whole) - 1}
    cuts |= {b + d for b in bounds[:-1] for d in (-1, 0, 1, 2, 7)}
    cuts |= {rnd.randrange(1, len(whole)) for _ in range(60)}
    path = tmp_path / "cut.mitm"
    for cut in sorted(cuts):
        path.write_bytes(whole[:cut])
        assert_same(path)


@pytest.mark.parametrize(
    "tail", [b"\n", b"   ", b"garbage", b"12:abc", b"5:hello,", b"0:}", b"99999999999999:"]
)
def test_trailing_bytes(generated: Path, tmp_path: Path, tail: bytes) -> None:
    records = states(generated)[:3]
    path = dump(tmp_path / "tail.mitm", records)
    path.write_bytes(path.read_bytes() + tail)
    assert_same(path)


def test_damaged_length_prefixes(generated: Path, tmp_path: Path) -> None:
    """Where a flow's own framing is off, the stream steps back and lets mitmproxy judge."""
    whole = b"".join(tnetstring.dumps(s) for s in states(generated)[:6])
    rnd = random.Random(9)
    digits = [i for i in range(len(whole)) if whole[i : i + 1].isdigit()]
    path = tmp_path / "damaged.mitm"
    for i in rnd.sample(digits, 60):
        damaged = bytearray(whole)
        damaged[i] = ord(str((int(chr(whole[i])) + 1) % 10))
        path.write_bytes(bytes(damaged))
        expected = outcome(read_flows, path)
        got = outcome(read_flow_file, path)
        if expected == got:
            continue
        # A digit inside a part the analysis never looks into (a body, a certificate, the
        # client connection) is skipped by the stream, while mitmproxy parses it and may
        # stop there. Then the stream keeps at least what mitmproxy kept.
        assert isinstance(got, Loaded), (i, expected, got)
        if isinstance(expected, Loaded):
            assert expected.warnings and "stopped after" in expected.warnings[-1]
            assert got.captured[: len(expected.captured)] == expected.captured


# --- details ----------------------------------------------------------------------------------


AUTHORITIES = [
    "api.example",
    "api.example:8080",
    "api.example:99999",
    "[::1]",
    "[::1]:9000",
    "::1",
    "bücher.example",
    "xn--bcher-kva.example",
    "bad host",
    "bad host:12",
    "a..b",
    "trailing.dot.",
    "_under.score",
    "-dash.example",
    "x" * 64 + ".example",
    "127.0.0.1:0",
    "1.2.3.4:65535",
    "[fe80::1%eth0]:80",
    "host:",
    ":80",
    "\udcff.example",
    "",
]


@pytest.mark.parametrize("authority", AUTHORITIES)
def test_authority_parsing_matches_mitmproxy(authority: str) -> None:
    assert flowstream._parse_authority(authority) == url.parse_authority(authority, check=False)
    if authority:
        assert flowstream._is_valid_host(authority) == check.is_valid_host(authority)


def test_progress_reaches_the_file_size(generated: Path) -> None:
    calls: list[tuple[int, int]] = []
    read_flow_file(generated, lambda done, total: calls.append((done, total)))
    size = generated.stat().st_size
    assert calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mitm"
    empty.write_bytes(b"")
    assert read_flow_file(empty) == read_flows(empty)
    with pytest.raises(InputError, match="No such file"):
        read_flow_file(tmp_path / "missing.mitm")
