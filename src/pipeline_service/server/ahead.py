"""Routes served ahead of the FastAPI stack: the event streams (for memory) and the hot writes
(for CPU).

A request through the whole stack passes ~10 layers (Starlette's error and exception
middleware, each middleware of the app, the router, FastAPI's request wrappers and exit
stacks). An open stream keeps every one of those frames for as long as it lasts (~13 KB per
idle stream); a progress report or a log batch pays for each of them on every request (~15 %
of the server's CPU per report). So `ServiceApp` serves the *plain* request of these
routes itself, with the route's lean handler (routing.fast_path), and writes its log line:

- a stream route (`@stream_route(endpoint)`): a GET without a body;
- a write route (`@write_route(endpoint)`): a POST whose body is JSON (a Content-Type the stack
  takes), of a Content-Length within the body limit; its body is read here and handed on.

Plain also means: no percent-escape in the path, no root_path, the host guard and the bearer
token let it through, no earlier route of the table takes the path. Anything else — HEAD,
OPTIONS, an unusual path, every refusal of a guard — goes through the whole stack as before,
so the answers stay the stack's, word for word. A lean handler answers None for a request it
does not take as ordinary (before doing anything): a stream's request then goes to the stack; a
write's too, with the body it sent replayed. An error a write's lean handler raises (a 404,
409, 413, 422 of storage…) is answered here by the stack's own error middleware and the app's
exception handlers — never by running the write again through the stack. An error a stream's
lean handler raises before the stream starts (it wrote nothing) is answered by the stack.

A new route of either kind: its FastAPI route as usual (the spec, the drift test and every
refusal come from it), and a lean handler decorated `@stream_route(endpoint)` (answering with
`streams.event_stream(...)`) or `@write_route(endpoint)`, or None for the FastAPI handler.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_service.server.errors import ServiceError, UnhandledErrorMiddleware
from pipeline_service.server.models import field_limit
from pipeline_service.server.request_log import log_request
from pipeline_service.server.routing import (
    FastPath,
    JSONRequest,
    fast_path,
    require_json_media_type,
)
from pipeline_service.server.sse import EventStream

_STREAM_ROUTES: dict[Callable[..., Any], FastPath] = {}
_WRITE_ROUTES: dict[Callable[..., Any], FastPath] = {}


def _registrar(
    table: dict[Callable[..., Any], FastPath], endpoint: Callable[..., Any]
) -> Callable[[FastPath], FastPath]:
    def register(handler: FastPath) -> FastPath:
        table[endpoint] = handler
        return fast_path(endpoint)(handler)

    return register


def stream_route(endpoint: Callable[..., Any]) -> Callable[[FastPath], FastPath]:
    """Register the decorated lean handler (see routing.fast_path) of endpoint, a stream route,
    to be served ahead of the FastAPI stack too (ServiceApp)."""
    return _registrar(_STREAM_ROUTES, endpoint)


def write_route(endpoint: Callable[..., Any]) -> Callable[[FastPath], FastPath]:
    """Register the decorated lean handler (see routing.fast_path) of endpoint, a POST taking a
    JSON body, to be served ahead of the FastAPI stack too (ServiceApp). It returns None only
    before it has written anything."""
    return _registrar(_WRITE_ROUTES, endpoint)


class Guard(Protocol):
    """A check of the stack's middleware (host guard, bearer token): its refusal, or None."""

    def problem(self, scope: Scope) -> tuple[int, str] | None: ...


class _AheadRoute:
    __slots__ = ("convertors", "earlier", "handler", "regex")

    def __init__(self, route: Route, handler: FastPath, earlier: list[re.Pattern[str]]) -> None:
        self.regex = route.path_regex
        self.convertors = route.param_convertors
        self.handler = handler
        self.earlier = earlier  # the paths of the routes before it

    def params(self, path: str) -> dict[str, Any] | None:
        """The path parameters when this route, and no earlier one, takes path."""
        match = self.regex.match(path)
        if match is None or any(regex.match(path) for regex in self.earlier):
            return None
        return {name: self.convertors[name].convert(v) for name, v in match.groupdict().items()}


async def _raise_error(scope: Scope, receive: Receive, send: Send) -> None:
    raise scope["pipeline_service.error"]


