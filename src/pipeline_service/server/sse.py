"""The Server-Sent Events response of the streams: light enough for 10,000 idle streams.

sse-starlette's EventSourceResponse runs each stream in an anyio task group of four tasks (the
events, the pings, a disconnect listener, a shutdown listener): ~12 KB of anyio objects and
~6 KB of events and locks per stream, over half of what an idle stream cost the server. Here a
stream is the request's own task, which iterates the events and sends them; the client's going
is noticed by a `receive()` task whose completion callback ends the stream (no coroutine of
ours waits on it); pings are a timer whose task lives only while a ping is sent; the state is
this object's attributes, not closures. The server's shutdown ends streams through the event
hub (`ServiceServer.close_streams`), so no shutdown listener is needed. The wire is
sse-starlette's: same headers, same frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sse_starlette import ServerSentEvent
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

PING = ServerSentEvent(comment="ping").encode()
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


class EventStream(Response):
    """A `text/event-stream` answer: each event as it comes, `: ping` every ping_interval
    seconds, the end when the events end or the client goes. `started` once its head is sent."""

    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[ServerSentEvent | bytes],
        *,
        ping_interval: float,
        headers: Mapping[str, str],
    ) -> None:
        self.events = events
        self.ping_interval = ping_interval
        self.status_code = 200
        self.background = None
        self.started = False
        # Shared by every stream of the same headers: never changed.
        self.raw_headers = _raw_headers(tuple(headers.items()))
        self._send: Send | None = None
        self._streaming: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[Message] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ping: asyncio.Task[None] | None = None
        self._gone = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        streaming = self._streaming = asyncio.current_task()
        assert streaming is not None
        self._send = send
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self.started = True
        self._watch(receive)
        if self.ping_interval > 0:
            self._timer = loop.call_later(self.ping_interval, self._send_ping)
        try:
            async for event in self.events:
                await send(_body(event))
                del event  # an idle stream keeps no copy of the last event it sent
            await send(_END)
        except asyncio.CancelledError:
            if not self._gone:
                raise
            streaming.uncancel()  # the client went: the stream just ends
        finally:
            if self._timer is not None:
                self._timer.cancel()
            for task in (self._watcher, self._ping):
                if task is not None:
                    task.cancel()
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception if not self._gone else BaseException):
                    await aclose()

    def _watch(self, receive: Receive) -> None:
        """Wait for the client's next message (a request body, or its going) without a task of
        our own: a task of receive() and a callback when it is done."""
        watcher = self._watcher = asyncio.ensure_future(receive())
        watcher.add_done_callback(functools.partial(self._received, receive))

    def _received(self, receive: Receive, watcher: asyncio.Task[Message]) -> None:
        if watcher.cancelled():
            return
        if watcher.exception() is None and watcher.result()["type"] != "http.disconnect":
            self._watch(receive)  # a part of a request body: not the end
            return
        self._gone = True
        if self._streaming is not None:
            self._streaming.cancel()

    def _send_ping(self) -> None:
        """The timer's callback: a ping, unless the last one is still being sent (the client
        is not reading), then the next in ping_interval."""
        assert self._send is not None
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(
                self._send({"type": "http.response.body", "body": PING, "more_body": True})
            )
        self._timer = asyncio.get_running_loop().call_later(self.ping_interval, self._send_ping)


def _body(event: ServerSentEvent | bytes) -> Message:
    data = event if isinstance(event, bytes) else event.encode()
    return {"type": "http.response.body", "body": data, "more_body": True}


@functools.cache
def _raw_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    """The head of a stream with these headers (Starlette's, as for any Response)."""
    head = object.__new__(EventStream)  # no body, so no content-length
    head.status_code = 200
    head.init_headers({**dict(headers), "Connection": "keep-alive", "X-Accel-Buffering": "no"})
    return head.raw_headers
