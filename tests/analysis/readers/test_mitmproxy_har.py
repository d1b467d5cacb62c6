"""mitmproxy's own HAR export (`savehar`, `--set hardump=PATH`) holds the flows of the
flow file: corscope must read both alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.readers import read
from analysis.verdict import decide

from .builders import PAGE

pytest.importorskip("mitmproxy")

from mitmproxy import connection, http, io
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.test import taddons, tflow

from .test_flows import req, resp

ORIGIN = (b"Origin", PAGE.encode())
ACAO = (b"Access-Control-Allow-Origin", PAGE.encode())


def request(method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], ts: float):
    return req(method.decode(), path.decode(), [ORIGIN, *headers], ts)


def both(tmp_path: Path, flows: list[http.HTTPFlow]):
    """The flow file and mitmproxy's HAR of the same flows, read."""
    flow_path, har_path = tmp_path / "s.mitm", tmp_path / "s.har"
    with flow_path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)
    addon = SaveHar()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, hardump=str(har_path))
        for flow in flows:
            (addon.error if flow.error else addon.response)(flow)
        addon.done()
    return read(flow_path), read(har_path)


def verdicts(result):
    return [
        (x.method, x.url, decide(x).blocked, decide(x).reason, decide(x).fault is not None)
        for x in result.exchanges
    ]


def test_response_cut_short_is_the_proxys_502(tmp_path: Path) -> None:
    # The server sent headers that allow the page, then closed the connection mid-body:
    # mitmproxy keeps the response without an end beside the error and answers the browser
    # with its own 502, which has no Access-Control-Allow-Origin.
    cut = tflow.tflow(
        req=request(b"GET", b"/cut", [], 1.0),
        resp=resp(200, [ACAO, (b"Content-Length", b"112")], None, 1.01),
        err=tflow.terr("peer closed connection without sending complete message body"),
    )
    cut.response.timestamp_end = None
    whole = tflow.tflow(
        req=request(b"GET", b"/whole", [], 2.0), resp=resp(200, [ACAO], b"{}", 2.01)
    )
    empty = tflow.tflow(req=request(b"GET", b"/empty", [], 3.0), resp=resp(200, [ACAO], b"", 3.0))
    empty.response.timestamp_end = empty.response.timestamp_start  # measured: 0.0 ms
    flows, har = both(tmp_path, [cut, whole, empty])
    assert verdicts(har) == verdicts(flows)
    cut_x, whole_x, empty_x = har.exchanges
    assert (decide(cut_x).blocked, decide(cut_x).browser_reason) == (
        True,
        "MissingAllowOriginHeader",
    )
    assert cut_x.first.actual.error is not None
    assert whole_x.first.actual.error is None and decide(whole_x).blocked is not True
    assert empty_x.first.actual.error is None and decide(empty_x).blocked is not True


def test_method_fetch_does_not_normalize_keeps_its_case(tmp_path: Path) -> None:
    # fetch(u, {method: "patch"}) sends "patch" and announces "patch" in its preflight;
    # mitmproxy's HAR writes the request's method upper-cased. The preflight allowed only
    # "patch" (methods are compared byte for byte); the answer lacks Allow-Origin.
    def preflight(ts: float) -> http.HTTPFlow:
        return tflow.tflow(
            req=request(b"OPTIONS", b"/p", [(b"Access-Control-Request-Method", b"patch")], ts),
            resp=resp(
                204,
                [
                    ACAO,
                    (b"Access-Control-Allow-Methods", b"patch"),
                    (b"Access-Control-Max-Age", b"600"),
                ],
                b"",
                ts + 0.01,
            ),
        )

    def patch(ts: float) -> http.HTTPFlow:
        return tflow.tflow(
            req=request(b"patch", b"/p", [], ts), resp=resp(200, [], b"{}", ts + 0.01)
        )

    # The second "patch" reuses the cached preflight: none on the wire before it.
    flows, har = both(tmp_path, [preflight(1.0), patch(1.1), patch(2.0)])
    assert verdicts(har) == verdicts(flows)
    assert [(x.method, decide(x).reason) for x in har.exchanges] == [
        ("patch", "MissingAllowOriginHeader"),
        ("patch", "MissingAllowOriginHeader"),
    ]
    assert (
        json.loads((tmp_path / "s.har").read_text())["log"]["entries"][1]["request"]["method"]
        == "PATCH"
    )


