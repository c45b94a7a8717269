"""Sending an action's progress, metrics and logs to the service without flooding it.

Progress (with `set_metrics`' current values) is coalesced: only the newest value is kept
between two flushes. Logged metrics (`log_metrics`) and logs are batched, never coalesced:
every call is a point, every line a record. A background thread flushes at a fixed interval,
and closing flushes what is left (resending while the service fails transiently, for up to
`close_timeout` seconds), so the last progress value, every metric point and every log line
arrive.

Each log batch (and each batch of metric points) gets an Idempotency-Key when it is formed
and keeps it for every resend: a batch
whose first attempt was stored although its answer was lost is not stored twice. A batch that
fails transiently (no answer, 408, 429, 5xx) stays queued, in order, for the next flush. At most
`MAX_PENDING_LOGS` lines wait: beyond that the oldest are dropped (whole batches, never part of
one already sent under a key), and one warning line in the run's log says how many.

Writes carry the worker's lease token; once one is refused because the lease was lost,
nothing more is sent and `lease_lost` is set (the action should stop).

The worker's own lines for the action (`first_logs`: its "started" line and the lines it held
before) come first, as one batch under the worker's key: sent at the first flush, before any
line of the action, or, when the action ended before any flush and logged nothing, handed back
unsent (`first_logs_sent` False: the worker sends them later, with its next lines).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from pipeline_service._lifecycle import Closing
from pipeline_service.errors import PipelineServiceError
from pipeline_service.models import LogLevel
from pipeline_service.runner.delivery import is_lease_lost, is_transient, new_key, resend_delay
from pipeline_service.wire import MAX_METRIC_BATCH

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.types import RanOn

logger = logging.getLogger(__name__)

LOG_BATCH_SIZE = 1000
MAX_PENDING_LOGS = 100_000
DEFAULT_CLOSE_TIMEOUT = 30.0
MAX_PENDING_POINTS = 1_000_000
_LEVELS = frozenset(level.value for level in LogLevel)


def log_entry(message: object, level: str, action_name: str | None) -> dict[str, Any]:
    """A log line as the wire's LogEntry, stamped now (it may be sent later)."""
    return {
        "message": str(message),
        "level": level,
        "action_name": action_name,
        "timestamp": datetime.now(UTC).isoformat(),
    }


@dataclass(frozen=True)
class LogBatch:
    """Log lines sent together, always under the same key."""

    key: str
    entries: list[dict[str, Any]]


