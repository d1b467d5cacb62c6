"""Small builders for exchanges as they appear on the wire, for the engine's unit tests."""

from __future__ import annotations

from analysis.model import (
    BrowserVerdict,
    Context,
    Exchange,
    Headers,
    Preflight,
    Request,
    Response,
    Step,
    Transaction,
)

PAGE = "http://localhost:5173"
API = "http://api.test:8000"


def headers(*pairs: tuple[str, str], **named: str) -> Headers:
    fields = list(pairs) + [(k.replace("_", "-"), v) for k, v in named.items()]
    return Headers.of(fields)


def tx(
    method: str,
    url: str,
    request_headers: list[tuple[str, str]] | None = None,
    status: int | None = 200,
    response_headers: list[tuple[str, str]] | None = None,
    *,
    error: str | None = None,
    made_by_proxy: bool = False,
) -> Transaction:
    response = (
        None
        if status is None
        else Response(status, Headers.of(response_headers or []), made_by_proxy=made_by_proxy)
    )
    return Transaction(Request(method, url, Headers.of(request_headers or [])), response, error)


def preflight_tx(
    url: str,
    method: str,
    status: int | None = 204,
    response_headers: list[tuple[str, str]] | None = None,
    *,
    origin: str = PAGE,
    request_headers: str | None = None,
) -> Transaction:
    sent = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if request_headers:
        sent.append(("Access-Control-Request-Headers", request_headers))
    return tx("OPTIONS", url, sent, status, response_headers)


def exchange(
    *steps: Step,
    origin: str | None = PAGE,
    credentials: str | None = "omit",
    mode: str | None = None,
    resource_type: str | None = "fetch",
    browser: BrowserVerdict | None = None,
    source: str | None = None,
) -> Exchange:
    return Exchange(
        "x1",
        tuple(steps),
        Context(
            page_origin=origin,
            mode=mode,
            credentials=credentials,
            resource_type=resource_type,
            browser=browser,
            source=source,
        ),
    )


def simple_get(
    response_headers: list[tuple[str, str]],
    *,
    status: int = 200,
    url: str = API + "/data",
    origin: str = PAGE,
    request_headers: list[tuple[str, str]] | None = None,
    **context: object,
) -> Exchange:
    sent = [("Origin", origin), ("Sec-Fetch-Mode", "cors"), *(request_headers or [])]
    step = Step(url, None, tx("GET", url, sent, status, response_headers))
    return exchange(step, origin=origin, **context)  # type: ignore[arg-type]


def preflighted(
    method: str,
    preflight_status: int,
    preflight_headers: list[tuple[str, str]],
    *,
    announced: str | None = None,
    actual_headers: list[tuple[str, str]] | None = None,
    actual_status: int | None = None,
    url: str = API + "/items",
    origin: str = PAGE,
    **context: object,
) -> Exchange:
    """A preflighted request; `actual_status=None` means the actual request never went out."""
    pf = Preflight(
        preflight_tx(
            url,
            method,
            preflight_status,
            preflight_headers,
            origin=origin,
            request_headers=announced,
        )
    )
    actual = None
    if actual_status is not None:
        sent = [("Origin", origin)]
        actual = tx(method, url, sent, actual_status, actual_headers or [])
    return exchange(Step(url, pf, actual), origin=origin, **context)  # type: ignore[arg-type]
