"""Which requests a server without a token answers: its own `Host` names, and no writes from
another site.

Without a token, anything that reaches the port may use the API. On loopback that is "this
machine", unless a web page gets there: through DNS rebinding (a name of the page's site that
resolves to 127.0.0.1, so the browser sends that name as `Host`) or by a cross-site request
(which carries the page's `Origin`). So such a server answers only the names it is bound to, and
refuses writes whose `Origin` is not the server itself. (With a token, a page cannot send it:
it lives in another origin's storage.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_service._hosts import is_loopback, normalize_host
from pipeline_service.server.errors import error_response
from pipeline_service.server.middleware import HTTPMiddleware
from pipeline_service.server.settings import ANY_HOST, LOOPBACK_NAMES

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def host_of(header: str) -> str:
    """The host name in a `Host` header value (`name`, `name:port`, `[v6]:port`)."""
    header = header.strip()
    if header.startswith("["):
        return normalize_host(header[: header.find("]") + 1] if "]" in header else header)
    name, _, port = header.rpartition(":")
    return normalize_host(name if name and port.isdigit() else header)


def bound_names(host: str) -> tuple[str, ...]:
    """The names a server bound to host is reached by: the loopback names on loopback; on every
    interface (0.0.0.0, ::) those and the machine's name; else host itself."""
    host = normalize_host(host)
    if host in _WILDCARDS:
        return (*LOOPBACK_NAMES, normalize_host(socket.gethostname()))
    if is_loopback(host):
        return tuple(dict.fromkeys((*LOOPBACK_NAMES, host)))
    return (host,)


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The Host names a server bound to host answers: bound_names plus extra (`*`: any)."""
    names = [normalize_host(n) for n in extra if n.strip()]
    if ANY_HOST in names:
        return (ANY_HOST,)
    return tuple(dict.fromkeys((*bound_names(host), *names)))


class HostGuard:
    """421 for a `Host` that is not one of allowed; 403 for a write (any method but GET, HEAD,
    OPTIONS) whose `Origin` is not this server (scheme-less host and port as in `Host`)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(normalize_host(name) for name in allowed)
        self.shown = ", ".join(sorted(self.allowed))

    def problem(self, scope: Scope) -> tuple[int, str] | None:
        """The refusal of an HTTP request (status, detail), or None when it may go on."""
        host = origin = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
        return self._problem(scope["method"], host, origin)

    def _problem(self, method: str, host: str | None, origin: str | None) -> tuple[int, str] | None:
        if host is not None and host_of(host) not in self.allowed:
            return 421, (
                f"this server does not answer to the name {host_of(host)!r} (it answers to "
                f"{self.shown}); start it with --allowed-host {host_of(host)} to allow it, or "
                "with a token"
            )
        if origin is None or method in _SAFE_METHODS:
            return None
        if host is None or not _same_origin(origin, host):
            return 403, (
                f"a write from the web page of another site ({origin[:100]!r}) is refused: this "
                "server has no token, so only pages it serves itself may write to it"
            )
        return None


class HostGuardMiddleware(HTTPMiddleware):
    """The HostGuard of the allowed names in front of app."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        super().__init__(app)
        self.guard = HostGuard(allowed)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.guard.problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, detail = problem
        await error_response(status, detail)(scope, receive, send)


def _same_origin(origin: str, host: str) -> bool:
    """Whether an `Origin` names the server that `Host` names (host and port)."""
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = "443" if parts.scheme == "https" else "80"
    return _host_and_port(parts.netloc, default) == _host_and_port(host, default)


def _host_and_port(netloc: str, default_port: str) -> tuple[str, str]:
    netloc = netloc.strip()
    if netloc.startswith("["):
        end = netloc.find("]")
        name, port = netloc[: end + 1], netloc[end + 2 :] if end >= 0 else ""
    else:
        name, _, port = netloc.partition(":")
    return normalize_host(name), port or default_port
