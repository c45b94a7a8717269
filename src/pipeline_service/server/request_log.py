"""One log line per request: client, method, path, status, duration."""

from __future__ import annotations

import logging
import time

from starlette.types import Receive, Scope, Send

from pipeline_service.server.middleware import HTTPMiddleware, ResponseWatch

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


class RequestLogMiddleware(HTTPMiddleware):
    """log_request for every HTTP request app answers."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        watch = ResponseWatch(send)
        try:
            await self.app(scope, receive, watch)
        finally:
            log_request(scope, 500 if watch.status is None else watch.status, started)
