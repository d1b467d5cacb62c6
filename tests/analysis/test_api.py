"""The JSON document: `write_document` writes exactly what `document` holds."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from analysis.api import Analysis, Decided, analyze_files, document, write_document
from analysis.diagnosis.findings import diagnose
from analysis.verdict import decide
from tests import factories as f

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _written(analysis: Analysis, findings: list, redact: bool) -> str:
    out = io.StringIO()
    write_document(analysis, out, findings, redact=redact)
    return out.getvalue()


def _dumped(analysis: Analysis, findings: list, redact: bool) -> str:
    return json.dumps(document(analysis, findings, redact=redact), indent=2, ensure_ascii=False)


@pytest.mark.parametrize("redact", [True, False])
@pytest.mark.parametrize("name", ["lab-session.mitm", "lab-session.capture.jsonl"])
def test_streamed_document_is_the_document_dumped(name: str, redact: bool) -> None:
    analysis = analyze_files([EXAMPLES / name])
    findings = diagnose(analysis.decided)
    assert len(analysis.decided) > 50 and findings
    assert _written(analysis, findings, redact) == _dumped(analysis, findings, redact) + "\n"


def test_empty_analysis_writes_empty_lists() -> None:
    analysis = Analysis(decided=[], inputs=["empty.har"], warnings=["empty.har: no entries"])
    text = _written(analysis, [], True)
    assert text == _dumped(analysis, [], True) + "\n"
    assert json.loads(text)["exchanges"] == [] and '"exchanges": []' in text


def test_hostile_strings_keep_their_escapes() -> None:
    # Newlines, quotes, line separators and non-ASCII in values from the network: a raw
    # newline inside a string would break the re-indentation of nested records.
    url = f.API + '/a?q="x"\n\u2028\u00e9\U0001f600&token=abcdefghijklmnop1234'
    base = f.simple_get([("Access-Control-Allow-Origin", "http://evil.test\r\n x")], url=url)
    exchange = dataclasses.replace(base, id='x"1\n')
    decided = [Decided(exchange, decide(exchange))]
    analysis = Analysis(decided=decided, inputs=["in\nput.har"])
    findings = diagnose(decided)
    for redact in (True, False):
        text = _written(analysis, findings, redact)
        assert text == _dumped(analysis, findings, redact) + "\n"
        assert json.loads(text)["exchanges"][0]["id"] == 'x"1\n'


@pytest.mark.parametrize("started", [float("inf"), float("nan"), 1e300])
def test_times_no_calendar_holds_are_unknown_in_the_document(started: float) -> None:
    base = f.simple_get([("Access-Control-Allow-Origin", f.PAGE)])
    step = base.steps[0]
    assert step.actual is not None
    actual = dataclasses.replace(step.actual, started=started)
    exchange = dataclasses.replace(base, steps=(dataclasses.replace(step, actual=actual),))
    analysis = Analysis(decided=[Decided(exchange, decide(exchange))])
    assert json.loads(_written(analysis, [], True))["exchanges"][0]["started"] is None


def test_redaction_keeps_the_fix_configuration_and_hides_url_secrets() -> None:
    # A credentialed call answered with ACAO *: the fix allows credentials, in every
    # spelling a stack has (`credentials: true`, `Access-Control-Allow-Credentials: true`).
    url = f.API + "/items?token=abcdefghijklmnop1234"
    exchange = f.simple_get(
        [("Access-Control-Allow-Origin", "*"), ("X-Powered-By", "Express")],
        url=url,
        request_headers=[("Cookie", "sid=abcdefghijklmnop")],
        credentials="include",
    )
    decided = [Decided(exchange, decide(exchange))]
    findings = diagnose(decided)
    assert findings and findings[0].root_cause == "wildcard-with-credentials"
    assert "credentials: true" in findings[0].fix.snippet
    fix = document(Analysis(decided=decided), findings)["findings"][0]["fix"]
    assert fix["snippet"] == findings[0].fix.snippet
    assert "abcdefghijklmnop1234" not in json.dumps(document(Analysis(decided), findings))


def test_check_named_with_credentials_is_in_the_document_and_redacted() -> None:
    url = f.API + "/items?token=abcdefghijklmnop1234"
    answer = [("Access-Control-Allow-Origin", f.PAGE), ("Access-Control-Allow-Methods", "GET")]
    exchange = f.preflighted("PUT", 204, answer, url=url, credentials=None)
    analysis = Analysis(decided=[Decided(exchange, decide(exchange))])
    for redact in (True, False):
        text = _written(analysis, [], redact)
        verdict = json.loads(text)["exchanges"][0]["verdict"]
        alternative = verdict["with_credentials"]
        assert verdict["reason"] == "MethodDisallowedByPreflightResponse"
        assert (alternative["stage"], alternative["reason"]) == (
            "preflight",
            "PreflightInvalidAllowCredentials",
        )
        assert ("abcdefghijklmnop1234" in alternative["chrome_message"]) is not redact
