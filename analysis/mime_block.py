"""Blink's refusals of a script or stylesheet for its Content-Type, measured on Chromium 156.

Three checks, all made in the renderer once the answer's headers passed CORS (or ORB, which
the network service applies first to a no-cors answer):
- a style under `X-Content-Type-Options: nosniff` must be `text/css`
  (`ResourceLoader::CheckResponseNosniff`; DevTools shows the load cancelled);
- a classic script under nosniff must have a JavaScript MIME type, and one served as an
  image, audio, video or CSV never runs (`AllowedByNosniff::MimeTypeAsScript`; Fetch §3.5,
  §3.6; DevTools shows the load finished);
- a module script must have a JavaScript MIME type, nosniff or not (HTML "fetch a single
  module script"; `ModuleScriptFetcher::WasModuleLoadSuccessful`).
Measured: the status does not matter (a 404 is refused for its type first), the MIME type
is the network stack's (the last valid value of a Content-Type list), a stylesheet without
nosniff is applied whatever its type. Standard library only.
"""

from __future__ import annotations

from typing import Literal

from analysis.model import Headers
from analysis.orb import has_nosniff, mime_type

Refusal = Literal["nosniff", "mime-type"]
"""Refused under nosniff, or for its MIME type alone."""

JAVASCRIPT_MIME_TYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
    }
)
"""MIME Sniffing §4.6 "JavaScript MIME type" essences (`IsSupportedJavaScriptMIMEType`)."""

DESTINATIONS = frozenset({"script", "stylesheet"})
"""The only loads these checks apply to."""

_NEVER_SCRIPT_PREFIXES = ("audio/", "image/", "video/", "text/csv")
"""Fetch §3.5 "should response to request be blocked due to its MIME type?"."""


def refusal(
    resource_type: str | None, module: bool | None, status: int, headers: Headers
) -> tuple[Refusal | None, str | None]:
    """Whether Blink refuses this answer for a load of `resource_type` (the exchange's
    destination); `module`: a module script (None: a CORS-mode script, module or classic
    with `crossorigin`, which the wire does not tell apart). Returns the refusal and, when
    it holds for one kind of script only, that kind: "module-script" or "classic-script"."""
    mime = mime_type(headers)
    if resource_type == "stylesheet":
        return ("nosniff" if has_nosniff(headers) and mime != "text/css" else None), None
    if resource_type != "script":
        return None, None
    classic = _classic_refusal(mime, headers)
    # HTML "fetch a single module script": a status that is not ok fails the fetch before
    # its type is looked at (measured: a 404 modulepreload under nosniff is not refused).
    ok = 200 <= status <= 299
    as_module: Refusal | None = "mime-type" if ok and mime not in JAVASCRIPT_MIME_TYPES else None
    if module is False:
        return classic, None
    if module is True or classic == as_module:
        return as_module, None
    if as_module is None:
        return classic, "classic-script"
    if classic is None:
        return as_module, "module-script"
    return classic, None


def _classic_refusal(mime: str, headers: Headers) -> Refusal | None:
    # Status plays no part (measured: a 404 script under nosniff is refused for its type).
    if mime in JAVASCRIPT_MIME_TYPES:
        return None
    if has_nosniff(headers):
        return "nosniff"
    if mime.startswith(_NEVER_SCRIPT_PREFIXES):
        return "mime-type"
    return None
