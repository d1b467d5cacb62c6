"""What every reader hands to `assemble`: transactions as captured, with hints beside them.

A hint is something the capture knew beyond the wire (the page probe's `_cors` object,
Chrome's HAR extras). Readers only collect hints; `assemble` turns them into a `Context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from analysis.model import BrowserVerdict, Transaction


class Hints(TypedDict, total=False):
    """Per-transaction facts from the capture. Every key is optional; absent = unknown."""

    initiator_origin: str
    """`_cors.initiatorOrigin`: the origin of the page or worker that fetched."""
    page_url: str
    """`_cors.pageUrl`: the page's URL as the probe saw it."""
    har_page_url: str
    """The URL of the HAR page (`pages[].title` in Chrome exports) the entry belongs to."""
    mode: str
    credentials: str
    redirect_mode: str
    source: str
    """Where the response came from, already resolved per transaction: `_cors.source`,
    else Chrome's `_fromCache` / `_fetchedViaServiceWorker`."""
    browser: BrowserVerdict
    resource_type: str
    """`_cors.resourceType`, else Chrome's `_resourceType` (which can be "preflight")."""
    browser_error: str
    """The browser's own error string (`_error`, e.g. "net::ERR_FAILED"), kept even when a
    response was recorded: Chrome writes the real status and `_error` for CORS failures."""
    redirect_url: str
    """HAR's `response.redirectURL`, used when a 3xx response lacks a Location header."""
    initiator_type: str
    """Chrome's `_initiator.type`; "preflight" marks a preflight the browser recorded."""
    worker_answer: str
    """`_cors.worker.answer`: how a service worker answered (network, cache-storage, …)."""
    worker_response_type: str
    """`_cors.worker.type`: the Response.type the worker handed over (opaque, cors, …)."""
    worker_failure: str
    """`_cors.worker.failure`: why the browser refused the worker's answer."""
    header_names: tuple[str, ...]
    """`_cors.headerNames`: the header names the script set, in its order."""
    integrity: bool
    """`_cors.integrity`: the fetch carried integrity metadata (Subresource Integrity)."""
    from_worker: bool
    """`_cors.fromWorker`: a dedicated or shared worker made the call, not a document."""
    never_sent: bool
    """A request the browser failed with no answer, in an export that keeps the answer of
    every request it logged the preflight of with it (Chrome DevTools' HAR): it never left
    the browser."""
    finished: bool
    """An answer logged without an error by an export that records the browser's own
    network error of every request it logged (Chrome DevTools' `_error`, Playwright's
    `_failureText`): the browser's load of it did not fail."""


_NO_HINTS = Hints()
"""Shared by every transaction without hints (nearly all of a flow file): nothing writes to
a `Captured`'s hints once it is made, and a million empty dicts are 64 MB."""


def _no_hints() -> Hints:
    return _NO_HINTS


@dataclass(frozen=True, slots=True)
class Captured:
    """One transaction as a reader found it."""

    tx: Transaction
    hints: Hints = field(default_factory=_no_hints)
    order: int = 0
    """Position in the file; breaks ties between equal start times."""
    id: str | None = None
    """The capture's own id (`_corscope_id`, `_id`), if it had one."""


@dataclass(slots=True)
class Loaded:
    """A reader's result before assembly."""

    captured: list[Captured]
    format: str
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0
    """Records that were not HTTP transactions (TCP/UDP/DNS flows, CONNECT tunnels)."""
    via_proxy: bool = False
    """Recorded by a proxy the browser sent every request through, whatever the format
    (mitmproxy's own HAR export); the flow file and the capture are so by their format."""


def carried_starts(items: Sequence[Captured]) -> list[float]:
    """Each transaction's start time for ordering by it: one without a start time takes
    the start of the one before it in `items`, so that it keeps its place after it rather
    than jumping to either end."""
    starts: list[float] = []
    last = float("-inf")
    for c in items:
        if c.tx.started is not None:
            last = c.tx.started
        starts.append(last)
    return starts
