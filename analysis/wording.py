"""How browsers word a CORS failure: Chromium's console sentence, Firefox's reason code.

Texts follow Blink's `cors_error_string.cc` and Firefox's `security.properties` as
summarised in shared/browser-cors-reference.md §2.1, §2.2 and §3.1. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Chromium 156 (measured in the lab) ends a bad Allow-Origin value with this, for fetch()
# only. Older versions also offered mode 'no-cors' there and after a missing header.
_FETCH_HINT_VALUE = " Have the server send the header with a valid value."
_XHR_HINT = (
    " The credentials mode of requests initiated by the XMLHttpRequest is controlled by the"
    " withCredentials attribute."
)
_PREFLIGHT_PREFIX = "Response to preflight request doesn't pass access control check: "

SCHEMES = (
    "chrome, chrome-experimental-site-token-provider, chrome-extension, chrome-untrusted, data,"
    " http, https, isolated-app"
)
"""Chromium's CORS-enabled schemes as its CorsDisabledScheme message lists them (measured:
Chromium 156 prints them sorted; older builds printed "http, data, isolated-app,
chrome-extension, chrome, https, chrome-untrusted")."""


@dataclass(frozen=True, slots=True)
class _Text:
    reason: str
    suffix: str = ""  # "fetch-value" | "xhr" | ""
    preflight_prefix: bool = False


_ACAO_TEXTS: dict[str, _Text] = {
    "WildcardOriginNotAllowed": _Text(
        "The value of the 'Access-Control-Allow-Origin' header in the response must not be the"
        " wildcard '*' when the request's credentials mode is 'include'.",
        "xhr",
    ),
    "MissingAllowOriginHeader": _Text(
        "No 'Access-Control-Allow-Origin' header is present on the requested resource."
    ),
    "MultipleAllowOriginValues": _Text(
        "The 'Access-Control-Allow-Origin' header contains multiple values '{hint}', but only"
        " one is allowed.",
        "fetch-value",
    ),
    "InvalidAllowOriginValue": _Text(
        "The 'Access-Control-Allow-Origin' header contains the invalid value '{hint}'.",
        "fetch-value",
    ),
    "AllowOriginMismatch": _Text(
        "The 'Access-Control-Allow-Origin' header has a value '{hint}' that is not equal to the"
        " supplied origin.",
        "fetch-value",
    ),
    "InvalidAllowCredentials": _Text(
        "The value of the 'Access-Control-Allow-Credentials' header in the response is '{hint}'"
        " which must be 'true' when the request's credentials mode is 'include'.",
        "xhr",
    ),
}

TEXTS: dict[str, _Text] = {
    **_ACAO_TEXTS,
    **{
        "Preflight" + name: _Text(text.reason, text.suffix, preflight_prefix=True)
        for name, text in _ACAO_TEXTS.items()
    },
    "DisallowedByMode": _Text("Cross origin requests are not allowed by request mode."),
    "InvalidResponse": _Text("The response is invalid."),
    "CorsDisabledScheme": _Text(
        "Cross origin requests are only supported for protocol schemes: " + SCHEMES + "."
    ),
    "PreflightInvalidStatus": _Text("It does not have HTTP ok status.", preflight_prefix=True),
    "PreflightDisallowedRedirect": _Text(
        "Redirect is not allowed for a preflight request.", preflight_prefix=True
    ),
    "InvalidAllowMethodsPreflightResponse": _Text(
        "Cannot parse Access-Control-Allow-Methods response header field in preflight response."
    ),
    "InvalidAllowHeadersPreflightResponse": _Text(
        "Cannot parse Access-Control-Allow-Headers response header field in preflight response."
    ),
    "MethodDisallowedByPreflightResponse": _Text(
        "Method {hint} is not allowed by Access-Control-Allow-Methods in preflight response."
    ),
    "HeaderDisallowedByPreflightResponse": _Text(
        "Request header field {hint} is not allowed by Access-Control-Allow-Headers in preflight"
        " response."
    ),
    "RedirectContainsCredentials": _Text(
        "Redirect location '{hint}' contains a username and password, which is disallowed for"
        " cross-origin requests."
    ),
    "InsecureLocalNetwork": _Text(
        "The request client is not a secure context and the resource is in more-private address"
        " space `{hint}`."
    ),
    "InvalidLocalNetworkAccess": _Text(
        "Request had a target IP address space of `{target}` yet the resource is in address"
        " space `{hint}`."
    ),
    "LocalNetworkAccessPermissionDenied": _Text(
        "Permission was denied for this request to access the `{hint}` address space."
    ),
}

