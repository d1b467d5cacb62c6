"""One switch between the report and `analysis.redact`: every captured value passes here.

With redaction off the values pass unchanged (the report then carries a warning banner).
Free text is scrubbed of the secret values found in the exchanges it was built from, so a
token that a console message or a curl command repeats is caught in any shape.
"""

from __future__ import annotations

from collections.abc import Iterable

from analysis import redact
from analysis.model import Exchange


class Scrubber:
    def __init__(self, enabled: bool, secrets: Iterable[str] = ()) -> None:
        self.enabled = enabled
        self.secrets = frozenset(secrets)

    def with_secrets_of(self, exchanges: Iterable[Exchange]) -> Scrubber:
        """A scrubber that also knows the secret values these exchanges carried."""
        if not self.enabled:
            return self
        found = set(self.secrets)
        for exchange in exchanges:
            for tx in exchange.transactions():
                headers = list(tx.request.headers)
                if tx.response is not None:
                    headers.extend(tx.response.headers)
                found |= redact.secret_values(headers, [tx.request.url])
            found |= redact.secret_values((), [step.url for step in exchange.steps])
            if exchange.context.page_url:
                found |= redact.secret_values((), [exchange.context.page_url])
        return Scrubber(True, found)

    def url(self, url: str) -> str:
        return redact.redact_url(url) if self.enabled else url

    def header(self, name: str, value: str) -> str:
        return redact.redact_header(name, value) if self.enabled else value

    def text(self, text: str | None) -> str:
        """Captured free text: messages, bodies, errors, curl commands."""
        if not text or not self.enabled:
            return text or ""
        return redact.redact_text(text, self.secrets)

    def written(self, text: str | None) -> str:
        """Text corscope wrote around captured values (fix text and snippets): only the
        known secrets and URLs go, configuration like `SESSION_COOKIE_SAMESITE` stays."""
        if not text or not self.enabled:
            return text or ""
        return redact.redact_text(text, self.secrets, scrub_pairs=False)
