"""Several cross-origin fetches to one URL at once, judged request by request as Chromium did.

On the wire, concurrent fetches to one URL look alike: same method, same headers, one
preflight each (Chromium shares no preflight in flight), redirect hops that interleave. The
engine must still pair each request with its own preflight and join each hop to its own
chain (analysis/readers/assemble.py); a wrong pairing hands one request another's verdict or
leaves a refused preflight standing as a failure nobody saw.

Real parts only: servers on 127.0.0.0/8, the lab's mitmdump with the capture addon, and
headless Chromium. Every request carries its own CORS-safelisted `Accept-Language` tag, which
DevTools reports with its request id and the wire keeps on the actual request (preflights do
not carry it). So each of Chromium's requests is matched with the corscope exchange that
carries its tag; an exchange with a preflight and no request carries none, and must stand for
a request Chromium stopped at its preflight.

The server decides by arrival order (`Hit.n`), never by which request it was, so the
verdicts hold whichever request gets there first. Where a scenario needs one answer to come
after another, the gap is a full second: that survives a loaded machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

import pytest

from analysis import fetch
from analysis.api import Analysis, Decided, analyze_files, exchange_record
from analysis.lab.browser import CHROMIUM, LabBrowser, NetRecord
from analysis.lab.compare import Verdict, agree, corscope_verdict, resolve
from analysis.lab.proxy import Proxy, ProxyConfig, capture_addon_args
from analysis.lab.spec import Call, Header

HOSTS = {"app": "127.0.0.1", "api": "127.0.0.2", "api2": "127.0.0.3"}
"""The page's origin and two API origins, by the keys `Call.api` uses."""
SLOW_S = 1.0
"""How much later an answer meant to come last is sent."""

# --- What the servers see and answer --------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One request as a server received it."""

    server: str
    method: str
    path: str
    """Below the scenario's own path: `/x`, `/r`, `/t`."""
    headers: Mapping[str, str]
    """Lower-case names."""
    n: int
    """1 for the first request of the scenario with this server, method and path, 2 for the
    next: the order of arrival, which is what a load balancer or a slow backend decides by."""
    origins: Mapping[str, str]
    """Every server's origin, by key."""
    base: str
    """The scenario's own path, `/s/<id>`."""

    @property
    def origin(self) -> str:
        return self.headers.get("origin", "*")

    def url(self, server: str, path: str) -> str:
        """`path` of this scenario on another server."""
        return self.origins[server] + self.base + path


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[Header, ...] = ()
    delay_s: float = 0.0


Respond = Callable[[Hit], Answer]
"""How a scenario's servers answer."""


def reflect(hit: Hit) -> tuple[Header, ...]:
    return (("Access-Control-Allow-Origin", hit.origin), ("Vary", "Origin"))


NOT_REUSED: Header = ("Access-Control-Max-Age", "0")
"""On every allowed preflight. Without it Chromium reuses an answer for 5 s, so a request
that starts late on a busy machine would send no preflight of its own and a scenario that
refuses the n-th preflight would refuse none."""


def preflight_ok(hit: Hit, delay_s: float = 0.0) -> Answer:
    """Allows PUT and POST with `X-A` and `Content-Type`: `X-B` is refused."""
    allowed = (
        ("Access-Control-Allow-Methods", "GET, POST, PUT"),
        ("Access-Control-Allow-Headers", "X-A, Content-Type"),
        NOT_REUSED,
    )
    return Answer(204, reflect(hit) + allowed, delay_s)


def no_cors(status: int) -> Answer:
    """An error page from a layer that knows nothing of CORS."""
    return Answer(status)


def api(preflight: Callable[[Hit], Answer] = preflight_ok) -> Respond:
    """A CORS API: `preflight` answers OPTIONS; every other request gets 200 with its
    origin allowed."""

    def respond(hit: Hit) -> Answer:
        return preflight(hit) if hit.method == "OPTIONS" else Answer(200, reflect(hit))

    return respond


# --- Scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    id: str
    why: str
    calls: tuple[Call, ...]
    """Started together (`Promise.all`)."""
    respond: Respond
    chromium: Mapping[str, int]
    """How many of the calls Chromium allows (`allowed`) and blocks with each CorsError:
    proves the servers did what the scenario is about, whichever call got which answer."""

    def tags(self) -> dict[str, Call]:
        """Each call by the `Accept-Language` value that marks it."""
        return {f"{self.id}-{n}": call for n, call in enumerate(self.calls, 1)}