def test_method_case_left_alone_without_preflight_or_outside_mitmproxy(tmp_path: Path) -> None:
    lone = tflow.tflow(req=request(b"patch", b"/q", [], 1.0), resp=resp(200, [ACAO], b"", 1.01))
    _, har = both(tmp_path, [lone])
    assert [x.method for x in har.exchanges] == ["PATCH"]  # nothing tells the case sent
    # A browser's HAR keeps the method as sent: "PATCH" there is what went on the wire.
    doc = json.loads((tmp_path / "s.har").read_text())
    doc["log"]["creator"] = {"name": "WebInspector", "version": "537.36"}
    pre = json.loads(json.dumps(doc["log"]["entries"][0]))
    pre["request"]["method"] = "OPTIONS"
    pre["request"]["headers"].append({"name": "Access-Control-Request-Method", "value": "patch"})
    pre["startedDateTime"] = "1970-01-01T00:00:00.500000+00:00"
    doc["log"]["entries"].insert(0, pre)
    other = tmp_path / "browser.har"
    other.write_text(json.dumps(doc))
    assert "PATCH" in [x.method for x in read(other).exchanges]


def test_answer_without_a_server_is_the_proxys_own(tmp_path: Path) -> None:
    # block_list, map_local, server_replay or a script answered: no server connection, so
    # no serverIPAddress in the HAR. A 403 of the proxy's own is a fault, not the API's.
    blocked = tflow.tflow(req=request(b"GET", b"/blocked", [], 1.0), resp=resp(403, [], b"", 1.0))
    blocked.server_conn = connection.Server(address=("127.0.0.3", 8000))  # never connected
    served = tflow.tflow(req=request(b"GET", b"/served", [], 2.0), resp=resp(403, [], b"", 2.0))
    flows, har = both(tmp_path, [blocked, served])
    assert verdicts(har) == verdicts(flows)
    by_url = {x.url.rsplit("/", 1)[1]: x for x in har.exchanges}
    assert by_url["blocked"].first.actual.response.made_by_proxy is True
    assert decide(by_url["blocked"]).fault is not None
    assert by_url["served"].first.actual.response.made_by_proxy is False
    assert decide(by_url["served"]).fault is None


def test_a_proxys_har_pairs_preflights_as_the_wire_does(tmp_path: Path) -> None:
    # A fetch with Authorization: its preflight failed (a wildcard for a credentialed
    # request), so it was never sent. A later simple fetch to the URL carries no
    # Authorization: on the wire it cannot be the request that preflight announced. (A
    # browser's sanitized HAR may drop Authorization; a proxy's never does.)
    pre = tflow.tflow(
        req=request(
            b"OPTIONS",
            b"/r",
            [
                (b"Access-Control-Request-Method", b"GET"),
                (b"Access-Control-Request-Headers", b"authorization"),
            ],
            1.0,
        ),
        resp=resp(200, [(b"Access-Control-Allow-Origin", b"*")], b"", 1.01),
    )
    simple = tflow.tflow(
        req=request(b"GET", b"/r", [], 1.1),
        resp=resp(200, [ACAO, (b"Access-Control-Allow-Credentials", b"true")], b"{}", 1.11),
    )
    flows, har = both(tmp_path, [pre, simple])
    assert verdicts(har) == verdicts(flows)
    assert len(har.exchanges) == 2
    assert all(x.context.via_proxy for x in har.exchanges)
    assert decide(har.exchanges[1]).blocked is False
