"""Host names: how they are compared, and whether one is reachable only from this machine
(used by the server's host guard and by the conformance kit, which needs no server extra)."""

from __future__ import annotations

import ipaddress
import socket


def normalize_host(name: str) -> str:
    """A host name as compared: lower case, no brackets around IPv6, no final dot."""
    name = name.strip().lower().rstrip(".")
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def is_loopback(host: str) -> bool:
    """Whether host (an address or a name) is reachable only from this machine."""
    host = normalize_host(host)
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
