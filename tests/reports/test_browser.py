"""The report in real headless Chromium, opened from a file:// URL as a colleague would.

The page must fetch nothing, log no error, run no script that came from the capture, and
its table filter must work. Screenshots of the first screen land in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from analysis.api import Analysis
from reports import rows as table_rows
from reports.render import write_report
from tests.reports import scenarios
from tests.reports.builders import API, T0, analysis_of, findings_for, get

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 860}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium package"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page load, with everything the page asked the network for and logged."""

    def __init__(self, browser: Any, path: Path, **context: Any) -> None:
        self.context = browser.new_context(viewport=LAPTOP, **context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dismiss(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", dismiss)
        # Anything that calls alert() leaves a trace even if the dialog never shows.
        self.page.add_init_script(
            "window.__alerts = []; window.alert = m => window.__alerts.push(String(m));"
        )
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def close(self) -> None:
        self.context.close()

    def alerts(self) -> list[str]:
        return self.page.evaluate("window.__alerts")


def _write(artifacts: Path, name: str, analysis: Analysis, **kw: Any) -> Path:
    return write_report(artifacts / name, analysis, findings_for(analysis), **kw)


def test_first_screen_loads_nothing_and_logs_nothing(
    browser: Any, artifacts: Path, session_analysis: Analysis
) -> None:
    path = _write(artifacts, "report-session.html", session_analysis)
    for scheme in ("light", "dark"):
        visit = Visit(browser, path, color_scheme=scheme)
        visit.page.screenshot(path=str(artifacts / f"report-first-screen-{scheme}.png"))
        assert visit.requests == [visit.url]
        assert visit.errors == []
        assert visit.page.locator("h1").inner_text().startswith("CORS report for")
        assert visit.page.locator("#finding-1").count() == 1
        visit.close()


def test_har_report_in_the_browser(browser: Any, artifacts: Path, har_analysis: Analysis) -> None:
    path = _write(artifacts, "report-har.html", har_analysis)
    visit = Visit(browser, path)
    visit.page.screenshot(path=str(artifacts / "report-har-first-screen.png"))
    visit.page.locator("#exchanges").scroll_into_view_if_needed()
    assert visit.requests == [visit.url]
    assert visit.errors == []
    visit.close()


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_captured_markup_and_script_urls_run_nothing(
    browser: Any, artifacts: Path, bypass_csp: bool
) -> None:
    """With the page's CSP, and without it: escaping alone must already be enough."""
    analysis = analysis_of(scenarios.hostile())
    path = _write(artifacts, "report-hostile.html", analysis, redact=False)
    visit = Visit(browser, path, bypass_csp=bypass_csp)
    page = visit.page
    # Let the table's script render every row from the data block too.
    page.fill("#filter-text", "alert")
    expect(page.locator("#filter-count")).to_contain_text("match")
    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")
    page.wait_for_timeout(100)
    assert visit.dialogs == [] and visit.alerts() == []
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.scripts.length") == 2
    assert (
        page.evaluate(
            """[...document.querySelectorAll('*')].filter(el =>
             [...el.attributes].some(a => a.name.startsWith('on')
               || /^\\s*javascript:/i.test(a.value))).length"""
        )
        == 0
    )
    # The values are on the page, as text.
    assert scenarios.SCRIPT in page.locator("body").inner_text()
    assert visit.requests == [visit.url]
    assert visit.errors == []
    visit.close()


def test_table_filter_and_more_rows(
    browser: Any, artifacts: Path, session_analysis: Analysis
) -> None:
    path = _write(artifacts, "report-table.html", session_analysis)
    visit = Visit(browser, path)
    page = visit.page
    rows = page.locator("#exchange-rows tr")
    total = len(session_analysis.decided)
    assert rows.count() == 100
    assert page.locator("#more-rows").is_visible()
    page.locator("#rows-end").scroll_into_view_if_needed()  # more rows come on scrolling
    expect(rows).to_have_count(total)
    assert page.locator("#more-rows").is_hidden()

    page.fill("#filter-text", "orders")
    expect(page.locator("#filter-count")).to_contain_text("match")
    expected = sum("orders" in d.exchange.url for d in session_analysis.decided)
    assert 0 < expected < total
    assert rows.count() == expected
    assert all("orders" in t for t in rows.locator("td.url").all_inner_texts())
    assert page.locator("#filter-count").inner_text() == f"{expected} of {total} requests match"

    page.fill("#filter-text", "orders 500")  # every word must match
    expect(rows).to_have_count(0)

    page.fill("#filter-text", "")
    page.select_option("#filter-verdict", "blocked")
    assert rows.count() == min(200, len(session_analysis.blocked))
    assert set(rows.locator("td.vd .v").all_inner_texts()) == {"Blocked"}

    page.select_option("#filter-verdict", "all")
    page.select_option("#filter-finding", "1")
    linked = set(rows.locator("td.f a").all_inner_texts())
    assert linked == {"#1"}
    assert visit.errors == []
    visit.close()


def _shown_rows(page: Any) -> list[dict[str, str]]:
    return page.evaluate(
        """[...document.querySelectorAll('#exchange-rows tr')].map(tr => ({
             id: tr.title, time: tr.cells[0].textContent, request: tr.cells[1].textContent,
             status: tr.cells[2].textContent, page: tr.cells[3].textContent,
             verdict: tr.cells[4].textContent, reason: tr.cells[5].textContent}))"""
    )


def _expected(row: dict[str, Any]) -> dict[str, str]:
    return {
        "id": row["id"],
        "time": row["time"],
        "request": f"{row['method']} {row['url']}",
        "status": "" if row["status"] is None else str(row["status"]),
        "page": row["page_origin"],
        "verdict": row["verdict"] + (" \u2713" if row["flags"] & table_rows.FLAG_CONFIRMED else ""),
        "reason": row["reason"],
    }


def _data(path: Path) -> dict[str, Any]:
    html = path.read_text(encoding="utf-8")
    block = html[html.index('id="corscope-data">') + len('id="corscope-data">') :]
    return table_rows.decode(block[: block.index("</script>")])


def test_compressed_rows_round_trip_in_chromium(browser: Any, artifacts: Path) -> None:
    """The page's DecompressionStream reads back exactly what Python wrote: ids with and
    without counting suffixes, non-ASCII and markup-looking URLs, undated rows."""
    odd = [
        ("x007", f"{API}/caf\u00e9/\u65e5\u672c?q=\u00fc&x=<b>", T0),
        ("x8", f"{API}/a/b", T0 + 0.001),
        ("12fc5b-9", f"{API}/emoji/\U0001f600", T0 + 3600.5),
        ("12fc5b-10", f"{API}/</script><script>alert(1)</script>", T0 + 7200),
        ("plain", f"{API}/plain", T0 + 7200),
        ("0", f"{API}/zero", T0 + 86400 * 3),
    ]
    exchanges = [
        get(i, url, [("Access-Control-Allow-Origin", "*")], started=t) for i, url, t in odd
    ]
    path = _write(artifacts, "report-round-trip.html", analysis_of(exchanges), redact=False)
    visit = Visit(browser, path)
    page = visit.page
    page.select_option("#filter-verdict", "all")
    page.fill("#filter-text", "zero")
    expect(page.locator("#filter-count")).to_have_text(f"1 of {len(odd)} requests match")
    page.fill("#filter-text", "")  # the script renders every row again, from the data
    expect(page.locator("#filter-count")).to_have_text(f"{len(odd)} requests")
    shown = _shown_rows(page)
    expected = [_expected(r) for r in _data(path)["rows"]]
    assert shown == expected
    assert sorted(r["id"] for r in shown) == sorted(i for i, _, _ in odd)
    assert visit.dialogs == [] and visit.alerts() == []
    assert visit.requests == [visit.url]
    assert visit.errors == []
    visit.close()


def test_capped_table_in_the_browser(
    browser: Any, artifacts: Path, session_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_rows, "ROW_LIMIT", 120)
    path = _write(artifacts, "report-capped.html", session_analysis)
    total = len(session_analysis.decided)
    visit = Visit(browser, path)
    page = visit.page
    page.locator("#exchanges").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "report-capped-table.png"))
    assert page.locator(".limit-note").is_visible()
    assert page.locator("#filter-count").inner_text() == f"120 of {total} requests listed"
    rows = page.locator("#exchange-rows tr")
    page.locator("#rows-end").scroll_into_view_if_needed()
    expect(rows).to_have_count(120)
    assert page.locator("#more-rows").is_hidden()
    assert _shown_rows(page) == [_expected(r) for r in _data(path)["rows"]]
    assert page.locator("#filter-count").inner_text() == f"120 of {total} requests listed"

    page.fill("#filter-text", "orders")
    expect(page.locator("#filter-count")).to_contain_text("listed requests match")
    matched = rows.count()
    assert page.locator("#filter-count").inner_text() == f"{matched} of 120 listed requests match"
    counted = page.locator("table.counted tbody tr")
    assert counted.count() > 0 and counted.first.is_hidden()
    page.click(".limit-note a[href='#counted']")
    assert counted.first.is_visible()
    assert visit.requests == [visit.url]
    assert visit.errors == []
    visit.close()


