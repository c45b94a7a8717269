"""aiter_events: the stream loop over the async httpx client.

The source of its blocking twin: `_sync_streaming.py` is generated from this file by
scripts/unasync.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import anyio
import httpx

from ._async_request import AsyncRequester
from ._request import build_request, connection_error
from ._sse import SSEDecoder
from .streaming import Connection, EventHandler, Reconnect

__all__ = ["aiter_events"]

T = TypeVar("T")


async def aiter_events(
    requester: AsyncRequester,
    kwargs: Mapping[str, Any],
    handler: EventHandler[T],
    *,
    timeout: float | None,
    what: str,
) -> AsyncIterator[T]:
    """Items of a stream, over the requester's httpx client."""
    config = requester.config
    conn = Connection(
        handler,
        timeout=timeout,
        idle_timeout=config.stream_idle_timeout,
        max_reconnects=config.stream_max_reconnects,
        what=what,
    )
    while True:
        request = build_request(
            requester.http, config, kwargs, timeout=conn.timeouts(), headers=conn.headers()
        )
        progressed = alive = False
        failed_response: httpx.Response | None = None
        decoder = SSEDecoder()
        try:
            response = await requester.http.send(request, stream=True)
            try:
                if response.status_code != 200 or "event-stream" not in response.headers.get(
                    "content-type", ""
                ):
                    await response.aread()
                conn.check(response)
                async for text in response.aiter_text():
                    for sse in decoder.feed(text):
                        alive = True
                        item = handler.handle(sse)
                        if item is not None:
                            progressed = True
                            yield item
                        if handler.done:
                            return
                    conn.remaining()
                cause = "the server closed the stream"
            finally:
                await response.aclose()
        except Reconnect as exc:
            cause, failed_response = str(exc), exc.response
        except httpx.TransportError as exc:
            conn.remaining()
            cause = str(connection_error(exc, request))
            # A quiet stream of a server without heartbeats (the v1 core) is not a failure.
            progressed = progressed or (alive and isinstance(exc, httpx.ReadTimeout))
        # A heartbeat proves the connection was healthy: the reconnect budget starts afresh.
        healthy = progressed or decoder.comments > 0
        await anyio.sleep(conn.failed(cause, healthy, failed_response))
