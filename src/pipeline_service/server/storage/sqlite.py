"""SQLite storage: one file, WAL, synchronous=FULL, one writer thread and a pool of readers.

Every write runs on the writer thread inside a `BEGIN IMMEDIATE` transaction, so a
read-modify-write (progress reports, claims) can never lose an update, and its future
resolves (so the client gets its 2xx) only once the COMMIT is on disk. Writes that queue up
together share one transaction and one fsync (group commit), each in its own savepoint.
Reads run on their own threads, one connection each; the event loop never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from pipeline_service.server import metric_history, rules
from pipeline_service.server.errors import (
    Conflict,
    NotFound,
    StorageUnavailable,
    Unprocessable,
)
from pipeline_service.server.models import (
    CheckpointCreate,
    LogEntry,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service.server.storage.base import (
    Change,
    ChangeListener,
    Idempotency,
    LogQuery,
    LogsAppended,
    Page,
    RunChanged,
    RunDeleted,
    RunState,
    Storage,
    WatchedRuns,
    bytes_bounded,
    cut_page,
    lease_lost,
)
from pipeline_service.server.storage.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from pipeline_service.server.timestamps import format_timestamp, now_text
from pipeline_service.wire import (
    Checkpoint,
    Lease,
    LogRecord,
    Pipeline,
    Run,
    RunClaim,
    RunMetrics,
)

T = TypeVar("T")

logger = logging.getLogger("pipeline_service.server")

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
EXTERNAL_CHANGES_INTERVAL = 0.1
HEALTH_WRITE_TIMEOUT = 5.0
HEALTH_FRESH = 1.0
FOREIGN_LOGS_READ_AT_ONCE = 100
MAX_SQL_INT = 2**62

_RUN_COLUMNS = (
    "id, pipeline_id, status, params, current_action, current_action_index, progress, result, "
    "error, work_dir, started_at, completed_at, created_at, version"
)
_CHECKPOINT_COLUMNS = (
    "id, run_id, action_name, action_index, status, params_snapshot, result, artifacts_path, "
    "created_at"
)
_LOG_COLUMNS = "id, run_id, seq, action_name, level, message, timestamp"

# The stored size of each kind of row (for bytes_bounded pages): its free-form columns' bytes
# and a round figure for the rest.
_PIPELINE_BYTES = (
    "length(CAST(actions AS BLOB)) + IFNULL(length(CAST(description AS BLOB)), 0) + 200"
)
_RUN_BYTES = (
    "length(CAST(progress AS BLOB)) + IFNULL(length(CAST(params AS BLOB)), 0) "
    "+ IFNULL(length(CAST(result AS BLOB)), 0) + IFNULL(length(CAST(error AS BLOB)), 0) "
    "+ IFNULL(length(CAST(work_dir AS BLOB)), 0) + 300"
)
_CHECKPOINT_BYTES = (
    "IFNULL(length(CAST(params_snapshot AS BLOB)), 0) + IFNULL(length(CAST(result AS BLOB)), 0) "
    "+ IFNULL(length(CAST(artifacts_path AS BLOB)), 0) + 250"
)
_LOG_BYTES = "length(CAST(message AS BLOB)) + 200"


def _dumps(value: Any) -> str:
    """Compact JSON; a non-finite number is never stored (it could not be served back)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise Unprocessable(f"non-finite numbers (NaN, Infinity) cannot be stored: {exc}") from exc


def _dumps_opt(value: Any) -> str | None:
    return None if value is None else _dumps(value)


def _loads(text: str) -> Any:
    """Stored JSON; a NaN/Infinity an older release let in reads as null, so such a row can
    still be served (JSON has no non-finite numbers)."""
    return json.loads(text, parse_constant=lambda name: None)


def _loads_opt(text: str | None) -> Any:
    return None if text is None else _loads(text)


def _run_state(row: sqlite3.Row | tuple[Any, ...]) -> RunState:
    run: Run = {
        "id": row[0],
        "pipeline_id": row[1],
        "status": row[2],
        "params": _loads_opt(row[3]),
        "current_action": row[4],
        "current_action_index": row[5],
        "progress": _loads(row[6]),
        "result": _loads_opt(row[7]),
        "error": row[8],
        "work_dir": row[9],
        "started_at": row[10],
        "completed_at": row[11],
        "created_at": row[12],
    }
    return RunState(run, row[13])


def _pipeline(row: tuple[Any, ...]) -> Pipeline:
    return {
        "id": row[0],
        "name": row[1],
        "description": row[2],
        "actions": json.loads(row[3]),
        "created_at": row[4],
        "updated_at": row[5],
    }


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    return {
        "id": row[0],
        "run_id": row[1],
        "action_name": row[2],
        "action_index": row[3],
        "status": row[4],
        "params_snapshot": _loads_opt(row[5]),
        "result": _loads_opt(row[6]),
        "artifacts_path": row[7],
        "created_at": row[8],
    }


