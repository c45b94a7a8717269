"""What the server's ASGI middlewares share: HTTPMiddleware (only HTTP requests are theirs)
and ResponseWatch (whether, and with which status, the answer has started)."""

from __future__ import annotations

import abc

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HTTPMiddleware(abc.ABC):
    """A middleware of HTTP requests: `http` serves each one; every other scope (lifespan,
    websocket) goes straight on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abc.abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (through self.app)."""


class ResponseWatch:
    """Passes each message on to send; `status` is the response's status once its start went
    out, None before."""

    __slots__ = ("_send", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
