"""A HAR that Playwright records (`record_har_path`) is judged as Chromium judged it.

Such a HAR keeps a CORS failure as the request headers script could see (no Origin), no
answer (status -1) and `_failureText: net::ERR_FAILED`, and it records no preflights. So
corscope can say blocked or allowed, as Chromium did, but not which check failed: the
reason is held to Chromium's only where the HAR kept the answer that decided.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from analysis.api import Analysis, analyze_files
from analysis.lab import pages
from analysis.lab.browser import CHROMIUM, LabBrowser
from analysis.lab.compare import condition_holds
from analysis.lab.runner import run_scenario
from analysis.lab.scenarios import by_id
from analysis.lab.servers import start_servers

IDS = [
    "control-simple-get",
    "control-json-post",
    "error-500-without-cors",
    "wildcard-with-credentials",
    "allowlist-wrong-port",
    "duplicate-acao-two-lines",
    "credentials-without-acac",
    "preflight-404-without-cors",
    "allow-headers-missing-custom",
    "allow-methods-missing-put",
    "no-cors-headers-json-post",
    "redirect-tainted-allowlist",
    "redirect-tainted-acao-wildcard",
    "error-redirect-to-login-without-cors",
    "expose-headers-missing",
    # Redirects, caches, the lab's service worker, a sandboxed page, preflight failures and
    # other initiators: each a different shape of HAR entry (measured against all 112 lab
    # scenarios; these agree).
    "redirect-tainted-acao-null",
    "redirect-tainted-preflighted",
    "control-put-redirected-same-origin",
    "redirect-location-with-credentials",
    "preflight-redirect-http-to-https",
    "browser-cache-reused-by-other-port",
    "cdn-cache-replays-first-origin",
    "revalidation-304-names-production",
    "control-revalidation-304-without-cors",  # a 304 written as the stored 200
    "control-browser-cache-other-site",
    "control-preflight-cached",
    "preflight-max-age-zero-repeated",
    "sw-pass-through",
    "sw-pass-through-cors-failure",
    "sw-cache-storage-answer",
    "sw-synthetic-answer",
    "sw-synthetic-answer-to-preflighted-get",
    "sw-opaque-to-cors-request",
    "null-origin-sandboxed-allowed",
    "null-origin-sandboxed-refused",  # a blocked request with neither Origin nor Referer
    "preflight-404-with-cors",
    "wildcard-with-credentials-preflight",
    "duplicate-acao-preflight",
    "gateway-preflight-static-origin",
    "starlette-400-disallowed-method",
    "eventsource-wrong-origin",
    "control-eventsource-reconnect",
    "no-cors-opaque-get",
    "control-https-self-signed",
    "wildcard-with-credentials-xhr",
    "font-from-cdn-without-cors",
    "image-use-credentials-wildcard",
    "control-stylesheet-crossorigin",
    "redirect-to-ftp",
    # Calls from a worker and from iframes: their requests are the worker's or the frame's.
    "worker-fetch-without-cors",
    "control-module-worker-allowed",
    "embedded-widget-origin-not-listed",
    "sandboxed-iframe-null-origin",
    "orb-image-of-json",  # ORB's refusal, which Playwright keeps as _failureText
    # Browser blocks that are not CORS: CORP (net::ERR_BLOCKED_BY_RESPONSE.<reason>), Blink's
    # Content-Type refusals, fetch's redirect modes. (A stylesheet Blink refused under
    # nosniff is not here: Playwright keeps no answer for it, net::ERR_ABORTED.)
    "corp-same-origin-image",
    "corp-same-site-other-port-ip",
    "coep-image-without-corp",
    "control-corp-same-origin-cors-wildcard",
    "corp-same-origin-image-of-json",
    "script-served-as-image",
    "module-script-text-plain",
    "control-classic-script-crossorigin-text-plain",
    "fetch-redirect-error",
    "control-fetch-redirect-manual",
    # Answers the HTTP cache held: a revalidated stylesheet, a redirect's target, a 301 in
    # the middle of a chain, a preflighted GET's stored copy; ORB at the end of a redirect
    # from a sandboxed page; a frame's beacon. (A 304 to Blink's own revalidation is not
    # here: the HAR lists headers sorted, so it cannot tell who asked, see the README.)
    "stylesheet-revalidated-by-other-port",
    "credentialed-stylesheet-redirect-target-cached",
    "redirect-cached-301-then-duplicate-acao",
    "preflighted-get-cached-for-other-port",
    "orb-sandboxed-script-redirected-json",
    "beacon-json-from-frame-preflight-404",
    # A redirect to an origin whose preflight fails (an XHR: the HAR logs the hop with the
    # headers its script set), a stored 301 refused again, credentials kept across hops
    # (also a data: worker's), a no-cors chain of a sandboxed page that ends back at the
    # first URL's site or on another, a worker's fetch that fails its integrity metadata.
    "xhr-redirected-preflight-404",
    "redirect-cached-301-wildcard-credentialed-twice",
    "redirect-credentialed-303-acac-uppercase",
    "control-redirect-303-acac-uppercase-without-credentials",
    "data-worker-credentialed-redirect-acac-uppercase",
    "corp-sandboxed-script-chain-back-same-origin",
    "script-sandboxed-chain-ends-elsewhere-as-image",
    "sw-pass-through-integrity-mismatch",
    # Stored redirects and redirect targets across fetches (a 301 refused for another port, a
    # 308 two sites stored, ORB's refusal that left no copy, a target without Referer, Vary:
    # Range, a 304 stored as it came, a copy a 304 made fresh), a refused hop on a host
    # without fetch metadata. (Loads whose upstream failed are not here: without a proxy
    # there is no 502 page for ORB to judge.)
    "redirect-stored-301-refused-then-followed-from-its-port",
    "import-redirect-takes-own-sites-stored-308",
    "eventsource-named-host-303-acac-uppercase-then-without-credentials",
    "redirect-target-orb-blocked-not-stored",
    "no-referrer-redirect-target-cached-for-same-page",
    "stylesheet-redirect-target-cached-vary-range",
    "preflighted-get-answered-by-stored-304",
    "font-redirect-target-revalidated-304-names-production",
    # Header grammar as Chromium reads it: Range values it does not safelist, safelisted
    # values and client hints past 1024 bytes, a Range the HTTP cache re-serializes, folded
    # ACAO and Allow-Methods lines, a Location with backslashes or dot segments, a worker's
    # preflight refused, a server's own 304 (the HAR has no preflight: blocked or not only).
    "allow-headers-range-uppercase-unit",
    "allow-headers-range-position-2-63",
    "allow-headers-safelisted-past-1024-bytes",
    "control-range-reserialized-by-cache",
    "control-allow-methods-folded",
    "acao-folded-before-port",
    "control-redirect-location-backslashes",
    "control-redirect-location-dot-segments",
    "worker-range-and-cache-control-refused",
    "expose-headers-missing-unasked-304",
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], Analysis]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    workdir = tmp_path_factory.mktemp("playwright-har")
    har = workdir / "session.har"
    scenarios = tuple(by_id(i) for i in IDS)
    with start_servers(scenarios, workdir / "servers") as servers:
        with LabBrowser(None, servers.host_map, record_har=har) as browser:
            # As `run_lab` does: the sw-* scenarios need the lab's worker in control.
            browser.install_worker(
                servers.url("app", pages.page_path("sw", "_install")),
                pages.WORKER_PATH,
                pages.WORKER_SCOPE,
            )
            truths = [run_scenario(browser, servers, s) for s in scenarios]
    return truths, analyze_files([har])


def _decided(analysis: Analysis, url: str) -> Any:
    # The page's own request: a service worker's fetch of the same URL (which Playwright
    # records too, with `_serviceWorkerRef`) is an exchange of the worker's, told apart by
    # its start (both are written to the millisecond).
    entries = json.loads(Path(analysis.inputs[0]).read_text())["log"]["entries"]
    by_worker = [
        datetime.fromisoformat(e["startedDateTime"]).timestamp()
        for e in entries
        if "_serviceWorkerRef" in e and e["request"]["url"] == url
    ]
    found = [
        d
        for d in analysis.decided
        if d.exchange.url == url
        and not any(abs((d.exchange.started or 0) - t) < 1e-4 for t in by_worker)
    ]
    assert found, f"no exchange for {url}"
    return found[-1]


@pytest.mark.parametrize("scenario_id", IDS)
def test_blocked_or_allowed_as_chromium_decided(
    recorded: tuple[list[Any], Analysis], scenario_id: str
) -> None:
    truths, analysis = recorded
    truth = next(t for t in truths if t.scenario_id == scenario_id)
    assert truth.blocked == by_id(scenario_id).expected.blocked  # the lab itself held
    verdict = _decided(analysis, truth.url).verdict
    blocked = verdict.blocked
    if blocked is None:
        # What the HAR cannot show (a module script or <script crossorigin>, the fetch's
        # redirect mode) the lab settles from the call, as it does for the flow file.
        blocked = condition_holds(verdict.condition, by_id(scenario_id).call)
    assert blocked is truth.blocked


def test_the_har_is_what_playwright_writes(recorded: tuple[list[Any], Analysis]) -> None:
    # What the verdicts above had to cope with: failures as -1 with Playwright's own error
    # field, and no preflight at all, read without a warning.
    _, analysis = recorded
    assert analysis.warnings == []
    entries = json.loads(Path(analysis.inputs[0]).read_text())["log"]["entries"]
    failed = [e["response"] for e in entries if e["response"]["status"] == -1]
    texts = {r.get("_failureText") for r in failed}
    # CORS, the ORB image, CORP's blocks by reason, and the hop a redirect: 'manual' fetch
    # did not follow.
    assert texts == {
        "net::ERR_FAILED",
        "net::ERR_BLOCKED_BY_ORB",
        "net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin",
        "net::ERR_BLOCKED_BY_RESPONSE.NotSameSite",
        "net::ERR_BLOCKED_BY_RESPONSE.NotSameOriginAfterDefaultedToSameOriginByCoep",
        "net::ERR_ABORTED",
    }
    assert not [e for e in entries if e["request"]["method"] == "OPTIONS"]
