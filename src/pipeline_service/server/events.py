"""In-process change broadcaster for the SSE streams.

The storage reports every committed change once, with the new state already read (for a run,
its whole document and version; for logs, the stored records). The hub fans that one state out
to every subscriber of the run: 100 subscribers cost one read per change, not 100. A run
subscriber keeps only the newest state (one that falls behind skips ahead, never back); a log
subscriber queues records up to MAX_QUEUED_LOG_BYTES, and beyond that forgets them and reads
them back from storage by its cursor (logs are stored: a slow follower costs the server
nothing while it lags, and misses nothing).

Runs streams (the whole list) subscribe to every run: while there is one, the hub's runs feed
reads the change sequence (`storage/run_changes.py`) once after each burst of changes, and
hands the same changes to every runs subscriber. A runs subscriber queues at most
MAX_QUEUED_RUN_CHANGES; beyond that it forgets them and reads storage by its own cursor, as a
log subscriber does. The feed remembers what it last handed on of each run (`LastSeen`), so a
filtered stream can tell when a run leaves its filter.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable

from pipeline_service.server.storage.changes import (
    ALL_RUNS,
    Change,
    LogsAppended,
    RunChanged,
    RunDeleted,
    RunState,
)
from pipeline_service.server.storage.run_changes import Before, RunChange, RunChanges
from pipeline_service.server.wakeup import Wakeup
from pipeline_service.wire import LogRecord

logger = logging.getLogger("pipeline_service.server")

MAX_QUEUED_LOG_BYTES = 1024 * 1024
MAX_QUEUED_RUN_CHANGES = 1000
RUN_CHANGES_READ = 500  # changes the runs feed reads at a time
MAX_LAST_SEEN = 100_000  # runs whose last state the runs feed remembers
ReadRunChanges = Callable[[int, int], Awaitable[RunChanges]]
ReadHead = Callable[[], Awaitable[int]]
_RECORD_OVERHEAD = 256  # the fields of a record other than its message, roughly


def record_size(record: LogRecord) -> int:
    """About how many bytes a log record holds."""
    return len(record["message"]) + _RECORD_OVERHEAD


class _Waitable:
    """What a stream's subscription shares with the others: it is closed (the hub closes) or
    waited on until something arrives."""

    __slots__ = ("_wakeup", "closed")

    def __init__(self) -> None:
        self._wakeup = Wakeup()
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    async def wait(self) -> None:
        """Until something arrives."""
        await self._wakeup.wait()
        self._wakeup.clear()


class Subscription(_Waitable):
    """What one stream has not consumed yet for one run (slotted, its record queue made on the
    first records: 10,000 idle streams hold 10,000 of these)."""

    __slots__ = (
        "deleted",
        "hub",
        "records",
        "records_bytes",
        "records_dropped",
        "run_id",
        "state",
    )

    def __init__(self, hub: EventHub, run_id: str) -> None:
        super().__init__()
        self.hub = hub
        self.run_id = run_id
        self.state: RunState | None = None
        self.records: deque[LogRecord] | None = None
        self.records_bytes = 0
        self.records_dropped = False
        self.deleted = False

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


class RunsSubscription(_Waitable):
    """What one runs stream has not consumed yet: the changes its feed read (`changes`), or
    `dropped` — read storage by your cursor (at first, and after falling behind)."""

    def __init__(self, hub: EventHub) -> None:
        super().__init__()
        self.hub = hub
        self.changes: deque[RunChange] = deque()
        self.dropped = True

    def changed(self, changes: list[RunChange]) -> None:
        if not self.dropped:
            if len(self.changes) + len(changes) > MAX_QUEUED_RUN_CHANGES:
                self.changes.clear()
                self.dropped = True
            else:
                self.changes.extend(changes)
        self._wakeup.set()

    def take(self) -> list[RunChange]:
        changes = list(self.changes)
        self.changes.clear()
        return changes

    def __enter__(self) -> RunsSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.hub.unsubscribe_runs(self)


class LastSeen:
    """The runs feed's memory: the version, status and labels of the newest summary it handed
    on for each run (the MAX_LAST_SEEN most recently changed runs). It sets each change's
    `before` when it knows the state just before (the previous version); otherwise `before`
    stays None (unknown: the feed had not seen the run, or missed versions of it)."""

    def __init__(self, limit: int = MAX_LAST_SEEN) -> None:
        self.limit = limit
        self._runs: OrderedDict[str, tuple[int, Before]] = OrderedDict()

    def note(self, change: RunChange) -> None:
        if change.summary is None:
            assert change.removed is not None
            known = self._runs.pop(change.removed["id"], None)
            change.before = known[1] if known is not None else None
            return
        run_id, version = change.summary["id"], change.summary["version"]
        known = self._runs.pop(run_id, None)
        if known is not None and known[0] == version - 1:
            change.before = known[1]
        self._runs[run_id] = (version, Before(change.status, change.labels))
        if len(self._runs) > self.limit:
            self._runs.popitem(last=False)

    def __len__(self) -> int:
        return len(self._runs)


class EventHub:
    """Fans committed changes out to the subscribers of each run (event-loop thread only)."""

    def __init__(self, read_run_changes: ReadRunChanges, read_head: ReadHead) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._runs_subscribers: set[RunsSubscription] = set()
        # The runs feed: how it reads storage, its task while someone streams the runs list.
        self.read_run_changes = read_run_changes
        self.read_head = read_head
        self._feed: asyncio.Task[None] | None = None
        self._feed_wakeup = asyncio.Event()
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

    def subscribe_runs(self) -> RunsSubscription:
        """A subscription to the changes of every run (it starts `dropped`)."""
        subscription = RunsSubscription(self)
        if self.closed:
            subscription.close()
            return subscription
        self._runs_subscribers.add(subscription)
        if self._feed is None or self._feed.done():
            self._feed = asyncio.get_running_loop().create_task(self._run_feed())
        return subscription

    def unsubscribe_runs(self, subscription: RunsSubscription) -> None:
        self._runs_subscribers.discard(subscription)
        if not self._runs_subscribers and self._feed is not None:
            self._feed.cancel()
            self._feed = None

    async def _run_feed(self) -> None:
        """While someone streams the runs list: after each burst of changes, read the change
        sequence once and hand what changed to every runs subscriber."""
        cursor: int | None = None
        last_seen = LastSeen()
        while True:
            try:
                if cursor is None:
                    cursor = await self.read_head()
                    last_seen = LastSeen()  # changes may have been skipped: know nothing
                    # Whatever came before this feed knew where it stands: read it from storage.
                    for subscription in self._runs_subscribers:
                        subscription.dropped = True
                        subscription.changed([])
                    self._feed_wakeup.clear()
                await self._feed_wakeup.wait()
                self._feed_wakeup.clear()
                while True:
                    page = await self.read_run_changes(cursor, RUN_CHANGES_READ)
                    if page.changes:
                        cursor = page.changes[-1].seq
                        for change in page.changes:
                            last_seen.note(change)
                        for subscription in self._runs_subscribers:
                            subscription.changed(page.changes)
                    if not page.more:
                        break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # storage unusable for now: start over once it is back
                logger.warning("the runs feed could not read changes (%r); retrying", exc)
                cursor = None
                await asyncio.sleep(0.5)

    def watched_runs(self) -> list[str]:
        """The runs someone subscribes to (ALL_RUNS while someone streams the runs list)."""
        watched = list(self._subscribers)
        if self._runs_subscribers:
            watched.append(ALL_RUNS)
        return watched

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
        if not isinstance(change, LogsAppended) and self._runs_subscribers:
            self._feed_wakeup.set()

    def close(self) -> None:
        """Shutdown: every open stream ends."""
        self.closed = True
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.close()
        for runs_subscription in self._runs_subscribers:
            runs_subscription.close()
        if self._feed is not None:
            self._feed.cancel()
