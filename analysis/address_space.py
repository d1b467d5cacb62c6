"""IP address spaces for Local Network Access (Chromium's successor to Private Network Access).

A public page may reach the local or loopback space (a public site calling
`http://192.168.1.1` or `localhost`) only from a secure context and with the user's
permission; Chromium 156 lets a local page reach loopback, and applies none of it to a
browser that goes through a proxy (both measured). Spaces come from what the capture
shows: the server address a HAR or flow recorded, or an IP literal in the URL. A name we
cannot place gives no verdict at all. Standard library only.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# From most private to most public.
ORDER = {"loopback": 0, "local": 1, "public": 2}

# Chromium's own table (`ip_address_space_util.cc`), not Python's `is_private`, which also
# calls documentation and reserved ranges private; Chromium treats those as public.
_LOOPBACK = tuple(
    ipaddress.ip_network(net) for net in ("127.0.0.0/8", "::1/128", "0.0.0.0/32", "::/128")
)
_LOCAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
)


def space_of_ip(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _LOOPBACK):
        return "loopback"
    if any(ip in net for net in _LOCAL):
        return "local"
    return "public"


def space_of_url(url: str) -> str | None:
    """The space a URL's host names by itself: an IP literal or `localhost`; else None."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if host is None:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    return space_of_ip(host)


def is_more_private(target: str, initiator: str) -> bool:
    """Does LNA stand between them? Chromium 156 checks only public pages: a local page
    reaches loopback freely (measured)."""
    return initiator == "public" and ORDER[target] < ORDER[initiator]


def is_secure_context(origin: str) -> bool:
    """HTML "potentially trustworthy origin": https, or a loopback host."""
    if origin.startswith(("https://", "wss://")):
        return True
    return space_of_url(origin) == "loopback"
