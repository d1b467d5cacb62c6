"""Name the browser behind a request in two words ("Chromium 156", "Firefox 140").

Display only: the report says which browsers the session covered; nothing is decided on it.
"""

from __future__ import annotations

import re

# Client hints name the brand exactly (Chromium and Chrome share one User-Agent string).
_BRAND = re.compile(r'"([^"]+)"\s*;\s*v\s*=\s*"(\d+)')
_GENERIC_BRANDS = ("Chromium",)
_UA_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\bEdgA?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Headless Chrome", re.compile(r"\bHeadlessChrome/(\d+)")),
    ("Chromium", re.compile(r"\bChromium/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)


def browser_name(user_agent: str | None, client_hints: str | None = None) -> str | None:
    """Brand and major version, from `Sec-CH-UA` when sent, else from `User-Agent`."""
    if client_hints:
        named = _from_client_hints(client_hints)
        if named:
            return named
    if not user_agent:
        return None
    for name, pattern in _UA_RULES:
        match = pattern.search(user_agent)
        if match:
            return f"{name} {match.group(1)}"
    product = user_agent.split("/", 1)[0].split(" ", 1)[0]
    return product[:40] or None


def _from_client_hints(value: str) -> str | None:
    brands = [(b, v) for b, v in _BRAND.findall(value) if "brand" not in b.lower()]
    if not brands:
        return None
    # "Google Chrome" or "Microsoft Edge" sit beside the generic "Chromium" brand.
    specific = [(b, v) for b, v in brands if b not in _GENERIC_BRANDS]
    brand, version = (specific or brands)[0]
    return f"{brand} {version}"
