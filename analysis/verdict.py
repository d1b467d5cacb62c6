"""Decide one `Exchange` the way the browser did: the CORS verdict engine.

Follows the Fetch standard (https://fetch.spec.whatwg.org/) in Chromium's check order and
names each failure with Chromium's `network::mojom::CorsError` (without the `k`). Pure
functions, standard library only: the mitmproxy addon imports this module.

Reading order: `decide` → `_walk` (one pass over the fetch's steps for one credentials
mode) → `_check_preflight` / `_check_access` (the CORS check) → warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import urljoin, urlsplit

from analysis import address_space, blink_headers, corp, fetch, http_cache, mime_block, orb
from analysis.model import (
    CREDENTIALS,
    BrowserVerdict,
    Context,
    Exchange,
    Headers,
    Response,
    Step,
    Transaction,
    origin_of,
    same_origin,
    scheme_of,
)
from analysis.provenance import response_source
from analysis.url_validity import is_valid_url, resolve
from analysis.wording import SCHEMES, chrome_message, firefox_message

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20
_TOO_MANY_REDIRECTS = "more than 20 redirects (net::ERR_TOO_MANY_REDIRECTS)"
_INVALID_REDIRECT = "the redirect's Location is not a valid URL (net::ERR_INVALID_REDIRECT)"
_LEFT_SAME_ORIGIN_MODE = (
    "a mode: 'same-origin' request was redirected to another origin, and the browser does"
    " not follow (net::ERR_ABORTED)"
)
_CREDENTIALED_SUBRESOURCE = (
    "redirected to a URL with embedded credentials (user:password@), which the browser"
    " refuses for subresources (net::ERR_ABORTED)"
)
# Chromium `preflight_result.cc`: absent or unparsable Max-Age means 5 s, capped at 2 h.
PREFLIGHT_DEFAULT_MAX_AGE = 5
PREFLIGHT_MAX_AGE_CAP = 7200
# Below this a preflight is sent again so often that it costs a round trip on most calls.
SHORT_PREFLIGHT_CACHE = 60


@dataclass(frozen=True, slots=True)
class CorsWarning:
    """Something that does not block the request but will bite: a finding of its own."""

    id: str
    message: str

    def __reduce__(self) -> tuple[type[CorsWarning], tuple[str, str]]:
        return (CorsWarning, (self.id, self.message))


@dataclass(frozen=True, slots=True)
class Failure:
    """Where and why a CORS check failed, in Chromium's and Firefox's terms."""

    reason: str
    stage: str  # "preflight" | "response" | "redirect"
    url: str
    hint: str | None = None
    firefox_code: str | None = None
    firefox_hint: str | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class CredentialedFailure:
    """The check Chromium names instead when the request went with credentials, for a
    verdict that blocks either way but whose credentials mode the wire does not show."""

    stage: str
    reason: str
    failed_parameter: str | None
    failed_url: str
    chrome_message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    cors: bool
    """The fetch was cross-origin in a CORS mode, so a CORS check applied."""
    blocked: bool | None
    condition: str | None = None
    stage: str | None = None
    reason: str | None = None
    failed_parameter: str | None = None
    chrome_message: str | None = None
    firefox_code: str | None = None
    firefox_message: str | None = None
    confirmed: bool = False
    fault: str | None = None
    """A proxy or upstream failure, which is not a CORS failure."""
    browser_reason: str | None = None
    """What Chromium reports when it differs from `reason` (e.g. for a proxy's own 502)."""
    mode: str | None = None
    credentials: str | None = None
    """The credentials mode the verdict assumed: omit/same-origin/include, or None (unknown)."""
    source: str = "network"
    preflight_required: bool = False
    preflight_cached: bool = False
    failed_url: str | None = None
    browser: BrowserVerdict | None = None
    warnings: tuple[CorsWarning, ...] = field(default_factory=tuple)
    with_credentials: CredentialedFailure | None = None
    """Set only when `credentials` is unknown and the request fails either way, but a check
    that only credentials add fails first with them (Chromium checks Allow-Credentials
    with Allow-Origin, before methods and headers)."""

    def __reduce__(self) -> tuple[type[Verdict], tuple]:
        # Pickled as its field values: `--jobs` workers send every verdict back, and the
        # default for a frozen, slotted dataclass costs as much to load as deciding did.
        return (Verdict, tuple([getattr(self, name) for name in _VERDICT_FIELDS]))


_VERDICT_FIELDS = tuple(f.name for f in fields(Verdict))

_Fields = dict[str, Any]
"""A `Verdict`'s fields by name, while `decide` is still working them out."""


@dataclass(slots=True)
class _Walk:
    """What one pass over the steps found, for one assumed credentials mode."""

    failure: Failure | None = None
    fault: Fault | None = None
    fault_stage: str | None = None
    fault_url: str | None = None
    incomplete: str | None = None
    cors: bool = False
    preflight_required: bool = False
    preflight_cached: bool = False
    warnings: list[CorsWarning] = field(default_factory=list)
    via_proxy: bool = False
    """The browser sent the requests through a proxy (see `Context.via_proxy`)."""
    cache_answered: bool = False
    """A request its preflight let through was answered by the HTTP cache's copy
    (`Step.stored`), which the walk checked: the response's source is that cache."""


# --- Entry point ------------------------------------------------------------------------


def decide(exchange: Exchange) -> Verdict:
    """The verdict the browser reached for this exchange, predicted from the capture."""
    return _refused_for_content_type(exchange, _decide(exchange))


def _decide(exchange: Exchange) -> Verdict:
    ctx = exchange.context
    origin = page_origin(exchange)
    mode = request_mode(exchange, origin)
    source = response_source(exchange)
    # The verdict's fields as a dict until `_confirm` makes the one (frozen) Verdict.
    base: _Fields = {"cors": False, "blocked": False, "mode": mode, "source": source}
    base["browser"] = ctx.browser

    if origin is None and mode == "no-cors":
        return _confirm(_unplaced_no_cors(exchange, base))
    if origin is None or mode in ("navigate", "websocket"):
        return _confirm(base)
    if (block := _browser_block(exchange)) is not None:
        return _confirm({**base, "cors": True, "blocked": True, "fault": block})
    if source == "service-worker" and not all(same_origin(origin, s.url) for s in exchange.steps):
        answered = _from_service_worker(exchange, base, mode)
        if answered is None:
            # The worker answered with a redirect and the page followed it itself; what the
            # capture says the browser did is about the worker's answer, not the hops after.
            exchange = _after_worker_redirect(exchange)
            base = {**base, "browser": None}
        elif mode != "no-cors" or answered["blocked"]:
            return _confirm(answered)
    if mode == "no-cors":
        return _confirm(_no_cors(exchange, base, origin))
    as_cors = _decide_cors(exchange, base, origin, mode)
    if not _may_be_no_cors(exchange):
        return as_cors
    # §3.1 "append a request `Origin` header": a no-cors POST (a beacon, a no-cors fetch)
    # carries Origin too, and without Sec-Fetch-Mode nothing else on the wire tells them
    # apart, so the CORS failure is the verdict only for a CORS-mode request.
    if as_cors.blocked is False:
        return replace(as_cors, mode=None)
    as_no_cors = _no_cors(exchange, {**base, "mode": "no-cors"}, origin)
    if as_no_cors["blocked"] is True:
        return as_cors
    # Not blocked, or blocked by ORB only for a non-empty destination: a POST from script
    # (fetch, beacon) has the empty one, to which ORB hands an empty response, no error.
    if as_cors.blocked is True:
        condition = "cors-mode"
    elif as_cors.condition == "credentials-include":
        condition = "cors-mode-credentials-include"
    else:
        return as_cors
    return replace(as_cors, blocked=None, condition=condition, mode=None, confirmed=False)


def _decide_cors(exchange: Exchange, base: _Fields, origin: str, mode: str | None) -> Verdict:
    """The verdict of a request in a CORS mode (`mode` "cors", or None when unknown)."""
    ctx = exchange.context
    credentials = credentials_mode(exchange, origin)
    if credentials is not None:
        walk = _walk(exchange, origin, mode, include=credentials == "include")
        verdict = _verdict_from(walk, base, exchange, origin, credentials)
        return _confirm(verdict)

    # Credentials mode unknown: decide both ways and say so when the answer depends on it.
    # A failure without credentials is a failure with them too (they only add checks), so
    # the second pass is needed only when the first one passed.
    without = _walk(exchange, origin, mode, include=False)
    if without.failure is not None:
        # Blocked either way, but credentials add checks Chromium makes first (§4.9 CORS
        # check, inside the preflight's): which one it names depends on the mode.
        verdict = _verdict_from(without, base, exchange, origin, None)
        with_ = _walk(exchange, origin, mode, include=True)
        if with_.failure is not None and _named(with_.failure) != _named(without.failure):
            credentialed = _verdict_from(with_, base, exchange, origin, None)
            browser = ctx.browser
            if browser is not None and browser.reason == credentialed["reason"]:
                return _confirm(credentialed)  # the browser named it: credentials went
            verdict["with_credentials"] = _credentialed_failure(credentialed)
        return _confirm(verdict)
    if without.fault is not None or not without.cors:
        return _confirm(_verdict_from(without, base, exchange, origin, None))
    with_ = _walk(exchange, origin, mode, include=True)
    if _failed_only_with_credentials(exchange, without, with_):
        return _confirm(_verdict_from(with_, base, exchange, origin, "include"))
    otherwise = _verdict_from(without, base, exchange, origin, None)
    if with_.failure is None or otherwise["blocked"] is True:
        # Blocked without credentials too: a later step the wire did not show the answer
        # of, which the browser said failed. Blocked either way; which check failed
        # depends on the credentials mode, so the browser's word is all there is to name.
        return _confirm(otherwise)
    conditional = _verdict_from(with_, base, exchange, origin, None)
    return _confirm(
        {
            **conditional,
            "blocked": None,
            "condition": "credentials-include",
            "warnings": tuple(without.warnings),
        }
    )


def _failed_only_with_credentials(exchange: Exchange, without: _Walk, with_: _Walk) -> bool:
    """The browser failed the fetch (its generic net::ERR_FAILED, nothing more) with no
    answer recorded for its last request, and what it checked there passes without
    credentials but fails with them: so the request went with them. What it checked is the
    fresh copy its HTTP cache answered with (`Step.stored`), or the preflight's answer when
    the request was never sent (`Context.never_sent`): without credentials Chromium would
    have sent it after the preflight (§4.8 CORS-preflight fetch: a failed preflight is a
    network error, and the request is never sent)."""
    failure = with_.failure
    last = exchange.last
    if not (
        without.failure is None
        and without.fault is None
        and without.incomplete == "response-not-captured"
        and exchange.context.browser is None
        and exchange.context.browser_error == _GENERIC_FAILURE
        and failure is not None
        and failure.url == last.url
    ):
        return False
    if failure.stage in ("response", "redirect"):
        # A stored redirect fails at the redirect (§4.4); had it passed, the browser would
        # have followed it and logged the hop, not failed here with no answer.
        return last.stored is not None and last.actual is not None and last.actual.response is None
    preflight = last.preflight.transaction if last.preflight is not None else None
    return (
        failure.stage == "preflight"
        and exchange.context.never_sent
        and preflight is not None
        and preflight.response is not None
    )


def _named(failure: Failure) -> tuple[str, str, str, str | None]:
    """What Chromium reports of a failure: where, which check, and the offending value."""
    return (failure.stage, failure.url, failure.reason, failure.hint)


def _credentialed_failure(fields: _Fields) -> CredentialedFailure:
    return CredentialedFailure(
        stage=fields["stage"],
        reason=fields["reason"],
        failed_parameter=fields["failed_parameter"],
        failed_url=fields["failed_url"],
        chrome_message=fields["chrome_message"],
    )


def _after_worker_redirect(exchange: Exchange) -> Exchange:
    """The hops after a worker's redirect answer: the page's own fetches (measured: with
    the page's Origin), checked like any others."""
    ctx = replace(exchange.context, source=None, worker_response_type=None, browser=None)
    return Exchange(exchange.id, exchange.steps[1:], ctx, exchange.origin_file)


_WORKER_FAILURES = {
    "error-response": "the promise was resolved with an error response object.",
    "opaque-response-for-cors-request": (
        'an "opaque" response was used for a request whose type is not no-cors'
    ),
    "opaque-redirect": (
        'an "opaqueredirect" type response was used for a request whose redirect mode is not'
        ' "manual".'
    ),
    "cors-response-for-same-origin-request": (
        'a "cors" type response was used for a request whose mode is "same-origin".'
    ),
    "redirected-response": (
        'a redirected response was used for a request whose redirect mode is not "follow".'
    ),
    "not-a-response": "an object that was not a Response was passed to respondWith().",
    # A rejected respondWith() promise (Cache.put() of a POST throws after the fetch passed).
    "rejected": "the promise was rejected.",
}
"""§4.3 HTTP fetch step 5: worker answers the browser turns into a network error, as the
addon's service-worker agent names them, and Blink's words after "resulted in a network
error response: " (measured where the lab could cause them)."""


def _worker_failure(exchange: Exchange, mode: str | None) -> str | None:
    ctx = exchange.context
    if ctx.worker_failure is not None:
        return ctx.worker_failure
    if ctx.worker_response_type == "error":
        return "error-response"
    if ctx.worker_response_type == "opaque" and mode != "no-cors":
        return "opaque-response-for-cors-request"
    return None


def _from_service_worker(exchange: Exchange, base: _Fields, mode: str | None) -> _Fields | None:
    """§4.3 HTTP fetch step 5: a service worker's answer is not CORS-checked again; the
    page's fetch fails only when the browser refuses the answer itself. Chromium names no
    CorsError for that, only a console line about the FetchEvent. None: the worker answered
    with a redirect the page followed, whose hops are checked as any others."""
    ctx = exchange.context
    url = exchange.url
    # A no-cors fetch the worker answered well goes the no-cors way (see `decide`).
    common = {**base, "cors": True}
    failure = _worker_failure(exchange, mode)
    if failure is not None:
        what = _WORKER_FAILURES.get(failure, failure)
        return {
            **common,
            "blocked": True,
            "stage": "response",
            "failed_url": url,
            "chrome_message": (
                f'The FetchEvent for "{url}" resulted in a network error response: {what}'
            ),
        }
    if len(exchange.steps) > 1 and ctx.worker_response_type is not None:
        return None
    if ctx.browser is not None and (ctx.browser.blocked or ctx.worker_response_type is None):
        # The page's own outcome, which the probe saw: the worker's answer failed there.
        return {
            **common,
            "blocked": ctx.browser.blocked,
            "reason": ctx.browser.reason,
            "failed_parameter": ctx.browser.failed_parameter,
        }
    if ctx.worker_response_type is not None:
        return {**common, "blocked": False}
    return {**common, "blocked": None, "condition": "service-worker-response"}


def _verdict_from(
    walk: _Walk, base: _Fields, exchange: Exchange, origin: str, credentials: str | None
) -> _Fields:
    ctx = exchange.context
    common = {
        **base,
        "source": "http-cache" if walk.cache_answered else base["source"],
        "cors": walk.cors,
        "credentials": credentials,
        "preflight_required": walk.preflight_required,
        "preflight_cached": walk.preflight_cached,
        "warnings": tuple(walk.warnings),
    }
    if walk.fault is not None:
        browser_reason = walk.fault.browser_reason
        if browser_reason and walk.fault_stage == "preflight":
            browser_reason = "Preflight" + browser_reason
        return {
            **common,
            "cors": True,
            "blocked": True,
            "stage": walk.fault_stage,
            "fault": walk.fault.message,
            "browser_reason": browser_reason,
            # Not a CORS failure, but the console shows one: the line the user searches for.
            "chrome_message": chrome_message(
                browser_reason,
                url=walk.fault_url or exchange.url,
                initial_url=exchange.url,
                origin=origin,
                hint=None,
                resource_type=ctx.resource_type,
            )
            if browser_reason
            else None,
        }
    if walk.failure is None:
        if (
            walk.incomplete == "response-not-captured"
            and ctx.browser is None
            and ctx.browser_error == _GENERIC_FAILURE
        ):
            # No answer recorded, and the browser's own generic failure: it blocked the
            # fetch, and the capture does not say at which check.
            return {**common, "blocked": True, "condition": None}
        if (
            walk.incomplete == "response-not-captured"
            and ctx.browser is None
            and ctx.browser_error == _CANCELED
            and _canceled_at_later_hop(exchange)
        ):
            # A redirect that passed its CORS check, then the browser's own "canceled" for
            # the next hop, which never got an answer: the page took the redirect as it was
            # (redirect: "manual", an opaque-redirect response) or dropped the fetch itself.
            # Chromium fails a CORS check with net::ERR_FAILED, never with this.
            return {**common, "blocked": False}
        if walk.incomplete is not None and ctx.browser is not None and ctx.browser.blocked:
            # The wire cannot tell; the browser's own word is the only evidence there is.
            return {
                **common,
                "blocked": True,
                "reason": ctx.browser.reason,
                "failed_parameter": ctx.browser.failed_parameter,
                "condition": None,
            }
        if walk.incomplete is not None:
            return {**common, "blocked": None, "condition": walk.incomplete}
        if (error := _failed_after_headers(exchange)) is not None:
            # Not blocked: the fetch resolved with the answer; only reading its body fails.
            return {
                **common,
                "cors": True,
                "blocked": False,
                "stage": "response",
                "failed_url": exchange.final_url,
                "fault": f"the body's transfer failed after headers that passed CORS: {error}",
            }
        return {**common, "blocked": False}
    f = walk.failure
    return {
        **common,
        "cors": True,
        "blocked": True,
        "stage": f.stage,
        "reason": f.reason,
        "failed_parameter": None if f.reason in _SPACE_ONLY_IN_MESSAGE else f.hint,
        "failed_url": f.url,
        "chrome_message": chrome_message(
            f.reason,
            url=f.url,
            initial_url=exchange.url,
            origin=origin,
            hint=f.hint,
            resource_type=ctx.resource_type,
        ),
        "firefox_code": f.firefox_code,
        "firefox_message": (
            firefox_message(f.firefox_code, url=f.url, hint=f.firefox_hint, status=f.status)
            if f.firefox_code
            else None
        ),
    }


_SPACE_ONLY_IN_MESSAGE = frozenset(
    {"InsecureLocalNetwork", "LocalNetworkAccessPermissionDenied", "InvalidLocalNetworkAccess"}
)
"""Chromium reports these without a failed parameter (an empty one, as for every reason that
has none); the address space is named only in the console line (measured)."""


def _confirm(fields: _Fields) -> Verdict:
    """The verdict, marked confirmed when the browser's own verdict is known and agrees."""
    browser = fields.get("browser")
    blocked = fields["blocked"]
    if browser is not None and blocked is not None:
        fields["confirmed"] = browser.blocked == blocked and (
            not browser.blocked or browser.reason is None or browser.reason == fields.get("reason")
        )
    return Verdict(**fields)


# --- What the wire says about the request ------------------------------------------------


def page_origin(exchange: Exchange) -> str | None:
    """The origin of the page that made the request (the request's origin)."""
    ctx = exchange.context
    if ctx.page_origin and ctx.page_origin != "null":
        return ctx.page_origin
    for tx in exchange.transactions():
        value = tx.request.headers.get("origin")
        if value:
            return value  # may be "null": an opaque origin is still an origin
    if ctx.page_origin == "null":
        return "null"
    return None


BROWSER_BLOCKS = {
    "mixed-content": "blocked as mixed content: a page served over https may not fetch an http URL",
    "csp": "blocked by the page's Content-Security-Policy (connect-src and friends)",
    "inspector": "blocked in DevTools (network request blocking)",
    "subresource-filter": "blocked by the browser's ad filter",
    "content-type": "blocked: its Content-Type does not fit (X-Content-Type-Options: nosniff)",
    "mime-type": "blocked: its Content-Type is not JavaScript, which a module script needs"
    " (and a script served as an image, audio, video or CSV never runs)",
    "integrity": "blocked: the body failed its Subresource Integrity check",
    "net::ERR_BLOCKED_BY_ORB": "blocked by Opaque Response Blocking (ORB): not an image, script,"
    " style or media a no-cors load may take",
    "net::ERR_BLOCKED_BY_RESPONSE": "blocked by the response's Cross-Origin-Resource-Policy",
    "net::ERR_BLOCKED_BY_CLIENT": "blocked by a browser extension or DevTools request blocking",
    # Blink's kOrigin (measured, Playwright's HAR of Chromium 156): a mode 'same-origin'
    # fetch redirected away, a subresource URL with user:password@. Never sent.
    "origin": "blocked by the browser before it was sent: a mode 'same-origin' request that"
    " left the page's origin, or a URL with user:password@ in it",
    "other": "blocked by the browser before it was sent (it names no reason)",
    "corp": "blocked by Cross-Origin-Resource-Policy or the page's embedder policy",
    # DevTools' blockedReason for a CORP block (`corp.blocked` predicts them from the wire).
    "corp-not-same-origin": "blocked by the response's Cross-Origin-Resource-Policy: same-origin,"
    " which lets only pages of the resource's own origin load it without CORS",
    "corp-not-same-site": "blocked by the response's Cross-Origin-Resource-Policy: same-site,"
    " which lets only pages of the resource's own site load it without CORS (and no http page"
    " an https resource)",
    "corp-not-same-origin-after-defaulted-to-same-origin-by-coep": "blocked by the page's"
    " Cross-Origin-Embedder-Policy: the response has no Cross-Origin-Resource-Policy, so only"
    " pages of its own origin may load it without CORS",
    # The page's own fetch options that stop at a redirect (Fetch §4.1 main fetch, §4.3
    # HTTP fetch): Chromium fails them with no CORS error and no blockedReason.
    "redirect-mode-error": "the request was made with redirect: 'error' and got a redirect",
    "no-cors-redirect-mode": "a mode: 'no-cors' request to another origin must follow"
    " redirects: with redirect: 'manual' or 'error' the browser refuses it before sending it"
    " (not a CORS failure)",
    "opaque-redirect-integrity": "the request was made with redirect: 'manual' and integrity"
    " metadata: an opaque-redirect response has no body to check it against, so the fetch"
    " fails (not a CORS failure)",
}
"""Chromium's reasons for stopping a request that are not CORS (DevTools' `blockedReason`,
which a Playwright HAR writes as `_failureText`), and what to tell the user."""
_BLOCK_FAULTS = frozenset(BROWSER_BLOCKS.values())


def _browser_block(exchange: Exchange) -> str | None:
    """A block the browser recorded that is not CORS's. Chrome's HAR keeps the response it
    threw away (ORB, CORP); a request stopped before it left has none."""
    error = exchange.context.browser_error
    if error is None or exchange.last.actual is None:
        return None
    if error.startswith("net::ERR_BLOCKED_BY_"):
        name, _, reason = error.partition(".")
        if reason and name == "net::ERR_BLOCKED_BY_RESPONSE":
            # DevTools' error text names the reason after a dot (Playwright's HAR keeps it).
            return BROWSER_BLOCKS.get(_RESPONSE_BLOCK_REASONS.get(reason, ""), BROWSER_BLOCKS[name])
        return BROWSER_BLOCKS.get(error)
    if exchange.last.actual.response is not None:
        return None
    if error.startswith(("corp-", "coep-")):
        return BROWSER_BLOCKS.get(error, BROWSER_BLOCKS["corp"])
    return BROWSER_BLOCKS.get(error)


_RESPONSE_BLOCK_REASONS = {
    "NotSameOrigin": "corp-not-same-origin",
    "NotSameSite": "corp-not-same-site",
    "NotSameOriginAfterDefaultedToSameOriginByCoep": (
        "corp-not-same-origin-after-defaulted-to-same-origin-by-coep"
    ),
}
"""net::ERR_BLOCKED_BY_RESPONSE.<reason> (Chromium 156's loadingFailed errorText, measured)
-> DevTools' blockedReason for it; others (COEP on frames, COOP) stay the generic block."""

_GENERIC_FAILURE = "net::ERR_FAILED"
"""What Chromium reports for a fetch that failed a CORS check (and for few other things)."""
_CANCELED = "net::ERR_ABORTED"
"""What Chromium reports for a request it dropped rather than failed: the redirect target of
a redirect: "manual" fetch (never sent), a fetch the page aborted, an unread opaque body."""


def _failed_after_headers(exchange: Exchange) -> str | None:
    """The browser's own network error on a final answer that passed the CORS check: the
    body broke off (net::ERR_CONTENT_LENGTH_MISMATCH, a reset connection). §4.6
    HTTP-network fetch: the fetch resolved with the headers, and reading the body fails
    (measured without a proxy; through mitmproxy it answers 502 itself)."""
    error = exchange.context.browser_error
    if (
        not error
        or not error.startswith("net::ERR_")
        or error in (_GENERIC_FAILURE, _CANCELED)
        or error.startswith("net::ERR_BLOCKED_BY_")
    ):
        return None
    final = exchange.last.actual
    if final is None or final.response is None or final.response.status in REDIRECT_STATUSES:
        return None
    return error


_MAY_BE_BROWSER_ADDED = fetch.BROWSER_ADDED_HEADERS | {"authorization"}
"""Headers a no-cors request may carry without script: HTTP auth the browser added itself."""


def _canceled_at_later_hop(exchange: Exchange) -> bool:
    """The last step is a redirect's target with no answer (the step before it answered).
    Not said of a stylesheet: Blink cancels one it refuses for its Content-Type before
    DevTools sees the answer (`ResourceLoader::CheckResponseNosniff`; measured, Chromium
    156: a Playwright HAR keeps no response for it), which fails the load."""
    steps = exchange.steps
    if len(steps) < 2 or exchange.context.resource_type == "stylesheet":
        return False
    last, before = steps[-1].actual, steps[-2].actual
    return (
        last is not None
        and last.response is None
        and before is not None
        and before.response is not None
        and 300 <= before.response.status < 400
    )


def request_mode(exchange: Exchange, origin: str | None) -> str | None:
    """The request's mode: the capture's hint, else `Sec-Fetch-Mode`, else inferred."""
    ctx = exchange.context
    if ctx.mode:
        return ctx.mode
    step = exchange.first
    if step.preflight is not None:
        return "cors"
    if step.actual is not None:
        headers = step.actual.request.headers
        sent = headers.get("sec-fetch-mode")
        if sent:
            return sent.lower()
        # A redirect keeps the request and its mode (Fetch §4.4 HTTP-redirect fetch): a later
        # hop's Sec-Fetch-Mode says it when the first request's headers do not (a redirect
        # the HTTP cache answered, as a browser's HAR records it; measured, Chromium 156).
        for later in exchange.steps[1:]:
            if later.actual is not None and (
                sent := later.actual.request.headers.get("sec-fetch-mode")
            ):
                return sent.lower()
        if (headers.get("upgrade") or "").lower() == "websocket":
            return "websocket"
        if ctx.resource_type == "document":
            # A frame's document load is a navigation (Fetch §2.2.5: destination "document",
            # "iframe" or "frame"); to a URL that is not potentially trustworthy Chromium
            # sends no Sec-Fetch-Mode to say so, and a form POST still carries Origin.
            return "navigate"
        # A cross-origin GET/HEAD carries Origin only in CORS mode (see `_may_be_no_cors`
        # for other methods).
        if "origin" in headers:
            return "cors"
        if ctx.resource_type in _CORS_MODE_ONLY:
            # XMLHttpRequest's send() and EventSource's constructor always fetch in mode
            # "cors": said where the headers are not the wire's (a dedicated worker's request
            # in Chrome DevTools' HAR carries neither Origin nor Sec-Fetch-Mode).
            return "cors"
        if origin is None or same_origin(origin, step.url):
            return None
        if ctx.source == "service-worker":
            return None  # never on the wire: the page's own headers, which say no mode
        if ctx.via_proxy:
            # The wire's own headers: §3.1 "append a request `Origin` header" gives every
            # CORS-mode request one, so without it the request was no-cors, whatever its
            # Accept (a `<link rel=prefetch>` sends a navigation's, CORS-unsafe by length).
            return "no-cors"
        # Without Origin the headers are not the wire's: a browser's export of what script
        # could see (Playwright's HAR). No-cors cannot send an unsafe method, and drops
        # unsafe headers; and no answer at all, with the browser's generic net::ERR_FAILED,
        # is how such an export records a CORS failure.
        actual = step.actual
        if not fetch.is_safelisted_method(actual.request.method) or fetch.cors_unsafe_header_names(
            headers, ignore=_MAY_BE_BROWSER_ADDED
        ):
            return "cors"
        final = exchange.last.actual
        if ctx.browser_error and (
            actual.response is None or final is None or final.response is None
        ):
            # The fetch failed either way, and the headers cannot say how: at its first
            # request, or at a later hop whose answer the export kept no more than its
            # request's Origin (a redirect the HTTP cache answered, then a refused hop).
            return None
        return "no-cors"
    return None


def _may_be_no_cors(exchange: Exchange) -> bool:
    """A request whose only sign of CORS mode is an `Origin` header that a no-cors request
    of its method carries too: a POST (§3.1 "append a request `Origin` header": any method
    but GET and HEAD), or any request from an opaque origin (`Origin: null`), with nothing
    but safelisted headers, no preflight, and neither a
    `Sec-Fetch-Mode` (not sent to a URL that is not potentially trustworthy) nor a capture's
    word for its mode or its client."""
    ctx = exchange.context
    step = exchange.first
    actual = step.actual
    if ctx.mode or step.preflight is not None or actual is None:
        return False
    if ctx.resource_type in _CORS_MODE_ONLY:
        return False
    request = actual.request
    headers = request.headers
    if "sec-fetch-mode" in headers or "origin" not in headers:
        return False
    if not fetch.is_safelisted_method(request.method):
        return False
    if request.method in ("GET", "HEAD") and headers.get("origin") != "null":
        # A GET's Origin means CORS mode, except from an opaque origin: a sandboxed
        # frame's no-cors loads carry `Origin: null` too (measured, Chromium 156).
        return False
    return not fetch.cors_unsafe_header_names(headers, ignore=_MAY_BE_BROWSER_ADDED)


_CORS_MODE_ONLY = frozenset({"xhr", "eventsource"})
"""Chrome's resource types whose requests are CORS-mode whatever the page asked."""


def credentials_mode(exchange: Exchange, origin: str) -> str | None:
    """The credentials mode where the capture shows it; None when it cannot be known.

    Only a credentialed ("include") cross-origin request carries cookies, or HTTP auth the
    browser added itself (an `Authorization` header the preflight did not announce); so does
    a hop back at the page's own origin once a redirect chain has left it.
    Chromium sends `Sec-Fetch-Storage-Access` on exactly the credentialed cross-site requests
    (measured here with Chromium 156), so on a cross-site request its absence is evidence too.
    """
    if exchange.context.credentials in CREDENTIALS:
        return exchange.context.credentials
    left_origin = False
    # The mode is the fetch's, the same at every hop (§4.4 HTTP-redirect fetch reuses the
    # request): a later hop's sign of credentials outweighs an earlier hop's lack of one.
    uncredentialed = False
    first = exchange.steps[0].actual
    began = first.started if first is not None else None
    for step in exchange.steps:
        back_home = same_origin(origin, step.url)
        if (
            step.actual is None
            or _sent_before(step.actual, began)
            or (back_home and not left_origin)
        ):
            left_origin = left_origin or not back_home
            continue
        headers = step.actual.request.headers
        if back_home:
            # §4.6 HTTP-network-or-cache fetch: once the chain left the origin, response
            # tainting is "cors" and only "include" sends cookies, even back at the page's
            # own origin (measured, Chromium 156). Its other headers say nothing here.
            if fetch.carries_credentials(headers):
                return "include"
            continue
        left_origin = True
        if fetch.carries_credentials(headers):
            return "include"
        if "authorization" in headers and step.preflight and step.preflight.transaction:
            announced = step.preflight.transaction.request.headers.get(
                "access-control-request-headers"
            )
            if "authorization" not in (announced or "").lower():
                return "include"
        if (headers.get("sec-fetch-site") or "").lower() == "cross-site" and sends_storage_access(
            headers.get("user-agent")
        ):
            uncredentialed = True
    return "same-origin" if uncredentialed else None


def _sent_before(tx: Transaction, began: float | None) -> bool:
    """A hop's request sent before the fetch began: a redirect the HTTP cache stored from
    an earlier fetch answered this one, and the request shown is that fetch's."""
    return began is not None and tx.started is not None and tx.started < began


_CHROMIUM_VERSION = re.compile(r"(?:Headless)?Chrome/(\d+)\.")
# Chromium shipped Storage Access Headers (`Sec-Fetch-Storage-Access`) in version 133.
_STORAGE_ACCESS_HEADERS_SINCE = 133


def sends_storage_access(user_agent: str | None) -> bool:
    """Does this browser mark every credentialed cross-site request on the wire?"""
    match = _CHROMIUM_VERSION.search(user_agent or "")
    return match is not None and int(match.group(1)) >= _STORAGE_ACCESS_HEADERS_SINCE


# --- One pass over the steps (Fetch §4.1 main fetch, §4.4 HTTP fetch, §4.5 redirects) -----


def _walk(exchange: Exchange, origin: str, mode: str | None, *, include: bool) -> _Walk:
    walk = _Walk(via_proxy=exchange.context.via_proxy)
    xhr = exchange.context.resource_type == "xhr"
    page_names = exchange.context.header_names
    from_worker = exchange.context.from_worker
    tainted = False  # §4.4 "redirect-taint": the next request's Origin is `null`
    response_tainting_cors = False
    for index, step in enumerate(exchange.steps):
        if index > MAX_REDIRECTS:
            walk.fault = Fault(_TOO_MANY_REDIRECTS)
            return walk
        url = step.url
        # §4.1 main fetch step 12: CORS applies once the chain left the request's origin.
        cors_flag = response_tainting_cors or not same_origin(origin, url)
        request_origin = "null" if tainted else origin
        if cors_flag:
            walk.cors = True
            response_tainting_cors = True
            if mode == "same-origin":
                walk.failure = Failure("DisallowedByMode", "response", url)
                return walk
            if not _is_http(url):
                walk.failure = Failure(
                    "CorsDisabledScheme", "response", url, firefox_code="CORSRequestNotHttp"
                )
                return walk
            if (failure := _local_network_failure(exchange, origin, step)) is not None:
                walk.failure = failure
                return walk
            if not _check_step_preflight(
                walk,
                step,
                request_origin,
                include,
                xhr=xhr,
                page_names=page_names,
                from_worker=from_worker,
            ):
                return walk

        tx = step.actual
        if tx is not None and (fault := _fault(tx, walk.via_proxy)) is not None:
            walk.fault, walk.fault_stage, walk.fault_url = fault, "response", url
            return walk
        if tx is None or tx.response is None:
            if cors_flag and is_mixed_content(origin, url):
                walk.fault = Fault(BROWSER_BLOCKS["mixed-content"])
            elif cors_flag:
                # The browser failed it with no answer recorded, while its HTTP cache held a
                # fresh copy (`Step.stored`): that copy is what it checked, and a failure
                # there is the one it reported. A copy that passes says nothing more.
                if step.stored is not None and (
                    failure := _check_access(step.stored, request_origin, include)
                ):
                    # A stored redirect fails §4.4's check of the redirect itself.
                    moved = step.stored.status in REDIRECT_STATUSES and bool(
                        step.stored.headers.get("location")
                    )
                    walk.failure = _at(failure, "redirect" if moved else "response", url)
                    walk.cache_answered = tx is None and step.preflight is not None
                elif _cache_answered(step, exchange.context.browser):
                    walk.cache_answered = True
                else:
                    walk.incomplete = "response-not-captured"
            return walk
        response = tx.response
        if response.status == 304:
            if cors_flag and (
                failure := _revalidation_failure(exchange, step, request_origin, include)
            ):
                walk.failure = _at(failure, "response", url)
            elif cors_flag and not fetch.is_conditional(tx.request.headers):
                # A server's own 304, unasked, is what script gets, its headers as filtered
                # as any answer's (measured, Chromium 156: an XHR read null for a header
                # the 304 did not expose).
                walk.warnings.extend(
                    _response_warnings(response, include, exchange.context.resource_type)
                )
            return walk

        location = _redirect_location(tx)
        if location is not None and index >= MAX_REDIRECTS:
            # The 21st redirect. Chromium's network stack fails it before the CORS layer
            # sees it (`URLRequestJob::CanFollowRedirect`), whatever its headers say, and
            # never requests its target.
            walk.fault = Fault(_TOO_MANY_REDIRECTS)
            walk.fault_stage = "redirect"
            return walk
        if location == INVALID_LOCATION:
            # Failed the same way, in the same place.
            walk.fault = Fault(_INVALID_REDIRECT)
            walk.fault_stage = "redirect"
            return walk
        if location is not None:
            # §4.5 HTTP-redirect fetch: the redirect response itself passes the CORS check.
            if cors_flag and (failure := _check_access(response, request_origin, include)):
                walk.failure = _at(failure, "redirect", url)
                return walk
            redirect_mode = exchange.context.redirect_mode
            if redirect_mode == "manual":
                # The page gets an opaque-redirect response, unless integrity fails it.
                walk.fault = _opaque_redirect_integrity_fault(exchange.context)
                walk.fault_stage = "redirect" if walk.fault is not None else None
                return walk
            if redirect_mode == "error":
                walk.fault = Fault(_REDIRECT_MODE_ERROR)
                walk.fault_stage = "redirect"
                return walk
            # §4.5 step 5: a location that is not HTTP(S) is a network error. Chromium
            # names it by scheme (measured in the lab): its network stack refuses some
            # schemes outright, the CORS layer the rest of those it does not enable.
            scheme = scheme_of(location)
            if scheme in _UNSAFE_REDIRECT_SCHEMES:
                walk.fault = _refused_scheme(scheme)
                walk.fault_stage = "redirect"
                return walk
            # §4.1 main fetch step 12: the next request is a CORS request when the chain
            # already left the request's origin, or leaves it now (measured: a same-origin
            # cors-mode fetch redirected to ftp is CorsDisabledScheme too).
            next_is_cors = response_tainting_cors or (
                mode == "cors" and not same_origin(origin, location)
            )
            if next_is_cors and scheme not in _CORS_ENABLED_SCHEMES:
                walk.failure = Failure(
                    "CorsDisabledScheme", "redirect", location, firefox_code="CORSRequestNotHttp"
                )
                return walk
            if mode == "same-origin" and not same_origin(origin, location):
                # §4.1 main fetch step 12 would fail the next request; Blink cancels the
                # redirect before it goes out, and names no CORS error (measured).
                walk.cors = True
                walk.fault = Fault(_LEFT_SAME_ORIGIN_MODE)
                walk.fault_stage = "redirect"
                return walk
            # §4.5 HTTP-redirect fetch: a Location with userinfo is a network error for a
            # CORS request to another origin than the request's, and for any request whose
            # response tainting is "cors" (the chain left its origin), even one sent back
            # to the page's own origin (measured in the lab).
            if _has_userinfo(location) and (
                response_tainting_cors or not same_origin(origin, location)
            ):
                walk.failure = Failure("RedirectContainsCredentials", "redirect", url)
                return walk
            if _mixed_content_redirect(exchange, origin, index, location):
                walk.cors = True
                walk.fault = Fault(BROWSER_BLOCKS["mixed-content"])
                walk.fault_stage = "redirect"
                return walk
            if not same_origin(location, url) and not same_origin(origin, url):
                tainted = True
            if index + 1 >= len(exchange.steps):
                walk.incomplete = _unfollowed_redirect(exchange.context)
                return walk
            continue

        if cors_flag:
            if (failure := _check_access(response, request_origin, include)) is not None:
                walk.failure = _at(failure, "response", url)
                return walk
            walk.warnings.extend(
                _response_warnings(response, include, exchange.context.resource_type)
            )
        return walk
    return walk


_CONDITIONAL_HEADERS = frozenset(
    {"if-none-match", "if-modified-since", "if-match", "if-unmodified-since"}
)
_SUBRESOURCE_CACHE_FREE = frozenset({"fetch", "xhr"})
"""Resource types Blink never keeps in its memory cache: their conditional requests come
from the HTTP cache (or from script, which has to announce them in a preflight)."""


def _validator_from_the_renderer(headers: Headers) -> bool:
    """Whether the request's validator was set by the renderer (Blink's memory cache, or
    script) rather than by the network stack's HTTP cache: the renderer's headers travel
    before those the network stack adds (Accept-Encoding, from URLRequestHttpJob), while
    the HTTP cache appends its validator after them (measured, Chromium 156)."""
    names = [name.lower() for name, _ in headers]
    added = next((i for i, name in enumerate(names) if name == "accept-encoding"), None)
    asked = next((i for i, name in enumerate(names) if name in fetch.REVALIDATION_HEADERS), None)
    return added is not None and asked is not None and asked < added


def _revalidation_failure(
    exchange: Exchange, step: Step, request_origin: str, include: bool
) -> Failure | None:
    """The CORS check on a 304, which depends on who asked the conditional question.

    Script that sent the validator itself (it had to announce it in the preflight) gets the
    304 as it is, and the 304 is checked. Chromium's HTTP cache instead hands the page its
    stored response with the 304's headers put in place of the stored ones (RFC 9111
    §4.3.4), and that is what is checked (measured in the lab): a 304 that brings its own
    Access-Control-Allow-Origin decides, one without it leaves the stored response's value,
    which the capture does not hold with the 304. Blink's memory cache revalidates other
    resource types and skips the check on the 304 (§4.6); a wire capture tells those from
    the HTTP cache's only where it holds the cache's stored copy (`Step.stored`)."""
    tx = step.actual
    assert tx is not None and tx.response is not None
    response = tx.response
    if not fetch.is_conditional(tx.request.headers):
        # Nobody asked a conditional question: a server's own 304 is a response like any
        # other, checked as it is (measured in Chromium 156).
        return _check_access(response, request_origin, include)
    preflight = step.preflight.transaction if step.preflight is not None else None
    if preflight is not None and not _CONDITIONAL_HEADERS.isdisjoint(
        _announced_headers(preflight, tx)
    ):
        return _check_access(response, request_origin, include)
    resource_type = exchange.context.resource_type
    if (
        resource_type is not None
        and resource_type not in _SUBRESOURCE_CACHE_FREE
        and _validator_from_the_renderer(tx.request.headers)
    ):
        # Blink's memory cache asked (`is_revalidating`): CorsURLLoader::OnReceiveResponse
        # skips the check on its 304 and Blink reuses the copy it already let in (measured,
        # Chromium 156: a stylesheet's 304 naming another origin is allowed).
        return None
    if step.stored is not None:
        # The HTTP cache's own copy, seen arriving for this partition: whatever asked, the
        # browser checks it as the 304 updated it (measured for images, scripts, styles,
        # module scripts and fonts as for fetch).
        return _check_access(http_cache.updated(step.stored, response), request_origin, include)
    if resource_type is not None and resource_type not in _SUBRESOURCE_CACHE_FREE:
        return None
    if "access-control-allow-origin" not in response.headers:
        # The stored Allow-Origin stands, unseen (the page was let in with it before); a
        # 304's own Allow-Credentials still takes the stored one's place.
        allow_credentials = response.headers.get("access-control-allow-credentials")
        if include and allow_credentials is not None and allow_credentials != "true":
            return Failure(
                "InvalidAllowCredentials",
                "response",
                "",
                allow_credentials,
                "CORSMissingAllowCredentials",
                None,
                response.status,
            )
        return None
    failure = _check_access(response, request_origin, include)
    if (
        failure is not None
        and failure.reason == "InvalidAllowCredentials"
        and "access-control-allow-credentials" not in response.headers
    ):
        return None  # the stored response's value stands, and the capture does not show it
    return failure


def _cache_answered(step: Step, browser: BrowserVerdict | None) -> bool:
    """Did the HTTP cache's copy (`Step.stored`) answer a request whose preflight passed
    and that never reached the wire? The copy passed the CORS check above; a redirect
    would lead on to a hop this step does not hold, and a browser that says it blocked
    the fetch knows of something the copy does not show."""
    stored = step.stored
    return (
        step.actual is None
        and step.preflight is not None
        and stored is not None
        and stored.status not in REDIRECT_STATUSES
        and (browser is None or not browser.blocked)
    )


def _check_step_preflight(
    walk: _Walk,
    step: Step,
    request_origin: str,
    include: bool,
    *,
    xhr: bool = False,
    page_names: tuple[str, ...] | None = None,
    from_worker: bool = False,
) -> bool:
    """§4.7 CORS-preflight fetch for one step. False when the walk must stop here."""
    actual = step.actual
    needed = step.preflight is not None or (
        actual is not None and _needs_preflight(actual.request.method, actual.request.headers)
    )
    if not needed:
        return True
    walk.preflight_required = True
    preflight = step.preflight.transaction if step.preflight is not None else None
    if preflight is None:
        # Needed but not on the wire: Chromium answered it from its preflight cache.
        walk.preflight_cached = True
        return True
    if (fault := _fault(preflight, walk.via_proxy)) is not None:
        walk.fault, walk.fault_stage, walk.fault_url = fault, "preflight", step.url
        return False
    if preflight.response is None:
        walk.incomplete = "preflight-response-not-captured"
        return False
    failure = _check_preflight(
        preflight,
        request_origin,
        include,
        actual,
        xhr=xhr,
        page_names=page_names,
        from_worker=from_worker,
    )
    if failure is not None:
        walk.failure = failure
        return False
    walk.warnings.extend(_preflight_warnings(preflight, include))
    return True


def _local_network_failure(exchange: Exchange, origin: str, step: Step) -> Failure | None:
    """Local Network Access: a request from a public page into the local or loopback space
    is stopped before it is sent, unless the page is a secure context with the permission.
    Only decided when the capture places both ends and shows the request never went out,
    and never through a proxy: Chromium then cannot place the server (measured)."""
    if exchange.context.via_proxy:
        return None
    first = step.preflight.transaction if step.preflight is not None else None
    first = first or step.actual
    if first is not None and first.response is not None:
        return None  # it reached the server: the browser let it through
    initiator = address_space.space_of_url(origin)
    if initiator is None and exchange.context.page_address:
        initiator = address_space.space_of_ip(exchange.context.page_address)
    target = address_space.space_of_url(step.url)
    if first is not None and first.server_ip:
        target = address_space.space_of_ip(first.server_ip) or target
    if initiator is None or target is None or not address_space.is_more_private(target, initiator):
        return None
    reason = (
        "LocalNetworkAccessPermissionDenied"
        if address_space.is_secure_context(origin)
        else "InsecureLocalNetwork"
    )
    return Failure(reason, "preflight", step.url, hint=target)


def _needs_preflight(method: str, headers: Headers) -> bool:
    """§4.4 HTTP fetch step 5.1, judged from the actual request on the wire."""
    unsafe = fetch.cors_unsafe_header_names(headers, ignore=fetch.BROWSER_ADDED_HEADERS)
    if unsafe == ["last-event-id"] and fetch.is_event_stream_accept(headers.get("accept")):
        # EventSource's reconnect: Blink sends it with preflight prevented (measured).
        unsafe = []
    return not fetch.is_safelisted_method(method) or bool(unsafe)


def _check_preflight(
    preflight: Transaction,
    request_origin: str,
    include: bool,
    actual: Transaction | None,
    *,
    xhr: bool = False,
    page_names: tuple[str, ...] | None = None,
    from_worker: bool = False,
) -> Failure | None:
    """Chromium `PreflightController` order: redirect, CORS check, status, parse, method,
    headers (reference §1.5). `from_worker`: a worker's call, whose requests carry no UA
    client hints (measured, Chromium 156: 50 of 50 names predicted so, 44 otherwise)."""
    response = preflight.response
    assert response is not None
    url = preflight.request.url
    status = response.status
    if _redirect_location(preflight) is not None:
        return Failure(
            "PreflightDisallowedRedirect",
            "preflight",
            url,
            firefox_code="CORSExternalRedirectNotAllowed",
            status=status,
        )
    if (failure := _check_access(response, request_origin, include)) is not None:
        return _at(failure, "preflight", url, preflight=True)
    if not 200 <= status <= 299:
        return Failure(
            "PreflightInvalidStatus",
            "preflight",
            url,
            firefox_code="CORSPreflightDidNotSucceed",
            status=status,
        )

    request_headers = preflight.request.headers
    method = request_headers.get("access-control-request-method") or (
        actual.request.method if actual is not None else "GET"
    )
    allow_methods = fetch.parse_token_list(response.headers.get("access-control-allow-methods"))
    if allow_methods is None:
        return Failure(
            "InvalidAllowMethodsPreflightResponse",
            "preflight",
            url,
            firefox_code="CORSInvalidAllowMethod",
            firefox_hint=_first_non_token(response.headers.get("access-control-allow-methods")),
        )
    allow_headers = fetch.parse_token_list(response.headers.get("access-control-allow-headers"))
    if allow_headers is None:
        return Failure(
            "InvalidAllowHeadersPreflightResponse",
            "preflight",
            url,
            firefox_code="CORSInvalidAllowHeader",
            firefox_hint=_first_non_token(response.headers.get("access-control-allow-headers")),
        )

    # §4.7 step 7.5: the method must be listed verbatim (case-sensitive), be safelisted, or
    # be covered by `*` for a request without credentials.
    if not (
        method in allow_methods
        or fetch.is_safelisted_method(method)
        or ("*" in allow_methods and not include)
    ):
        return Failure(
            "MethodDisallowedByPreflightResponse",
            "preflight",
            url,
            hint=method,
            firefox_code="CORSMethodNotFound",
        )

    # §4.7 step 7.6-7.7: every CORS-unsafe header must be listed (case-insensitively) unless
    # `*` covers it. Chromium still lets `*` cover Authorization (reference §1.5).
    listed = {name.lower() for name in allow_headers}
    if "*" in listed and not include:
        return None
    announced = _announced_headers(preflight, actual)
    missing = [name for name in announced if name not in listed]
    if not missing:
        return None
    # Chromium names the first its network service meets, in Blink's header-map order;
    # Firefox the first of its sorted list.
    client_hints = address_space.is_secure_context(url) and not from_worker
    order = blink_headers.network_order(
        _map_names(announced, page_names), xhr=xhr, client_hints=client_hints
    )
    chromium = next(name for name in order if name in missing)
    return Failure(
        "HeaderDisallowedByPreflightResponse",
        "preflight",
        url,
        hint=chromium,
        firefox_code="CORSMissingAllowHeaderFromPreflight",
        firefox_hint=missing[0],
    )


def _map_names(announced: list[str], page_names: tuple[str, ...] | None) -> list[str]:
    """Every name in Blink's header map: the script's own, safelisted ones included (the
    map's slot order depends on all its keys, measured), where the capture recorded them;
    else the announced ones, all the wire shows. Forbidden names never reach the map."""
    if not page_names:
        return announced
    names = [n for n in page_names if not fetch.is_forbidden_request_header(n)]
    return names + [n for n in announced if n not in names]


def _announced_headers(preflight: Transaction, actual: Transaction | None) -> list[str]:
    """The CORS-unsafe header names the browser listed in the preflight, in its order."""
    announced = preflight.request.headers.get("access-control-request-headers")
    if announced is not None:
        return fetch.announced_header_names(announced)
    if actual is not None:
        return fetch.cors_unsafe_header_names(
            actual.request.headers, ignore=fetch.BROWSER_ADDED_HEADERS
        )
    return []


def _check_access(response: Response, request_origin: str, include: bool) -> Failure | None:
    """§4.9 CORS check, in Chromium's `CheckAccess` order; Firefox's code alongside."""
    headers = response.headers
    allow_origin = headers.get("access-control-allow-origin")

    def fail(reason: str, hint: str | None = None) -> Failure:
        # Firefox's wording is only needed once the check failed, which few responses do.
        code, code_hint = _firefox_access_code(headers, request_origin, include) or (None, None)
        return Failure(reason, "response", "", hint, code, code_hint, response.status)

    if allow_origin == "*":
        return fail("WildcardOriginNotAllowed") if include else None
    if allow_origin is None:
        return fail("MissingAllowOriginHeader")
    if allow_origin != request_origin:
        if " " in allow_origin or "," in allow_origin:
            return fail("MultipleAllowOriginValues", allow_origin)
        if allow_origin == "null":
            return fail("AllowOriginMismatch", allow_origin)
        if not is_valid_url(allow_origin):
            return fail("InvalidAllowOriginValue", allow_origin)
        return fail("AllowOriginMismatch", allow_origin)
    if include:
        allow_credentials = headers.get("access-control-allow-credentials")
        if allow_credentials != "true":
            return fail("InvalidAllowCredentials", allow_credentials or "")
    return None


def _firefox_access_code(
    headers: Headers, request_origin: str, include: bool
) -> tuple[str, str | None] | None:
    """Firefox `nsCORSListenerProxy::CheckRequestApproved` order (reference §1.6)."""
    lines = headers.get_all("access-control-allow-origin")
    if len(lines) > 1:
        return ("CORSMultipleAllowOriginNotAllowed", None)
    if not lines:
        return ("CORSMissingAllowOrigin", None)
    value = lines[0].strip(" \t")
    if value == "*" and include:
        return ("CORSNotSupportingCredentials", None)
    if value != "*" and value != request_origin:
        return ("CORSAllowOriginNotMatchingOrigin", value)
    if include and headers.get("access-control-allow-credentials") != "true":
        return ("CORSMissingAllowCredentials", None)
    return None


def _at(failure: Failure, stage: str, url: str, *, preflight: bool = False) -> Failure:
    reason = "Preflight" + failure.reason if preflight else failure.reason
    f = failure
    return Failure(reason, stage, url, f.hint, f.firefox_code, f.firefox_hint, f.status)


# --- Faults that are not CORS failures ---------------------------------------------------

_PROXY_SERVER = re.compile(r"^mitmproxy\b", re.IGNORECASE)
# Chromium's generic failure: what a CORS or service-worker failure looks like in a HAR.
_BROWSER_SIDE_ERRORS = ("net::ERR_FAILED", "net::ERR_ABORTED", "net::ERR_BLOCKED_BY_CLIENT")


def _client_hung_up(error: str) -> bool:
    """mitmproxy's words for the browser closing the connection itself ("Client
    disconnected." mid-request, "client disconnected" on cancel): the page aborted the fetch
    (AbortSignal) or the browser dropped a body it refused. The proxy then answered no one,
    so no 502 of its own reached the browser (measured, Chromium 156: an abort is an
    AbortError, net::ERR_ABORTED, no CORS error)."""
    return error.strip().rstrip(".").lower() == "client disconnected"


@dataclass(frozen=True, slots=True)
class Fault:
    """A proxy, upstream or network failure: not a CORS failure, though the fetch failed."""

    message: str
    browser_reason: str | None = None
    """What Chromium reports for it, e.g. a missing ACAO on the proxy's own 502."""


_UNEXPECTED_PROXY_AUTH = (
    "the server answered 407 Proxy Authentication Required, which only a proxy the browser"
    " sends plain http requests to may answer: the browser failed the request"
    " (net::ERR_UNEXPECTED_PROXY_AUTH)"
)


def _fault(tx: Transaction, via_proxy: bool = False) -> Fault | None:
    """The fault behind a transaction without a usable response; None when there is none.
    `via_proxy`: the browser sent the request through a proxy."""
    response = tx.response
    if tx.error is not None and _client_hung_up(tx.error):
        return None
    if response is None:
        error = tx.error or ""
        if not error or error.startswith(_BROWSER_SIDE_ERRORS):
            return None
        if error.startswith("net::"):
            return Fault(f"network error: {error}")
        return Fault(
            f"upstream failed: {error}; the proxy answered the browser with its own 502",
            "MissingAllowOriginHeader",
        )
    if tx.error and not response.made_by_proxy and not tx.error.startswith("net::"):
        # mitmproxy records an error beside a response only when the server failed before
        # the response was complete (a body cut short); the browser got the proxy's 502.
        return Fault(
            f"upstream failed mid-response: {tx.error}; the proxy answered the browser with"
            " its own 502",
            "MissingAllowOriginHeader",
        )
    if (
        response.status == 407
        and not response.made_by_proxy
        and (not via_proxy or scheme_of(tx.request.url) != "http")
    ):
        # Fetch §4.6 leaves a 407 to proxy authentication. Chromium takes one as a proxy's
        # challenge only from a proxy it sends the request to untunnelled (a plain http URL);
        # any other 407 (an https URL in its tunnel, a direct request) fails in the network
        # stack, with no CORS error. A proxy's 407 Chromium does not answer is CORS-checked
        # like any response (measured, Chromium 156).
        return Fault(_UNEXPECTED_PROXY_AUTH)
    # A proxy's or addon's own answer is only a fault when it is an error page: a mocked
    # 200 (map_local, server_replay) is what the browser judged, like any response.
    if response.status >= 400 and (
        response.made_by_proxy or _PROXY_SERVER.match(response.headers.get("server") or "")
    ):
        detail = f" ({tx.error})" if tx.error else ""
        return Fault(
            f"the proxy answered {response.status} itself{detail}", "MissingAllowOriginHeader"
        )
    return None


_PROXY_ERROR_PAGE = Response(
    502, Headers.of([("Content-Type", "text/html")]), made_by_proxy=True, sniffed="html"
)
"""The page a proxy answers with when the upstream failed: mitmproxy's `make_error_response`
is a 502, `Content-Type: text/html`, an HTML body (`format_error`)."""


def _received(tx: Transaction, via_proxy: bool) -> Response | None:
    """The answer the browser received for `tx`: the recorded one, or the proxy's own error
    page when the upstream failed before or while answering (`_fault`'s proxy 502), which
    the record does not hold. No-cors checks (ORB) judge that page, not the upstream's."""
    fault = _fault(tx, via_proxy)
    if fault is None or fault.browser_reason is None:
        return tx.response
    if tx.response is not None and (tx.response.made_by_proxy or not tx.error):
        return tx.response  # the proxy's own answer, recorded as the browser got it
    return _PROXY_ERROR_PAGE


def _received_final(exchange: Exchange, *, redirects: bool = True) -> Response | None:
    """What the browser received for the chain's last request (`_received`); None where
    there is none, or (`redirects` False) where the recorded answer is a redirect, which the
    chain follows beyond the capture."""
    final = exchange.last.actual
    if final is None:
        return None
    received = _received(final, exchange.context.via_proxy)
    if not redirects and received is final.response and _redirect_location(final):
        return None
    return received


# --- Warnings: the request passed, but something will bite --------------------------------

_INFRASTRUCTURE_HEADERS = frozenset(
    {
        "age",
        "alt-svc",
        "connection",
        "content-encoding",
        "content-security-policy",
        "cross-origin-embedder-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "date",
        "keep-alive",
        "nel",
        "permissions-policy",
        "referrer-policy",
        "report-to",
        "reporting-endpoints",
        "server",
        "server-timing",
        "set-cookie",
        "set-cookie2",
        "strict-transport-security",
        "timing-allow-origin",
        "transfer-encoding",
        "vary",
        "via",
        "x-content-type-options",
        "x-frame-options",
        "x-xss-protection",
        "x-powered-by",
        "x-cache",
        "x-cache-hits",
        "x-served-by",
        "x-timer",
        "x-amz-cf-pop",
        "x-amz-cf-id",
        "cf-ray",
        "cf-cache-status",
        "akamai-cache-status",
        "x-cache-status",
        "accept-ranges",
        "x-envoy-upstream-service-time",
        "x-amzn-requestid",
        "x-amz-apigw-id",
        "x-amzn-trace-id",
        "x-proxy-cache",
        "x-varnish",
        "expect-ct",
        "origin-agent-cluster",
        "document-policy",
        "proxy-connection",
    }
)


_HEADER_READERS = frozenset({"fetch", "xhr"})
"""Resource types whose script can read response headers (`None`: not recorded)."""


def _response_warnings(
    response: Response, include: bool, resource_type: str | None
) -> list[CorsWarning]:
    warnings: list[CorsWarning] = []
    # An image, script, font or EventSource never shows its headers to script.
    readable = resource_type is None or resource_type in _HEADER_READERS
    hidden = unexposed_headers(response.headers, include) if readable else []
    if hidden:
        warnings.append(
            CorsWarning(
                "expose-headers-missing",
                "JavaScript cannot read the response header"
                + ("s " if len(hidden) > 1 else " ")
                + ", ".join(hidden)
                + ": not listed in Access-Control-Expose-Headers.",
            )
        )
    allow_origin = response.headers.get("access-control-allow-origin")
    if allow_origin not in (None, "*") and _is_cacheable(response.headers):
        vary = {v.strip().lower() for v in (response.headers.get("vary") or "").split(",")}
        if "origin" not in vary and "*" not in vary:
            warnings.append(
                CorsWarning(
                    "vary-origin-missing",
                    f"The response allows one origin ({allow_origin}) and may be cached, but"
                    " lacks 'Vary: Origin': a cache can replay it to another origin, which"
                    " the browser then blocks.",
                )
            )
    return warnings


def unexposed_headers(headers: Headers, include: bool) -> list[str]:
    """§3.2.3 / Blink: headers script cannot read; infrastructure headers are not reported."""
    exposed = fetch.parse_token_list(headers.get("access-control-expose-headers")) or []
    exposed_lower = {name.lower() for name in exposed}
    if "*" in exposed_lower and not include:
        return []
    return [name for lower, name in _exposable(headers) if lower not in exposed_lower]


def _exposable(headers: Headers) -> tuple[tuple[str, str], ...]:
    """(lower-cased, as sent) for each header name an Expose-Headers list could cover, once
    per name; worked out once per layout."""
    return headers.layout.derive(_exposable_names)


def _exposable_names(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for name in names:
        lower = name.lower()
        if not (
            lower in found
            or lower.startswith((":", "access-control-"))
            or lower in fetch.SAFELISTED_RESPONSE_HEADERS
            or lower in _INFRASTRUCTURE_HEADERS
        ):
            found[lower] = name
    return tuple(found.items())


def _is_cacheable(headers: Headers) -> bool:
    directives = _cache_control(headers.get("cache-control"))
    if "no-store" in directives:
        return False
    for name in ("max-age", "s-maxage"):
        value = directives.get(name)
        if value is not None and value.isdigit() and int(value) > 0:
            return True
    if "max-age" in directives or "no-cache" in directives:
        return False
    return "public" in directives or headers.get("expires") is not None


@lru_cache(maxsize=4096)
def _cache_control(value: str | None) -> dict[str, str]:
    """The directives by lower-cased name. Responses repeat a few values: each is parsed
    once, and its dict is shared (read it, never change it)."""
    directives: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"')
    return directives


def _preflight_warnings(preflight: Transaction, include: bool) -> list[CorsWarning]:
    response = preflight.response
    assert response is not None
    warnings: list[CorsWarning] = []
    raw = response.headers.get("access-control-max-age")
    max_age = fetch.parse_max_age(raw)
    effective = (
        PREFLIGHT_DEFAULT_MAX_AGE if max_age is None else min(max_age, PREFLIGHT_MAX_AGE_CAP)
    )
    if effective < SHORT_PREFLIGHT_CACHE:
        if raw is None:
            detail = "has no Access-Control-Max-Age, so Chromium reuses it for only 5 s"
        elif max_age is None:
            detail = f"has an unparsable Access-Control-Max-Age '{raw}' (Chromium uses 5 s)"
        elif effective <= 0:
            detail = f"has Access-Control-Max-Age: {raw}, so it is never reused"
        else:
            detail = f"has Access-Control-Max-Age: {raw}, so it is reused for only {effective} s"
        warnings.append(
            CorsWarning(
                "preflight-not-cached",
                f"The preflight response {detail}: almost every call pays an extra round trip.",
            )
        )
    announced = preflight.request.headers.get("access-control-request-headers")
    allowed = fetch.parse_token_list(response.headers.get("access-control-allow-headers")) or []
    if (
        not include
        and "authorization" in fetch.announced_header_names(announced)
        and "*" in allowed
        and "authorization" not in {n.lower() for n in allowed}
    ):
        warnings.append(
            CorsWarning(
                "authorization-covered-by-wildcard",
                "Authorization is allowed only through 'Access-Control-Allow-Headers: *'."
                " Browsers accept this today, but the Fetch standard says the wildcard does not"
                " cover Authorization: list it explicitly.",
            )
        )
    return warnings


def _no_cors(exchange: Exchange, base: _Fields, origin: str) -> _Fields:
    """A no-cors request is never CORS-checked, but it follows its redirects as any fetch
    does, and fails where following one is a network error; its answer then passes Opaque
    Response Blocking."""
    warnings = tuple(_no_cors_warnings(exchange, origin))
    # A no-cors request under `credentialless` goes to another origin without credentials
    # (measured: no block without CORP), so `corp.blocked` asks no policy of it.
    embedder = cast(corp.EmbedderPolicy, exchange.context.embedder_policy or "unsafe-none")
    if exchange.context.redirect_mode in ("manual", "error") and not same_origin(
        origin, exchange.url
    ):
        # §4.1 main fetch step 12, "no-cors": a redirect mode other than "follow" is a
        # network error before anything is fetched (Blink's FetchManager; measured).
        return {**base, "blocked": True, "fault": _NO_CORS_REDIRECT_MODE, "warnings": warnings}
    fault = _redirect_fault(exchange, origin)
    refused = _resource_policy_block(
        exchange,
        base["source"],
        lambda url, headers: corp.blocked(origin, url, headers, embedder),
    )
    if refused is not None and (fault is None or fault.message in _RENDERER_REDIRECT_FAULTS):
        return {**base, **refused, "warnings": warnings}
    if fault is None:
        blocking = _opaque_response_blocking(exchange, origin, base["source"])
        return {**base, **blocking, "warnings": warnings}
    # A block of the browser's own (mixed content) is listed as `_browser_block` lists ORB
    # and CORP on no-cors loads, once the load left the page's origin: a script or
    # stylesheet whose redirect Blink refused failed for the page, though no CORS check ran.
    listed = fault.message in _BLOCK_FAULTS and not all(
        same_origin(origin, step.url) for step in exchange.steps
    )
    return {
        **base,
        "cors": listed,
        "blocked": True,
        "stage": "redirect",
        "fault": fault.message,
        "warnings": warnings,
    }


_ORB_BLOCK = BROWSER_BLOCKS["net::ERR_BLOCKED_BY_ORB"]


def _unplaced_no_cors(exchange: Exchange, base: _Fields) -> _Fields:
    """A no-cors request whose page the wire does not name (no Origin, no Referer: a
    `no-referrer` policy, an https page's load of an http URL): its `Sec-Fetch-Site` still
    says it left the page's origin, so Opaque Response Blocking applies, and how its CORP
    fares (`corp.blocked_for_site`). Said only where nothing else is in doubt; else it is
    left out, as a request of an unknown page always was."""
    placed = _unplaced_home(exchange)
    if placed is None or base["source"] == "service-worker":
        return base
    site, at_home = placed
    if exchange.context.redirect_mode not in (None, "follow"):
        return base
    if _received_final(exchange, redirects=False) is None:
        return base  # the chain goes on where the capture does not follow it
    if not _unplaced_final_known(exchange, at_home):
        return base
    if _redirect_fault(exchange, "null") is not None:
        return base  # one origin throughout: no mixed content, whatever the page's scheme

    def refuse(url: str, headers: Headers) -> corp.Reason | Literal[False] | None:
        if at_home(url):
            return corp.blocked_for_site(site, url, headers)
        # A hop away from the first URL's site (or origin) may be the page's own: only a
        # policy that admits every page is known to pass there.
        return None if corp.policy(headers) in (None, "cross-origin") else False

    warnings = tuple(_no_cors_warnings(exchange, None))
    refused = _resource_policy_block(exchange, base["source"], refuse)
    if refused is False:
        return base
    if refused is not None:
        return {**base, **refused, "warnings": warnings}
    blocking = _opaque_response_blocking(exchange, None, base["source"])
    return {**base, **blocking, "warnings": warnings}


def _unplaced_home(exchange: Exchange) -> tuple[corp.Site, Callable[[str], bool]] | None:
    """How the page of a request that names no page (no Origin, no Referer) relates to its
    first URL, from the first request's `Sec-Fetch-Site` ("cross-site" or "same-site": of
    another origin), and which URLs share that relation: the first URL's origin, or, for
    "cross-site", every URL of its schemeful site (a page of another site than one URL is
    of another site than every URL of that site). A later hop's value sums up the chain so
    far (Chromium's `SetSecFetchSiteHeader` sends the least related of its URLs), which says
    nothing of that hop alone. None: not such a request, or nothing to conclude."""
    if page_origin(exchange) is not None:
        return None
    first = exchange.first.actual
    if first is None:
        return None
    site = (first.request.headers.get("sec-fetch-site") or "").strip().lower()
    if site not in ("cross-site", "same-site"):
        return None
    home = origin_of(exchange.url)
    if home is None:
        return None
    if site == "cross-site":
        home_site = http_cache.partition_site(home)

        def at_home(url: str) -> bool:
            hop = origin_of(url)
            return hop is not None and http_cache.partition_site(hop) == home_site

    else:

        def at_home(url: str) -> bool:
            return origin_of(url) == home

    return site, at_home  # type: ignore[return-value]


def _unplaced_final_known(exchange: Exchange, at_home: Callable[[str], bool]) -> bool:
    """Whether ORB's word on the final answer of an unplaced page's load is known: the
    final URL is where the page is known to be of another origin, or ORB lets the answer
    through anyway (it compares only the final URL with the page, `orb_impl.cc`)."""
    if at_home(exchange.final_url):
        return True
    response = _received_final(exchange)
    if response is None:
        return False
    return orb.decide(response.status, response.headers, response.sniffed) is False


def unplaced_site(exchange: Exchange) -> corp.Site | None:
    """`_unplaced_home`'s relation when every hop of the chain shares it, else None."""
    placed = _unplaced_home(exchange)
    if placed is None:
        return None
    site, at_home = placed
    if not all(at_home(step.url) for step in exchange.steps):
        return None
    return site


CorpCheck = Callable[[str, Headers], "corp.Reason | Literal[False] | None"]
"""A response's CORP refusal at a URL, given its headers; False: cannot tell."""


def _resource_policy_block(
    exchange: Exchange, source: str, refuse: CorpCheck
) -> _Fields | Literal[False] | None:
    """Cross-Origin-Resource-Policy on each answer of a no-cors request, a redirect's too
    (Fetch §4.3 HTTP fetch, the cross-origin resource policy check; Chromium's
    `URLLoader::OnReceivedRedirect` and `OnResponseStarted`), one without it refused under
    the page's `require-corp` embedder policy, redirects too: the first one that fails ends
    the fetch in net::ERR_BLOCKED_BY_RESPONSE, before ORB looks at the body (measured,
    Chromium 156: CORP names the block of a JSON image with `same-origin`). False: `refuse`
    could not tell for an answer."""
    if source == "service-worker":
        return None  # Chromium checks the worker's answer, which the wire does not show
    for step in exchange.steps:
        tx = step.actual
        if tx is None or tx.response is None:
            return None
        reason = refuse(tx.request.url, tx.response.headers)
        if reason is False:
            return False
        redirected = _redirect_location(tx) is not None
        if reason is not None:
            return {
                "cors": True,
                "blocked": True,
                "stage": "redirect" if redirected else "response",
                "failed_url": tx.request.url,
                "fault": BROWSER_BLOCKS[reason],
            }
        if not redirected:
            return None
    return None


def _opaque_response_blocking(exchange: Exchange, origin: str | None, source: str) -> _Fields:
    """ORB on the final answer, as Chromium's network service applies it (`orb_impl.cc`
    Init, `analysis.orb`): to an answer that is not a redirect, whose URL is not
    of the page's origin (Chromium compares only the final URL with the initiator). A
    blocked answer is a network error (net::ERR_BLOCKED_BY_ORB) except for an empty
    destination (fetch(), beacons, prefetches), which get an empty response instead.
    `origin` None: a page known to be of another origin (`_unplaced_home`)."""
    if source == "service-worker":
        # ORB looks at the worker's answer, and only at an opaque one (IsOpaqueResponse):
        # not what the wire shows. Caches sit below the network service: ORB still runs.
        return {}
    # An upstream that failed leaves the browser the proxy's own error page, which ORB
    # blocks as HTML (measured, Chromium 156: net::ERR_BLOCKED_BY_ORB for images, scripts,
    # media, stylesheets and importScripts whose upstream refused, reset or cut short).
    response = _received_final(exchange, redirects=False)
    if response is None:
        return {}
    if same_origin(origin, exchange.final_url):
        return {}
    blocked = orb.decide(response.status, response.headers, response.sniffed)
    if blocked is False:
        return {}
    kind = exchange.context.resource_type
    if kind in orb.EMPTY_DESTINATIONS:
        return {}
    condition = None
    if blocked is None:
        condition = "orb-body-unknown"
    elif kind is None or kind in orb.UNKNOWN_DESTINATIONS:
        condition = "orb-not-fetch"
    elif (
        kind in orb.MEDIA_DESTINATIONS
        and orb.by_headers(response.status, response.headers) == "range"
    ):
        # A media element asks for the first bytes first; ORB lets its later ranges through
        # once those were sniffed as audio or video, which another exchange holds.
        condition = "orb-range-not-sniffed"
    context = exchange.context
    if condition is not None and context.finished and context.browser_error is None:
        # ORB fails a load it blocks with net::ERR_BLOCKED_BY_ORB (`orb_impl.cc`), or hands
        # an empty destination an empty answer, no failure either: the browser's record of
        # the load ending without an error says what the body or the destination would.
        return {}
    block: _Fields = {
        "cors": True,
        "blocked": True,
        "stage": "response",
        "failed_url": exchange.final_url,
        "fault": _ORB_BLOCK,
    }
    if condition is not None:
        return {**block, "blocked": None, "condition": condition}
    return block


_MIME_FAULTS: dict[str, str] = {
    "nosniff": BROWSER_BLOCKS["content-type"],
    "mime-type": BROWSER_BLOCKS["mime-type"],
}


def _refused_for_content_type(exchange: Exchange, verdict: Verdict) -> Verdict:
    """Blink's own checks of a script's or stylesheet's Content-Type (`analysis.mime_block`),
    made in the renderer after CORS, and after ORB, which the network service applies first
    (measured, Chromium 156: a text/csv stylesheet under nosniff fails as ORB's). A passed
    load the renderer then refuses failed for the page all the same."""
    if exchange.context.resource_type not in mime_block.DESTINATIONS:
        return verdict
    orb_undecided = verdict.blocked is None and verdict.fault == _ORB_BLOCK
    if not (verdict.blocked is False or orb_undecided) or verdict.source == "service-worker":
        return verdict
    origin = page_origin(exchange)
    final = exchange.last.actual
    if final is None:
        return verdict
    if origin is None:
        # Blink refuses the answer whatever the page; it is listed when the page is known to
        # be of another origin than the first URL, and ORB's word on it is known.
        placed = _unplaced_home(exchange)
        if placed is None or not _unplaced_final_known(exchange, placed[1]):
            return verdict
    if final.response is None:
        return verdict
    if _redirect_location(final) is not None:
        return verdict
    module = False if verdict.mode == "no-cors" else None  # no-cors: a classic script
    refusal, condition = mime_block.refusal(
        exchange.context.resource_type, module, final.response.status, final.response.headers
    )
    certain = condition is None
    if refusal is None or (orb_undecided and not certain):
        return verdict
    # An unplaced page (origin None) is of another origin: `same_origin` says so.
    listed = not all(same_origin(origin, step.url) for step in exchange.steps)
    browser = verdict.browser
    return replace(
        verdict,
        cors=verdict.cors or listed,
        blocked=True if certain else None,
        condition=condition,
        stage="response",
        failed_url=exchange.final_url,
        fault=_MIME_FAULTS[refusal],
        confirmed=certain and browser is not None and browser.blocked,
    )


_REDIRECT_MODE_ERROR = BROWSER_BLOCKS["redirect-mode-error"]
_NO_CORS_REDIRECT_MODE = BROWSER_BLOCKS["no-cors-redirect-mode"]


def _unfollowed_redirect(context: Context) -> str:
    """The condition of a redirect that passed every check yet has no next hop. Through a
    proxy the capture holds every request the browser sent, so it never asked for the
    target: the fetch's redirect mode stopped it, which only the page knows (Fetch §4.3
    HTTP fetch; measured, Chromium 156). "redirect-error": blocked, with no CORS error, if
    that mode was "error" (or "manual" with integrity metadata, see
    `_opaque_redirect_integrity_fault`); else "manual" handed the page an opaque-redirect
    response. Otherwise the capture may simply have missed the next hop, unless the browser
    logged its own generic failure on the redirect itself (a DevTools HAR): redirect mode
    "error" fails the fetch with net::ERR_FAILED logged on the redirect's entry, while a
    later hop's failure is logged on that hop (measured, Chromium 156)."""
    if (
        (context.via_proxy or context.browser_error == _GENERIC_FAILURE)
        and context.redirect_mode is None
        and context.resource_type in (None, "fetch")  # only fetch() has a redirect mode
    ):
        return "redirect-error"
    return "redirect-target-not-captured"


_INTEGRITY_ON_OPAQUE_REDIRECT = BROWSER_BLOCKS["opaque-redirect-integrity"]


def _opaque_redirect_integrity_fault(context: Context) -> Fault | None:
    """Fetch §4.1 main fetch, the integrity step: a request with integrity metadata whose
    response's body is null (an opaque redirect, `redirect: 'manual'`) gets a network error.
    Chromium fails it after the redirect passed its CORS check, naming no CORS error
    (measured, Chromium 156: net::ERR_ABORTED, the page's fetch rejects)."""
    return Fault(_INTEGRITY_ON_OPAQUE_REDIRECT) if context.integrity else None


def _redirect_fault(exchange: Exchange, origin: str) -> Fault | None:
    """§4.5 HTTP-redirect fetch: the network errors of following a redirect, whatever the
    request's mode: a 21st redirect, a Location that is no URL, one that is not HTTP(S).
    Chromium's network stack names the scheme it refuses (measured for no-cors fetches:
    ftp, javascript and ws fail as unknown schemes, data, about and file as unsafe)."""
    redirect_mode = exchange.context.redirect_mode
    if redirect_mode == "error":
        # §4.3 HTTP fetch: redirect mode "error" makes the first redirect a network error,
        # in no-cors mode too (a fetch of the page's own origin; to another origin it is
        # refused before it is sent, see `_no_cors`).
        first = exchange.steps[0].actual
        redirected = first is not None and _redirect_location(first) is not None
        return Fault(_REDIRECT_MODE_ERROR) if redirected else None
    if redirect_mode not in (None, "follow"):
        return None
    for index, step in enumerate(exchange.steps):
        tx = step.actual
        location = None if tx is None else _redirect_location(tx)
        if location is None:
            return None
        if index >= MAX_REDIRECTS:
            return Fault(_TOO_MANY_REDIRECTS)
        if location == INVALID_LOCATION:
            return Fault(_INVALID_REDIRECT)
        scheme = scheme_of(location)
        if scheme not in ("http", "https"):
            return _refused_scheme(scheme)
        if _unanswered_after(exchange, index) and _blocked_as_credentialed(exchange, location):
            return Fault(_CREDENTIALED_SUBRESOURCE)
        if _mixed_content_redirect(exchange, origin, index, location):
            return Fault(BROWSER_BLOCKS["mixed-content"])
    return None


_RENDERER_REDIRECT_FAULTS = frozenset({BROWSER_BLOCKS["mixed-content"], _CREDENTIALED_SUBRESOURCE})
"""Redirects Blink refuses once the network service handed it the redirect, which it does
only after the redirect's answer passed Cross-Origin-Resource-Policy."""


_AUTOUPGRADED = frozenset({"image", "audio", "video"})
"""Loads Chromium upgrades to https rather than blocking as mixed content
(`MixedContentChecker::ShouldAutoupgrade`): their https request is not the Location's URL."""


def _mixed_content_redirect(exchange: Exchange, origin: str, index: int, location: str) -> bool:
    """A redirect from an https page's request to a plain http URL that is not potentially
    trustworthy, with no answer after it: Blink checks mixed content again on every redirect
    it follows and cancels this one (Mixed Content §4.3; measured, Chromium 156: the redirect
    ends net::ERR_ABORTED, the target is never sent, Playwright's HAR names it mixed-content)."""
    return (
        exchange.context.resource_type not in _AUTOUPGRADED
        and is_mixed_content(origin, location)
        and _unanswered_after(exchange, index)
    )


def _refused_scheme(scheme: str) -> Fault:
    """The network stack's refusal to follow a redirect to `scheme` (measured by scheme)."""
    error = _UNSAFE_REDIRECT_SCHEMES.get(scheme, "net::ERR_UNKNOWN_URL_SCHEME")
    return Fault(f"redirected to a URL of scheme {scheme}: ({error})")


def _unanswered_after(exchange: Exchange, index: int) -> bool:
    """No answer to the redirect at `index`: its target is not in the capture, or is there
    without a response (a browser's HAR logs the request it cancelled)."""
    if index + 1 >= len(exchange.steps):
        return True
    target = exchange.steps[index + 1].actual
    return target is None or target.response is None


def _blocked_as_credentialed(exchange: Exchange, url: str) -> bool:
    """Blink refuses a subresource URL with embedded credentials (`user:pass@`) other than
    its page's own, for every kind of request but XHR: a redirect there is cancelled before
    the target is asked (`ShouldBlockFetchAsCredentialedSubresource`; measured: a no-cors
    fetch fails, net::ERR_ABORTED). Said only of a redirect whose target got no answer: an
    XHR, which the wire cannot tell from a fetch, follows it."""
    if not _has_userinfo(url) or exchange.context.resource_type == "xhr":
        return False
    page_url = exchange.context.page_url
    if page_url is None or not same_origin(page_url, url):
        return True
    return _userinfo(page_url) != _userinfo(url)


def _no_cors_warnings(exchange: Exchange, origin: str | None) -> list[CorsWarning]:
    # Images, scripts and styles load cross-origin in no-cors mode by design; only a script's
    # fetch() asked for 'no-cors' deserves a word.
    if exchange.context.resource_type not in ("fetch", "xhr"):
        return []
    if all(same_origin(origin, step.url) for step in exchange.steps):
        return []
    return [
        CorsWarning(
            "no-cors-opaque",
            "Sent with mode 'no-cors': the browser hands JavaScript an opaque response"
            " (status 0, no headers, no body) whatever the server answers.",
        )
    ]


# --- Small helpers -------------------------------------------------------------------------


def _redirect_location(tx: Transaction) -> str | None:
    """§4.4 HTTP-redirect fetch step 3: the location URL; `INVALID_LOCATION` when it is
    failure (the header does not parse as a URL)."""
    response = tx.response
    if response is None or response.status not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        return None
    resolved = resolve(tx.request.url, location)
    if resolved is not None:
        return resolved
    try:
        url = urljoin(tx.request.url, location)
        urlsplit(url).port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        return INVALID_LOCATION
    return url


_UNSAFE_REDIRECT_SCHEMES = {
    "data": "net::ERR_UNSAFE_REDIRECT",
    "file": "net::ERR_UNSAFE_REDIRECT",
    "blob": "net::ERR_UNSAFE_REDIRECT",
    "about": "net::ERR_UNSAFE_REDIRECT",
    "filesystem": "net::ERR_UNSAFE_REDIRECT",
    "ws": "net::ERR_UNKNOWN_URL_SCHEME",
    "wss": "net::ERR_UNKNOWN_URL_SCHEME",
}
"""Redirect targets Chromium's network stack refuses once the redirect passed its CORS
check, with the error it reports (Chromium 156 in the lab: data, file, blob, about, ws)."""
_CORS_ENABLED_SCHEMES = frozenset(SCHEMES.split(", "))
"""Chromium's CORS-enabled schemes (`url::GetCorsEnabledSchemes`), as its message lists
them: a redirect of a cross-origin request to any other scheme is `CorsDisabledScheme`
(ftp, javascript: measured)."""

INVALID_LOCATION = ""
"""A Location that is not a URL: the fetch ends in a network error (§4.4 HTTP-redirect
fetch step 3), in Chromium before any CORS check of the redirect."""


def is_mixed_content(origin: str, url: str) -> bool:
    """An https page fetching plain http: blocked before it is sent, unless the target is
    potentially trustworthy (loopback)."""
    return (
        origin.startswith("https://")
        and url.lower().startswith("http://")
        and not address_space.is_secure_context(url)
    )


def _is_http(url: str) -> bool:
    return url.split(":", 1)[0].lower() in ("http", "https")


def _has_userinfo(url: str) -> bool:
    return any(_userinfo(url))


def _userinfo(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ("", "")
    return (parts.username or "", parts.password or "")


def _first_non_token(value: str | None) -> str | None:
    for item in (value or "").split(","):
        item = item.strip(" \t")
        if item and not fetch.is_token(item):
            return item
    return None
