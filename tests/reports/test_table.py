"""The exchange table past its limit: what it lists, what it counts, and that they add up.

The browser side (the page decoding the compressed columns) is in test_browser.py.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from analysis.api import Analysis
from reports import rows
from reports.render import render_report
from reports.scrub import Scrubber
from tests.reports import scenarios
from tests.reports.builders import API, T0, analysis_of, findings_for, get, renumbered

ACAO = "Access-Control-Allow-Origin"
PAGE = "http://localhost:5173"


def _counts_add_up(table: rows.Table) -> None:
    summary = table.summary
    assert summary is not None
    assert table.listed + summary.counted == table.total
    assert sum(g.count for g in summary.groups) + summary.more_requests == summary.counted
    assert sum(n for _, n in summary.more_by_verdict) == summary.more_requests
    assert sum(k.total for k in summary.kinds) == table.total
    assert sum(k.listed for k in summary.kinds) == table.listed
    data = rows.decode(str(table.data))
    assert data["n"] == table.listed == len(data["rows"])
    assert data["total"] == table.total


def _build(analysis: Analysis, **kw: int) -> rows.Table:
    return rows.build(analysis.decided, {}, [], Scrubber(True), **kw)


def _kinds(analysis: Analysis) -> Counter[int]:
    table = _build(analysis)
    data = rows.decode(str(table.data))
    verdict_code = {word: code for code, word in enumerate(rows.VERDICT_WORDS)}
    return Counter(rows.kind_of(verdict_code[r["verdict"]], r["flags"]) for r in data["rows"])


def test_under_the_limit_everything_is_listed(session_analysis: Analysis) -> None:
    table = _build(session_analysis)
    assert table.summary is None
    assert table.listed == table.total == len(session_analysis.decided)


def test_capped_table_lists_problems_first_and_counts_the_rest(
    session_analysis: Analysis,
) -> None:
    kinds = _kinds(session_analysis)
    problems = kinds[rows.PROBLEMS]
    assert 10 < problems < len(session_analysis.decided)
    # Room for every problem and a few more: problems all listed, the rest partly.
    table = _build(session_analysis, limit=problems + 5)
    _counts_add_up(table)
    assert table.listed == problems + 5
    summary = table.summary
    assert summary is not None
    first = summary.kinds[0]
    assert first.listed == first.total == problems and first.per_group is None
    assert all(g.verdict == "Allowed" for g in summary.groups)
    # Too little room for the problems: only problems are listed.
    table = _build(session_analysis, limit=10)
    _counts_add_up(table)
    listed = rows.decode(str(table.data))["rows"]
    assert len(listed) == 10 and all(r["verdict"] != "Allowed" for r in listed)
    summary = table.summary
    assert summary is not None
    assert [k.listed for k in summary.kinds] == [10, 0, 0]
    assert summary.kinds[0].per_group is not None


def test_a_rare_failure_is_listed_beside_a_frequent_one() -> None:
    frequent = get("often", API + "/api/users/1", [("Server", "nginx")], status=500)
    rare = get("rare", API + "/api/billing", [(ACAO, "*")], credentials="include")
    allowed = get("ok", API + "/api/items/3", [(ACAO, PAGE)])
    exchanges = [renumbered(frequent, f"often-{i}", T0 + i) for i in range(300)]
    exchanges.insert(150, renumbered(rare, "rare-1", T0 + 150.5))
    exchanges += [renumbered(allowed, f"ok-{i}", T0 + 400 + i) for i in range(100)]
    table = _build(analysis_of(exchanges), limit=20)
    _counts_add_up(table)
    ids = [r["id"] for r in rows.decode(str(table.data))["rows"]]
    assert "rare-1" in ids and len(ids) == 20
    # The frequent failure's share is spread over the session, not its first minutes.
    often = [int(i.rsplit("-", 1)[1]) for i in ids if i.startswith("often-")]
    assert min(often) < 30 and max(often) > 250
    summary = table.summary
    assert summary is not None
    groups = {(g.endpoint, g.verdict): g for g in summary.groups}
    blocked = groups[(API + "/api/users/{id}", "Blocked")]
    assert blocked.count == 300 - 19 and blocked.listed == 19 and blocked.status == "500"
    assert blocked.example.startswith("often-")
    assert groups[(API + "/api/items/{id}", "Allowed")].count == 100


def test_small_groups_are_added_up(
    session_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "SUMMARY_ROWS", 2)
    table = _build(session_analysis, limit=10)
    _counts_add_up(table)
    summary = table.summary
    assert summary is not None
    assert len(summary.groups) == 2 and summary.more_groups > 0 and summary.more_requests > 0


def test_rows_that_barely_compress_are_listed_fewer() -> None:
    exchanges = [
        get(f"{i:032x}", f"{API}/api/{i * 7919:08x}{i:06d}", [(ACAO, PAGE)], started=T0 + i)
        for i in range(2000)
    ]
    analysis = analysis_of(exchanges)
    whole = _build(analysis)
    assert whole.summary is None
    table = _build(analysis, budget=len(whole.data) // 3)
    _counts_add_up(table)
    assert rows.SERVER_ROWS <= table.listed < 2000 * 0.4
    assert len(table.data) <= len(whole.data) // 3


def test_capped_report_says_what_it_left_out(
    session_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "ROW_LIMIT", 40)
    html = render_report(session_analysis, findings_for(session_analysis))
    total = len(session_analysis.decided)
    text = re.sub(r"<[^>]+>", "", html)
    assert f"40 listed + {total - 40} counted = {total}" in text
    assert "corscope analyze shop.har --json analysis.json" in text
    assert f"Counted, not listed: {total - 40} requests by endpoint" in text
    assert "Showing the first 40 of 40 listed requests" not in text  # 40 < SERVER_ROWS
    assert f"40 of {total} requests listed" in text
    for kind in rows.KIND_WORDS:
        assert kind in text
    counted = html[html.index('<table class="exchanges counted">') :]
    counted = counted[: counted.index("</table>")]
    numbers = re.findall(r'<td class="n"[^>]*>([\d,]+)<', counted)
    assert sum(int(n.replace(",", "")) for n in numbers) == total - 40


def test_counted_lines_keep_secrets_out(
    secrets_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoints come from raw URLs: user info and token parameters must still not show."""
    monkeypatch.setattr(rows, "ROW_LIMIT", 1)
    monkeypatch.setattr(rows, "SERVER_ROWS", 1)
    html = render_report(secrets_analysis, findings_for(secrets_analysis))
    assert 'id="counted"' in html
    for secret in scenarios.SECRETS:
        assert secret not in html, secret
    exposed = render_report(secrets_analysis, findings_for(secrets_analysis), redact=False)
    assert 'id="counted"' in exposed