# Blink's `{kind}` for a resource type (Chrome's `_resourceType`, or Sec-Fetch-Dest).
_KINDS = {
    "fetch": "fetch",
    "xhr": "XMLHttpRequest",
    "xmlhttprequest": "XMLHttpRequest",
    "script": "script",
    "font": "font",
    "image": "image",
    "img": "image",
    "stylesheet": "CSS stylesheet",
    "style": "CSS stylesheet",
    "css": "CSS stylesheet",
    "media": "video",  # Chrome's HAR type for audio and video alike
    "audio": "audio",
    "video": "video",
    "manifest": "manifest",
    "track": "text track",
    "texttrack": "text track",
    "prefetch": "link prefetch resource",
    "eventsource": "resource",
    "other": "other resource",
    "empty": "fetch",
}


def resource_kind(resource_type: str | None) -> str:
    return _KINDS.get((resource_type or "fetch").lower(), "resource")


def chrome_message(
    reason: str,
    *,
    url: str,
    initial_url: str | None,
    origin: str | None,
    hint: str | None,
    resource_type: str | None,
    target: str | None = None,
) -> str:
    """The console line Chromium prints for a CorsError (`cors_error_string.cc`)."""
    text = TEXTS.get(reason)
    if text is None:
        return f"Access to {resource_kind(resource_type)} at '{url}' was blocked ({reason})."
    kind = resource_kind(resource_type)
    body = text.reason.replace("{hint}", hint or "").replace("{target}", target or "")
    if text.suffix == "fetch-value" and kind == "fetch":
        body += _FETCH_HINT_VALUE
    elif text.suffix == "xhr" and kind == "XMLHttpRequest":
        body += _XHR_HINT
    redirected = f"(redirected from '{initial_url}') " if initial_url and initial_url != url else ""
    prefix = _PREFLIGHT_PREFIX if text.preflight_prefix else ""
    return (
        f"Access to {kind} at '{url}' {redirected}from origin '{origin or 'null'}' has been"
        f" blocked by CORS policy: {prefix}{body}"
    )


# Firefox reason codes (security.properties keys without their version digit, as MDN names
# them), and the text after "(Reason: ".
FIREFOX_TEXTS: dict[str, str] = {
    "CORSDidNotSucceed": "CORS request did not succeed",
    "CORSRequestNotHttp": "CORS request not http",
    "CORSExternalRedirectNotAllowed": "CORS request external redirect not allowed",
    "CORSMissingAllowOrigin": "CORS header ‘Access-Control-Allow-Origin’ missing",
    "CORSMultipleAllowOriginNotAllowed": (
        "Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed"
    ),
    "CORSAllowOriginNotMatchingOrigin": (
        "CORS header ‘Access-Control-Allow-Origin’ does not match ‘{hint}’"
    ),
    "CORSNotSupportingCredentials": (
        "Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’"
    ),
    "CORSMethodNotFound": "Did not find method in CORS header ‘Access-Control-Allow-Methods’",
    "CORSMissingAllowCredentials": (
        "expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’"
    ),
    "CORSPreflightDidNotSucceed": "CORS preflight response did not succeed",
    "CORSInvalidAllowMethod": (
        "invalid token ‘{hint}’ in CORS header ‘Access-Control-Allow-Methods’"
    ),
    "CORSInvalidAllowHeader": (
        "invalid token ‘{hint}’ in CORS header ‘Access-Control-Allow-Headers’"
    ),
    "CORSMissingAllowHeaderFromPreflight": (
        "header ‘{hint}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from"
        " CORS preflight response"
    ),
}


def firefox_message(code: str, *, url: str, hint: str | None, status: int | None) -> str:
    reason = FIREFOX_TEXTS.get(code, code).replace("{hint}", hint or "")
    where = f"‘{url}’" if code == "CORSNotSupportingCredentials" else url
    line = (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote"
        f" resource at {where}. (Reason: {reason})."
    )
    if code in ("CORSMissingAllowOrigin", "CORSPreflightDidNotSucceed", "CORSDidNotSucceed"):
        line += f" Status code: {status if status is not None else '(null)'}."
    return line
