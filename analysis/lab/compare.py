"""Hold corscope's verdicts against Chromium's: the lab's reason to exist.

corscope's JSON document (from `analysis.api.analyze`) lists exchanges with the first URL
the page requested, the method, and a verdict. Exchanges are matched to scenarios by URL
and method; when a scenario requested the same URL more than once (cache priming, repeated
calls) the last exchange is the decisive one, as in the lab.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from analysis.lab.runner import GroundTruth


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    reason: str | None
    failed_parameter: str | None

    def __str__(self) -> str:
        if not self.blocked:
            return "allowed"
        text = f"blocked: {self.reason or '(no CORS error name)'}"
        return f"{text} ({self.failed_parameter!r})" if self.failed_parameter else text


def _blank_to_none(value: object) -> str | None:
    # Chromium reports "no parameter" as ""; a JSON document may say null. Same thing.
    return None if value in (None, "") else str(value)


def chromium_verdict(truth: GroundTruth) -> Verdict:
    return Verdict(truth.blocked, truth.cors_error, _blank_to_none(truth.failed_parameter))


def corscope_verdict(exchange: Mapping[str, Any]) -> Verdict:
    verdict = exchange.get("verdict") or {}
    return Verdict(
        bool(verdict.get("blocked")),
        _blank_to_none(verdict.get("reason")),
        _blank_to_none(verdict.get("failed_parameter")),
    )


def agree(chromium: Verdict, corscope: Verdict) -> bool:
    """Same decision, same Chromium error name, same failed parameter.

    When Chromium blocks without naming a CORS error (a worker handed an opaque response to
    a CORS request), only the decision can be compared.
    """
    if chromium.blocked != corscope.blocked:
        return False
    if not chromium.blocked:
        return True
    if chromium.reason is None:
        return True
    return (chromium.reason, chromium.failed_parameter) == (
        corscope.reason,
        corscope.failed_parameter,
    )


def _norm_url(url: str) -> str:
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
                self._by_key.setdefault((_norm_url(url), method), []).append(exchange)

    @classmethod
    def of(cls, document: Mapping[str, Any] | list[Any]) -> ExchangeIndex:
        return cls(exchanges_of(document))

    def find(self, url: str, method: str) -> Mapping[str, Any] | None:
        found = self._by_key.get((_norm_url(url), method))
        return found[-1] if found else None


@dataclass(frozen=True)
class Agreement:
    scenario_id: str
    chromium: Verdict
    corscope: Verdict | None
    """None when corscope reported no exchange for the scenario's URL and method."""

    @property
    def agrees(self) -> bool:
        return self.corscope is not None and agree(self.chromium, self.corscope)

    def explain(self) -> str:
        theirs = (
            "no exchange for this URL and method" if self.corscope is None else str(self.corscope)
        )
        return f"{self.scenario_id}: Chromium {self.chromium}; corscope {theirs}"


def compare(truth: GroundTruth, index: ExchangeIndex) -> Agreement:
    exchange = index.find(truth.url, truth.method)
    return Agreement(
        truth.scenario_id,
        chromium_verdict(truth),
        None if exchange is None else corscope_verdict(exchange),
    )