def test_copy_button_copies_the_command(
    browser: Any, artifacts: Path, har_analysis: Analysis
) -> None:
    path = _write(artifacts, "report-copy.html", har_analysis)
    visit = Visit(browser, path)
    visit.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = visit.page
    button = page.locator('button[data-copy="finding-1-curl"]')
    assert button.is_visible()
    button.click()
    expect(button).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("curl ") and copied == page.locator("#finding-1-curl").inner_text()
    visit.close()


def test_readable_without_javascript(
    browser: Any, artifacts: Path, session_analysis: Analysis
) -> None:
    path = _write(artifacts, "report-nojs.html", session_analysis)
    visit = Visit(browser, path, java_script_enabled=False)
    page = visit.page
    assert page.locator("#exchange-rows tr").count() == 100
    assert page.locator(".table-note").is_visible()
    assert page.locator(".controls").is_hidden() and page.locator(".copy").first.is_hidden()
    assert page.locator("#finding-1 .console").is_visible()
    visit.close()


def test_print_expands_evidence_and_hides_controls(
    browser: Any, artifacts: Path, session_analysis: Analysis
) -> None:
    path = _write(artifacts, "report-print.html", session_analysis)
    visit = Visit(browser, path)
    page = visit.page
    closed = page.locator("#finding-1 details.affected .cols")
    assert closed.is_hidden()
    page.emulate_media(media="print")
    assert closed.is_visible()
    assert page.locator(".controls").is_hidden()
    page.pdf(path=str(artifacts / "report-print.pdf"))
    visit.close()
