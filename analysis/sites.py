"""Sites: which hosts the browser counts as one site (HTML's "same site", the HTTP cache's
partition key). Standard library only, so without the public-suffix list: a registrable
domain is approximated below, measured against Chromium where the lab can reach it.
"""

from __future__ import annotations

import ipaddress


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str:
    """The host's registrable domain, taken as its last two labels, or three under a
    second-level public suffix this module knows (`co.uk`, `github.io`…): the standard
    library has no public-suffix list. A name under an unlisted TLD (`app.test`) keeps
    two labels, as Chromium's does (measured: `www.app.test` and `app.test` are same site,
    `evilapp.test` is not)."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) <= 2:
        return ".".join(labels)
    suffix = ".".join(labels[-2:])
    if suffix in _SECOND_LEVEL_SUFFIXES or (
        len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVELS
    ):
        return ".".join(labels[-3:])
    return suffix


_GENERIC_SECOND_LEVELS = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "ne", "or"})
"""Second levels many country TLDs register under (`co.uk`, `com.au`, `ne.jp`)."""
_SECOND_LEVEL_SUFFIXES = frozenset(
    {
        "github.io",
        "gitlab.io",
        "herokuapp.com",
        "vercel.app",
        "netlify.app",
        "pages.dev",
        "workers.dev",
        "web.app",
        "firebaseapp.com",
        "appspot.com",
        "azurewebsites.net",
        "cloudfront.net",
        "blogspot.com",
    }
)
"""Private registries of the public-suffix list that pages are often served under: each
of their subdomains is a site of its own."""
