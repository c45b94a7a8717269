"""Server-Sent Event streams that survive dropped connections: what both stream loops share.

A stream is read over the client's own connection pool (decoded by `_sse.py`). When the connection
drops, or no byte (heartbeats included) arrives for `stream_idle_timeout` seconds, it is opened
again with `Last-Event-ID`, after a capped backoff that starts from the server's `retry:`.
Only consecutive failures count against the reconnect budget: a connection that delivered
something new, or a heartbeat, was healthy, and the next drop starts the count afresh (a proxy
that ends every response after a fixed time never makes a slow run's stream give up).
Events are deduplicated by their id (the run's version, or a log record's `seq`), so a caller
never sees the same state twice or an older state after a newer one; against a server that
sends no ids (the v1 core), identical consecutive states are dropped. The stream stops after
its final event; if the connection cannot be resumed first, StreamError is raised. A `timeout`
bounds the whole stream and raises APITimeoutError.

The loop itself is `aiter_events` (`_async_streaming.py`) and its generated twin
`iter_events` (`_sync_streaming.py`).
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any, Generic, Protocol, TypeVar

import httpx
from httpx_sse import ServerSentEvent
from pydantic import ValidationError

from . import _constants as C
from ._operations import LOG_RECORD, RUN_SUMMARY
from ._request import is_retryable_status, retry_delay
from .errors import (
    APITimeoutError,
    NotFoundError,
    StreamError,
    status_error_from_response,
)
from .models import PipelineProgress, RunChange
from .types import LogRecord
from .wire import TERMINAL_RUN_STATUSES

__all__ = [
    "Connection",
    "EventHandler",
    "LogEvents",
    "ProgressEvents",
    "Reconnect",
    "RunsEvents",
]

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

log = logging.getLogger(C.LOGGER_NAME)

_PROGRESS_EVENTS = frozenset({"progress", "message"}) | TERMINAL_RUN_STATUSES


def _as_int(value: str | None) -> int | None:
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


def _deleted(sse: ServerSentEvent, run_id: str) -> NotFoundError:
    try:
        detail = json.loads(sse.data).get("detail", "Run not found")
    except (ValueError, AttributeError):
        detail = sse.data or "Run not found"
    return NotFoundError(404, f"{detail} (run {run_id!r}, while streaming)")


class EventHandler(Protocol[T_co]):
    """Turns the events of one stream into items, and remembers where to resume."""

    run_id: str
    done: bool
    retry_ms: int | None

    @property
    def last_event_id(self) -> str | None: ...

    def handle(self, sse: ServerSentEvent) -> T_co | None: ...


class ProgressEvents:
    """Events of GET /runs/{id}/progress/stream as PipelineProgress, newest only."""

    def __init__(self, run_id: str, last_event_id: str | None = None) -> None:
        self.run_id = run_id
        self.done = False
        self.retry_ms: int | None = None
        self._last_event_id = last_event_id or None
        self._version = _as_int(last_event_id)
        self._last_state: Any = None

    @property
    def last_event_id(self) -> str | None:
        return self._last_event_id

    def handle(self, sse: ServerSentEvent) -> PipelineProgress | None:
        if sse.retry is not None:
            self.retry_ms = sse.retry
        if sse.event == "error":
            raise _deleted(sse, self.run_id)
        if not sse.data:
            return None
        version = _as_int(sse.id)
        try:
            data = json.loads(sse.data)
            progress = PipelineProgress.from_wire(data, version)
        except (ValueError, ValidationError) as exc:
            if sse.event not in _PROGRESS_EVENTS:
                return None  # an event a newer server added: not ours to read
            raise StreamError(
                f"Malformed {sse.event!r} event on run {self.run_id!r}: {exc}"
            ) from exc
        terminal = sse.event in TERMINAL_RUN_STATUSES or progress.is_terminal
        if version is not None:
            if self._version is not None and version <= self._version:
                self.done = self.done or terminal
                return None
            self._version = version
            self._last_event_id = sse.id
        else:
            if data == self._last_state:
                self.done = self.done or terminal
                return None
            self._last_state = data
            if sse.id:
                self._last_event_id = sse.id
        self.done = terminal
        return progress


class _Numbered:
    """A stream whose events carry increasing numbers: it resumes after the last one taken."""

    def __init__(self, seq: int | None) -> None:
        self.retry_ms: int | None = None
        self._seq = seq

    @property
    def last_event_id(self) -> str | None:
        return None if self._seq is None else str(self._seq)

    def _seen(self, seq: int | None) -> bool:
        """Whether an event of number seq was taken already (a replay after a reconnect)."""
        return seq is not None and self._seq is not None and seq <= self._seq


class LogEvents(_Numbered):
    """Events of GET /runs/{id}/logs/stream as LogRecord dicts, each `seq` once, until `end`."""

    def __init__(self, run_id: str, after_seq: int | None = None) -> None:
        super().__init__(after_seq)
        self.run_id = run_id
        self.done = False
        self.final_status: str | None = None

    def handle(self, sse: ServerSentEvent) -> LogRecord | None:
        if sse.retry is not None:
            self.retry_ms = sse.retry
        if sse.event == "error":
            raise _deleted(sse, self.run_id)
        if sse.event == "end":
            try:
                status = json.loads(sse.data).get("status")
            except (ValueError, AttributeError):
                status = None
            self.final_status = status if isinstance(status, str) else None
            self.done = True
            return None
        if not sse.data or sse.event not in ("log", "message"):
            return None
        try:
            record = LOG_RECORD.validate_json(sse.data)
        except ValidationError as exc:
            raise StreamError(f"Malformed log event on run {self.run_id!r}: {exc}") from exc
        seq = record.get("seq")
        if seq is None:
            seq = _as_int(sse.id)
        if self._seen(seq):
            return None
        if seq is not None:
            self._seq = seq
        return record


class RunsEvents(_Numbered):
    """Events of GET /runs/stream as RunChange items, each change number once; never done."""

    run_id = "*"  # every run
    done = False

    def __init__(self, last_event_id: str | None = None) -> None:
        super().__init__(_as_int(last_event_id))

    def handle(self, sse: ServerSentEvent) -> RunChange | None:
        if sse.retry is not None:
            self.retry_ms = sse.retry
        seq = _as_int(sse.id)
        if sse.event in ("sync", "reset"):
            if seq is not None:
                self._seq = seq if sse.event == "reset" else max(seq, self._seq or 0)
            return RunChange(sse.event, seq)
        if sse.event not in ("created", "changed", "left", "deleted") or not sse.data:
            return None  # a ping, or an event a newer server added
        if self._seen(seq):
            return None
        try:
            data = json.loads(sse.data)
            if sse.event == "deleted":
                change = RunChange("deleted", seq, None, str(data["id"]), str(data["pipeline_id"]))
            else:
                run = RUN_SUMMARY.validate_python(data)
                change = RunChange(sse.event, seq, run, run["id"], run["pipeline_id"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise StreamError(f"Malformed {sse.event!r} event of the runs stream: {exc}") from exc
        if seq is not None:
            self._seq = seq
        return change


class Connection(Generic[T]):
    """Bookkeeping shared by the sync and async loops: deadline, reconnects, headers."""

    def __init__(
        self,
        handler: EventHandler[T],
        *,
        timeout: float | None,
        idle_timeout: float,
        max_reconnects: int,
        what: str,
    ) -> None:
        self.handler = handler
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.max_reconnects = max_reconnects
        self.what = what
        self.failures = 0

    def remaining(self) -> float | None:
        """Seconds left before the deadline; APITimeoutError once it has passed."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise APITimeoutError(f"The {self.what} did not finish within {self.timeout} s.")
        return left

    def timeouts(self) -> httpx.Timeout:
        left = self.remaining()
        read = self.idle_timeout if left is None else min(self.idle_timeout, left)
        connect = min(C.DEFAULT_CONNECT_TIMEOUT, read)
        return httpx.Timeout(read, connect=connect, read=read)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.handler.last_event_id is not None:
            headers["Last-Event-ID"] = self.handler.last_event_id
        return headers

    def check(self, response: httpx.Response) -> None:
        """Raise for an answer that is not an event stream (its body must have been read)."""
        if response.status_code != 200:
            error = status_error_from_response(response)
            if is_retryable_status(response.status_code):
                raise Reconnect(str(error), response)
            raise error
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if content_type != "text/event-stream":
            raise StreamError(f"The {self.what} answered {content_type!r}, not text/event-stream.")

    def failed(self, cause: str, progressed: bool, response: httpx.Response | None) -> float:
        """Record a lost connection (that `progressed`: yielded something new or proved healthy
        with a heartbeat, which starts the reconnect budget afresh, or not); the delay before
        reconnecting, or StreamError."""
        self.remaining()
        if progressed:
            self.failures = 0
        self.failures += 1
        if self.failures > self.max_reconnects:
            raise StreamError(
                f"The {self.what} ended before its final event and could not be resumed "
                f"after {self.max_reconnects} reconnect(s): {cause}"
            )
        if response is not None and is_retryable_status(response.status_code):
            delay = retry_delay(self.failures, response, maximum=C.STREAM_RECONNECT_MAX_DELAY)
        else:
            base = (
                self.handler.retry_ms / 1000
                if self.handler.retry_ms is not None
                else C.STREAM_RECONNECT_INITIAL_DELAY
            )
            delay = min(base * 2.0 ** (self.failures - 1), C.STREAM_RECONNECT_MAX_DELAY)
            delay *= 1 - 0.25 * random.random()
        left = self.remaining()
        delay = delay if left is None else min(delay, left)
        log.info(
            "Reconnecting the %s in %.2fs (Last-Event-ID %s) after: %s",
            self.what,
            delay,
            self.handler.last_event_id,
            cause,
        )
        return delay


class Reconnect(Exception):
    """The server answered with a retryable status instead of a stream."""

    def __init__(self, cause: str, response: httpx.Response) -> None:
        super().__init__(cause)
        self.response = response