XA: tuple[Header, ...] = (("X-A", "1"),)
XB: tuple[Header, ...] = (("X-B", "1"),)


def put(headers: tuple[Header, ...] = XA, client: Literal["fetch", "xhr"] = "fetch") -> Call:
    return Call(method="PUT", headers=headers, client=client, sub="/x")


def get(sub: str = "/x", on: str = "api", credentials: str | None = None) -> Call:
    return Call(api=on, sub=sub, credentials=credentials)


def nth_preflight(n: int, answer: Answer) -> Callable[[Hit], Answer]:
    """The `n`-th preflight gets `answer`, the others are allowed."""
    return lambda hit: answer if hit.n == n else preflight_ok(hit)


def slow_first_preflight_then_refused(hit: Hit) -> Answer:
    """The first preflight is allowed but answered late; the second is refused at once."""
    return preflight_ok(hit, delay_s=SLOW_S) if hit.n == 1 else no_cors(403)


def every_third_preflight_502(hit: Hit) -> Answer:
    """A pool where every third backend is down; the others answer after 0-80 ms, so the
    answers come back in another order than the preflights went out."""
    if hit.n % 3 == 0:
        return no_cors(502)
    return preflight_ok(hit, delay_s=(hit.n * 53 % 5) * 0.02)


def reflect_requested_headers(hit: Hit) -> Answer:
    """Allows exactly what was asked for, so both preflights pass, with different lists."""
    asked = hit.headers.get("access-control-request-headers")
    allowed = (("Access-Control-Allow-Methods", "PUT"), NOT_REUSED)
    if asked:
        allowed += (("Access-Control-Allow-Headers", asked),)
    return Answer(204, reflect(hit) + allowed)


def redirect_to_api2(delay_s: Callable[[Hit], float], target: Respond) -> Respond:
    """`api` answers 307 to `/t` on `api2` after `delay_s(hit)`; `api2` answers `target`."""

    def respond(hit: Hit) -> Answer:
        if hit.server == "api":
            location = ("Location", hit.url("api2", "/t"))
            return Answer(307, (*reflect(hit), location), delay_s(hit))
        return target(hit)

    return respond


def only_first_allowed(hit: Hit) -> Answer:
    return Answer(200, (("Access-Control-Allow-Origin", "*"),) if hit.n == 1 else ())


def allows_the_page(hit: Hit) -> Answer:
    """Allows the page's origin only: a request a cross-origin redirect tainted (`Origin:
    null`) fails."""
    return Answer(200, (("Access-Control-Allow-Origin", hit.origins["app"]),))


