"""The HTML report as a file: self-contained, escaped, redacted, and saying what it found.

What the page does in a browser (no network, no script from captured values, the table
filter) is in test_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.api import Analysis
from analysis.model import BrowserVerdict
from reports import rows
from reports.render import render_report, write_report
from reports.scrub import Scrubber
from tests.reports import scenarios
from tests.reports.builders import (
    API,
    PAGE,
    analysis_of,
    findings_for,
    get,
    preflighted,
    redirected,
    stand_in_findings,
)

URL_ATTRIBUTES = {"src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "ping"}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))
            else:
                self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._open == "style":
            self.styles[-1] += data


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


DATA_TYPE = "application/gzip"


def data_block(html: str) -> dict:
    for attrs, text in parse(html).scripts:
        if attrs.get("id") == "corscope-data":
            assert attrs.get("type") == DATA_TYPE and attrs.get("data-encoding") == "base64"
            return rows.decode(text)
    raise AssertionError("no data block")


# --- Self-contained and locked down ---------------------------------------------------------


@pytest.mark.parametrize("fixture", ["har_html", "session_html", "hostile_html"])
def test_nothing_in_the_markup_can_load_from_anywhere(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    html: str = request.getfixturevalue(fixture)
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base", "form"), tag
        assert not URL_ATTRIBUTES & attrs.keys(), (tag, attrs)
        href = attrs.get("href")
        assert href is None or re.fullmatch(r"#[a-z0-9-]+", href), (tag, href)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    for style in page.styles:
        assert "url(" not in style and "@import" not in style


def test_content_security_policy_allows_only_the_inline_script(har_html: str) -> None:
    page = parse(har_html)
    meta = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert len(meta) == 1 and meta[0]["http-equiv"] == "Content-Security-Policy"
    policy = meta[0]["content"] or ""
    assert "default-src 'none'" in policy
    assert "style-src 'unsafe-inline'" in policy
    assert "img-src data:" in policy
    executable = [text for attrs, text in page.scripts if attrs.get("type") != DATA_TYPE]
    assert len(executable) == 1
    digest = base64.b64encode(hashlib.sha256(executable[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    # The CSP must come before anything it governs.
    assert har_html.index("Content-Security-Policy") < har_html.index("<style>")


def test_one_file_with_everything_inline(har_html: str) -> None:
    assert har_html.startswith("<!doctype html>")
    assert "<style>" in har_html and "<svg" in har_html
    assert "http://www.w3.org" not in har_html  # inline SVG needs no namespace URL


# --- Hostile captured values ------------------------------------------------------------------


def test_hostile_values_are_escaped_everywhere(hostile_html: str) -> None:
    assert scenarios.SCRIPT not in hostile_html
    assert "<img" not in hostile_html
    page = parse(hostile_html)
    executable = [a for a, _ in page.scripts if a.get("type") != DATA_TYPE]
    assert len(executable) == 1 and len(page.scripts) == 2
    for _tag, attrs in page.tags:
        for value in attrs.values():
            assert not (value or "").lower().startswith("javascript:")
    # ... and shown as text, so the reader still sees what the server sent.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html


def test_data_block_cannot_end_its_script_element(hostile_html: str) -> None:
    """Base64 only: nothing captured can end the element or start markup inside it."""
    block = next(text for attrs, text in parse(hostile_html).scripts if attrs.get("id"))
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", block)


def test_hostile_data_block_round_trips(hostile_html: str) -> None:
    data = data_block(hostile_html)
    assert any(scenarios.SCRIPT in s for s in data["strings"])


# --- Secrets ------------------------------------------------------------------------------------


def test_no_secret_survives_redaction(secrets_analysis: Analysis) -> None:
    html = render_report(secrets_analysis, findings_for(secrets_analysis))
    for secret in scenarios.SECRETS:
        assert secret not in html, secret
    assert "REDACTED" in html
    assert "This report includes secrets" not in html


def test_secrets_shown_only_with_a_warning(secrets_analysis: Analysis) -> None:
    html = render_report(secrets_analysis, findings_for(secrets_analysis), redact=False)
    assert 'class="banner danger"' in html and "This report includes secrets" in html
    # The capture does put every secret somewhere the report shows.
    for secret in scenarios.SECRETS:
        assert secret in html, secret


def test_secrets_in_free_text_are_redacted(secrets_analysis: Analysis) -> None:
    """Findings' curl commands and messages repeat URLs and headers: scrubbed as well."""
    curl = (
        f"curl -H 'Authorization: Bearer {scenarios.BEARER_SECRET}'"
        f" '{API}/x?token={scenarios.QUERY_TOKEN_SECRET}'"
    )
    findings = [replace(f, reproduce=curl) for f in stand_in_findings(secrets_analysis)]
    html = render_report(secrets_analysis, findings)
    for secret in scenarios.SECRETS:
        assert secret not in html, secret


