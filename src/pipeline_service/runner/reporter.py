"""Sending an action's progress, metrics and logs to the service without flooding it.

Progress (with `set_metrics`' current values) is coalesced: only the newest value is kept
between two flushes. Logged metrics (`log_metrics`) and logs are batched, never coalesced:
every call is a point, every line a record. A background thread flushes at a fixed interval,
and closing flushes what is left (retrying while the service is unreachable), so the last
progress value, every metric point and every log line arrive. Writes carry the worker's lease
token; once one is refused because the lease was lost, nothing more is sent and `lease_lost`
is set (the action should stop).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pipeline_service.errors import APIConnectionError, PipelineServiceError
from pipeline_service.models import LogLevel
from pipeline_service.runner.delivery import RETRY_DELAYS, is_lease_lost
from pipeline_service.wire import MAX_METRIC_BATCH

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient

logger = logging.getLogger(__name__)

LOG_BATCH_SIZE = 1000
MAX_PENDING_LOGS = 100_000
MAX_PENDING_POINTS = 1_000_000
_LEVELS = frozenset(level.value for level in LogLevel)


class ActionReporter:
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
    ) -> None:
        self._client = client
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
        self._logs: list[dict[str, Any]] = []
        self._points: list[dict[str, Any]] = []
        self._unacknowledged: tuple[str, list[dict[str, Any]]] | None = None
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
        entry = {
            "message": str(message),
            "level": level_value,
            "action_name": self._action_name,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self._logs.append(entry)
            wake = len(self._logs) >= LOG_BATCH_SIZE
        if wake:
            self._wake.set()

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
        """Send the newest progress (if it changed) and every queued log line."""
        with self._send_lock:
            with self._lock:
                progress = self._take_progress()
                logs, self._logs = self._logs, []
            if self.lease_lost.is_set():
                return  # the run belongs to another worker now: nothing of ours may land
            if progress is not None:
                self._send_progress(progress)
            self._send_points()
            if logs:
                self._send_logs(logs)

    def _unsent(self) -> bool:
        with self._lock:
            return (
                self._dirty
                or bool(self._logs)
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
                    batch = [self._entry(p) for p in self._points[:MAX_METRIC_BATCH]]
                    del self._points[:MAX_METRIC_BATCH]
                    self._unacknowledged = (str(uuid.uuid4()), batch)
                key, batch = self._unacknowledged
            try:
                self._client.append_metrics(
                    self._run_id, batch, idempotency_key=key, lease_token=self._lease_token
                )
            except APIConnectionError as exc:
                logger.warning("metrics of run %s not sent, will retry: %s", self._run_id, exc)
                with self._lock:
                    dropped = len(self._points) - MAX_PENDING_POINTS
                    if dropped > 0:
                        del self._points[:dropped]
                        logger.warning(
                            "dropped %d unsent metric points of run %s", dropped, self._run_id
                        )
                return
            except PipelineServiceError as exc:
                self._rejected(exc)
                logger.warning("metrics of run %s rejected: %s", self._run_id, exc)
            with self._lock:
                self._unacknowledged = None

    def _take_progress(self) -> dict[str, Any] | None:
        if not self._dirty:
            return None
        self._dirty = False
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
        return update

    def _send_progress(self, update: dict[str, Any]) -> None:
        try:
            self._client.report_progress(
                self._run_id,
                current_action=self._action_name,
                current_action_index=self._action_index,
                action_progress=update,
                lease_token=self._lease_token,
            )
        except APIConnectionError as exc:
            logger.warning("progress of run %s not sent, will retry: %s", self._run_id, exc)
            with self._lock:
                self._dirty = True
        except PipelineServiceError as exc:
            self._rejected(exc)
            logger.warning("progress of run %s rejected: %s", self._run_id, exc)

    def _send_logs(self, logs: list[dict[str, Any]]) -> None:
        for start in range(0, len(logs), LOG_BATCH_SIZE):
            batch = logs[start : start + LOG_BATCH_SIZE]
            try:
                self._client.append_logs(self._run_id, batch, lease_token=self._lease_token)
            except APIConnectionError as exc:
                logger.warning("logs of run %s not sent, will retry: %s", self._run_id, exc)
                with self._lock:
                    self._logs[:0] = logs[start:]
                    dropped = len(self._logs) - MAX_PENDING_LOGS
                    if dropped > 0:
                        del self._logs[:dropped]
                        logger.warning(
                            "dropped %d unsent log lines of run %s", dropped, self._run_id
                        )
                return
            except PipelineServiceError as exc:
                self._rejected(exc)
                logger.warning("logs of run %s rejected: %s", self._run_id, exc)
                if self.lease_lost.is_set():
                    return

    def _entry(self, point: dict[str, Any]) -> dict[str, Any]:
        """A queued point as the wire's metric entry."""
        logged_at = datetime.fromtimestamp(point["timestamp"], UTC).isoformat()
        return {"action_name": self._action_name, **point, "timestamp": logged_at}

    def _rejected(self, exc: PipelineServiceError) -> None:
        if is_lease_lost(exc):
            self.lease_lost.set()

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

    def start(self) -> None:
        """Start the background flushing thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"reporter-{self._run_id}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the background thread and flush what is left, retrying while the service is
        unreachable (about 8 s at most)."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()
        for delay in RETRY_DELAYS:
            if self.lease_lost.is_set() or not self._unsent():
                return
            time.sleep(delay)
            self.flush()
        if self._unsent():
            logger.warning(
                "gave up sending the last progress, metrics and logs of run %s", self._run_id
            )

    def __enter__(self) -> ActionReporter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