def _log(row: tuple[Any, ...]) -> LogRecord:
    return {
        "id": row[0],
        "run_id": row[1],
        "seq": row[2],
        "action_name": row[3],
        "level": row[4],
        "message": row[5],
        "timestamp": row[6],
    }


def _epoch_text(epoch: float) -> str:
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))


# Primary SQLite result codes that mean the database cannot be used right now (as opposed to a
# bug in a statement, which is a 500): busy/locked, out of memory, read-only, I/O error,
# corrupt, disk full, cannot open, locking protocol, not a database, permission denied.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26, 3})


def _is_unavailable(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself: a closed database is unusable
        return isinstance(exc, sqlite3.OperationalError) or "closed" in str(exc)
    return (code & 0xFF) in _UNAVAILABLE_CODES


@contextlib.contextmanager
def _unavailable_on_database_errors() -> Iterator[None]:
    """A database that cannot be used (locked, read-only, disk full, corrupt) is a 503;
    any other database error is a bug and stays what it is (a 500)."""
    try:
        yield
    except sqlite3.Error as exc:
        if not _is_unavailable(exc):
            raise
        raise StorageUnavailable(f"database is unusable: {exc}") from exc


class _Tx:
    """One write transaction: its connection, its time, and the changes it commits."""

    __slots__ = ("changes", "conn", "epoch", "now")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.now = now_text()
        self.epoch = time.time()
        self.changes: list[Change] = []


class _Job:
    __slots__ = ("args", "fn", "future", "raw")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], raw: bool) -> None:
        self.fn = fn
        self.args = args
        self.raw = raw
        self.future: Future[Any] = Future()

    def start(self) -> bool:
        """Claim the job for running; False when its waiter gave up (cancelled): skip it."""
        return self.future.set_running_or_notify_cancel()

    def answer(self, result: Any = None, error: BaseException | None = None) -> None:
        """Resolve the waiter; never raises, whatever the waiter did meanwhile."""
        try:
            if error is None:
                self.future.set_result(result)
            else:
                self.future.set_exception(error)
        except Exception:  # already resolved (InvalidStateError): nothing is waiting
            logger.debug("a write's waiter was already answered", exc_info=True)


class _GroupCommitWriter:
    """The one thread that writes. Writes that wait together share one transaction, each in its
    own savepoint (a failing write rolls back alone), and so share one fsync: group commit.
    A write's future resolves only after its COMMIT, and its changes are reported in order.

    Nothing a caller does can stop it: a write whose waiter was cancelled before it ran is
    skipped, each waiter is answered on its own, a batch that fails (COMMIT or even ROLLBACK
    raising) fails its writes and drops the connection (the next batch opens a new one), and
    a thread that died anyway is replaced at the next write. At most `max_queued` writes wait;
    beyond that a write is refused at once with a 503 and `Retry-After`.
    """

    MAX_BATCH = 128
    MAX_QUEUED = 10_000

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        discard: Callable[[], None],
        report: Callable[[list[Change]], None],
        *,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._connect = connect
        self._discard = discard
        self._report = report
        self._queue: queue.Queue[_Job | None] = queue.Queue(max_queued)
        self._lock = threading.Lock()
        self._stopping = False
        # When the last batch committed (monotonic), None after a batch failed.
        self.last_commit: float | None = None
        self._thread = self._start_thread()

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        thread.start()
        return thread

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], *, raw: bool = False
    ) -> Future[Any]:
        """Run fn(tx, *args) in a write transaction (raw: fn(connection, *args), alone)."""
        job = _Job(fn, args, raw)
        with self._lock:
            if self._stopping:
                raise StorageUnavailable("storage is closed")
            if not self._thread.is_alive():
                logger.error("the database writer had stopped; starting a new one")
                self._thread = self._start_thread()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise StorageUnavailable(
                "the database is overloaded: too many writes are waiting; retry shortly",
                headers={"Retry-After": "1"},
            ) from None
        return job.future

    def stop(self) -> None:
        """Finish the queued writes, then end the thread (blocks)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._queue.put(None)
        thread.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if self._serve(job):
                    return
            except BaseException:  # a bug of the writer itself: log it, keep writing
                logger.exception("the database writer failed; it carries on")

    def _serve(self, job: _Job) -> bool:
        """Run job, and the writes queued behind it; True when told to stop."""
        if job.raw:
            self._run_raw(job)
            return False
        batch, stopping = [job], False
        while len(batch) < self.MAX_BATCH:
            try:
                queued = self._queue.get_nowait()
            except queue.Empty:
                break
            if queued is None:
                stopping = True
                break
            if queued.raw:
                self._commit(batch)
                batch = []
                self._run_raw(queued)
                continue
            batch.append(queued)
        if batch:
            self._commit(batch)
        return stopping

    def _run_raw(self, job: _Job) -> None:
        if not job.start():
            return
        try:
            with _unavailable_on_database_errors():
                result = job.fn(self._connect(), *job.args)
        except BaseException as exc:
            job.answer(error=exc)
        else:
            job.answer(result)

    def _commit(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if job.start()]
        if not batch:
            return
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        changes: list[Change] = []
        try:
            with _unavailable_on_database_errors():
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for job in batch:
                        tx = _Tx(conn)
                        conn.execute("SAVEPOINT job")
                        try:
                            with _unavailable_on_database_errors():
                                result = job.fn(tx, *job.args)
                        except Exception as exc:
                            conn.execute("ROLLBACK TO job")
                            conn.execute("RELEASE job")
                            outcomes.append((job, None, exc))
                        else:
                            conn.execute("RELEASE job")
                            outcomes.append((job, result, None))
                            changes.extend(tx.changes)
                    conn.execute("COMMIT")
                except BaseException:
                    self._roll_back(conn)
                    raise
        except BaseException as exc:  # nothing of the batch was committed
            self.last_commit = None
            for job in batch:
                job.answer(error=exc)
            return
        self.last_commit = time.monotonic()
        try:
            self._report(changes)
        finally:
            for job, result, error in outcomes:
                job.answer(result, error)

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        """Undo a failed batch; a connection that cannot even roll back is dropped."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except Exception:
            logger.exception("ROLLBACK failed; reopening the database connection")
            self._discard()


