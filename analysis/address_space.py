"""IP address spaces for Local Network Access (Chromium's successor to Private Network Access).

A page in a more public address space may reach a more private one (a public site calling
`http://192.168.1.1`, any site calling `localhost`) only from a secure context and with the
user's permission. Spaces come from what the capture shows: the server address a HAR or flow
recorded, or an IP literal in the URL. A name we cannot place gives no verdict at all.
Standard library only.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# From most private to most public; LNA applies when the target is more private.
ORDER = {"loopback": 0, "local": 1, "public": 2}

# Chromium treats these as local beyond the ranges `ipaddress` calls private.
_EXTRA_LOCAL = (ipaddress.ip_network("100.64.0.0/10"),)


def space_of_ip(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_private or ip.is_link_local or any(ip in net for net in _EXTRA_LOCAL):
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
    return ORDER[target] < ORDER[initiator]


def is_secure_context(origin: str) -> bool:
    """HTML "potentially trustworthy origin": https, or a loopback host."""
    if origin.startswith(("https://", "wss://")):
        return True
    return space_of_url(origin) == "loopback"