# --- What the report says ---------------------------------------------------------------------


def test_glance_counts_and_browsers(session_html: str, session_analysis: Analysis) -> None:
    blocked = len(session_analysis.blocked)
    assert f'<span class="n">{blocked:,}</span><span class="l">blocked' in session_html
    assert "Chromium 156" in session_html
    assert "shop.har" in session_html and "/home/someone" not in session_html
    assert "Confirmed by the browser: <b>10</b>" in session_html


def test_findings_in_rank_order_with_their_parts(session_html: str) -> None:
    anchors = re.findall(r'<article class="finding [^"]*" id="(finding-\d+)"', session_html)
    assert anchors == [f"finding-{i}" for i in range(1, len(anchors) + 1)]
    assert len(anchors) >= 3
    first = session_html[
        session_html.index('id="finding-1"') : session_html.index('id="finding-2"')
    ]
    for part in ("What the browser said", "Why it happens", "The fix", "Reproduce it", "Evidence"):
        assert part in first, part
    assert "Chromium console" in first and "has been blocked by CORS policy" in first
    assert 'data-copy="finding-1-curl"' in first


def test_conditional_verdict_is_never_shown_as_certain() -> None:
    analysis = analysis_of(
        [get("c1", API + "/api/catalog", [("Access-Control-Allow-Origin", "*")], credentials=None)]
    )
    assert analysis.decided[0].verdict.blocked is None
    html = render_report(analysis, stand_in_findings(analysis))
    assert "Blocked if sent with credentials" in html
    assert "does not show whether" in html
    assert '<span class="v v-blocked">Blocked</span>' not in html


def test_missing_header_shown_as_absent_on_the_failed_response(har_html: str) -> None:
    assert re.search(
        r'<tr class="h-absent"><th scope="row">Access-Control-Allow-Origin</th><td>absent</td>',
        har_html,
    )
    assert '<span class="badge failed">failed here</span>' in har_html


def test_offending_value_is_marked() -> None:
    analysis = analysis_of(
        [get("m1", API + "/a", [("Access-Control-Allow-Origin", "https://other.test")])]
    )
    html = render_report(analysis, stand_in_findings(analysis))
    row = re.search(
        r'<tr class="h-offending"><th scope="row">Access-Control-Allow-Origin</th><td>(.*?)</td>',
        html,
    )
    assert row and row.group(1) == "<mark>https://other.test</mark>"


def test_preflight_beside_the_request_it_guarded() -> None:
    allow = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT")]
    exchange = preflighted(
        "p1", "PUT", API + "/items/1", 204, allow,
        actual_status=200, actual_headers=[("Access-Control-Allow-Origin", PAGE)],
    )  # fmt: skip
    analysis = analysis_of([exchange])
    html = render_report(analysis, stand_in_findings(analysis))
    pair = html[html.index('<div class="pair two">') :]
    assert (
        pair.index("Preflight") < pair.index("OPTIONS") < pair.index("Request") < pair.index("PUT")
    )


