"""How big the HTML report gets and how fast Chromium shows its first screen.

    .venv/bin/python benchmarks/report_size.py                 # 100k and 1M exchanges
    .venv/bin/python benchmarks/report_size.py --sizes 100000 --keep /tmp/reports

Builds synthetic analyses in-process (no network, no capture files): exchanges spread over
an hour, across a few thousand endpoints, two page origins and three APIs, about a third
blocked for a handful of causes. Verdicts and findings are made up directly rather than
decided, since this measures the renderer. Targets (issue 7) for 100k and 1M exchanges:
under 10 MB, first screen under 1 s. Past `reports.rows.ROW_LIMIT` the table lists that
many requests and counts the rest by endpoint; `listed` says how many it listed.

Each report is opened `--repeat` times in a fresh headless Chromium (the machine is shared,
so single timings are noisy): the median is printed, and the range of first contentful
paint. `search` is typing in the table's search box until the count says what matched (the
first search also decodes the table's data). Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.api import Analysis, Decided
from analysis.diagnosis.findings import Finding
from analysis.diagnosis.fixes import Fix
from analysis.diagnosis.stacks import Stack
from analysis.model import Context, Exchange, Headers, Request, Response, Step, Transaction
from analysis.verdict import CorsWarning, Verdict
from reports.render import write_report

CHROMIUM = "/usr/bin/chromium"
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
T0 = 1_795_167_000.0
PAGES = ("https://shop.example.test", "https://admin.example.test")
APIS = ("https://api.example.test", "https://cdn.example.test", "https://auth.example.test")
ROUTES = ("users", "orders", "items", "cart", "search", "profile", "catalog", "invoices")
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/156.0.0.0 Safari/537.36"
)


_STACK = Stack(
    id="express",
    name="Express",
    evidence=("X-Powered-By: Express", "Server: nginx/1.25.3"),
    layers=("nginx", "express"),
)
_FIX = Fix(
    stack="express",
    text="Register the cors middleware before every router, with the page origins.",
    snippet="app.use(cors({ origin: ['https://shop.example.test'], credentials: true }));",
    layer="express",
    leave_alone="nginx",
)


# (root cause, reason, verdict) for the failing shares; the rest are allowed.
_CAUSES = (
    ("cors-after-routes", "MissingAllowOriginHeader", "blocked"),
    ("error-responses-without-cors", "MissingAllowOriginHeader", "blocked"),
    ("preflight-not-handled", "PreflightMissingAllowOriginHeader", "blocked"),
    ("wildcard-with-credentials", "WildcardOriginNotAllowed", "conditional"),
    ("preflight-not-cached", None, "warning"),
)


def synthetic(n: int, unique: bool = False) -> tuple[Analysis, list[Finding]]:
    """`unique`: every id a UUID and every URL its own (a random-looking cache buster), the
    worst case for compression."""
    verdicts = {
        "allowed": Verdict(cors=True, blocked=False, mode="cors", credentials="omit"),
        "blocked": {
            reason: Verdict(
                cors=True,
                blocked=True,
                stage="response",
                reason=reason,
                mode="cors",
                credentials="omit",
                chrome_message=f"Access to fetch at '…' has been blocked by CORS policy: {reason}",
                firefox_code="CORSMissingAllowOrigin",
            )
            for reason in ("MissingAllowOriginHeader", "PreflightMissingAllowOriginHeader")
        },
        "conditional": Verdict(
            cors=True,
            blocked=None,
            condition="credentials-include",
            reason="WildcardOriginNotAllowed",
            mode="cors",
        ),
        "warning": Verdict(
            cors=True,
            blocked=False,
            mode="cors",
            warnings=(CorsWarning("preflight-not-cached", "No Access-Control-Max-Age."),),
        ),
    }
    ok = Headers.of(
        [("Access-Control-Allow-Origin", PAGES[0]), ("Content-Type", "application/json")]
    )
    bare = Headers.of([("Content-Type", "application/json"), ("Server", "nginx")])
    responses = {200: Response(200, ok), 500: Response(500, bare), 404: Response(404, bare)}
    requests: dict[str, Request] = {}
    members: dict[str, list[str]] = {cause: [] for cause, _, _ in _CAUSES}
    decided: list[Decided] = []
    for i in range(n):
        page = PAGES[i % 7 == 0]
        api = APIS[i % 3]
        url = f"{api}/api/{ROUTES[i % len(ROUTES)]}/{(i * 7919) % 4000}?page={i % 5}"
        ident = f"x{i}"
        if unique:
            digest = hashlib.md5(str(i).encode()).hexdigest()
            ident = str(uuid.UUID(digest))
            url += f"&_={digest[:12]}"
        request = requests.get(url)
        if request is None:
            request = requests[url] = Request(
                "GET", url, Headers.of([("Origin", page), ("User-Agent", UA)])
            )
        share = i % 10
        cause = _CAUSES[share][0] if share < len(_CAUSES) else None
        if cause is None:
            verdict, response = verdicts["allowed"], responses[200]
        else:
            _, reason, kind = _CAUSES[share]
            verdict = verdicts["blocked"][reason] if kind == "blocked" else verdicts[kind]
            response = responses[500 if share == 1 else 404 if share == 2 else 200]
            members[cause].append(ident)
        started = T0 + i * 3600 / n
        tx = Transaction(request, response, started=started, duration_ms=20.0)
        context = Context(page_origin=page, page_url=page + "/", credentials="omit")
        decided.append(Decided(Exchange(ident, (Step(url, None, tx),), context), verdict))
    findings = [
        Finding(
            id=f"f{rank}",
            root_cause=cause,
            severity="warning" if kind == "warning" else "blocked",
            rank=rank,
            score=100.0 - rank,
            title=f"{cause} on {APIS[0]}",
            why="Synthetic finding for the size benchmark.",
            api_origin=APIS[0],
            exchanges=tuple(members[cause]),
            endpoints=tuple(f"GET /api/{r}/{{id}}" for r in ROUTES),
            origins=PAGES,
            pages=tuple(p + "/" for p in PAGES),
            first_seen=T0,
            last_seen=T0 + 3600,
            stack=_STACK,
            fix=_FIX,
            reproduce=f"curl -i '{APIS[0]}/api/users/1' -H 'Origin: {PAGES[0]}'",
            conditional=kind == "conditional",
            reasons={reason: len(members[cause])} if reason else {},
        )
        for rank, (cause, reason, kind) in enumerate(_CAUSES, start=1)
    ]
    return Analysis(decided=decided, inputs=["synthetic.har"]), findings


def first_screen(path: Path) -> dict[str, float]:
    """Milliseconds to `load` and to first (contentful) paint, and to the first search."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 860})
        started = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=300_000)
        wall = (time.perf_counter() - started) * 1000
        # Paint can come after `load` on a small page: wait for its entry (buffered).
        timing = page.evaluate(
            """() => new Promise(resolve => {
              const nav = performance.getEntriesByType('navigation')[0];
              const done = () => {
                const paint = name => (performance.getEntriesByName(name)[0] || {}).startTime || 0;
                resolve({load: nav.loadEventEnd, fp: paint('first-paint'),
                         fcp: paint('first-contentful-paint')});
              };
              if (performance.getEntriesByName('first-contentful-paint').length) return done();
              new PerformanceObserver(done).observe({type: 'paint', buffered: true});
              setTimeout(done, 10000);
            })"""
        )
        started = time.perf_counter()
        page.fill("#filter-text", "orders")
        expect(page.locator("#filter-count")).to_contain_text("match", timeout=300_000)
        # Less the 120 ms the search box waits for typing to pause.
        timing["search"] = (time.perf_counter() - started) * 1000 - 120
        timing["wall"] = wall
        browser.close()
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="write the reports here instead of a temp dir")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    parser.add_argument("--repeat", type=int, default=3, help="Chromium runs per report")
    parser.add_argument(
        "--unique", action="store_true", help="UUID ids and unique URLs (worst case for size)"
    )
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="corscope-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'exchanges':>10} {'listed':>8} {'build s':>8} {'render s':>9} {'size MB':>8} "
          f"{'load ms':>8} {'FCP ms':>7} {'FCP range':>10} {'wall ms':>8} "
          f"{'search ms':>9}")  # fmt: skip
    for n in options.sizes:
        started = time.perf_counter()
        analysis, findings = synthetic(n, options.unique)
        built = time.perf_counter() - started
        started = time.perf_counter()
        name = f"report-{n}{'-unique' if options.unique else ''}.html"
        path = write_report(folder / name, analysis, findings)
        rendered = time.perf_counter() - started
        size = path.stat().st_size / 1_000_000
        del analysis, findings
        line = f"{n:>10,} {_listed(path):>8,} {built:>8.1f} {rendered:>9.1f} {size:>8.2f}"
        if not options.no_browser and Path(CHROMIUM).exists():
            runs = [first_screen(path) for _ in range(max(1, options.repeat))]

            def median(key: str, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(r[key] for r in runs)

            fcps = [r["fcp"] for r in runs]
            span = f"{min(fcps):.0f}-{max(fcps):.0f}"
            line += (
                f" {median('load'):>8.0f} {median('fcp'):>7.0f} {span:>10}"
                f" {median('wall'):>8.0f} {median('search'):>9.0f}"
            )
        print(line, flush=True)
    print(f"reports in {folder}")


def _listed(path: Path) -> int:
    """How many requests the table lists one by one (the rest are counted by endpoint)."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r'id="filter-count"[^>]*>([\d,]+)', text)
    return int(found.group(1).replace(",", "")) if found else 0


if __name__ == "__main__":
    main()
