"""How a verdict shows in mitmproxy: flow metadata, comment and marker, and the log line.

`flow.metadata["cors"]` holds plain JSON values only, so the verdict survives `-w` flow
files and mitmweb's JSON API: the entry's `_cors` hints at the top (what the flow reader
reads back), the verdict under "verdict".
"""

from __future__ import annotations

from typing import Any

from analysis.model import Exchange
from analysis.verdict import Verdict, page_origin

from .live import Decision, Member

MARKER = ":no_entry:"
COMMENT_PREFIX = "CORS "
_POLICY = "blocked by CORS policy: "


def verdict_record(verdict: Verdict, exchange: Exchange, *, final: bool) -> dict[str, Any]:
    browser = verdict.browser
    return {
        "exchange": exchange.id,
        "final": final,
        "cors": verdict.cors,
        "blocked": verdict.blocked,
        "condition": verdict.condition,
        "stage": verdict.stage,
        "reason": verdict.reason,
        "failed_parameter": verdict.failed_parameter,
        "failed_url": verdict.failed_url,
        "chrome_message": verdict.chrome_message,
        "firefox_code": verdict.firefox_code,
        "fault": verdict.fault,
        "browser_reason": verdict.browser_reason,
        "confirmed": verdict.confirmed,
        "mode": verdict.mode,
        "credentials": verdict.credentials,
        "source": verdict.source,
        "preflight_required": verdict.preflight_required,
        "preflight_cached": verdict.preflight_cached,
        "browser": None
        if browser is None
        else {
            "blocked": browser.blocked,
            "reason": browser.reason,
            "failed_parameter": browser.failed_parameter,
        },
        "warnings": [{"id": w.id, "message": w.message} for w in verdict.warnings],
        "with_credentials": None
        if verdict.with_credentials is None
        else {
            "reason": verdict.with_credentials.reason,
            "failed_parameter": verdict.with_credentials.failed_parameter,
        },
    }


def metadata(entry_id: str, cors: dict[str, Any], verdict: dict[str, Any] | None) -> dict:
    record: dict[str, Any] = {k: v for k, v in cors.items() if v is not None}
    record["_corscope_id"] = entry_id
    if verdict is not None:
        record["verdict"] = verdict
    return record


def show_on_flows(decision: Decision) -> list[Any]:
    """Write the verdict into every live flow of the exchange and mark the one that failed
    (or take back an earlier mark when the verdict changed). Returns the flows touched."""
    record = verdict_record(decision.verdict, decision.exchange, final=decision.final)
    touched = []
    for member in decision.group.members:
        f = member.flow() if member.flow else None
        if f is not None:
            f.metadata["cors"] = metadata(member.entry_id, member.cors, record)
            touched.append(f)
    _mark(decision)
    return touched


def _mark(decision: Decision) -> None:
    group, verdict = decision.group, decision.verdict
    if verdict.blocked is not True:
        for member in group.members:
            if member.entry_id in group.marked:
                _unmark(member)
        group.marked.clear()
        return
    target = _failing_member(decision)
    f = target.flow() if target.flow else None
    if f is None:
        return
    carry_over(f, MARKER, comment(verdict))
    if target.entry_id not in group.marked:
        group.marked.append(target.entry_id)


def _failing_member(decision: Decision) -> Member:
    """The transaction the browser failed on: the preflight or the response at the failed
    URL; for a fault or without a URL, the last one."""
    verdict, members = decision.verdict, decision.group.members
    want_preflight = verdict.stage == "preflight"
    for member in reversed(members):
        if member.preflight == want_preflight and (
            verdict.failed_url is None or member.url == verdict.failed_url.split("#", 1)[0]
        ):
            return member
    return members[-1]


def _unmark(member: Member) -> None:
    f = member.flow() if member.flow else None
    if f is not None:
        carry_over(f, "", "")


def carry_over(f: Any, marked: str, comment: str) -> None:
    """Put our marker and comment on a flow (or take them off, given ""), leaving the
    user's own alone: ours only fill what is empty or ours. Also how a verdict the worker
    wrote on its copy of a flow reaches the flow itself."""
    if marked == MARKER:
        if not f.marked:
            f.marked = MARKER
    elif f.marked == MARKER:
        f.marked = ""
    ours = not f.comment or f.comment.startswith(COMMENT_PREFIX)
    if comment.startswith(COMMENT_PREFIX):
        if ours:
            f.comment = comment
    elif ours:
        f.comment = ""


def comment(verdict: Verdict) -> str:
    if verdict.fault:
        return f"{COMMENT_PREFIX}fault: {verdict.fault}"
    reason = verdict.reason or "blocked (the browser's own report)"
    if verdict.failed_parameter:
        return f"{COMMENT_PREFIX}{reason} ({verdict.failed_parameter})"
    return f"{COMMENT_PREFIX}{reason}"


def blocked_line(exchange: Exchange, verdict: Verdict, *, condition: str = "") -> str:
    """One log line in the browser's wording: what the console said, plus where.
    `condition` ("if sent with credentials") for a verdict the wire leaves open."""
    origin = page_origin(exchange) or "null"
    blocked = f"blocked {condition}" if condition else "blocked"
    head = f"CORS {blocked} {exchange.method} {exchange.url} from {origin}"
    if verdict.failed_url and verdict.failed_url != exchange.url:
        head += f" (at {verdict.failed_url})"
    if verdict.fault:
        shown = verdict.browser_reason or "a failed fetch"
        return f"{head}: {verdict.fault} (the browser shows it as {shown}; no CORS rule failed)"
    message = verdict.chrome_message
    if message:
        detail = message.split(_POLICY, 1)[1] if _POLICY in message else message
    else:
        detail = "the browser reported the fetch as failed"
    if verdict.reason:
        detail += f" [{verdict.reason}]"
    if verdict.with_credentials is not None:
        detail += f" (if sent with credentials: [{verdict.with_credentials.reason}])"
    return f"{head}: {detail}"


def warning_line(exchange: Exchange, warning_id: str, message: str) -> str:
    return (
        f"CORS warning {warning_id} on {exchange.method} {exchange.url}: {message} "
        "(first of its kind; later ones go to the capture only)"
    )
