"""`corscope analyze` end to end on files: output, JSON contract, exit status."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analysis.cli import main

PAGE = "http://localhost:5173"
API = "http://127.0.0.2:8000"


def _entry(
    method: str, url: str, req: dict[str, str], status: int, resp: dict[str, str], **extra: object
) -> dict:
    return {
        "startedDateTime": "2026-11-26T10:00:01.000Z",
        "time": 5,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in req.items()],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in resp.items()],
            "cookies": [],
            "content": {"size": 0, "mimeType": "text/plain"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 5, "receive": 0},
        **extra,
    }


def _har(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "session.har"
    path.write_text(
        json.dumps(
            {
                "log": {
                    "version": "1.2",
                    "creator": {"name": "t", "version": "1"},
                    "entries": list(entries),
                }
            }
        )
    )
    return path


def _cors(mode: str = "cors", credentials: str = "same-origin") -> dict:
    return {"_cors": {"mode": mode, "credentials": credentials, "initiatorOrigin": PAGE}}


def test_blocked_request_exits_1_and_names_the_reason(tmp_path: Path) -> None:
    har = _har(tmp_path, _entry("GET", API + "/users", {"Origin": PAGE}, 200, {}, **_cors()))
    result = CliRunner().invoke(main, ["analyze", str(har)])
    assert result.exit_code == 1
    assert "1 blocked" in result.output
    assert "MissingAllowOriginHeader" in result.output


def test_check_named_with_credentials_is_on_the_console(tmp_path: Path) -> None:
    # A HAR without the page's credentials mode: the preflight leaves out the method and
    # Allow-Credentials, so which check Chromium names depends on the mode.
    sent = {"Origin": PAGE, "Access-Control-Request-Method": "PUT"}
    allowed = {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "GET"}
    har = _har(tmp_path, _entry("OPTIONS", API + "/users", sent, 204, allowed))
    result = CliRunner().invoke(main, ["analyze", str(har)])
    assert result.exit_code == 1, result.output
    assert "MethodDisallowedByPreflightResponse (PUT) at preflight" in result.output
    assert "if sent with credentials: PreflightInvalidAllowCredentials" in result.output


def test_nothing_blocked_exits_0(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        _entry(
            "GET",
            API + "/users",
            {"Origin": PAGE},
            200,
            {"Access-Control-Allow-Origin": "*"},
            **_cors(),
        ),
    )
    result = CliRunner().invoke(main, ["analyze", str(har)])
    assert result.exit_code == 0, result.output
    assert "0 blocked" in result.output


def test_json_document_follows_the_contract(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        _entry(
            "OPTIONS",
            API + "/items",
            {"Origin": PAGE, "Access-Control-Request-Method": "PUT"},
            404,
            {},
            **_cors(),
        ),
        _entry("GET", PAGE + "/", {}, 200, {}),
    )
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["analyze", str(har), "--json", str(out)])
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    assert doc["schema"] == "corscope/1"
    [finding] = doc["findings"]
    assert set(finding) >= {
        "id",
        "root_cause",
        "severity",
        "rank",
        "score",
        "title",
        "exchanges",
        "endpoints",
        "origins",
        "stack",
        "fix",
        "reproduce",
    }
    assert (finding["root_cause"], finding["rank"]) == ("preflight-not-handled", 1)
    assert set(finding["fix"]) >= {"stack", "text", "snippet"}
    assert doc["summary"]["not_cross_origin"] == 1
    [ex] = doc["exchanges"]
    assert set(ex) >= {
        "id",
        "method",
        "url",
        "final_url",
        "origin",
        "source",
        "preflight",
        "verdict",
        "warnings",
    }
    assert (ex["method"], ex["url"], ex["origin"], ex["source"]) == (
        "PUT",
        API + "/items",
        PAGE,
        "network",
    )
    assert ex["preflight"] == {"status": 404, "cached": False}
    verdict = ex["verdict"]
    assert set(verdict) >= {
        "blocked",
        "condition",
        "stage",
        "reason",
        "failed_parameter",
        "chrome_message",
        "firefox_code",
        "confirmed",
    }
    assert (verdict["blocked"], verdict["stage"], verdict["reason"]) == (
        True,
        "preflight",
        "PreflightMissingAllowOriginHeader",
    )


def test_json_to_stdout(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        _entry(
            "GET",
            API + "/a",
            {"Origin": PAGE},
            200,
            {"Access-Control-Allow-Origin": PAGE},
            **_cors(),
        ),
    )
    result = CliRunner().invoke(main, ["analyze", str(har), "--json", "-"])
    assert json.loads(result.output)["summary"]["allowed"] == 1


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("{not json", ""),
        ('{"log": {"entries": 5}}', "entries"),
        ("hello world", ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "broken.har"
    path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "analyze", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and "Traceback" not in proc.stderr
    assert needle in lines[0].lower()


@pytest.mark.parametrize("json_to", ["file", "-"])
def test_lone_surrogates_from_a_har_are_written_as_escapes(tmp_path: Path, json_to: str) -> None:
    # JSON lets a HAR say "\ud800", which no encoding can write: the summary, the JSON
    # document and the report must carry it through, not die on it.
    bad = "https://evil\ud800.test"
    entry = _entry(
        "GET",
        API + "/x\udcff",
        {"Origin": PAGE},
        200,
        {"Access-Control-Allow-Origin": bad},
        **_cors(),
    )
    har = _har(tmp_path, entry)
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    target = str(out) if json_to == "file" else "-"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "analyze",
            str(har),
            "--json",
            target,
            "-o",
            str(report),
        ],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert b"Traceback" not in proc.stderr
    doc = json.loads(out.read_bytes() if json_to == "file" else proc.stdout)
    [record] = doc["exchanges"]
    assert record["url"] == API + "/x\udcff"
    assert record["verdict"]["failed_parameter"] == bad
    assert report.stat().st_size > 0
    if json_to == "file":
        assert b"evil\\ud800.test" in proc.stdout


def test_flows_with_times_and_locations_from_nowhere_are_analyzed(tmp_path: Path) -> None:
    # Flow files carry floats as written: inf, NaN, 1e300; a Location can be anything.
    from mitmproxy import io
    from mitmproxy.test import tflow

    path = tmp_path / "odd.mitm"
    with path.open("wb") as out:
        writer = io.FlowWriter(out)
        for n, started in enumerate([float("inf"), float("nan"), 1e300, -1e300, 5.0, 2e11]):
            flow = tflow.tflow(resp=True)
            flow.request.url = f"https://api.test/x{n}"
            flow.request.headers["Origin"] = "https://app.test"
            flow.request.timestamp_start = started
            flow.response.status_code = 302
            flow.response.headers["Location"] = ["http://[zz::1]/", "http://[::1/"][n % 2]
            writer.add(flow)
    out_json, report = tmp_path / "out.json", tmp_path / "report.html"
    command = ["analyze", str(path), "--json", str(out_json), "-o", str(report)]
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.cli", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    records = json.loads(out_json.read_text())["exchanges"]
    assert len(records) == 6
    assert [r["started"] for r in records].count(None) == 4
    assert report.stat().st_size > 0


def test_missing_file_and_usage_errors_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["analyze", str(tmp_path / "nope.har")]).exit_code == 2
    assert CliRunner().invoke(main, ["analyze"]).exit_code == 2
    assert CliRunner().invoke(main, ["analyse-typo"]).exit_code == 2


def test_report_option_writes_one_redacted_html_file(tmp_path: Path) -> None:
    secret = "s3cr3t-session-value"
    har = _har(
        tmp_path,
        _entry(
            "GET",
            API + "/me?token=abc123tok",
            {"Origin": PAGE, "Cookie": f"sid={secret}"},
            200,
            {},
            **_cors(credentials="include"),
        ),
    )
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["analyze", str(har), "-o", str(out)])
    assert result.exit_code == 1, result.output
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert secret not in html and "abc123tok" not in html
    kept = tmp_path / "kept.html"
    CliRunner().invoke(main, ["analyze", str(har), "-o", str(kept), "--no-redact"])
    assert secret in kept.read_text()


def test_json_redacts_tokens_in_urls_unless_asked(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        _entry(
            "GET", API + "/me?access_token=abc123tok&page=2", {"Origin": PAGE}, 200, {}, **_cors()
        ),
    )
    out = tmp_path / "out.json"
    CliRunner().invoke(main, ["analyze", str(har), "--json", str(out)])
    text = out.read_text()
    assert "abc123tok" not in text and "page=2" in text
    CliRunner().invoke(main, ["analyze", str(har), "--json", str(out), "--no-redact"])
    assert "abc123tok" in out.read_text()


def test_jobs_give_the_same_document(tmp_path: Path) -> None:
    entries = [
        _entry(
            "GET",
            f"{API}/items/{i}",
            {"Origin": PAGE},
            200,
            {"Access-Control-Allow-Origin": PAGE} if i % 2 else {},
            **_cors(),
        )
        for i in range(40)
    ]
    har = _har(tmp_path, *entries)
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    CliRunner().invoke(main, ["analyze", str(har), "--json", str(serial)])
    CliRunner().invoke(main, ["analyze", str(har), "--json", str(parallel), "-j", "2"])
    assert json.loads(serial.read_text()) == json.loads(parallel.read_text())
    assert CliRunner().invoke(main, ["analyze", str(har), "-j", "-1"]).exit_code == 2


def _documents_by_jobs(path: Path, tmp_path: Path) -> list[str]:
    """The JSON document `corscope analyze PATH` writes with one process and with two."""
    documents = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs-{jobs}.json"
        result = CliRunner().invoke(
            main, ["analyze", str(path), "-q", "-j", jobs, "--json", str(out)]
        )
        assert result.exit_code == 1, result.output
        documents.append(out.read_text())
    return documents


def test_jobs_split_flow_files_and_give_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--jobs 2` reads the flow file in two runs, decides and tabulates on two processes:
    the JSON document is the serial one, byte for byte."""
    pytest.importorskip("mitmproxy")
    from analysis import parallel
    from analysis.readers import flowsplit

    monkeypatch.setattr(parallel, "MIN_PER_JOB", 20)
    monkeypatch.setattr(flowsplit, "MIN_RECORDS_PER_JOB", 20)
    forks: list[int] = []  # slices handed to forked workers, per map
    forked = parallel._forked

    def counting(items: Any, work: Any, bounds: list[tuple[int, int]], jobs: int) -> Any:
        forks.append(len(bounds))
        return forked(items, work, bounds, jobs)

    monkeypatch.setattr(parallel, "_forked", counting)
    workers = []
    start = flowsplit._Worker.start
    monkeypatch.setattr(
        flowsplit._Worker, "start", classmethod(lambda cls, *a: workers.append(a) or start(*a))
    )
    lab = Path(__file__).resolve().parent / "readers" / "data"
    packed = sorted(lab.glob("lab-*.mitm.gz"))[0]
    flows = tmp_path / packed.stem
    flows.write_bytes(gzip.decompress(packed.read_bytes()))
    documents = _documents_by_jobs(flows, tmp_path)
    assert documents[0] == documents[1]
    assert len(json.loads(documents[0])["findings"]) > 10
    assert len(workers) == 1  # the file was read in two runs
    assert len(forks) == 2 and min(forks) > 1  # verdicts, then the diagnosis rows


