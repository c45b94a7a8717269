"""In-process change broadcaster for the SSE streams.

The storage reports every committed change once, with the new state already read (for a run,
its whole document and version; for logs, the stored records). The hub fans that one state out
to every subscriber of the run: 100 subscribers cost one read per change, not 100. A run
subscriber keeps only the newest state (one that falls behind skips ahead, never back); a log
subscriber queues records up to MAX_QUEUED_LOG_BYTES, and beyond that forgets them and reads
them back from storage by its cursor (logs are stored: a slow follower costs the server
nothing while it lags, and misses nothing).
"""

from __future__ import annotations

from collections import defaultdict, deque

from pipeline_service.server.storage.changes import (
    Change,
    LogsAppended,
    RunChanged,
    RunDeleted,
    RunState,
)
from pipeline_service.server.wakeup import Wakeup
from pipeline_service.wire import LogRecord

MAX_QUEUED_LOG_BYTES = 1024 * 1024
_RECORD_OVERHEAD = 256  # the fields of a record other than its message, roughly


def record_size(record: LogRecord) -> int:
    """About how many bytes a log record holds."""
    return len(record["message"]) + _RECORD_OVERHEAD


class Subscription:
    """What one stream has not consumed yet for one run (slotted, its record queue made on the
    first records: 10,000 idle streams hold 10,000 of these)."""

    __slots__ = (
        "_wakeup",
        "closed",
        "deleted",
        "hub",
        "records",
        "records_bytes",
        "records_dropped",
        "run_id",
        "state",
    )

    def __init__(self, hub: EventHub, run_id: str) -> None:
        self.hub = hub
        self.run_id = run_id
        self.state: RunState | None = None
        self.records: deque[LogRecord] | None = None
        self.records_bytes = 0
        self.records_dropped = False
        self.deleted = False
        self.closed = False
        self._wakeup = Wakeup()

    def run_changed(self, state: RunState) -> None:
        if self.state is None or state.version > self.state.version:
            self.state = state
            self._wakeup.set()

    def logs_appended(self, records: list[LogRecord]) -> None:
        if not self.records_dropped:
            size = self.records_bytes + sum(record_size(r) for r in records)
            if size > MAX_QUEUED_LOG_BYTES:
                self._forget_records()
            else:
                if self.records is None:
                    self.records = deque()
                self.records.extend(records)
                self.records_bytes = size
        self._wakeup.set()

    def _forget_records(self) -> None:
        self.records = None
        self.records_bytes = 0
        self.records_dropped = True

    def resync_logs(self) -> None:
        """Records were stored that this subscription cannot know: read them from storage."""
        self._forget_records()
        self._wakeup.set()

    def run_deleted(self) -> None:
        self.deleted = True
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    async def wait(self) -> None:
        """Until something arrives."""
        await self._wakeup.wait()
        self._wakeup.clear()

    def take_records(self) -> tuple[list[LogRecord], bool]:
        """Queued records, and whether some were dropped (read them back from storage)."""
        records, dropped = list(self.records or ()), self.records_dropped
        self.records = None
        self.records_bytes = 0
        self.records_dropped = False
        return records, dropped

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.hub.unsubscribe(self)


class EventHub:
    """Fans committed changes out to the subscribers of each run (event-loop thread only)."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self.closed = False

    def subscribe(self, run_id: str) -> Subscription:
        subscription = Subscription(self, run_id)
        if self.closed:
            subscription.close()
        else:
            self._subscribers[run_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.run_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.run_id]

    def watched_runs(self) -> list[str]:
        """The runs someone subscribes to."""
        return list(self._subscribers)

    def subscriber_count(self, run_id: str) -> int:
        return len(self._subscribers.get(run_id, ()))

    def dispatch(self, change: Change) -> None:
        """The storage's change listener."""
        if isinstance(change, RunChanged):
            for subscription in self._subscribers.get(change.state.run["id"], ()):
                subscription.run_changed(change.state)
        elif isinstance(change, LogsAppended):
            for subscription in self._subscribers.get(change.run_id, ()):
                if change.resync:
                    subscription.resync_logs()
                else:
                    subscription.logs_appended(change.records)
        elif isinstance(change, RunDeleted):
            for subscription in self._subscribers.get(change.run_id, ()):
                subscription.run_deleted()

    def close(self) -> None:
        """Shutdown: every open stream ends."""
        self.closed = True
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.close()
