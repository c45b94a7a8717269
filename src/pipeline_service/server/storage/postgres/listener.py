"""The PostgreSQL change feed: LISTEN/NOTIFY, so that every replica's subscribers see each commit.

A trigger announces every committed change of a run on channel `pipeline_service` in a few bytes
(`schema.py`). One connection outside the pool listens; each replica reads a change once,
whatever its number of subscribers (and not at all when it has none), and hands it to the change
listener in commit order. What this replica committed itself is kept for a while (`keep_fresh`),
so its own changes need no read. When the listening connection drops, the replica reconnects and
re-reads every run it has subscribers for; a slow poll covers what a silent drop could lose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

import psycopg

from pipeline_service.server.storage import documents, logs
from pipeline_service.server.storage.changes import (
    ALL_RUNS,
    Change,
    ChangeListener,
    LogsAppended,
    Reported,
    RunChanged,
    RunDeleted,
    RunsChanged,
    RunState,
    WatchedRuns,
)
from pipeline_service.server.storage.plans import Plan, PlanFactory, Query, first
from pipeline_service.server.storage.postgres.schema import CHANNEL
from pipeline_service.wire import LogRecord

T = TypeVar("T")


class Reader(Protocol):
    """How the feed reads: a plan on one of the store's read connections."""

    def __call__(self, plan: PlanFactory[T], /) -> Awaitable[T]: ...


logger = logging.getLogger("pipeline_service.server.postgres")

LISTENER_APPLICATION_NAME = "pipeline-service listener"
CONNECT_TIMEOUT_SECONDS = 30.0
HEALTH_TIMEOUT_SECONDS = 5.0
FALLBACK_POLL_SECONDS = 5.0
RECONNECT_MAX_DELAY_SECONDS = 2.0
# Log records a replica reads at once for its subscribers; past that, each subscriber reads
# them from storage by its cursor, page by page (nothing big is held in memory at once).
MAX_FORWARDED_LOG_RECORDS = 1000
# Documents of committed changes kept for the listener (the replica that wrote them needs no
# read); more than this many, or of this many bytes, pending means the listener is behind or
# down: start over (the listener reads what it misses).
MAX_FRESH = 1024
MAX_FRESH_BYTES = 8 * 1024 * 1024
# What a log record holds besides its message, roughly (for MAX_FRESH_BYTES).
_RECORD_OVERHEAD = 256

_RESYNC = "resync"

FreshKey = tuple[str, str, int]


def _state(run_id: str) -> Plan[RunState | None]:
    row = first((yield Query("SELECT doc, version FROM runs WHERE id=:id", {"id": run_id})))
    return None if row is None else documents.run_state(row)


def _cursors(run_ids: list[str]) -> Plan[dict[str, tuple[int, int]]]:
    rows = yield Query(
        "SELECT id, version, log_seq FROM runs WHERE id = ANY(:ids)", {"ids": run_ids}
    )
    return {row["id"]: (row["version"], row["log_seq"]) for row in rows}