def test_failed_preflight_and_the_request_it_stopped() -> None:
    exchange = preflighted(
        "p2",
        "PUT",
        API + "/items/1",
        204,
        [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Methods", "PUT")],
        announced="x-trace",
    )
    analysis = analysis_of([exchange])
    html = render_report(analysis, stand_in_findings(analysis))
    assert "Never sent: the preflight failed." in html
    assert '<tr class="h-absent"><th scope="row">Access-Control-Allow-Headers</th>' in html
    assert '<tr class="h-related"><th scope="row">Access-Control-Request-Headers</th>' in html


def test_redirect_chain_hop_by_hop() -> None:
    analysis = analysis_of([redirected("r1", API + "/old", "https://elsewhere.test/new")])
    html = render_report(analysis, stand_in_findings(analysis))
    assert "Hop 1 of 2: " + API + "/old" in html
    assert "Hop 2 of 2: https://elsewhere.test/new" in html
    assert '<span class="tx-kind">Redirect</span>' in html


def test_cache_and_service_worker_provenance(session_html: str) -> None:
    assert "from a shared cache (CDN or reverse proxy)" in session_html
    assert "made by the page&#39;s service worker" in session_html
    assert '<tr class="h-cache"><th scope="row">X-Cache</th>' in session_html
    assert "<code>Age: 313</code>" in session_html


def test_confirmed_by_the_browser_is_said() -> None:
    exchange = get("b1", API + "/a", [], browser=BrowserVerdict(True, "MissingAllowOriginHeader"))
    analysis = analysis_of([exchange])
    html = render_report(analysis, stand_in_findings(analysis))
    assert "confirmed by the browser" in html


# --- The exchange table -----------------------------------------------------------------------


def test_table_rows_as_compressed_columns(session_html: str, session_analysis: Analysis) -> None:
    data = data_block(session_html)
    assert data["n"] == data["total"] == len(data["rows"]) == len(session_analysis.decided)
    assert len(data["strings"]) < len(data["rows"])  # repeated strings stored once
    assert all(len(column) == data["n"] for column in data["cols"].values())
    first = data["rows"][0]
    assert isinstance(first["id"], str) and first["ms"] == 0
    assert first["method"] == "GET"
    ids = sorted(d.exchange.id for d in session_analysis.decided)
    assert sorted(r["id"] for r in data["rows"]) == ids  # ids read back byte for byte
    times = [r["ms"] for r in data["rows"] if r["ms"] is not None]
    assert times == sorted(times)  # in time order: the deltas are never negative


@pytest.mark.parametrize(
    ("ident", "stem", "number"),
    [
        ("12fc5b-17", "12fc5b-", 17),
        ("x0", "x", 0),
        ("x007", "x007", None),
        ("abc", "abc", None),
        ("42", "", 42),
        ("f" + "9" * 20, "f" + "9" * 20, None),
    ],
)
def test_ids_split_for_delta_coding(ident: str, stem: str, number: int | None) -> None:
    assert rows._split_id(ident) == (stem, number)
    assert stem + ("" if number is None else str(number)) == ident


def test_first_rows_rendered_without_javascript(session_html: str) -> None:
    body = session_html[session_html.index('<tbody id="exchange-rows">') :]
    body = body[: body.index("</tbody>")]
    assert body.count("<tr ") == rows.SERVER_ROWS
    assert "Showing the first 100 of 160 requests" in session_html


def test_server_rows_say_what_the_script_would(session_analysis: Analysis) -> None:
    owner: dict[str, int] = {}
    table = rows.build(session_analysis.decided, owner, [], _no_scrub())
    data = rows.decode(str(table.data))
    for row, shown in zip(data["rows"], table.first, strict=False):
        assert shown.id == row["id"]
        assert shown.time == row["time"]
        assert shown.method == row["method"]
        assert shown.url == row["url"]
        assert shown.verdict == row["verdict"]
        assert shown.reason == row["reason"]


def _no_scrub() -> Scrubber:
    return Scrubber(False)


# --- Edges ----------------------------------------------------------------------------------------


def test_empty_capture() -> None:
    html = render_report(Analysis(decided=[]), [])
    assert "The capture holds no cross-origin requests." in html
    assert data_block(html)["rows"] == []


def test_write_report(tmp_path: Path, har_analysis: Analysis) -> None:
    target = write_report(
        tmp_path / "report.html", har_analysis, findings_for(har_analysis), title="Shop"
    )
    text = target.read_text(encoding="utf-8")
    assert "<title>Shop</title>" in text
    assert list(tmp_path.iterdir()) == [target]


def test_write_report_survives_lone_surrogates(tmp_path: Path) -> None:
    analysis = analysis_of([get("u1", API + "/a", [("X-Odd", "bad \ud800 value")])])
    target = write_report(tmp_path / "r.html", analysis, stand_in_findings(analysis))
    assert "bad ? value" in target.read_text(encoding="utf-8")


def test_title_is_escaped() -> None:
    html = render_report(Analysis(decided=[]), [], title=scenarios.SCRIPT)
    assert scenarios.SCRIPT not in html


def test_findings_past_the_card_limit_get_one_line_each(
    session_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import render

    findings = findings_for(session_analysis)
    assert len(findings) >= 3
    monkeypatch.setattr(render, "CARD_LIMIT", 2)
    html = render_report(session_analysis, findings)
    cards = re.findall(r'<article class="finding [^"]*" id="(finding-\d+)"', html)
    briefs = re.findall(r'<li id="(finding-\d+)" class="brief ', html)
    assert cards == ["finding-1", "finding-2"]
    assert briefs == [f"finding-{n}" for n in range(3, len(findings) + 1)]
    assert f"{len(findings) - 2} more finding" in html
    # Every link to a finding, from the chart or the table, still lands on an element.
    ids = {attrs.get("id") for _, attrs in parse(html).tags}
    links = {href[1:] for href in re.findall(r'href="(#finding-\d+)"', html)}
    assert links and links <= ids
