"""Hold corscope's verdicts against Chromium's: the lab's reason to exist.

corscope's JSON document (from `analysis.api.analyze`) lists exchanges with the first URL
the page requested, the method, and a verdict. Exchanges are matched to scenarios by URL
and method; when a scenario requested the same URL more than once (cache priming, repeated
calls) the last exchange is the decisive one, as in the lab. A service worker that
refetches with another mode (`no-cors`) makes a second exchange for the same URL, whose
start time may fall on either side of the page's own (two clocks: the page's and the
proxy's), so exchanges of another mode than the page's call are passed over.

Two readings of corscope's verdict follow its documented contract:
- `browser_reason` names what Chromium reports when it differs from corscope's own `reason`
  (a proxy's 502 is a fault, not a CORS failure, yet Chromium calls it a missing ACAO);
  that name is the one compared with Chromium's `corsError`.
- a conditional verdict ("blocked if sent with credentials") is judged against what the
  scenario really did: the lab knows the credentials mode the wire does not show. So is a
  verdict that blocks either way but names another check with credentials
  (`with_credentials`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from analysis.fetch import is_safelisted_request_header
from analysis.lab.runner import GroundTruth
from analysis.lab.spec import Call
from analysis.model import same_origin
from analysis.verdict import BROWSER_BLOCKS


@dataclass(frozen=True)
class Verdict:
    blocked: bool | None
    """None: corscope could not tell from the input (a conditional verdict)."""
    reason: str | None
    failed_parameter: str | None
    condition: str | None = None
    fault: str | None = None
    with_credentials: tuple[str | None, str | None] | None = None
    """Blocked either way, but with credentials Chromium names this (reason, parameter)."""

    def __str__(self) -> str:
        if self.blocked is None:
            text = f"if {self.condition or '?'}: {self.reason or '-'}"
        elif not self.blocked:
            return "allowed"
        else:
            text = f"blocked: {self.reason or '(no CORS error name)'}"
        if self.failed_parameter:
            text += f" ({self.failed_parameter!r})"
        if self.with_credentials is not None:
            text += f"; with credentials: {self.with_credentials[0]}"
        return text + (" [fault]" if self.fault else "")


_BROWSER_BLOCK_FAULTS = frozenset(BROWSER_BLOCKS.values())
"""corscope's words for a request the browser itself refused before sending it."""


def _blank_to_none(value: object) -> str | None:
    # Chromium reports "no parameter" as ""; a JSON document may say null. Same thing.
    return None if value in (None, "") else str(value)


def chromium_verdict(truth: GroundTruth) -> Verdict:
    return Verdict(truth.blocked, truth.cors_error, _blank_to_none(truth.failed_parameter))


def corscope_verdict(exchange: Mapping[str, Any]) -> Verdict:
    verdict = exchange.get("verdict") or {}
    blocked = verdict.get("blocked")
    return Verdict(
        None if blocked is None else bool(blocked),
        _blank_to_none(verdict.get("browser_reason") or verdict.get("reason")),
        _blank_to_none(verdict.get("failed_parameter")),
        _blank_to_none(verdict.get("condition")),
        _blank_to_none(verdict.get("fault")),
        _alternative(verdict.get("with_credentials")),
    )


def _alternative(record: Mapping[str, Any] | None) -> tuple[str | None, str | None] | None:
    if not record:
        return None
    return _blank_to_none(record.get("reason")), _blank_to_none(record.get("failed_parameter"))


