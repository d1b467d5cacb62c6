"""Cross-Origin-Resource-Policy: the check a no-cors response passes before the page gets it.

Fetch §3.7 "Cross-Origin-Resource-Policy header" and its "cross-origin resource policy
internal check", as Chromium's network service runs it on every response of a no-cors
request, redirects included (`services/network/public/cpp/cross_origin_resource_policy.cc`,
called from `URLLoader::OnReceivedRedirect` and `OnResponseStarted`). A blocked response is
`net::ERR_BLOCKED_BY_RESPONSE`, with DevTools' reason `corp-not-same-origin`,
`corp-not-same-site` or, where the page's embedder policy demanded a header the response
lacks, `corp-not-same-origin-after-defaulted-to-same-origin-by-coep`. Standard library only.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from analysis.model import Headers, origin_of
from analysis.sites import is_ip, registrable_domain

Policy = Literal["same-origin", "same-site", "cross-origin"]
EmbedderPolicy = Literal["unsafe-none", "require-corp", "credentialless"]
Reason = Literal[
    "corp-not-same-origin",
    "corp-not-same-site",
    "corp-not-same-origin-after-defaulted-to-same-origin-by-coep",
]

HEADER = "cross-origin-resource-policy"
_POLICIES: frozenset[str] = frozenset({"same-origin", "same-site", "cross-origin"})


def policy(headers: Headers) -> Policy | None:
    """The policy a response states; None for none at all or one Chromium does not parse.
    The value is compared case-sensitively, after the field's whitespace is trimmed and
    repeated fields are joined with ", " (Chromium's `GetNormalizedHeader`: two
    `same-origin` fields are no policy; measured, Chromium 156)."""
    value = headers.get(HEADER)
    if value is None or value not in _POLICIES:
        return None
    return value  # type: ignore[return-value]


def blocked(
    initiator: str,
    url: str,
    headers: Headers,
    embedder: EmbedderPolicy = "unsafe-none",
    with_credentials: bool = False,
) -> Reason | None:
    """Why a no-cors request's response at `url` is refused for a page of origin
    `initiator` ("null" for an opaque one), or None when it passes. `embedder` is the
    page's Cross-Origin-Embedder-Policy; `credentialless` demands a policy only of a
    response to a request that carried credentials."""
    stated = policy(headers)
    required = embedder == "require-corp" or (embedder == "credentialless" and with_credentials)
    defaulted = stated is None and required
    effective = "same-origin" if defaulted else stated
    if effective in (None, "cross-origin"):
        return None
    target = origin_of(url)
    if initiator != "null" and target is not None and origin_of(initiator) == target:
        return None
    if effective == "same-origin":
        if defaulted:
            return "corp-not-same-origin-after-defaulted-to-same-origin-by-coep"
        return "corp-not-same-origin"
    if _same_site(initiator, url):
        return None
    return "corp-not-same-site"


Site = Literal["cross-site", "same-site"]
"""What `Sec-Fetch-Site` says of a request whose page the wire does not name otherwise."""


def blocked_for_site(site: Site, url: str, headers: Headers) -> Reason | Literal[False] | None:
    """`blocked` for a page known only by the request's `Sec-Fetch-Site` (no Origin, no
    Referer), the page's embedder policy unknown and so not applied. Chromium's value is
    schemeful: "same-site" is one scheme and one registrable domain or host (an IP address
    is only same-site with itself), "cross-site" anything else but the same origin
    (`services/network/sec_header_helpers.cc`, SecFetchSiteHeaderValue). False: the header
    cannot tell (a `same-site` policy on an http name, from a cross-site page that may be
    the https page of the same site, which `ShouldAllowSameSite` lets through)."""
    stated = policy(headers)
    if stated in (None, "cross-origin"):
        return None
    if stated == "same-origin":
        return "corp-not-same-origin"
    target = urlsplit(url)
    host = target.hostname or ""
    if site == "same-site":
        return "corp-not-same-site" if is_ip(host) else None
    if is_ip(host) or target.scheme == "https":
        return "corp-not-same-site"
    return False


def _same_site(initiator: str, url: str) -> bool:
    """Chromium's `ShouldAllowSameSite`: both hosts names (an IP address is never same
    site, not even with itself) of one registrable domain, and not an http page reaching
    an https resource."""
    if initiator == "null":
        return False
    try:
        page, target = urlsplit(initiator), urlsplit(url)
    except ValueError:
        return False
    page_host, target_host = page.hostname or "", target.hostname or ""
    if is_ip(page_host) or is_ip(target_host):
        return False
    if registrable_domain(page_host) != registrable_domain(target_host):
        return False
    return page.scheme == "https" or target.scheme != "https"
