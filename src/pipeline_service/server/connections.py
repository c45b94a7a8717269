"""Connections that cannot exhaust the server: a time limit on request heads (and on idle request
bodies), a cap on open connections, and a JSON 400 for what is not HTTP.

uvicorn has none of the first two: a connection that sends half a request head and waits holds
a file descriptor for ever, so enough of them leave the server without descriptors (and without
a word in its log). Its httptools protocol is extended here, not replaced, so requests are still
parsed by httptools on uvloop (CONTRIBUTING.md says why).

- A new connection must send a whole request head within `head_timeout` seconds of connecting,
  and each later head within `head_timeout` of its first byte; a request body may not stay
  idle longer than that while the server reads it. Otherwise the connection is closed (with a
  JSON 408 when part of a request arrived).
- When a new connection takes the open connections over `max_connections`, the connection that
  has been idle the longest (waiting for a request, or for the rest of a request head) is
  closed; when every connection is busy with a request, the new one gets a JSON 503 instead.
  So connections that only hold descriptors are the ones that go, and a client that sends its
  request at once (a health probe) gets through.

Both are logged, at most one summary line every LOG_INTERVAL seconds.

A connection also costs less here than uvicorn's own: its flow control's and each request
cycle's asyncio.Event are `wakeup.Wakeup`s, its queue of pipelined requests a list (~2 KB less
per open stream; benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pipeline_service.server.wakeup import Wakeup

LOG_INTERVAL = 10.0
FD_RESERVE = 64  # descriptors kept for the database, workers and logs at the least
MIN_CONNECTIONS = 16

logger = logging.getLogger("pipeline_service.server")


def default_max_connections() -> int:
    """Three quarters of the process's open-file limit (at least FD_RESERVE left for the rest)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return 4096
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(MIN_CONNECTIONS, soft - max(FD_RESERVE, soft // 4))


def canned_response(status: int, reason: str, detail: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 error response with a JSON `{"detail": …}` body, closing the connection."""
    body = json.dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ConnectionGuard:
    """The limits of one server, shared by its connections: who is idle, what was closed."""

    def __init__(self, max_connections: int, head_timeout: float) -> None:
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        # Connections without a request in progress, the longest idle first.
        self.idle: dict[GuardedHttpToolsProtocol, None] = {}
        self.counts = {"evicted": 0, "refused": 0, "head": 0, "body": 0}
        self._logged = -math.inf

    def admit(self, connection: GuardedHttpToolsProtocol, open_connections: int) -> bool:
        """Make room for a new connection: close the longest idle one when over the cap; False
        (refuse it) when every other connection is busy."""
        self.idle[connection] = None
        if open_connections <= self.max_connections:
            return True
        for victim in self.idle:
            if victim is not connection:
                victim.evict()
                self.note("evicted", open_connections)
                return True
        self.note("refused", open_connections)
        return False

    def note(self, event: str, open_connections: int | None = None) -> None:
        """Count event; log what was counted at most every LOG_INTERVAL seconds."""
        self.counts[event] += 1
        now = time.monotonic()
        if now - self._logged < LOG_INTERVAL:
            return
        self._logged = now
        counts, self.counts = self.counts, dict.fromkeys(self.counts, 0)
        if counts["evicted"] or counts["refused"]:
            logger.warning(
                "connection limit of %d reached (%s open): closed %d idle connections, refused "
                "%d new ones with a 503 (--max-connections)",
                self.max_connections,
                open_connections if open_connections is not None else "many",
                counts["evicted"],
                counts["refused"],
            )
        if counts["head"] or counts["body"]:
            logger.warning(
                "closed %d connections whose request head did not arrive and %d whose request "
                "body stalled within %gs (--head-timeout)",
                counts["head"],
                counts["body"],
                self.head_timeout,
            )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under a ConnectionGuard (see the module's docstring)."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline = _Pipeline()  # type: ignore[assignment]  # (see _Pipeline)
        self._timer: asyncio.TimerHandle | None = None
        self._head_since: float | None = None  # when the head in progress started
        self._head_bytes = False  # whether part of a request has arrived
        self._reading_body = False

    # --- the connection's life ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        writable = Wakeup()  # uvicorn's Event, lighter (see wakeup): set while writable
        writable.set()
        self.flow._is_writable_event = writable
        if not self.guard.admit(self, len(self.connections)):
            self.guard.idle.pop(self, None)
            self.transport.write(
                canned_response(
                    503,
                    "Service Unavailable",
                    "the server has too many open connections; try again shortly",
                    "retry-after: 1\r\n",
                )
            )
            self.transport.close()
            return
        self._head_since = self.loop.time()
        self._arm(self.guard.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.idle.pop(self, None)
        self._disarm()
        super().connection_lost(exc)

    def evict(self) -> None:
        """Close this idle connection at once (to make room for a new one)."""
        self.guard.idle.pop(self, None)
        self._disarm()
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self._head_bytes = True
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._reading_body:  # the body moved on: it may be idle for a whole period again
            self._arm(self.guard.head_timeout)
        elif self._head_since is not None and self._timer is None:
            self._arm(self._head_since + self.guard.head_timeout - self.loop.time())

    def send_400_response(self, msg: str) -> None:
        """A JSON 400 (as every error of the service), not uvicorn's plain text."""
        self._disarm()
        self.transport.write(
            canned_response(400, "Bad Request", f"malformed HTTP request: {msg.rstrip('.')}")
        )
        self.transport.close()

    # --- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_since is None:
            self._head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._head_since = None
        self._disarm()
        self.guard.idle.pop(self, None)
        self._reading_body = True
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not previous:
            # The new request's cycle, before anything waits on or sets its Event: a lighter one.
            self.cycle.message_event = Wakeup()

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._head_bytes = False
        if not self.transport.is_closing() and not self.pipeline:
            self.guard.idle[self] = None  # idle again, the newest

    # --- the timer ------------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(max(delay, 0.0), self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the server is not reading: not the client's delay
            self._arm(self.guard.head_timeout)
            return
        if self._reading_body:
            self.guard.note("body")
            what = "the request body stalled"
        else:
            self.guard.note("head")
            what = "the request head did not arrive"
            if not self._head_bytes:  # nothing sent at all: just close
                self.transport.abort()
                return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            answered = cycle.response_started
            cycle.disconnected = True  # what the app still sends is dropped
            cycle.message_event.set()
            if answered:
                self.transport.close()
                return
        self.transport.write(
            canned_response(
                408, "Request Timeout", f"{what} within {self.guard.head_timeout:g} seconds"
            )
        )
        self.transport.close()


class _Pipeline(list[Any]):
    """The queue of a connection's pipelined requests, as uvicorn uses it (appendleft, pop,
    truth): a list instead of its deque, which costs every connection 624 bytes up front for
    what is almost always empty."""

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


def guarded_protocol(max_connections: int | None, head_timeout: float) -> type[HttpToolsProtocol]:
    """A protocol class for one uvicorn server, with a ConnectionGuard of its own."""
    guard = ConnectionGuard(max_connections or default_max_connections(), head_timeout)
    return type("ServiceHttpProtocol", (GuardedHttpToolsProtocol,), {"guard": guard})