def condition_holds(condition: str | None, call: Call | None) -> bool | None:
    """Whether a conditional verdict's condition was true for the scenario's call;
    None when the lab cannot tell (an unknown condition, or no call given)."""
    if call is None:
        return None
    if condition == "credentials-include":
        # A beacon always goes with credentials; an element by its crossorigin attribute.
        return (
            call.client == "beacon"
            or call.credentials == "include"
            or (call.cross_origin == "use-credentials" and call.client not in _NO_ATTRIBUTE)
        )
    if condition in ("cors-mode", "cors-mode-credentials-include"):
        # A POST whose Origin a beacon or a no-cors fetch sends too (see verdict.py).
        credentials = condition == "cors-mode" or condition_holds("credentials-include", call)
        return call_mode(call) == "cors" and bool(credentials)
    if condition == "orb-range-not-sniffed":
        return True  # a lab page never loaded the URL as media before its decisive call
    if condition in ("module-script", "classic-script"):
        # A CORS-mode script: a module script, or a classic one with `crossorigin`.
        module = call.client in ("module", "modulepreload", "import")
        return module == (condition == "module-script")
    if condition == "redirect-error":
        # Fetch §4.3 HTTP fetch: "error" fails the first redirect; "manual" hands over an
        # opaque-redirect response, which integrity metadata then fails (§4.1 main fetch).
        return call.redirect == "error" or (call.redirect == "manual" and bool(call.integrity))
    if condition == "orb-not-fetch":
        # ORB hands an empty destination (fetch, beacon, prefetch) an empty response.
        return call.client not in _EMPTY_DESTINATION_CLIENTS
    return None


_NO_ATTRIBUTE = frozenset({"font", "preload"})
"""Clients whose compared request ignores `cross_origin`: the FontFace API has no such
attribute (js.py), and a preload's is the link's, not that of the fetch compared after it."""

_EMPTY_DESTINATION_CLIENTS = frozenset({"fetch", "xhr", "beacon", "prefetch", "preload"})


def resolve(corscope: Verdict, call: Call | None) -> Verdict | None:
    """A definite verdict: conditional ones resolved with what the lab knows, else None."""
    if corscope.blocked is not None:
        if corscope.with_credentials is not None:
            if condition_holds("credentials-include", call):
                reason, parameter = corscope.with_credentials
                return Verdict(True, reason, parameter, fault=corscope.fault)
        return corscope
    holds = condition_holds(corscope.condition, call)
    if holds is None:
        return None
    if holds:
        return Verdict(True, corscope.reason, corscope.failed_parameter, fault=corscope.fault)
    return Verdict(False, None, None)


def agree(chromium: Verdict, corscope: Verdict) -> bool:
    """Same decision, same Chromium error name, same failed parameter.

    When Chromium blocks without naming a CORS error (a worker handed an opaque response to
    a CORS request), only the decision can be compared.
    """
    if chromium.blocked != corscope.blocked:
        return False
    if not chromium.blocked or chromium.reason is None:
        return True
    if chromium.reason != corscope.reason:
        return False
    return chromium.failed_parameter == corscope.failed_parameter or (
        chromium.failed_parameter is None and _not_utf8(corscope.failed_parameter)
    )


def _not_utf8(parameter: str | None) -> bool:
    """A parameter that is not UTF-8 text: header bytes a reader kept as surrogate escapes
    (mitmproxy writes them so in its HAR). DevTools carries strings as UTF-8, and Chromium
    reports such a failed parameter as "" (measured, Chromium 156: Access-Control-Allow-Origin
    with a 0xE9 byte in the host or the path, Access-Control-Allow-Credentials "tru\xe9";
    with the UTF-8 bytes of "é" it reports the value)."""
    if parameter is None:
        return False
    try:
        parameter.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def norm_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def exchanges_of(document: Mapping[str, Any] | list[Any]) -> list[Mapping[str, Any]]:
    if isinstance(document, list):
        return document
    return list(document.get("exchanges") or [])


class ExchangeIndex:
    """corscope exchanges by (URL, method), in document order."""

    def __init__(self, exchanges: Iterable[Mapping[str, Any]]) -> None:
        self._by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for exchange in exchanges:
            url, method = exchange.get("url"), exchange.get("method")
            if isinstance(url, str) and isinstance(method, str):
                self._by_key.setdefault((norm_url(url), method), []).append(exchange)

    @classmethod
    def of(cls, document: Mapping[str, Any] | list[Any]) -> ExchangeIndex:
        return cls(exchanges_of(document))

    def find(self, url: str, method: str, mode: str | None = None) -> Mapping[str, Any] | None:
        found = self.all(url, method, mode)
        return found[-1] if found else None

    def all(self, url: str, method: str, mode: str | None = None) -> list[Mapping[str, Any]]:
        """Every exchange for the URL and method in document order; with `mode`, those of
        another known mode are left out."""
        found = self._by_key.get((norm_url(url), method), [])
        if mode is None:
            return list(found)
        return [e for e in found if e.get("mode") in (None, mode)]


