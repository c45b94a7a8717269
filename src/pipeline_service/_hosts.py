"""Host names as the server and the conformance kit compare them, and which are loopback.

Imports nothing of the package, so that the server and the kit (which may not import each
other) share it.
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_loopback", "normalize_host"]


def normalize_host(name: str) -> str:
    """A host name as compared: lower case, no brackets around IPv6, no final dot."""
    name = name.strip().lower().rstrip(".")
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def is_loopback(host: str) -> bool:
    """Whether host (an address or a name) is reachable only from this machine: every address
    it resolves to is a loopback address."""
    host = normalize_host(host)
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