class ChangeFeed:
    """Listens for the announcements of every replica's commits and forwards the changes of
    the watched runs to the listener."""

    def __init__(
        self, dsn: str, listener: ChangeListener, watched: WatchedRuns, read: Reader
    ) -> None:
        self.dsn = dsn
        self._listener = listener
        self._watched = watched
        self._read = read
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.listening = asyncio.Event()
        self.listen_error = "not started"
        self._reported = Reported()
        self._fresh: dict[FreshKey, tuple[Any, int]] = {}  # (value, its size in bytes)
        self._fresh_bytes = 0
        self._watched_now: set[str] = set()

    def keep_fresh(self, committed: list[Change]) -> None:
        """Remember what this replica committed to a streamed run, so the listener need not
        read it back; not what the listener already handled (its notification came first)."""
        for change in committed:
            if isinstance(change, RunChanged):
                key: FreshKey = ("r", change.state.run["id"], change.state.version)
                value: Any = change.state
            elif isinstance(change, LogsAppended) and change.records:
                key, value = ("l", change.run_id, change.records[0]["seq"]), change.records
            else:
                continue  # deletions are announced by the trigger, and need no read
            kind, run_id, number = key
            if run_id not in self._watched_now:
                continue
            version, seq = self._reported.get(run_id)
            if number <= (version if kind == "r" else (seq if seq is not None else 0)):
                continue
            if kind == "l" and len(value) > MAX_FORWARDED_LOG_RECORDS:
                continue
            size = (
                sum(len(record["message"]) + _RECORD_OVERHEAD for record in value)
                if kind == "l"
                else len(documents.encode(value.run))
            )
            if size > MAX_FRESH_BYTES:
                continue  # the listener reads it
            if len(self._fresh) >= MAX_FRESH or self._fresh_bytes + size > MAX_FRESH_BYTES:
                self._clear_fresh()  # the listener is behind or down: start over
            self._fresh[key] = (value, size)
            self._fresh_bytes += size

    def _clear_fresh(self) -> None:
        self._fresh.clear()
        self._fresh_bytes = 0

    def _take_fresh(self, key: FreshKey) -> Any:
        """The value kept under key (None: not kept), no longer kept."""
        kept = self._fresh.pop(key, None)
        if kept is None:
            return None
        self._fresh_bytes -= kept[1]
        return kept[0]

    async def listen(self) -> None:
        """Keep one connection LISTENing; queue each notification, and a resync per connect."""
        delay = 0.05
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn,
                    autocommit=True,
                    connect_timeout=int(CONNECT_TIMEOUT_SECONDS),
                    application_name=LISTENER_APPLICATION_NAME,
                    # A connection cut without a word (a network black hole) is noticed too.
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                )
            except (psycopg.Error, OSError) as exc:
                self._lost(exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, RECONNECT_MAX_DELAY_SECONDS)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Whatever was announced while not listening is lost: re-read.
                    self._queue.put_nowait(_RESYNC)
                    self.listening.set()
                    delay = 0.05
                    while True:
                        async for notify in conn.notifies(timeout=FALLBACK_POLL_SECONDS):
                            self._queue.put_nowait(notify.payload)
                        # Quiet for a while: check the connection, and poll as a fallback.
                        await asyncio.wait_for(conn.execute("SELECT 1"), HEALTH_TIMEOUT_SECONDS)
                        self._queue.put_nowait(_RESYNC)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                # LISTEN itself can fail (a standby after a fail-over): back off as well.
                self._lost(exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, RECONNECT_MAX_DELAY_SECONDS)

    def _lost(self, exc: BaseException) -> None:
        if self.listening.is_set():
            logger.warning("PostgreSQL change listener lost (%s); reconnecting", exc)
        self.listening.clear()
        self.listen_error = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"

    async def forward(self) -> None:
        """Turn queued notifications into changes for the listener, in commit order."""
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._forward_batch(batch)
            except Exception as exc:
                # The database is unreachable (or a change could not be read): once it is back,
                # every watched run is re-read and every log subscriber re-reads storage (what
                # was noted may not have been sent).
                logger.warning("could not forward changes (%r); re-reading", exc)
                self._reported.clear()
                await asyncio.sleep(0.5)
                self._queue.put_nowait(_RESYNC)

    async def _forward_batch(self, batch: list[str]) -> None:
        watched = self._watched_now = set(self._watched())
        # Someone streams the runs list: its feed reads the change sequence after any change.
        runs_changed = ALL_RUNS in watched and any(p[:2] in ("r ", "d ") for p in batch)
        if ALL_RUNS in watched:
            watched.discard(ALL_RUNS)
            runs_changed = runs_changed or _RESYNC in batch
        self._reported.keep_only(watched)
        if _RESYNC in batch:
            self._clear_fresh()
            await self._resync(watched)
            if runs_changed:
                self._listener(RunsChanged())
            return
        versions: dict[str, int] = {}
        states: dict[str, RunState | None] = {}
        appended: dict[str, tuple[int, int, list[LogRecord] | None]] = {}
        deleted: list[str] = []
        for payload in batch:
            kind, run_id, *numbers = payload.split(" ")
            if kind == "d":
                deleted.append(run_id)
            elif kind == "r":
                version = int(numbers[0])
                state = self._take_fresh(("r", run_id, version))
                if version > versions.get(run_id, 0):
                    versions[run_id] = version
                    states[run_id] = state
            elif kind == "l":
                first_seq, last_seq = int(numbers[0]), int(numbers[1])
                records = self._take_fresh(("l", run_id, first_seq))
                if run_id not in appended:
                    appended[run_id] = (first_seq, last_seq, records)
                else:
                    start, _, known = appended[run_id]
                    joined = None if known is None or records is None else known + records
                    appended[run_id] = (start, last_seq, joined)
        emit: list[Change] = []
        for run_id, (first_seq, last_seq, records) in appended.items():
            if run_id in watched:
                await self._forward_logs(run_id, first_seq, last_seq, records, emit)
        for run_id, version in versions.items():
            if run_id in watched and version > self._reported.get(run_id)[0]:
                state = states[run_id] or await self.read_state(run_id)
                self._emit_state(run_id, state, emit)
        for run_id in deleted:
            if run_id in watched:
                emit.append(RunDeleted(run_id))
                self._reported.forget(run_id)
        if runs_changed:
            emit.append(RunsChanged())
        for change in emit:
            self._listener(change)

    async def read_state(self, run_id: str) -> RunState | None:
        """The run's committed state (None: deleted)."""
        return await self._read(lambda tx: _state(run_id))

    def _emit_state(self, run_id: str, state: RunState | None, emit: list[Change]) -> None:
        if state is None:
            emit.append(RunDeleted(run_id))
            self._reported.forget(run_id)
        else:
            emit.append(RunChanged(state))
            self._reported.note(run_id, version=state.version)

    async def _forward_logs(
        self,
        run_id: str,
        first_seq: int,
        last_seq: int,
        records: list[LogRecord] | None,
        emit: list[Change],
    ) -> None:
        """Records first_seq..last_seq of run_id, gap-free after the last ones reported."""
        known = self._reported.get(run_id)[1]
        start = first_seq if known is None else known + 1
        if last_seq < start:
            return
        if records is not None and start == first_seq and len(records) == last_seq - start + 1:
            emit.append(LogsAppended(run_id, records))
        elif last_seq - start >= MAX_FORWARDED_LOG_RECORDS:
            emit.append(LogsAppended(run_id, [], resync=True))
        else:
            read = await self._read(lambda tx: logs.read_range(run_id, start, last_seq))
            emit.append(LogsAppended(run_id, read))
        self._reported.note(run_id, seq=last_seq)

    async def _resync(self, watched: set[str]) -> None:
        """Re-read every watched run: after (re)connecting, and as the slow fallback poll."""
        if not watched:
            return
        cursors = await self._read(lambda tx: _cursors(list(watched)))
        emit: list[Change] = []
        for run_id in watched:
            if run_id not in cursors:  # it existed when subscribed to: deleted since
                emit.append(RunDeleted(run_id))
                self._reported.forget(run_id)
                continue
            version, log_seq = cursors[run_id]
            known_version, known_seq = self._reported.get(run_id)
            if version > known_version:
                state = await self.read_state(run_id)
                self._emit_state(run_id, state, emit)
                if state is None:
                    continue
            if known_seq is None:
                emit.append(LogsAppended(run_id, [], resync=True))
                self._reported.note(run_id, seq=log_seq)
            elif log_seq > known_seq:
                await self._forward_logs(run_id, known_seq + 1, log_seq, None, emit)
        for change in emit:
            self._listener(change)