_NO_CORS_ELEMENTS = frozenset({"image", "audio", "video", "script", "stylesheet", "prefetch"})
"""Elements that load in no-cors mode unless they have a `crossorigin` attribute."""
_NO_CORS_CLIENTS = frozenset({"import-scripts"})
"""Clients that always load in no-cors mode (HTML: importScripts() fetches a classic worker
script with mode "no-cors")."""


def call_mode(call: Call | None) -> str | None:
    """The request mode the page's call used; fetch and XHR default to `cors`."""
    if call is None:
        return None
    if call.mode:
        return call.mode
    if call.client == "beacon":
        # Beacon §3.2 step 6: CORS mode only for a body whose type is not CORS-safelisted;
        # a string body goes as text/plain.
        content_type = next((v for k, v in call.headers if k.lower() == "content-type"), None)
        unsafe = content_type is not None and not is_safelisted_request_header(
            "Content-Type", content_type
        )
        return "cors" if unsafe else "no-cors"
    if call.client in _NO_CORS_ELEMENTS and call.cross_origin is None:
        return "no-cors"
    if call.client in _NO_CORS_CLIENTS:
        return "no-cors"
    return "cors"


@dataclass(frozen=True)
class Agreement:
    scenario_id: str
    chromium: Verdict
    corscope: Verdict | None
    """None when corscope reported no exchange for the scenario's URL and method."""
    resolved: Verdict | None
    """corscope's verdict made definite for this scenario (see `resolve`)."""
    unsent: bool = False
    """Chromium refused the call in JavaScript before any request (`new Worker()` of a
    cross-origin script throws a SecurityError): nothing reached the wire to judge."""

    @property
    def agrees(self) -> bool:
        if self.unsent:
            # No request, no exchange: a tool reading traffic is right to list nothing. The
            # page probe may still have seen the call refused (a fetch() the page's CSP
            # refused never reaches DevTools; measured, Chromium 156): naming that block,
            # and no CORS error, is right too.
            return self.corscope is None or (
                self.corscope.blocked is True
                and self.corscope.reason is None
                and self.corscope.fault in _BROWSER_BLOCK_FAULTS
            )
        return self.resolved is not None and agree(self.chromium, self.resolved)

    @property
    def conditional(self) -> bool:
        return self.corscope is not None and (
            self.corscope.blocked is None or self.corscope.with_credentials is not None
        )

    def explain(self) -> str:
        if self.unsent:
            listed = "none" if self.corscope is None else str(self.corscope)
            return f"{self.scenario_id}: Chromium sent no request; corscope exchange: {listed}"
        if self.corscope is None:
            theirs = "no exchange for this URL and method"
        elif self.resolved is None:
            theirs = f"{self.corscope} (a condition the lab cannot check)"
        else:
            theirs = str(self.corscope)
        return f"{self.scenario_id}: Chromium {self.chromium}; corscope {theirs}"


def compare(truth: GroundTruth, index: ExchangeIndex, call: Call | None = None) -> Agreement:
    """`call` is what the scenario's page really did, to settle conditional verdicts."""
    mode = call_mode(call)
    exchange = index.find(truth.url, truth.method, mode)
    if exchange is None and same_origin(truth.url, truth.page_url):
        # The capture records a chain from its first cross-origin hop on: the page's own
        # URL that redirected away is not in it, the hop it redirected to is.
        for hop in truth.details.get("redirects") or ():
            exchange = index.find(hop, truth.method, mode)
            if exchange is not None:
                break
    corscope = None if exchange is None else corscope_verdict(exchange)
    return Agreement(
        truth.scenario_id,
        chromium_verdict(truth),
        corscope,
        None if corscope is None else resolve(corscope, call),
        unsent=unsent(truth),
    )


def unsent(truth: GroundTruth) -> bool:
    """The script failed with no request seen by DevTools or by the lab's servers."""
    details = truth.details
    return (
        details.get("observed") is False
        and details.get("server_hits") == []
        and truth.js_result.get("error") is not None
    )