def test_jobs_split_hars_and_give_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--jobs 2` reads a HAR in two runs: the JSON document is the serial one, byte for
    byte."""
    from analysis.readers import harsplit

    monkeypatch.setattr(harsplit, "MIN_SPLIT_BYTES", 0)
    workers = []
    start = harsplit.Forked.start
    monkeypatch.setattr(
        harsplit.Forked, "start", classmethod(lambda cls, work: workers.append(work) or start(work))
    )
    capture = Path(__file__).resolve().parents[2] / "examples" / "lab-session.capture.jsonl"
    har = tmp_path / "session.har"
    converted = CliRunner().invoke(main, ["har", str(capture), "-o", str(har)])
    assert converted.exit_code == 0, converted.output
    documents = _documents_by_jobs(har, tmp_path)
    assert documents[0] == documents[1]
    assert len(json.loads(documents[0])["exchanges"]) > 100
    assert len(workers) == 1  # the file was read in two runs


def test_unless_told_it_takes_every_core_that_forks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `--jobs`: as many processes as usable cores (two here) where processes fork, past
    the per-process minimums; the document is the one-process one, byte for byte."""
    from analysis import parallel

    monkeypatch.setattr(parallel, "MIN_PER_JOB", 20)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    forks: list[int] = []
    forked = parallel._forked

    def counting(items: Any, work: Any, bounds: list[tuple[int, int]], jobs: int) -> Any:
        forks.append(jobs)
        return forked(items, work, bounds, jobs)

    monkeypatch.setattr(parallel, "_forked", counting)
    entries = [
        _entry("GET", f"{API}/items/{i}", {"Origin": PAGE}, 200, {}, **_cors()) for i in range(60)
    ]
    har = _har(tmp_path, *entries)
    documents = []
    for flags in ([], ["-j", "1"]):
        out = tmp_path / f"{len(flags)}.json"
        CliRunner().invoke(main, ["analyze", str(har), "-q", "--json", str(out), *flags])
        documents.append(out.read_text())
    assert documents[0] == documents[1]
    assert forks == ([2, 2] if parallel._can_fork() else [])  # verdicts, diagnosis rows


def test_console_lists_the_first_findings_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.cli as cli

    monkeypatch.setattr(cli, "SHOWN_FINDINGS", 1)
    entries = [
        _entry("GET", f"http://api-{n}.test/users", {"Origin": PAGE}, 200, {}, **_cors())
        for n in range(3)
    ]
    result = CliRunner().invoke(main, ["analyze", str(_har(tmp_path, *entries))])
    assert result.exit_code == 1
    assert result.output.count("fix on") == 1
    assert "… and 2 more (see the report or --json)" in result.output


def _playwright_failed(method: str, url: str, req: dict[str, str]) -> dict:
    """A request as Playwright's recorded HAR keeps a CORS failure: the headers script could
    see (no Origin), no answer (-1), and Chromium's generic error."""
    entry = _entry(method, url, {"Referer": PAGE + "/", "User-Agent": "Chrome", **req}, -1, {})
    entry["response"]["_failureText"] = "net::ERR_FAILED"
    return entry


def test_a_playwright_har_is_read_and_its_failures_are_the_browsers(tmp_path: Path) -> None:
    # Measured: Playwright records every CORS failure so (and no preflights); Chromium
    # blocked all three failed requests and allowed the no-cors image and the echoed GET.
    opaque = _entry("GET", API + "/logo.png", {"Referer": PAGE + "/"}, 200, {})
    opaque["response"]["_failureText"] = "net::ERR_ABORTED"
    har = _har(
        tmp_path,
        _playwright_failed("GET", API + "/users", {}),
        _playwright_failed("PUT", API + "/users/1", {"Content-Type": "application/json"}),
        _playwright_failed("GET", API + "/me", {"X-Request-Id": "1"}),
        opaque,
        _entry(
            "GET",
            API + "/ok",
            {"Origin": PAGE},
            200,
            {"Access-Control-Allow-Origin": "*"},
            **_cors(),
        ),
    )
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["analyze", str(har), "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert "does not say at which check" in result.output
    verdicts = {x["url"]: x["verdict"] for x in json.loads(out.read_text())["exchanges"]}
    blocked = {url for url, v in verdicts.items() if v["blocked"] is not False}
    assert blocked == {API + "/users", API + "/users/1", API + "/me"}
    assert verdicts[API + "/ok"]["blocked"] is False
    assert {verdicts[API + u]["reason"] for u in ("/users", "/users/1", "/me")} == {None}


def test_a_redirect_a_proxy_saw_unfollowed_names_the_redirect_mode(tmp_path: Path) -> None:
    # Through the proxy, a CORS-passing redirect whose target the browser never asked for:
    # the fetch's redirect mode decided, which is no CORS check.
    moved = {"Location": API + "/new", "Access-Control-Allow-Origin": PAGE}
    line = _entry("GET", API + "/old", {"Origin": PAGE}, 302, moved, **_cors(credentials="omit"))
    path = tmp_path / "capture.jsonl"
    meta = {"_corscope": {"format": "capture", "version": 1}}
    path.write_text(json.dumps(meta) + "\n" + json.dumps(line) + "\n")
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert "blocked if the fetch used redirect: 'error'" in result.output, result.output
    assert "not a CORS failure" in result.output