class SQLiteStorage(Storage):
    """Storage in one SQLite file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readers: int = 4,
        max_queued_writes: int = _GroupCommitWriter.MAX_QUEUED,
        max_metric_points: int = metric_history.MAX_POINTS,
    ) -> None:
        if max_metric_points < 2:
            raise ValueError("max_metric_points must be at least 2 (the first and the newest)")
        self.path = Path(path)
        self.max_metric_points = max_metric_points
        self._readers_count = readers
        self._max_queued_writes = max_queued_writes
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer: _GroupCommitWriter | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: ChangeListener = lambda change: None
        self._watched: WatchedRuns = frozenset
        # Versions and log positions of watched runs the listener was told about (writer thread).
        self._reported: dict[str, tuple[int, int | None]] = {}
        self._watched_now: frozenset[str] = frozenset()
        self._data_version = 0
        self._watcher: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------------------

    async def start(self, listener: ChangeListener, watched: WatchedRuns = frozenset) -> None:
        self._loop = asyncio.get_running_loop()
        self._listener = listener
        self._watched = watched
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _GroupCommitWriter(
            self._connect, self._disconnect, self._report, max_queued=self._max_queued_writes
        )
        self._readers = ThreadPoolExecutor(self._readers_count, thread_name_prefix="sqlite-reader")
        await asyncio.wrap_future(self._writer.submit(self._migrate, (), raw=True))
        self._watcher = self._loop.create_task(self._watch_other_processes())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        writer, readers = self._writer, self._readers
        self._writer, self._readers = None, None
        loop = asyncio.get_running_loop()
        if writer is not None:
            await loop.run_in_executor(None, writer.stop)
        if readers is not None:
            await loop.run_in_executor(None, readers.shutdown)
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _disconnect(self) -> None:
        """Close and forget this thread's connection (the next use opens a new one)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is None:
            return
        with self._connections_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {version}, newer than this release "
                    f"understands ({SCHEMA_VERSION}); upgrade pipeline-service"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        if self._writer is None:
            raise StorageUnavailable("storage is closed")
        result: T = await asyncio.wrap_future(self._writer.submit(fn, args))
        return result

    def _report(self, changes: list[Change]) -> None:
        """Hand committed changes to the listener, in order (writer thread)."""
        for change in changes:
            self._remember_reported(change)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._listener, change)

    def _remember_reported(self, change: Change) -> None:
        run_id = change.state.run["id"] if isinstance(change, RunChanged) else change.run_id
        if run_id not in self._watched_now:
            return
        version, seq = self._reported.get(run_id, (0, None))
        if isinstance(change, RunChanged):
            self._reported[run_id] = (change.state.version, seq)
        elif isinstance(change, LogsAppended) and change.records:
            self._reported[run_id] = (version, change.records[-1]["seq"])
        elif isinstance(change, RunDeleted):
            self._reported.pop(run_id, None)

    async def _watch_other_processes(self) -> None:
        """Report commits of other processes (e.g. `serve --workers`) on the watched runs.

        `PRAGMA data_version` on the writer's connection changes only when another connection
        commits, so this costs one cheap check per interval, and one read of the watched runs
        per foreign commit, never a read per subscriber.
        """
        while True:
            await asyncio.sleep(EXTERNAL_CHANGES_INTERVAL)
            watched = list(self._watched())
            self._watched_now = frozenset(watched)
            if not watched or self._writer is None or self._loop is None:
                continue
            try:
                await self._write(self._foreign_changes, watched)
            except (sqlite3.Error, StorageUnavailable, RuntimeError):
                continue  # the store is closing or unusable; /health says so

    def _foreign_changes(self, tx: _Tx, watched: list[str]) -> None:
        conn = tx.conn
        data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        if data_version == self._data_version:
            return
        self._data_version = data_version
        changes = tx.changes
        for run_id in watched:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS}, log_seq FROM runs WHERE id=?", (run_id,)
            ).fetchone()
            if row is None:  # watched runs existed when subscribed to: this one was deleted
                changes.append(RunDeleted(run_id))
                continue
            state, log_seq = _run_state(row), row[-1]
            version, reported_seq = self._reported.get(run_id, (0, None))
            if state.version > version:
                changes.append(RunChanged(state))
            if reported_seq is None or log_seq - reported_seq > FOREIGN_LOGS_READ_AT_ONCE:
                # Unknown, or too many to hold: subscribers read them from storage themselves.
                changes.append(LogsAppended(run_id, [], resync=True))
            elif log_seq > reported_seq:
                rows = conn.execute(
                    f"SELECT {_LOG_COLUMNS} FROM logs WHERE run_id=? AND seq>? ORDER BY seq",
                    (run_id, reported_seq),
                )
                changes.append(LogsAppended(run_id, [_log(r) for r in rows]))
            self._reported[run_id] = (max(version, state.version), log_seq)
        for run_id in set(self._reported) - set(watched):
            del self._reported[run_id]

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._readers is None or self._loop is None:
            raise StorageUnavailable("storage is closed")
        return await self._loop.run_in_executor(self._readers, self._reading, fn, args)

    def _reading(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with _unavailable_on_database_errors():
            return fn(self._connect(), *args)

    def describe(self) -> dict[str, str]:
        return {"database": "sqlite"}

    async def check(self) -> None:
        """A real write through the writer (fails when the disk is full, the file read-only,
        the writer stuck or stopped), unless one committed within the last HEALTH_FRESH
        seconds and none failed since: health checks under load cost no extra fsync."""
        if not self.path.exists():
            raise StorageUnavailable(f"database file {self.path} is missing")
        writer = self._writer
        last = None if writer is None else writer.last_commit
        if last is not None and time.monotonic() - last < HEALTH_FRESH:
            return
        try:
            await asyncio.wait_for(self._write(self._touch_heartbeat), HEALTH_WRITE_TIMEOUT)
        except TimeoutError:
            raise StorageUnavailable(
                f"the database did not take a write within {HEALTH_WRITE_TIMEOUT:.0f} s"
            ) from None
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"database is unusable: {exc}") from exc

    @staticmethod
    def _touch_heartbeat(tx: _Tx) -> None:
        tx.conn.execute("UPDATE heartbeat SET checked=? WHERE id=1", (tx.epoch,))

    # idempotency -----------------------------------------------------------------------------

    @staticmethod
    def _replayed(tx: _Tx, idem: Idempotency | None) -> Any:
        if idem is None:
            return None
        row = tx.conn.execute(
            "SELECT fingerprint, response FROM idempotency WHERE scope=? AND key=? AND created>?",
            (idem.scope, idem.key, tx.epoch - IDEMPOTENCY_TTL_SECONDS),
        ).fetchone()
        if row is None:
            return None
        if row[0] != idem.fingerprint:
            raise Conflict(
                f"Idempotency-Key {idem.key!r} was already used with a different request body"
            )
        return _loads(row[1])

    @staticmethod
    def _remember(tx: _Tx, idem: Idempotency | None, response: Any, resource: str) -> None:
        """Store the response for replays; resource: the pipeline or run whose deletion
        forgets the key (a replay must not answer with something that no longer exists)."""
        if idem is None:
            return
        tx.conn.execute(
            "DELETE FROM idempotency WHERE created<=?", (tx.epoch - IDEMPOTENCY_TTL_SECONDS,)
        )
        tx.conn.execute(
            "INSERT OR REPLACE INTO idempotency "
            "(scope, key, fingerprint, response, created, resource) VALUES (?, ?, ?, ?, ?, ?)",
            (idem.scope, idem.key, idem.fingerprint, _dumps(response), tx.epoch, resource),
        )

    # pipelines -------------------------------------------------------------------------------

    async def create_pipeline(self, body: PipelineCreate, idem: Idempotency | None) -> Pipeline:
        return await self._write(self._create_pipeline, body, idem)

    def _create_pipeline(self, tx: _Tx, body: PipelineCreate, idem: Idempotency | None) -> Pipeline:
        replay = self._replayed(tx, idem)
        if replay is not None:
            return cast(Pipeline, replay)
        pipeline = rules.new_pipeline(body, tx.now)
        tx.conn.execute(
            "INSERT INTO pipelines (id, name, description, actions, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                pipeline["id"],
                body.name,
                body.description,
                _dumps(pipeline["actions"]),
                tx.now,
                tx.now,
            ),
        )
        self._remember(tx, idem, pipeline, str(pipeline["id"]))
        return pipeline

    async def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self._read(self._get_pipeline, pipeline_id)

    @staticmethod
    def _get_pipeline(conn: sqlite3.Connection, pipeline_id: str) -> Pipeline:
        row = conn.execute(
            "SELECT id, name, description, actions, created_at, updated_at FROM pipelines "
            "WHERE id=?",
            (pipeline_id,),
        ).fetchone()
        if row is None:
            raise NotFound("Pipeline not found")
        return _pipeline(row)

    async def list_pipelines(self, skip: int, limit: int) -> Page[Pipeline]:
        def read(conn: sqlite3.Connection) -> Page[Pipeline]:
            keys = (
                f"SELECT pk AS page_key, {_PIPELINE_BYTES} AS page_bytes FROM pipelines "
                "ORDER BY pk DESC LIMIT ? OFFSET ?"
            )
            rows = conn.execute(
                "SELECT id, name, description, actions, created_at, updated_at, page_rows "
                f"FROM pipelines JOIN ({bytes_bounded(keys, 'page_key DESC')}) AS cut "
                "ON pipelines.pk = cut.page_key ORDER BY pipelines.pk DESC",
                (limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows.fetchall(), _pipeline)

        return await self._read(read)

    async def update_pipeline(self, pipeline_id: str, body: PipelineUpdate) -> Pipeline:
        return await self._write(self._update_pipeline, pipeline_id, body)

    def _update_pipeline(self, tx: _Tx, pipeline_id: str, body: PipelineUpdate) -> Pipeline:
        pipeline = self._get_pipeline(tx.conn, pipeline_id)
        rules.update_pipeline(pipeline, body, tx.now)
        tx.conn.execute(
            "UPDATE pipelines SET name=?, description=?, actions=?, updated_at=? WHERE id=?",
            (
                pipeline["name"],
                pipeline["description"],
                _dumps(pipeline["actions"]),
                tx.now,
                pipeline_id,
            ),
        )
        return pipeline

    async def delete_pipeline(self, pipeline_id: str) -> None:
        await self._write(self._delete_pipeline, pipeline_id)

    @staticmethod
    def _delete_pipeline(tx: _Tx, pipeline_id: str) -> None:
        run_ids = [
            row[0]
            for row in tx.conn.execute("SELECT id FROM runs WHERE pipeline_id=?", (pipeline_id,))
        ]
        if tx.conn.execute("DELETE FROM pipelines WHERE id=?", (pipeline_id,)).rowcount == 0:
            raise NotFound("Pipeline not found")
        tx.conn.executemany(
            "DELETE FROM idempotency WHERE resource=?", [(i,) for i in (pipeline_id, *run_ids)]
        )
        tx.changes.extend(RunDeleted(run_id) for run_id in run_ids)

    # runs ------------------------------------------------------------------------------------

    async def create_run(self, pipeline_id: str, body: RunCreate, idem: Idempotency | None) -> Run:
        return await self._write(self._create_run, pipeline_id, body, idem)

    def _create_run(
        self, tx: _Tx, pipeline_id: str, body: RunCreate, idem: Idempotency | None
    ) -> Run:
        replay = self._replayed(tx, idem)
        if replay is not None:
            return cast(Run, replay)
        pipeline = self._get_pipeline(tx.conn, pipeline_id)
        resumed: Run | None = None
        if body.resume_from is not None:
            row = tx.conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (body.resume_from,)
            ).fetchone()
            resumed = None if row is None else _run_state(row).run
        run = rules.new_run(pipeline, body, resumed, tx.now)
        params = run["params"]
        tx.conn.execute(
            "INSERT INTO runs (id, pipeline_id, status, params, current_action_index, progress, "
            "work_dir, created_at) VALUES (?, ?, 'pending', ?, 0, ?, ?, ?)",
            (
                run["id"],
                pipeline_id,
                _dumps_opt(params),
                _dumps(run["progress"]),
                body.work_dir,
                tx.now,
            ),
        )
        if resumed is not None:
            copies = [
                (rules.new_id(), run["id"], *row)
                for row in tx.conn.execute(
                    "SELECT action_name, action_index, status, params_snapshot, result, "
                    "artifacts_path, created_at FROM checkpoints WHERE run_id=? ORDER BY pk",
                    (resumed["id"],),
                )
            ]
            tx.conn.executemany(
                f"INSERT INTO checkpoints ({_CHECKPOINT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                copies,
            )
        self._remember(tx, idem, run, str(run["id"]))
        return run

    async def get_run(self, run_id: str) -> RunState:
        return await self._read(self._get_run, run_id)

    @staticmethod
    def _get_run(conn: sqlite3.Connection, run_id: str) -> RunState:
        row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFound("Run not found")
        return _run_state(row)

    async def list_runs(
        self, status: str | None, pipeline_id: str | None, skip: int, limit: int
    ) -> Page[Run]:
        def read(conn: sqlite3.Connection) -> Page[Run]:
            where, args = [], []
            if pipeline_id is not None:
                if (
                    conn.execute("SELECT 1 FROM pipelines WHERE id=?", (pipeline_id,)).fetchone()
                    is None
                ):
                    raise NotFound("Pipeline not found")
                where.append("pipeline_id=?")
                args.append(pipeline_id)
            if status is not None:
                where.append("status=?")
                args.append(status)
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            keys = (
                f"SELECT pk AS page_key, {_RUN_BYTES} AS page_bytes FROM runs {clause} "
                "ORDER BY pk DESC LIMIT ? OFFSET ?"
            )
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS}, page_rows FROM runs "
                f"JOIN ({bytes_bounded(keys, 'page_key DESC')}) AS cut "
                "ON runs.pk = cut.page_key ORDER BY runs.pk DESC",
                (*args, limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows.fetchall(), lambda row: _run_state(row).run)

        return await self._read(read)

    def _change_run(self, tx: _Tx, run_id: str, change: Callable[[Run], None]) -> RunState:
        state = self._get_run(tx.conn, run_id)
        run = state.run
        if not rules.changed(run, change):
            return state
        state = RunState(run, state.version + 1)
        tx.conn.execute(
            "UPDATE runs SET status=?, params=?, current_action=?, current_action_index=?, "
            "progress=?, result=?, error=?, work_dir=?, started_at=?, completed_at=?, version=? "
            "WHERE id=?",
            (
                run["status"],
                _dumps_opt(run["params"]),
                run["current_action"],
                run["current_action_index"],
                _dumps(run["progress"]),
                _dumps_opt(run["result"]),
                run["error"],
                run["work_dir"],
                run["started_at"],
                run["completed_at"],
                state.version,
                run_id,
            ),
        )
        tx.changes.append(RunChanged(state))
        return state

    async def update_run(
        self, run_id: str, body: RunUpdate, lease_token: int | None = None
    ) -> RunState:
        def update(tx: _Tx) -> RunState:
            self._fence(tx.conn, run_id, lease_token)
            return self._change_run(
                tx, run_id, lambda run: rules.apply_run_update(run, body, tx.now)
            )

        return await self._write(update)

    async def report_progress(
        self, run_id: str, body: ProgressUpdate, lease_token: int | None = None
    ) -> RunState:
        def report(tx: _Tx) -> RunState:
            self._fence(tx.conn, run_id, lease_token)
            state = self._change_run(
                tx, run_id, lambda run: rules.apply_progress_update(run, body, tx.now)
            )
            reported = metric_history.reported_point(state.run, body, tx.now)
            if reported is not None:
                self._record_metric_point(tx.conn, run_id, *reported)
            return state

        return await self._write(report)

    async def cancel_run(self, run_id: str) -> RunState:
        return await self._write(
            lambda tx: self._change_run(tx, run_id, lambda run: rules.cancel_run(run, tx.now))
        )

    async def delete_run(self, run_id: str) -> None:
        def delete(tx: _Tx) -> None:
            if tx.conn.execute("DELETE FROM runs WHERE id=?", (run_id,)).rowcount == 0:
                raise NotFound("Run not found")
            tx.conn.execute("DELETE FROM idempotency WHERE resource=?", (run_id,))
            tx.changes.append(RunDeleted(run_id))

        await self._write(delete)

    @staticmethod
    def _require_run(conn: sqlite3.Connection, run_id: str) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone() is None:
            raise NotFound("Run not found")

    @staticmethod
    def _fence(conn: sqlite3.Connection, run_id: str, lease_token: int | None) -> None:
        """NotFound without the run; Conflict when lease_token is not the run's current one."""
        row = conn.execute("SELECT lease_token FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFound("Run not found")
        if lease_token is not None and lease_token != row[0]:
            raise lease_lost(run_id, lease_token, row[0])

    # metrics ---------------------------------------------------------------------------------

    def _record_metric_point(
        self, conn: sqlite3.Connection, run_id: str, action_name: str, point: dict[str, Any]
    ) -> None:
        key = (run_id, action_name)
        row = conn.execute(
            "SELECT stride, recorded, kept FROM metric_series WHERE run_id=? AND action_name=?",
            key,
        ).fetchone()
        stride, recorded, kept = row if row is not None else (1, 0, 0)
        if recorded and not metric_history.is_kept(recorded, stride):
            # The previous newest point was kept only for being the newest.
            conn.execute(
                "DELETE FROM metric_points WHERE run_id=? AND action_name=? AND seq=?",
                (*key, recorded),
            )
            kept -= 1
        recorded += 1
        conn.execute(
            "INSERT INTO metric_points (run_id, action_name, seq, point) VALUES (?, ?, ?, ?)",
            (*key, recorded, _dumps(point)),
        )
        kept += 1
        while kept > self.max_metric_points:
            stride *= 2
            conn.execute(
                "DELETE FROM metric_points WHERE run_id=? AND action_name=? AND seq<? "
                "AND (seq - 1) % ? != 0",
                (*key, recorded, stride),
            )
            kept = conn.execute(
                "SELECT count(*) FROM metric_points WHERE run_id=? AND action_name=?", key
            ).fetchone()[0]
        conn.execute(
            "INSERT OR REPLACE INTO metric_series (run_id, action_name, stride, recorded, kept) "
            "VALUES (?, ?, ?, ?, ?)",
            (*key, stride, recorded, kept),
        )

    async def get_metrics(self, run_id: str) -> RunMetrics:
        def read(conn: sqlite3.Connection) -> RunMetrics:
            run = self._get_run(conn, run_id).run
            recorded = dict(
                conn.execute(
                    "SELECT action_name, recorded FROM metric_series WHERE run_id=?", (run_id,)
                ).fetchall()
            )
            stored = conn.execute(
                "SELECT action_name, seq, point FROM metric_points WHERE run_id=? "
                "ORDER BY action_name, seq",
                (run_id,),
            )
            return metric_history.run_metrics(run, recorded, stored, self.max_metric_points)

        return await self._read(read)

    # checkpoints -----------------------------------------------------------------------------

    async def create_checkpoint(
        self,
        run_id: str,
        body: CheckpointCreate,
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> Checkpoint:
        def create(tx: _Tx) -> Checkpoint:
            replay = self._replayed(tx, idem)
            if replay is not None:
                return cast(Checkpoint, replay)
            self._fence(tx.conn, run_id, lease_token)
            checkpoint = rules.new_checkpoint(run_id, body, tx.now)
            tx.conn.execute(
                f"INSERT INTO checkpoints ({_CHECKPOINT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    checkpoint["id"],
                    run_id,
                    body.action_name,
                    body.action_index,
                    body.status,
                    _dumps_opt(body.params_snapshot),
                    _dumps_opt(body.result),
                    body.artifacts_path,
                    tx.now,
                ),
            )
            self._remember(tx, idem, checkpoint, run_id)
            return checkpoint

        return await self._write(create)

    async def list_checkpoints(self, run_id: str, skip: int, limit: int) -> Page[Checkpoint]:
        def read(conn: sqlite3.Connection) -> Page[Checkpoint]:
            self._require_run(conn, run_id)
            keys = (
                "SELECT pk AS page_key, action_index AS page_index, created_at AS page_created, "
                f"{_CHECKPOINT_BYTES} AS page_bytes FROM checkpoints WHERE run_id=? "
                "ORDER BY action_index, created_at, pk LIMIT ? OFFSET ?"
            )
            order = "page_index, page_created, page_key"
            rows = conn.execute(
                f"SELECT {_CHECKPOINT_COLUMNS}, page_rows FROM checkpoints "
                f"JOIN ({bytes_bounded(keys, order)}) AS cut ON checkpoints.pk = cut.page_key "
                f"ORDER BY {order}",
                (run_id, limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows.fetchall(), _checkpoint)

        return await self._read(read)

    async def latest_checkpoint(self, run_id: str, action_name: str | None) -> Checkpoint:
        def read(conn: sqlite3.Connection) -> Checkpoint:
            self._require_run(conn, run_id)
            if action_name is None:
                row = conn.execute(
                    f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE run_id=? "
                    "ORDER BY action_index DESC, created_at DESC, pk DESC LIMIT 1",
                    (run_id,),
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints "
                    "WHERE run_id=? AND action_name=? ORDER BY created_at DESC, pk DESC LIMIT 1",
                    (run_id, action_name),
                ).fetchone()
            if row is None:
                raise NotFound("Checkpoint not found")
            return _checkpoint(row)

        return await self._read(read)

    # logs ------------------------------------------------------------------------------------

    async def append_logs(
        self,
        run_id: str,
        entries: list[LogEntry],
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> list[LogRecord]:
        def append(tx: _Tx) -> list[LogRecord]:
            replay = self._replayed(tx, idem)
            if replay is not None:
                return list(replay)
            row = tx.conn.execute(
                "SELECT log_seq, lease_token FROM runs WHERE id=?", (run_id,)
            ).fetchone()
            if row is None:
                raise NotFound("Run not found")
            if lease_token is not None and lease_token != row[1]:
                raise lease_lost(run_id, lease_token, row[1])
            seq = row[0]
            records = rules.log_records(run_id, seq, entries, tx.now)
            seq += len(records)
            tx.conn.executemany(
                f"INSERT INTO logs ({_LOG_COLUMNS}) VALUES "
                "(:id, :run_id, :seq, :action_name, :level, :message, :timestamp)",
                records,
            )
            tx.conn.execute("UPDATE runs SET log_seq=? WHERE id=?", (seq, run_id))
            self._remember(tx, idem, records, run_id)
            if records:
                tx.changes.append(LogsAppended(run_id, records))
            return records

        return await self._write(append)

    async def get_logs(self, run_id: str, query: LogQuery) -> Page[LogRecord]:
        def read(conn: sqlite3.Connection) -> Page[LogRecord]:
            self._require_run(conn, run_id)
            where, args = ["run_id=?", "seq>?"], [run_id, min(query.after_seq, MAX_SQL_INT)]
            if query.action_name is not None:
                where.append("action_name=?")
                args.append(query.action_name)
            if query.level is not None:
                where.append("level=?")
                args.append(query.level)
            if query.since is not None:
                where.append("timestamp>?")
                args.append(query.since)
            keys = (
                f"SELECT pk AS page_key, seq AS page_seq, {_LOG_BYTES} AS page_bytes FROM logs "
                f"WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
            )
            rows = conn.execute(
                f"SELECT {_LOG_COLUMNS}, page_rows FROM logs "
                f"JOIN ({bytes_bounded(keys, 'page_seq')}) AS cut ON logs.pk = cut.page_key "
                "ORDER BY page_seq",
                (*args, query.limit),
            )
            return cut_page(rows.fetchall(), _log)

        return await self._read(read)

    # workers ---------------------------------------------------------------------------------

    async def claim_run(
        self, worker_id: str, lease_seconds: float, pipeline_id: str | None
    ) -> RunClaim | None:
        def claim(tx: _Tx) -> RunClaim | None:
            sql = (
                # A pending run somebody already updated (version > 1) is driven by that
                # somebody, as v1 clients drive their own runs: workers leave it alone.
                "SELECT id FROM runs WHERE ((status='pending' AND version=1 AND "
                "(lease_expires IS NULL OR lease_expires<:now)) "
                "OR (status='running' AND lease_expires<:now))"
            )
            if pipeline_id is not None:
                sql += " AND pipeline_id=:pipeline_id"
            row = tx.conn.execute(
                sql + " ORDER BY pk LIMIT 1", {"now": tx.epoch, "pipeline_id": pipeline_id}
            ).fetchone()
            if row is None:
                return None

            def start(run: Run) -> None:
                rules.move_run(run, "running", tx.now)

            state = self._change_run(tx, row[0], start)
            expires = tx.epoch + lease_seconds
            token = tx.conn.execute(
                "UPDATE runs SET lease_worker=?, lease_expires=?, lease_token=lease_token+1 "
                "WHERE id=? RETURNING lease_token",
                (worker_id, expires, row[0]),
            ).fetchone()[0]
            return {
                "run": state.run,
                "worker_id": worker_id,
                "lease_expires_at": _epoch_text(expires),
                "lease_token": token,
            }

        return await self._write(claim)

    async def renew_lease(
        self, run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None = None
    ) -> Lease:
        def renew(tx: _Tx) -> Lease:
            row = tx.conn.execute(
                "SELECT status, lease_worker, lease_token FROM runs WHERE id=?", (run_id,)
            ).fetchone()
            if row is None:
                raise NotFound("Run not found")
            status, holder, current = row
            if lease_token is not None and lease_token != current:
                raise lease_lost(run_id, lease_token, current)
            if holder != worker_id:
                raise Conflict(
                    "the lease is held by another worker"
                    if holder
                    else "this worker holds no lease on the run"
                )
            expires = tx.epoch + lease_seconds
            tx.conn.execute("UPDATE runs SET lease_expires=? WHERE id=?", (expires, run_id))
            return {
                "run_id": run_id,
                "worker_id": worker_id,
                "lease_expires_at": _epoch_text(expires),
                "status": status,
                "lease_token": current,
            }

        return await self._write(renew)

    async def release_lease(
        self, run_id: str, worker_id: str, lease_token: int | None = None
    ) -> None:
        def release(tx: _Tx) -> None:
            self._fence(tx.conn, run_id, lease_token)
            tx.conn.execute(
                "UPDATE runs SET lease_worker=NULL, lease_expires=0 WHERE id=? AND lease_worker=?",
                (run_id, worker_id),
            )

        await self._write(release)
