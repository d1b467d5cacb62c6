"""The report's small parts: browser names, chart geometry, origins, rows, sample picking."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis.model import Step
from analysis.verdict import Verdict
from reports import cards, charts, evidence, fmt, origins, rows
from reports.scrub import Scrubber
from reports.useragent import browser_name
from tests.factories import exchange, tx
from tests.reports.builders import API, T0, analysis_of, get, renumbered

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/156.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "hints", "name"),
    [
        (CHROME_UA, '"Chromium";v="156", "Not.A/Brand";v="99"', "Chromium 156"),
        (CHROME_UA, '"Google Chrome";v="156", "Chromium";v="156"', "Google Chrome 156"),
        (CHROME_UA, None, "Chrome 156"),
        (CHROME_UA.replace("Chrome/", "HeadlessChrome/"), None, "Headless Chrome 156"),
        (CHROME_UA + " Edg/155.0.1", None, "Edge 155"),
        ("Mozilla/5.0 (X11; rv:140.0) Gecko/20100101 Firefox/140.0", None, "Firefox 140"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko)"
            " Version/18.2 Safari/605.1.15",
            None,
            "Safari 18",
        ),
        ("curl/8.5.0", None, "curl"),
        (None, None, None),
    ],
)  # fmt: skip
def test_browser_name(agent: str | None, hints: str | None, name: str | None) -> None:
    assert browser_name(agent, hints) == name


def test_origins_split_byte_for_byte() -> None:
    assert origins.split("https://API.test:443/a?b#c") == ("https://API.test:443", "/a?b#c")
    assert origins.split("https://api.test?x=1") == ("https://api.test", "?x=1")
    assert origins.split("data:text/plain,hi") == ("", "data:text/plain,hi")
    assert origins.origin("https://API.test:443/a") == "https://api.test"


def test_a_page_the_wire_does_not_name_is_shown_by_its_fetch_metadata() -> None:
    sent = [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors")]
    answer = tx("GET", "http://127.0.0.2:8000/x", sent, 200, [("Content-Type", "image/png")])
    unplaced = exchange(Step(answer.request.url, None, answer), origin=None, mode="no-cors")
    assert origins.page(unplaced) == "a cross-site page (no Origin or Referer sent)"
    named = exchange(Step(answer.request.url, None, answer), origin="http://127.0.0.1:3000")
    assert origins.page(named) == "http://127.0.0.1:3000"


def test_time_chart_picks_a_nameable_bucket() -> None:
    exchanges = [renumbered(get("a", API + "/a", []), f"a{i}", T0 + i * 10) for i in range(60)]
    chart = charts.over_time(analysis_of(exchanges).decided)
    assert chart is not None
    assert chart.bucket == "10 seconds"  # 590 s in fewer than 60 columns
    assert len(chart.columns) <= 60
    assert chart.peak >= 1
    for column in chart.columns:
        for _kind, y, height in column.segments:
            assert chart.plot_top - 0.1 <= y and y + height <= chart.plot_bottom + 0.1


def test_time_chart_over_centuries_stays_bounded() -> None:
    # A hostile HAR's year-9999 entry beside today's: a few columns of whole days, not
    # millions of buckets; times no calendar holds are left out of the chart.
    far = 253_402_000_000.0  # December 9999
    times = [T0, T0 + 5, far, float("inf"), float("nan"), 1e300]
    exchanges = [renumbered(get("a", API + "/a", []), f"a{i}", t) for i, t in enumerate(times)]
    chart = charts.over_time(analysis_of(exchanges).decided)
    assert chart is not None
    assert 1 < len(chart.columns) <= 60
    assert chart.bucket.endswith(" days")
    assert sum(sum(v for _, _, v in c.segments) > 0 for c in chart.columns) == 2


@pytest.mark.parametrize("epoch", [float("inf"), float("-inf"), float("nan"), 1e300, -1e300])
def test_times_no_calendar_holds_format_as_unknown(epoch: float) -> None:
    assert fmt.when(epoch) is None
    assert fmt.clock(epoch) == fmt.clock_ms(epoch) == fmt.day(epoch) == ""
    assert fmt.duration(float("inf")) == fmt.duration(float("nan")) == "?"


def test_time_chart_without_timestamps() -> None:
    exchange = get("a", API + "/a", [])
    step = exchange.steps[0]
    assert step.actual is not None
    untimed = replace(exchange, steps=(replace(step, actual=replace(step.actual, started=None)),))
    assert charts.over_time(analysis_of([untimed]).decided) is None


def test_bar_chart_folds_the_tail() -> None:
    counts = [
        charts.FindingCount(f"cause {i}", "blocked", 10 - i, f"finding-{i}", i)
        for i in range(1, 11)
    ]
    chart = charts.by_finding(counts)
    assert chart is not None
    assert len(chart.bars) == 9 and chart.bars[-1].label == "2 more findings"
    assert chart.bars[-1].anchor is None
    assert max(b.width for b in chart.bars) <= 560


def test_verdict_codes() -> None:
    assert rows.verdict_code(Verdict(cors=True, blocked=False)) == rows.ALLOWED
    assert rows.verdict_code(Verdict(cors=True, blocked=True)) == rows.BLOCKED
    assert (
        rows.verdict_code(Verdict(cors=True, blocked=None, condition="credentials-include"))
        == rows.CONDITIONAL
    )
    assert (
        rows.verdict_code(Verdict(cors=True, blocked=None, condition="response-not-captured"))
        == rows.UNDECIDED
    )
    assert rows.verdict_code(Verdict(cors=True, blocked=True, fault="refused")) == rows.FAULT
    assert len(rows.VERDICT_WORDS) == len(rows.VERDICT_CLASSES) == 5


def test_verdict_labels_never_claim_certainty_for_conditions() -> None:
    label, css = evidence.verdict_label(
        Verdict(cors=True, blocked=None, condition="credentials-include")
    )
    assert (label, css) == ("Blocked if sent with credentials", "conditional")
    label, _ = evidence.verdict_label(
        Verdict(cors=True, blocked=None, condition="response-not-captured")
    )
    assert label == "Undecided"
    # A redirect a proxy saw unfollowed: the fetch's redirect mode decided, not the capture.
    label, css = evidence.verdict_label(
        Verdict(cors=True, blocked=None, condition="redirect-error")
    )
    assert (label, css) == ("Blocked if redirect: 'error'", "conditional")
    assert "redirect: 'error'" in evidence.CONDITIONS["redirect-error"]


def test_samples_show_variety_first() -> None:
    same = [get(f"s{i}", API + "/a", []) for i in range(5)]
    other = get("o", API + "/b", [])
    decided = analysis_of([*same, other]).decided
    assert [d.exchange.id for d in cards.pick_samples(decided)] == ["s0", "o"]


def test_samples_are_two_even_when_alike() -> None:
    decided = analysis_of([get(f"s{i}", API + "/a", []) for i in range(5)]).decided
    assert [d.exchange.id for d in cards.pick_samples(decided)] == ["s0", "s1"]


def test_samples_of_one() -> None:
    decided = analysis_of([get("only", API + "/a", [])]).decided
    assert [d.exchange.id for d in cards.pick_samples(decided)] == ["only"]


def test_durations_in_plain_words() -> None:
    assert fmt.duration(0.25) == "250 ms"
    assert fmt.duration(5) == "5 s"
    assert fmt.duration(585) == "9 min 45 s"
    assert fmt.duration(7260) == "2 h 1 min"


def test_layer_names() -> None:
    assert cards.layer_name("page") == "the page's code"
    assert cards.layer_name("") == ""


def test_rows_refer_to_findings_by_position() -> None:
    decided = analysis_of([get("a", API + "/a", []), get("b", API + "/b", [])]).decided
    table = rows.build(decided, {"b": 1}, [("Title", "blocked")], _plain())
    assert [r.finding for r in table.first] == [0, 1]
    assert table.first[1].finding_title == "Title"


def _plain() -> Scrubber:
    return Scrubber(False)


def test_a_fault_card_says_fault_though_the_console_line_is_known() -> None:
    """A proxy's own 502 also carries the CORS line Chromium printed for it; the card
    still says what failed, not a CORS rule that did not."""
    from types import SimpleNamespace

    from analysis.api import Decided

    [d] = analysis_of([get("f", API + "/a", [])]).decided
    verdict = Verdict(
        cors=True,
        blocked=True,
        fault="the proxy answered 502 itself",
        browser_reason="MissingAllowOriginHeader",
        chrome_message="Access to fetch at … No 'Access-Control-Allow-Origin' header …",
    )
    card = SimpleNamespace()
    cards._messages(card, "proxy-or-upstream-fault", [Decided(d.exchange, verdict)], Scrubber(True))  # type: ignore[arg-type]
    assert (card.message_kind, card.fault) == ("fault", "the proxy answered 502 itself")