class AheadRoutes:
    """The stream and write routes of a route table, in its order, with the guards of the
    stack and its error handling (the app's exception handlers)."""

    def __init__(self, app: FastAPI, guards: Sequence[Guard]) -> None:
        self.app = app
        self.guards = tuple(guards)
        self.max_body_bytes: int = app.state.settings.max_body_bytes
        self.max_field_bytes: int = app.state.settings.max_field_bytes
        self.streams: list[_AheadRoute] = []
        self.writes: list[_AheadRoute] = []
        tables = (("GET", _STREAM_ROUTES, self.streams), ("POST", _WRITE_ROUTES, self.writes))
        # Per method, the paths of the routes before: a route of other methods only does not
        # take a request (Starlette goes on to the next route); a mount, or a route of no
        # methods named, takes every method.
        earlier: dict[str, list[re.Pattern[str]]] = {method: [] for method, _, _ in tables}
        for route in app.router.routes:
            regex: re.Pattern[str] | None = getattr(route, "path_regex", None)
            if regex is None:
                continue
            methods: Collection[str] = tuple(earlier)
            if isinstance(route, Route) and route.methods is not None:
                methods = route.methods
            for method, table, kind in tables:
                if method not in methods:
                    continue
                if isinstance(route, Route) and (handler := table.get(route.endpoint)):
                    kind.append(_AheadRoute(route, handler, list(earlier[method])))
                earlier[method].append(regex)
        # What the stack does with an exception (as Starlette builds it): the exception
        # handlers of the app, and the last resort of UnhandledErrorMiddleware.
        handlers = {
            key: value
            for key, value in app.exception_handlers.items()
            if key not in (500, Exception)
        }
        self.errors: ASGIApp = UnhandledErrorMiddleware(
            ExceptionMiddleware(_raise_error, handlers=handlers)
        )

    def _plain(self, scope: Scope) -> bool:
        """What every request served ahead is: no root_path, no percent-escape in the path,
        let through by the guards."""
        return (
            not scope.get("root_path")
            and b"%" not in scope.get("raw_path", b"%")
            and all(guard.problem(scope) is None for guard in self.guards)
        )

    def _match(self, routes: list[_AheadRoute], scope: Scope) -> tuple[FastPath, Scope] | None:
        """The lean handler of the route that takes the request's path, and the request's
        scope for it; None when no route of routes takes it."""
        path: str = scope["path"]
        for route in routes:
            if route.regex.match(path) is None:
                continue
            params = route.params(path)
            if params is None:
                return None
            return route.handler, {**scope, "app": self.app, "path_params": params}
        return None

    async def answer_stream(self, scope: Scope) -> EventStream | None:
        """The stream of a plain request to a stream route; None for anything else."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        found = self._match(self.streams, scope)
        if found is None or not self._plain(scope):
            return None
        for name, _ in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                return None
        handler, scope = found
        try:
            response = await handler(Request(scope))
        except Exception:  # answered by the stack, as every error
            return None
        return response if isinstance(response, EventStream) else None

    async def serve_write(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Serve the plain request of a write route (None: answered), or give what the stack
        is to receive for anything else: receive, or the body read here, replayed."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return receive
        found = self._match(self.writes, scope)
        if found is None or not self._plain(scope):
            return receive
        length = content_type = None  # the first of each, as the stack reads them
        for name, value in scope["headers"]:
            if name == b"content-length" and length is None:
                length = value
            elif name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"transfer-encoding":
                return receive
        if (
            length is None
            or content_type is None
            or not (length.isdigit() and 0 < int(length) <= self.max_body_bytes)
        ):
            return receive
        try:
            require_json_media_type(content_type.decode("latin-1"))
        except ServiceError:
            return receive
        started = time.perf_counter()
        handler, scope = found
        messages, body = await _read_body(receive)
        if body is None or len(body) != int(length):
            return _Replay(messages, receive)
        try:
            if len(body) > self.max_field_bytes:
                with field_limit(self.max_field_bytes):
                    response = await handler(JSONRequest(scope, receive, body))
            else:  # a body within the limit cannot hold a field over it: nothing to measure
                response = await handler(JSONRequest(scope, receive, body))
        except Exception as exc:
            status = await self._error(scope, exc, receive, send)
            log_request(scope, status, started)
            return None
        if response is None:  # nothing written: the stack answers, from the same body
            return _Replay(messages, receive)
        try:
            await response(scope, receive, send)
        finally:
            log_request(scope, response.status_code, started)
        return None

    async def _error(self, scope: Scope, exc: Exception, receive: Receive, send: Send) -> int:
        """Answer exc as the stack answers it; the status sent."""
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.errors({**scope, "pipeline_service.error": exc}, receive, watch)
        return status


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages of a request's body as they came, and the body (None: the client left)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


class _Replay:
    """A receive that gives the messages already read, then those of receive."""

    __slots__ = ("messages", "receive")

    def __init__(self, messages: list[Message], receive: Receive) -> None:
        self.messages = messages
        self.receive = receive

    async def __call__(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        return await self.receive()


class ServiceApp(FastAPI):
    """The service's FastAPI app, serving the plain requests of its stream and write routes
    itself (see the module's docstring); `ahead_routes` is set once the routes are in place. A
    middleware added after `create_app` does not see those requests: set `ahead_routes` to
    None to send every request through the stack."""

    ahead_routes: AheadRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ahead = self.ahead_routes
        if ahead is not None:
            method = scope.get("method")
            if method == "GET":
                started = time.perf_counter()
                stream = await ahead.answer_stream(scope)
                if stream is not None:
                    try:
                        await stream(scope, receive, send)
                    finally:
                        log_request(scope, 200 if stream.started else 500, started)
                    return
            elif method == "POST":
                rest = await ahead.serve_write(scope, receive, send)
                if rest is None:
                    return
                receive = rest
        await super().__call__(scope, receive, send)
