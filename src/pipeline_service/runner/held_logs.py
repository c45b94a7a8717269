"""The runner's log lines that wait to go out with a later request: one request per action fewer.

An action's "started" line goes to the action's process with the lines held before it (one
`LogBatch`, under the runner's key): the process sends them before any line of its own, or hands
them back unsent when the action ended before its first flush having logged nothing; its
"completed" line is held too. So a run of short, quiet actions sends its lines with the run's
last write, or once they have waited `hold_for` seconds. A batch whose fate is unknown (the
action's process died, or its sending had no answer) is resent as it is, under its key: stored
once either way.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pipeline_service.runner.delivery import new_key
from pipeline_service.runner.reporter import LogBatch


class HeldLogs:
    """Log lines not yet sent, in order: batches that may have reached the service (to resend
    under their key), then lines never sent (free to go with the next line)."""

    def __init__(self, hold_for: float) -> None:
        self._hold_for = hold_for
        self._lock = threading.Lock()
        self._unconfirmed: list[LogBatch] = []
        self._lines: list[dict[str, Any]] = []
        self._since: float | None = None  # when the oldest held line was held
        self._with_action: LogBatch | None = None  # given to the action running now
        self._given_since = 0.0  # when its oldest line was held

    def hold(self, entry: dict[str, Any]) -> None:
        """Keep `entry` for a later request."""
        with self._lock:
            self._lines.append(entry)
            if self._since is None:
                self._since = time.monotonic()

    def due(self) -> bool:
        """True when what is held must go out now, not with the next action: a batch to
        resend, or lines held for `hold_for` seconds."""
        with self._lock:
            waited = self._since is not None and time.monotonic() - self._since >= self._hold_for
            return bool(self._unconfirmed) or waited

    def take(self, entry: dict[str, Any] | None = None) -> list[LogBatch]:
        """Everything to send now, in order (with `entry` last): the batches to resend, the one
        with the running action (it may not have sent it yet), then the held lines."""
        with self._lock:
            batches = list(self._unconfirmed)
            if self._with_action is not None:
                batches.append(self._with_action)
                self._with_action = None  # sent here: what the action says of it no longer counts
            lines = [*self._lines, *([] if entry is None else [entry])]
            if lines:
                batches.append(LogBatch(new_key(), lines))
            self._unconfirmed, self._lines, self._since = [], [], None
            return batches

    def give_to_action(self, entry: dict[str, Any]) -> LogBatch:
        """The held lines and `entry` (the action's "started" line), for the action's process."""
        with self._lock:
            batch = LogBatch(new_key(), [*self._lines, entry])
            self._given_since = time.monotonic() if self._since is None else self._since
            self._lines, self._since = [], None
            self._with_action = batch
            return batch

    def action_ended(self, batch: LogBatch, sent: bool | None) -> None:
        """What became of the lines given to the action: stored (True), handed back unsent
        (False: held again, first), or not known (None: to resend under their key)."""
        with self._lock:
            if self._with_action is not batch:
                return  # sent meanwhile by `take`
            self._with_action = None
            if sent is False:
                self._lines[:0] = batch.entries
                self._since = min(self._given_since, self._since or self._given_since)
            elif sent is None:
                self._unconfirmed.append(batch)