SCENARIOS = (
    Scenario(
        "a1",
        "Two preflights with different header lists: each waits for its own request, and "
        "the refused one (X-B) stands alone.",
        (put(XA), put(XB)),
        api(),
        {"allowed": 1, "HeaderDisallowedByPreflightResponse": 1},
    ),
    Scenario(
        "a5",
        "Two identical requests, two identical preflights: neither preflight may be left "
        "over as a request that never followed.",
        (put(), put()),
        api(),
        {"allowed": 2},
    ),
    Scenario(
        "a7",
        "A load balancer: the second preflight reaches a backend that answers 500 without "
        "CORS. The refused preflight never pairs with the request the other one let through.",
        (put(), put()),
        api(nth_preflight(2, no_cors(500))),
        {"allowed": 1, "PreflightMissingAllowOriginHeader": 1},
    ),
    Scenario(
        "a8",
        "The refused preflight is answered first, the allowed one a second later: the "
        "request follows the allowed one, not the one answered first or last on the wire.",
        (put(), put()),
        api(slow_first_preflight_then_refused),
        {"allowed": 1, "PreflightMissingAllowOriginHeader": 1},
    ),
    Scenario(
        "a11",
        "PUT with X-A and a bare PUT: each request takes the preflight that announced "
        "exactly its headers (the bare one's announced none).",
        (put(XA), put(())),
        api(reflect_requested_headers),
        {"allowed": 2},
    ),
    Scenario(
        "e1",
        "As a8 with an XHR and a fetch: the two APIs' requests look the same on the wire.",
        (put(client="xhr"), put()),
        api(slow_first_preflight_then_refused),
        {"allowed": 1, "PreflightMissingAllowOriginHeader": 1},
    ),
    Scenario(
        "g3",
        "Ten requests, XHR and fetch alternating; every third preflight hits a dead backend "
        "(502 without CORS) and the others come back out of order.",
        tuple(put(client="xhr" if n % 2 else "fetch") for n in range(1, 11)),
        api(every_third_preflight_502),
        {"allowed": 7, "PreflightMissingAllowOriginHeader": 3},
    ),
    Scenario(
        "c2",
        "Two GETs redirected to another origin, whose server allows only the first request "
        "it gets. The second redirect is answered a second later, so both chains wait for the "
        "same URL at once: each hop joins the chain whose redirect had arrived.",
        (get("/r"), get("/r")),
        redirect_to_api2(lambda hit: SLOW_S if hit.n == 2 else 0.0, only_first_allowed),
        {"allowed": 1, "MissingAllowOriginHeader": 1},
    ),
    Scenario(
        "c5",
        "A redirected GET and a direct GET to the redirect's target at once: the hop "
        "carries `Origin: null` (tainted) and is refused, the direct one is allowed; the hop "
        "joins the chain by the Origin the redirect left it.",
        (get("/r"), get("/t", on="api2")),
        redirect_to_api2(lambda hit: 0.0, allows_the_page),
        {"allowed": 1, "AllowOriginMismatch": 1},
    ),
    # Controls: concurrency the engine handled before.
    Scenario(
        "b1",
        "Control: two GETs that differ only in credentials mode, under `*`: only the "
        "credentialed one fails, and Chromium marks it on the wire (Sec-Fetch-Storage-Access).",
        (get(credentials="include"), get(credentials="omit")),
        lambda hit: Answer(200, (("Access-Control-Allow-Origin", "*"),)),
        {"allowed": 1, "WildcardOriginNotAllowed": 1},
    ),
    Scenario(
        "d2",
        "Control: a refused preflight and a simple GET to the same URL; the GET needs no "
        "preflight and must not take the refused one.",
        (put(XB), get()),
        api(),
        {"allowed": 1, "HeaderDisallowedByPreflightResponse": 1},
    ),
)


# --- Servers --------------------------------------------------------------------------------------

PAGE = b"<!doctype html><title>concurrent</title><p>Requests start from here."


