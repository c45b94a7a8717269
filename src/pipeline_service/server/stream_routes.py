"""Event-stream routes served ahead of the FastAPI stack, so that an idle stream holds little.

An open stream keeps every frame it was called through for as long as it lasts: through the
whole stack (Starlette's error and exception middleware, each middleware of the app, FastAPI's
exit stacks, its request wrappers and dependency solving) that is ~13 KB per stream, about half
of what an idle stream costs the server. So `ServiceApp` serves the plain request of a stream
route itself: a GET without a body, whose path holds no percent-escape, that the host guard and
the bearer token let through, that no earlier route would take, and that the route's lean
handler takes (its `stream_route`). It writes the request's log line itself. Anything else —
every refusal, HEAD, an unusual path, an error before the stream starts — goes through the
whole stack as before, so the answers stay the stack's, word for word.

A new stream route: its FastAPI route as usual (the spec, the drift test and every refusal come
from it), and a lean handler decorated `@stream_route(endpoint)` that answers the plain request
with `streams.event_stream(...)` (or None to hand it to the FastAPI handler).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from pipeline_service.server.request_log import log_request
from pipeline_service.server.routing import FastPath, fast_path
from pipeline_service.server.sse import EventStream

_STREAM_ROUTES: dict[Callable[..., Any], FastPath] = {}


def stream_route(endpoint: Callable[..., Any]) -> Callable[[FastPath], FastPath]:
    """Register the decorated lean handler (see routing.fast_path) of endpoint, a stream route,
    to be served ahead of the FastAPI stack too (ServiceApp)."""

    def register(handler: FastPath) -> FastPath:
        _STREAM_ROUTES[endpoint] = handler
        return fast_path(endpoint)(handler)

    return register


class Guard(Protocol):
    """A check of the stack's middleware (host guard, bearer token): its refusal, or None."""

    def problem(self, scope: Scope) -> tuple[int, str] | None: ...


class _StreamRoute:
    __slots__ = ("convertors", "earlier", "handler", "regex")

    def __init__(self, route: Route, handler: FastPath, earlier: list[re.Pattern[str]]) -> None:
        self.regex = route.path_regex
        self.convertors = route.param_convertors
        self.handler = handler
        self.earlier = earlier  # the paths of the GET routes before it


class StreamRoutes:
    """The stream routes of a route table, in its order, with the guards of the stack."""

    def __init__(self, routes: Sequence[BaseRoute], guards: Sequence[Guard]) -> None:
        self.guards = tuple(guards)
        self.routes: list[_StreamRoute] = []
        earlier: list[re.Pattern[str]] = []
        for route in routes:
            if isinstance(route, Route):
                if "GET" not in (route.methods or ()):
                    continue  # Starlette goes on to the next route for a GET
                handler = _STREAM_ROUTES.get(route.endpoint)
                if handler is not None:
                    self.routes.append(_StreamRoute(route, handler, list(earlier)))
            regex: re.Pattern[str] | None = getattr(route, "path_regex", None)
            if regex is not None:  # a route, a mount: whatever may take a path first
                earlier.append(regex)

    async def answer(self, app: FastAPI, scope: Scope) -> EventStream | None:
        """The stream of a plain request to a stream route; None for anything else."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if b"%" in scope.get("raw_path", b"%"):
            return None
        for name, _ in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                return None
        for route in self.routes:
            match = route.regex.match(path)
            if match is None:
                continue
            if any(regex.match(path) for regex in route.earlier):
                return None
            if any(guard.problem(scope) is not None for guard in self.guards):
                return None
            params = {
                name: route.convertors[name].convert(value)
                for name, value in match.groupdict().items()
            }
            request = Request({**scope, "app": app, "path_params": params})
            try:
                response = await route.handler(request)
            except Exception:  # answered by the stack, as every error
                return None
            return response if isinstance(response, EventStream) else None
        return None


class ServiceApp(FastAPI):
    """The service's FastAPI app, serving the plain requests of its stream routes itself
    (see the module's docstring); `stream_routes` is set once the routes are in place. A
    middleware added after `create_app` does not see those requests: set `stream_routes` to
    None to send every request through the stack."""

    stream_routes: StreamRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stream_routes is not None and scope.get("method") == "GET":
            started = time.perf_counter()
            stream = await self.stream_routes.answer(self, scope)
            if stream is not None:
                try:
                    await stream(scope, receive, send)
                finally:
                    log_request(scope, 200 if stream.started else 500, started)
                return
        await super().__call__(scope, receive, send)
