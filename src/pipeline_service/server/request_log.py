"""One log line per request: client, method, path, status, duration."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("pipeline_service.server")


def log_request(scope: Scope, status: int, started: float) -> None:
    """The line of a request that started at `time.perf_counter()` started."""
    logger.info(
        '%s "%s %s" %d %.1fms',
        (scope.get("client") or ("-",))[0],
        scope["method"],
        scope.get("raw_path", b"").decode("latin-1") or scope["path"],
        status,
        (time.perf_counter() - started) * 1000,
    )


class RequestLogMiddleware:
    """log_request for every HTTP request app answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            log_request(scope, status, started)