class ActionReporter(Closing):
    """Coalescing progress, batched metric points and logs of one action, flushed every
    `flush_interval` s."""

    def __init__(
        self,
        client: PipelineServiceClient,
        run_id: str,
        action_name: str,
        action_index: int,
        *,
        flush_interval: float = 0.5,
        lease_token: int | None = None,
        ran_on: RanOn | None = None,
        ran_on_reported: bool = False,
        first_logs: LogBatch | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        self._client = client
        self._ran_on = ran_on
        self._close_timeout = close_timeout
        self._lease_token = lease_token
        self.lease_lost = threading.Event()
        self._run_id = run_id
        self._action_name = action_name
        self._action_index = action_index
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: float | None = None
        self._total: float | None = None
        self._step: str | None = None
        self._message: str | None = None
        self._metrics: dict[str, Any] = {}
        self._dirty = False
        # Where the action runs goes out with the first flush while it runs (unless the worker
        # said so with the action's start); an action over before that has it reported with
        # its outcome instead (one request fewer).
        self._ran_on_unsent = ran_on is not None and not ran_on_reported
        self._unsent_progress: tuple[dict[str, Any], str] | None = None  # (update, its key)
        self._logs: deque[dict[str, Any]] = deque()  # not yet in a batch
        self._batches: deque[LogBatch] = deque()  # formed, not yet acknowledged, oldest first
        self._batched = 0  # lines in _batches
        self._sending: LogBatch | None = None
        self._first = first_logs
        self._first_sent: bool | None = None  # acknowledged; False: handed back (see close)
        self._first_tried = False
        if first_logs is not None:
            self._batches.append(first_logs)
            self._batched = len(first_logs.entries)
        self._dropped = 0  # lines dropped since the last warning line
        self._last_failure: Exception | None = None
        self._points: list[dict[str, Any]] = []
        self._unacknowledged: tuple[str, list[dict[str, Any]]] | None = None  # (key, points)
        self._last_step = -1
        self._non_finite_warned: set[str] = set()

    # -- what the action calls ------------------------------------------------------------

    def set_progress(
        self,
        current: float,
        total: float | None = None,
        step: str | None = None,
        message: str | None = None,
    ) -> None:
        """Record progress; `total`, `step` and `message` keep their last value when not given."""
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise TypeError(f"progress must be a number, not {type(current).__name__}")
        if not math.isfinite(current) or current < 0:
            raise ValueError(f"progress must be a finite number >= 0, got {current!r}")
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, int | float):
                raise TypeError(f"total must be a number, not {type(total).__name__}")
            if not math.isfinite(total) or total <= 0:
                raise ValueError(f"total must be a finite number > 0, got {total!r}")
        with self._lock:
            effective_total = self._total if total is None else total
            if effective_total is None and current > 1:
                raise ValueError(
                    f"progress {current!r} without a total must be a fraction between 0 and 1; "
                    "pass total= to count units of work"
                )
            if effective_total is not None and current > effective_total:
                raise ValueError(f"progress {current!r} exceeds total {effective_total!r}")
            self._progress = float(current)
            self._total = None if effective_total is None else float(effective_total)
            if step is not None:
                self._step = str(step)
            if message is not None:
                self._message = str(message)
            self._dirty = True

    def set_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Merge metrics into the action's metrics (sent with the next flush)."""
        try:
            json.dumps(dict(metrics), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metrics must be JSON-serialisable: {exc}") from None
        with self._lock:
            self._metrics.update(metrics)
            self._dirty = True

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Queue one point per metric at `step` (one more than the last step when not given,
        0 first). NaN and ±inf are recorded as null, with one warning per metric name."""
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of names to numbers, not {metrics!r}")
        values: dict[str, float | None] = {}
        for name, value in metrics.items():
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                raise ValueError(f"a metric name must be a text of 1 to 255 characters: {name!r}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"metric {name!r} must be a number, not {value!r}")
            values[name] = float(value) if math.isfinite(value) else None
        if not values:
            return
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise ValueError(f"step must be an integer >= 0, not {step!r}")
        logged_at = time.time()  # made a timestamp when sent, off the action's loop
        with self._lock:
            step = self._last_step + 1 if step is None else step
            self._last_step = step
            self._points.append({"step": step, "values": values, "timestamp": logged_at})
            wake = len(self._points) == MAX_METRIC_BATCH
            warn = []
            if None in values.values():
                warn = [
                    n for n, v in values.items() if v is None and n not in self._non_finite_warned
                ]
                self._non_finite_warned.update(warn)
        for name in warn:
            message = (
                f"metric {name!r} is {metrics[name]!r} at step {step}: recorded as null "
                "(further non-finite values of it are recorded as null without a warning)"
            )
            logger.warning("action %s: %s", self._action_name, message)
            self.log(message, "warning")
        if wake:
            self._wake.set()

    def log(self, message: object, level: str = "info") -> None:
        """Queue a log line for the next flush."""
        level_value = getattr(level, "value", level)
        if level_value not in _LEVELS:
            raise ValueError(
                f"unknown log level {level!r}; expected one of {', '.join(sorted(_LEVELS))}"
            )
        entry = self._entry(message, level_value)
        with self._lock:
            self._logs.append(entry)
            if len(self._logs) + self._batched > MAX_PENDING_LOGS:
                self._drop_oldest()
            wake = len(self._logs) >= LOG_BATCH_SIZE
        if wake:
            self._wake.set()

    def _drop_oldest(self) -> None:
        """Bring the waiting lines back to MAX_PENDING_LOGS, oldest first: whole batches (a
        batch keeps its lines and key; not the one being sent), then unbatched lines."""
        excess = len(self._logs) + self._batched - MAX_PENDING_LOGS
        kept: deque[LogBatch] = deque()
        while excess > 0 and self._batches:
            batch = self._batches.popleft()
            if batch is self._sending:
                kept.append(batch)
                continue
            self._batched -= len(batch.entries)
            self._dropped += len(batch.entries)
            excess -= len(batch.entries)
        self._batches.extendleft(reversed(kept))
        for _ in range(min(excess, len(self._logs))):
            self._logs.popleft()
            self._dropped += 1

    def _entry(self, message: object, level: str) -> dict[str, Any]:
        return log_entry(message, level, self._action_name)

    @property
    def total(self) -> float | None:
        """The last total given to set_progress (None when progress is a fraction)."""
        return self._total

    @property
    def metrics(self) -> dict[str, Any]:
        """A copy of the metrics recorded so far."""
        with self._lock:
            return dict(self._metrics)

    # -- flushing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Send the newest progress (if it changed) and every queued log line; what fails
        transiently stays queued for the next flush."""
        self._flush(closing=False)

    def _flush(self, *, closing: bool) -> None:
        with self._send_lock:
            with self._lock:
                progress = self._take_progress(closing)
                self._form_batches()
            if self.lease_lost.is_set():
                return  # the run belongs to another worker now: nothing of ours may land
            if progress is not None:
                self._send_progress(progress)
            self._send_points()
            self._send_batches()

    def _unsent(self) -> bool:
        with self._lock:
            return (
                self._dirty
                or bool(self._logs)
                or bool(self._batches)
                or bool(self._points)
                or self._unacknowledged is not None
            )

    def _send_points(self) -> None:
        """Send the queued points in batches; a batch that did not get through is sent again
        first, under the same Idempotency-Key (stored once even if only the answer was lost)."""
        while not self.lease_lost.is_set():
            with self._lock:
                if self._unacknowledged is None:
                    if not self._points:
                        return
                    batch = [self._point_entry(p) for p in self._points[:MAX_METRIC_BATCH]]
                    del self._points[:MAX_METRIC_BATCH]
                    self._unacknowledged = (new_key(), batch)
                key, batch = self._unacknowledged
            sent = self._attempt("metrics", self._client.append_metrics, batch, idempotency_key=key)
            with self._lock:
                if not sent:
                    dropped = len(self._points) - MAX_PENDING_POINTS
                    if dropped > 0:
                        del self._points[:dropped]
                        logger.warning(
                            "dropped %d unsent metric points of run %s", dropped, self._run_id
                        )
                    return
                self._unacknowledged = None

    def _point_entry(self, point: dict[str, Any]) -> dict[str, Any]:
        """A queued point as the wire's metric entry."""
        logged_at = datetime.fromtimestamp(point["timestamp"], UTC).isoformat()
        return {"action_name": self._action_name, **point, "timestamp": logged_at}

    def _take_progress(self, closing: bool) -> dict[str, Any] | None:
        """The progress update to send, if any: when something changed, or (while the action
        runs) to say where it runs."""
        if not (self._dirty or (self._ran_on_unsent and not closing)):
            return None
        self._dirty = self._ran_on_unsent = False
        update: dict[str, Any] = {"name": self._action_name, "status": "running"}
        if self._progress is not None:
            update["progress"] = self._progress
            update["total"] = self._total
        if self._step is not None:
            update["progress_step"] = self._step
        if self._message is not None:
            update["message"] = self._message
        if self._metrics:
            update["metrics"] = dict(self._metrics)
        if self._ran_on is not None:
            update["ran_on"] = dict(self._ran_on)
        return update

    def _form_batches(self) -> None:
        """Cut the queued lines into batches, each with its key (under the lock). Once the
        lines before have all been taken, a warning line says how many were dropped."""
        if self._dropped and not self._batches:
            message = (
                f"{self._dropped} log lines of action {self._action_name!r} were dropped: they "
                f"came faster than the service took them (at most {MAX_PENDING_LOGS} wait)"
            )
            logger.warning("run %s: %s", self._run_id, message)
            self._logs.appendleft(self._entry(message, "warning"))
            self._dropped = 0
        lines = list(self._logs)
        self._logs.clear()
        for start in range(0, len(lines), LOG_BATCH_SIZE):
            entries = lines[start : start + LOG_BATCH_SIZE]
            self._batches.append(LogBatch(new_key(), entries))
            self._batched += len(entries)

    def _send_progress(self, update: dict[str, Any]) -> None:
        unsent = self._unsent_progress
        key = unsent[1] if unsent is not None and unsent[0] == update else new_key()
        sent = self._attempt(
            "progress",
            self._client.report_progress,
            current_action=self._action_name,
            current_action_index=self._action_index,
            action_progress=update,
            idempotency_key=key,
        )
        if sent:
            self._unsent_progress = None
            return
        with self._lock:
            self._unsent_progress = (update, key)
            self._dirty = True

    def _send_batches(self) -> None:
        """Send the queued batches in order; stop at the first that fails transiently."""
        while not self.lease_lost.is_set():
            with self._lock:
                if not self._batches:
                    return
                batch = self._sending = self._batches[0]
                self._first_tried = self._first_tried or batch is self._first
            sent = self._attempt(
                "logs", self._client.append_logs, batch.entries, idempotency_key=batch.key
            )
            with self._lock:
                self._sending = None
                if not sent:
                    return
                if self._batches and self._batches[0] is batch:
                    self._batches.popleft()
                    self._batched -= len(batch.entries)
                    if batch is self._first:
                        self._first_sent = True

    def _attempt(self, what: str, method: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
        """Send once (`method` of the client, for this run, with the lease token). True when
        done with it: stored, or refused for good (a lost lease sets `lease_lost`); False when
        it failed transiently and must be sent again."""
        try:
            method(self._run_id, *args, lease_token=self._lease_token, **kwargs)
        except PipelineServiceError as exc:
            if is_transient(exc):
                logger.warning("%s of run %s not sent, will resend: %s", what, self._run_id, exc)
                self._last_failure = exc
                return False
            if is_lease_lost(exc):
                self.lease_lost.set()
            logger.warning("%s of run %s rejected: %s", what, self._run_id, exc)
        return True

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._closed.is_set():
                return
            try:
                self.flush()
            except Exception:  # never let reporting kill the action
                logger.exception("reporting progress of run %s failed", self._run_id)

    # -- lifetime -------------------------------------------------------------------------

    @property
    def first_logs_sent(self) -> bool | None:
        """For the `first_logs`: True once stored, False when handed back unsent (never tried),
        None when that is not known (tried without an answer, dropped, or none given)."""
        return self._first_sent

    def start(self) -> None:
        """Start the background flushing thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"reporter-{self._run_id}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the background thread and flush what is left, resending what fails transiently
        for up to `close_timeout` seconds."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            alone = len(self._batches) == 1 and self._batches[0] is self._first and not self._logs
            if alone and not self._first_tried:  # the worker sends them later, with its next
                self._batches.clear()
                self._batched = 0
                self._first_sent = False
        deadline = time.monotonic() + self._close_timeout
        self._flush(closing=True)
        attempt = 0
        while not self.lease_lost.is_set() and self._unsent():
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                logger.warning(
                    "gave up sending the last progress, metrics and logs of run %s", self._run_id
                )
                return
            failure = self._last_failure or Exception()
            time.sleep(min(resend_delay(failure, attempt), left))
            self._flush(closing=True)

    def __enter__(self) -> Self:
        self.start()
        return self