class Servers:
    """One HTTP server per key of `HOSTS`: `/page` is the page; `/s/<id>/...` is answered by
    scenario `<id>`, which is told how many such requests came before."""

    def __init__(self, scenarios: tuple[Scenario, ...]) -> None:
        self._respond = {s.id: s.respond for s in scenarios}
        self._arrivals: Counter[tuple[str, str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._servers = {
            key: ThreadingHTTPServer((ip, 0), self._handler(key)) for key, ip in HOSTS.items()
        }
        self.origins = {
            key: f"http://{HOSTS[key]}:{server.server_address[1]}"
            for key, server in self._servers.items()
        }

    def __enter__(self) -> Servers:
        for server in self._servers.values():
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()

    def answer(self, server: str, method: str, target: str, headers: dict[str, str]) -> Answer:
        path = urlsplit(target).path
        if path == "/page":
            return Answer(200, (("Content-Type", "text/html; charset=utf-8"),))
        parts = path.split("/", 3)  # "/s/a7/x" -> ["", "s", "a7", "x"]
        if len(parts) < 4 or parts[1] != "s" or parts[2] not in self._respond:
            return Answer(404)
        scenario, sub = parts[2], "/" + parts[3]
        with self._lock:
            self._arrivals[scenario, server, method, sub] += 1
            n = self._arrivals[scenario, server, method, sub]
        hit = Hit(server, method, sub, headers, n, self.origins, f"/s/{scenario}")
        return self._respond[scenario](hit)

    def _handler(self, server: str) -> type[BaseHTTPRequestHandler]:
        servers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def any_method(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = servers.answer(server, self.command, self.path, headers)
                time.sleep(answer.delay_s)
                body = PAGE if self.path == "/page" else b"" if answer.status == 204 else b"ok"
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Cache-Control", "no-store")
                if not any(name == "Content-Type" for name, _ in answer.headers):
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_OPTIONS = any_method

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


# --- Chromium -------------------------------------------------------------------------------------

PAGE_HELPERS = """
  const viaFetch = (url, init) => fetch(url, init).then((r) => r.text()).catch(() => null);
  const viaXhr = (method, url, headers, withCredentials) => new Promise((done) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.withCredentials = withCredentials;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.onloadend = done;
    xhr.send();
  });
"""


def page_script(scenario: Scenario, origins: Mapping[str, str]) -> str:
    """Starts every call of the scenario at once and resolves when all have settled."""
    starts = []
    for tag, call in scenario.tags().items():
        url = json.dumps(f"{origins[call.api]}/s/{scenario.id}{call.sub}")
        headers = {**dict(call.headers), "Accept-Language": tag}
        if call.client == "xhr":
            include = json.dumps(call.credentials == "include")
            starts.append(
                f"viaXhr({json.dumps(call.method)}, {url}, {json.dumps(headers)}, {include})"
            )
        else:
            init = {"method": call.method, "headers": headers, "credentials": call.credentials}
            init = {k: v for k, v in init.items() if v is not None}
            starts.append(f"viaFetch({url}, {json.dumps(init)})")
    return "async () => {" + PAGE_HELPERS + f"  await Promise.all([{', '.join(starts)}]);\n}}"


class RequestTags:
    """DevTools' request ids by tag. The lab's log keeps verdicts, not request headers, so a
    second DevTools session on the page reads the tags; a redirect keeps its request id."""

    def __init__(self, browser: LabBrowser) -> None:
        self.ids: dict[str, set[str]] = {}
        assert browser.context is not None
        session = browser.context.new_cdp_session(browser.page)
        session.on("Network.requestWillBeSent", self._sent)
        session.send("Network.enable")

    def _sent(self, params: dict) -> None:
        headers = {name.lower(): value for name, value in params["request"]["headers"].items()}
        tag = headers.get("accept-language")
        if tag is not None:
            self.ids.setdefault(tag, set()).add(params["requestId"])


def run_scenarios(browser: LabBrowser, origins: Mapping[str, str]) -> dict[str, list[NetRecord]]:
    """Chromium's records of each tagged request, every scenario run from a fresh page."""
    tags = RequestTags(browser)
    records = browser.page_log.records

    def settled(tag: str) -> bool:
        ids = tags.ids.get(tag, ())
        return bool(ids) and all(i in records and records[i].done for i in ids)

    for scenario in SCENARIOS:
        browser.goto(origins["app"] + "/page")
        browser.evaluate(page_script(scenario, origins))
        # DevTools reports after the page's promises settle; this only bounds a failure.
        browser.wait_until(lambda s=scenario: all(map(settled, s.tags())), timeout_s=30)
    wanted = [tag for scenario in SCENARIOS for tag in scenario.tags()]
    return {tag: [records[i] for i in tags.ids.get(tag, ()) if i in records] for tag in wanted}


@dataclass
class Session:
    chromium: dict[str, list[NetRecord]]
    """Chromium's records by tag: exactly one each, when all went well."""
    analyses: dict[str, Analysis]
    """corscope's reading of the flow file and (when the addon wrote one) the capture."""
    notes: list[str] = field(default_factory=list)

    def chromium_verdict(self, tag: str) -> Verdict:
        records = self.chromium.get(tag, [])
        assert len(records) == 1, f"{tag}: DevTools reported {len(records)} requests"
        record = records[0]
        assert record.done and not record.canceled, f"{tag} never finished: {record}"
        return Verdict(record.failed, record.cors_error, record.failed_parameter or None)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    workdir = tmp_path_factory.mktemp("concurrent")
    flow, capture = workdir / "flows.mitm", workdir / "capture.jsonl"
    config = ProxyConfig(
        flow_path=flow,
        confdir=workdir / "mitmproxy-conf",
        log_path=workdir / "mitmdump.log",
        extra_args=capture_addon_args(capture),
    )
    notes: list[str] = []
    with Servers(SCENARIOS) as servers:
        proxy = Proxy(config)
        proxy.start()
        try:
            with LabBrowser(proxy.url, {}) as browser:
                chromium = run_scenarios(browser, servers.origins)
        finally:
            stopped = proxy.stop()
            if stopped:
                notes.append(stopped)
    analyses = {"flow": analyze_files([flow])}
    if capture.exists():
        analyses["capture"] = analyze_files([capture])
    return Session(chromium, analyses, notes)


# --- Matching corscope's exchanges with Chromium's requests ---------------------------------------


def tags_of(decided: Decided) -> set[str | None]:
    return {
        step.actual.request.headers.get("accept-language")
        for step in decided.exchange.steps
        if step.actual is not None
    }


def preflight_of(decided: Decided) -> tuple[str | None, list[str]] | None:
    """The method and header names the exchange's first preflight announced."""
    for step in decided.exchange.steps:
        if step.preflight is not None and step.preflight.transaction is not None:
            headers = step.preflight.transaction.request.headers
            names = fetch.announced_header_names(headers.get("access-control-request-headers"))
            return headers.get("access-control-request-method"), sorted(names)
    return None


def stopped_at_preflight(chromium: Verdict) -> bool:
    # Every CorsError Chromium reports for a preflight names it ("...Preflight...").
    return bool(chromium.blocked and chromium.reason and "Preflight" in chromium.reason)


def pair(
    exchanges: list[Decided], calls: Mapping[str, Call], chromium: Mapping[str, Verdict]
) -> dict[str, Decided]:
    """Each request's exchange: the one whose request carries its tag or, for an exchange
    with a preflight and no request, a request with the same method and unsafe headers that
    Chromium stopped at its preflight. Fails on an exchange that joins two requests, on a
    lone preflight no such request explains (a failure the browser never had), and on a
    request with no or several exchanges."""
    found: dict[str, list[Decided]] = {tag: [] for tag in calls}
    lone: list[Decided] = []
    for d in exchanges:
        tags = tags_of(d)
        assert len(tags) <= 1, (
            f"exchange {d.exchange.id} joins the requests {sorted(map(str, tags))}"
        )
        if not tags:
            lone.append(d)
            continue
        tag = tags.pop()
        assert tag in found, f"exchange {d.exchange.id} carries an unknown tag {tag!r}"
        found[tag].append(d)
    for d in lone:
        announced = preflight_of(d)
        stopped = [
            tag
            for tag, call in calls.items()
            if not found[tag]
            and stopped_at_preflight(chromium[tag])
            and announced == (call.method, fetch.cors_unsafe_header_names(call.headers))
        ]
        assert stopped, (
            f"phantom: exchange {d.exchange.id} (a preflight {announced} and no request) "
            "stands for no request Chromium stopped at its preflight"
        )
        found[stopped[0]].append(d)
    wrong = {tag: len(ds) for tag, ds in found.items() if len(ds) != 1}
    assert not wrong, f"requests with no or several exchanges: {wrong}"
    return {tag: ds[0] for tag, ds in found.items()}


def describe(call: Call) -> str:
    headers = ",".join(name for name, _ in call.headers)
    credentials = f"credentials={call.credentials}" if call.credentials else ""
    parts = (call.method, call.api + call.sub, headers, call.client, credentials)
    return " ".join(part for part in parts if part)


def judge(chromium: Verdict, corscope: Verdict, call: Call) -> bool:
    """compare.py's reading: a conditional verdict is settled by what the page did. But
    only a request sent without credentials may leave corscope unsure: Chromium marks a
    credentialed one on the wire (Sec-Fetch-Storage-Access), and every credentialed request
    here reaches the wire."""
    if corscope.blocked is None and call.credentials == "include":
        return False
    resolved = resolve(corscope, call)
    return resolved is not None and agree(chromium, resolved)


# --- Tests ----------------------------------------------------------------------------------------

IDS = [s.id for s in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_chromium_did_what_the_scenario_is_about(session: Session, scenario: Scenario) -> None:
    """Otherwise agreement below could be cheap: every request allowed, say, because a server
    never refused. Counted, since which request got which answer depends on arrival."""
    verdicts = [session.chromium_verdict(tag) for tag in scenario.tags()]
    seen = Counter(v.reason if v.blocked else "allowed" for v in verdicts)
    assert seen == Counter(scenario.chromium), "\n".join([scenario.why, *session.notes])


@pytest.mark.parametrize("source", ["flow", "capture"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_each_request_judged_as_chromium_judged_it(
    session: Session, scenario: Scenario, source: str
) -> None:
    if source not in session.analyses:
        pytest.skip(f"no capture: addons/cors.py absent or wrote nothing {session.notes}")
    calls = scenario.tags()
    chromium = {tag: session.chromium_verdict(tag) for tag in calls}
    own = [d for d in session.analyses[source].decided if f"/s/{scenario.id}/" in d.exchange.url]
    exchanges = pair(own, calls, chromium)
    disagree = []
    for tag, call in calls.items():
        corscope = corscope_verdict(exchange_record(exchanges[tag]))
        if not judge(chromium[tag], corscope, call):
            disagree.append(
                f"{tag} {describe(call)}: Chromium {chromium[tag]}; corscope {corscope}"
            )
    assert not disagree, "\n".join([scenario.why, *disagree, *session.notes])
