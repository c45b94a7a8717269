"""PostgreSQL storage: several server replicas on one database behave as one service.

Writes are transactions on a pooled connection (psycopg 3, async). A read-modify-write locks the
run's row (`FOR UPDATE`), applies the rules every backend shares (server.rules) and bumps the
version; claims take the oldest runnable run with `FOR UPDATE SKIP LOCKED` and lease on the
database's clock; an Idempotency-Key is serialized by a transaction-level advisory lock and its
record is written in the transaction that creates the object.

Changes reach the subscribers of every replica through LISTEN/NOTIFY: a trigger announces each
committed change of a run in a few bytes (postgres_schema). One connection outside the pool
listens; each replica reads a change once, whatever its number of subscribers (and not at all
when it has none), and hands it to the change listener in commit order. When the listening
connection drops, the replica reconnects and re-reads every run it has subscribers for; a slow
poll covers what a silent drop could lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

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
from pipeline_service.server.settings import redacted
from pipeline_service.server.storage.base import (
    JSON,
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
from pipeline_service.server.storage.postgres_schema import (
    CHANNEL,
    MIGRATION_LOCK_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
)
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

logger = logging.getLogger("pipeline_service.server.postgres")

APPLICATION_NAME = "pipeline-service"
LISTENER_APPLICATION_NAME = "pipeline-service listener"
IDEMPOTENCY_TTL = "24 hours"
MAX_SQL_INT = 2**62
CONNECT_TIMEOUT_SECONDS = 30.0
HEALTH_TIMEOUT_SECONDS = 5.0
FALLBACK_POLL_SECONDS = 5.0
RECONNECT_MAX_DELAY_SECONDS = 2.0
WRITE_ATTEMPTS = 5
# Log records a replica reads at once for its subscribers; past that, each subscriber reads
# them from storage by its cursor, page by page (nothing big is held in memory at once).
MAX_FORWARDED_LOG_RECORDS = 1000
# Documents of committed changes kept for the listener (the replica that wrote them needs no
# read); more than this pending means the listener is behind or down: start over.
MAX_FRESH = 1024

_RESYNC = "resync"
# Transactions the database aborts to resolve a conflict: running them again succeeds.
_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def _dumps(value: Any) -> str:
    """Compact JSON in ASCII: no NUL (PostgreSQL text cannot hold it), no lone surrogate (not
    UTF-8), and never a non-finite number (it could not be served back)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except ValueError as exc:
        raise Unprocessable(f"non-finite numbers (NaN, Infinity) cannot be stored: {exc}") from exc


def _document(row: Sequence[Any]) -> Any:
    """The stored document in the first column of row."""
    return json.loads(row[0])


def _key(value: str | None) -> str | None:
    """A caller's text as a column value compared for equality (injective, NUL-free)."""
    return None if value is None else _dumps(value)


def _id(value: str) -> str:
    """An id from a request: ids are made by the server (ASCII); anything else matches none."""
    return value if value.isascii() and "\x00" not in value else ""


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached or written is a 503; a value it cannot hold a 422."""
    try:
        yield
    except pg_errors.DataError as exc:
        raise Unprocessable(f"a value cannot be stored: {exc.diag.message_primary}") from exc
    except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
        raise StorageUnavailable(f"database is unusable: {exc}") from exc


class _Tx:
    """One write transaction: its connection, its time, and what it commits for the listener."""

    __slots__ = ("conn", "fresh", "now")

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.now = now_text()
        self.fresh: list[tuple[tuple[str, str, int], Any]] = []

    async def one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchone()

    async def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = await self.conn.execute(sql, params)
        return await cursor.fetchall()


class PostgresStorage(Storage):
    """Storage in one PostgreSQL database, shared by any number of server processes."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        max_metric_points: int = metric_history.MAX_POINTS,
    ) -> None:
        if max_metric_points < 2:
            raise ValueError("max_metric_points must be at least 2 (the first and the newest)")
        self.dsn = dsn
        self.max_metric_points = max_metric_points
        self._pool_size = pool_size
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self._listener: ChangeListener = lambda change: None
        self._watched: WatchedRuns = frozenset
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._listening = asyncio.Event()
        self._listen_error = "not started"
        # Version and log seq last handed to the listener, per watched run (None: unknown).
        self._reported: dict[str, tuple[int, int | None]] = {}
        self._fresh: dict[tuple[str, str, int], Any] = {}
        self._watched_now: set[str] = set()

    # lifecycle -------------------------------------------------------------------------------

    async def start(self, listener: ChangeListener, watched: WatchedRuns = frozenset) -> None:
        self._listener = listener
        self._watched = watched
        self._queue = asyncio.Queue()
        self._listening = asyncio.Event()
        try:  # one connection first: a wrong URL is one clear error, not a pool's retries
            probe = await psycopg.AsyncConnection.connect(
                self.dsn, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)
            )
        except (psycopg.Error, OSError) as exc:
            reason = " ".join(line.strip() for line in str(exc).splitlines()) or repr(exc)
            raise RuntimeError(
                f"cannot connect to PostgreSQL at {redacted(self.dsn)}: {reason}"
            ) from exc
        await probe.close()
        pool = psycopg_pool.AsyncConnectionPool(
            self.dsn,
            min_size=min(2, self._pool_size),
            max_size=self._pool_size,
            kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
            open=False,
            name="pipeline-service",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg_pool.PoolTimeout as exc:
            await pool.close()
            raise RuntimeError(
                f"cannot connect to PostgreSQL at {redacted(self.dsn)} "
                f"within {CONNECT_TIMEOUT_SECONDS:.0f} s"
            ) from exc
        self._pool = pool
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._forward())]
        with contextlib.suppress(TimeoutError):  # /health says so until it is listening
            await asyncio.wait_for(self._listening.wait(), CONNECT_TIMEOUT_SECONDS)

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION under an advisory lock; refuse a newer one."""
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS pipeline_service_schema (version integer NOT NULL)"
                )
                row = await (
                    await conn.execute("SELECT max(version) FROM pipeline_service_schema")
                ).fetchone()
                version = (row[0] if row else None) or 0
                if version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"the PostgreSQL database {redacted(self.dsn)} has schema version "
                        f"{version}, newer than this release understands ({SCHEMA_VERSION}); "
                        "upgrade pipeline-service"
                    )
                for step in range(version, SCHEMA_VERSION):
                    async with conn.transaction():
                        await conn.execute(MIGRATIONS[step])
                        await conn.execute("DELETE FROM pipeline_service_schema")
                        await conn.execute(
                            "INSERT INTO pipeline_service_schema VALUES (%s)", (step + 1,)
                        )
                    logger.info("PostgreSQL schema migrated to version %d", step + 1)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))

    @contextlib.asynccontextmanager
    async def _connection(
        self, wait: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (waiting at most `wait` seconds for one, else the pool's limit)."""
        if self._pool is None:
            raise StorageUnavailable("storage is closed")
        async with self._pool.connection(timeout=wait) as conn:
            yield conn

    async def _write(self, fn: Callable[[_Tx], Awaitable[T]]) -> T:
        """Run fn in a transaction, again when the database aborts it (deadlock, serialization)."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with _database_errors():
                    async with self._connection() as conn, conn.transaction():
                        tx = _Tx(conn)
                        result = await fn(tx)
            except StorageUnavailable as exc:
                retry = isinstance(exc.__cause__, _RETRIED)
                if not retry or attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
                continue
            self._keep_fresh(tx.fresh)
            return result
        raise AssertionError("unreachable")

    async def _read(self, fn: Callable[[_Tx], Awaitable[T]]) -> T:
        with _database_errors():
            async with self._connection() as conn:
                return await fn(_Tx(conn))

    async def check(self) -> None:
        """A real write (fails on a read-only standby, a full disk, an unreachable server), and
        a listening connection (without it, subscribers here would miss changes)."""
        try:
            await asyncio.wait_for(self._write(self._touch_heartbeat), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            raise StorageUnavailable(
                f"the database did not take a write within {HEALTH_TIMEOUT_SECONDS:.0f} s"
            ) from None
        if not self._listening.is_set():
            raise StorageUnavailable(
                f"database change listener is disconnected ({self._listen_error}); reconnecting"
            )
        if any(task.done() for task in self._tasks):
            raise StorageUnavailable("database change listener stopped")

    def describe(self) -> dict[str, str]:
        return {
            "database": "postgresql",
            "listener": "listening" if self._listening.is_set() else "disconnected",
        }

    @staticmethod
    async def _touch_heartbeat(tx: _Tx) -> None:
        await tx.conn.execute("UPDATE heartbeat SET checked = now() WHERE id = 1")

    # change fan-out --------------------------------------------------------------------------

    def _keep_fresh(self, fresh: list[tuple[tuple[str, str, int], Any]]) -> None:
        """Remember what this replica committed to a streamed run, so the listener need not
        read it back; not what the listener already handled (its notification came first)."""
        for key, value in fresh:
            kind, run_id, number = key
            if run_id not in self._watched_now:
                continue
            version, seq = self._reported.get(run_id, (0, None))
            if number <= (version if kind == "r" else (seq if seq is not None else 0)):
                continue
            if kind == "l" and len(value) > MAX_FORWARDED_LOG_RECORDS:
                continue
            if len(self._fresh) >= MAX_FRESH:  # the listener is behind or down: start over
                self._fresh.clear()
            self._fresh[key] = value

    async def _listen(self) -> None:
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
                    self._listening.set()
                    delay = 0.05
                    while True:
                        async for notify in conn.notifies(timeout=FALLBACK_POLL_SECONDS):
                            self._queue.put_nowait(notify.payload)
                        # Quiet for a while: check the connection, and poll as a fallback.
                        await asyncio.wait_for(conn.execute("SELECT 1"), HEALTH_TIMEOUT_SECONDS)
                        self._queue.put_nowait(_RESYNC)
            except (psycopg.Error, OSError) as exc:
                self._lost(exc)
                await asyncio.sleep(delay)

    def _lost(self, exc: BaseException) -> None:
        if self._listening.is_set():
            logger.warning("PostgreSQL change listener lost (%s); reconnecting", exc)
        self._listening.clear()
        self._listen_error = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"

    async def _forward(self) -> None:
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
        for run_id in set(self._reported) - watched:
            del self._reported[run_id]
        if _RESYNC in batch:
            self._fresh.clear()
            await self._resync(watched)
            return
        versions: dict[str, int] = {}
        states: dict[str, RunState | None] = {}
        logs: dict[str, tuple[int, int, list[LogRecord] | None]] = {}
        deleted: list[str] = []
        for payload in batch:
            kind, run_id, *numbers = payload.split(" ")
            if kind == "d":
                deleted.append(run_id)
            elif kind == "r":
                version = int(numbers[0])
                state = self._fresh.pop(("r", run_id, version), None)
                if version > versions.get(run_id, 0):
                    versions[run_id] = version
                    states[run_id] = state
            elif kind == "l":
                first, last = int(numbers[0]), int(numbers[1])
                records = self._fresh.pop(("l", run_id, first), None)
                if run_id not in logs:
                    logs[run_id] = (first, last, records)
                else:
                    start, _, known = logs[run_id]
                    joined = None if known is None or records is None else known + records
                    logs[run_id] = (start, last, joined)
        emit: list[Change] = []
        for run_id, (first, last, records) in logs.items():
            if run_id in watched:
                await self._forward_logs(run_id, first, last, records, emit)
        for run_id, version in versions.items():
            if run_id in watched and version > self._reported.get(run_id, (0, None))[0]:
                state = states[run_id] or await self._read_state(run_id)
                if state is None:
                    emit.append(RunDeleted(run_id))
                    self._reported.pop(run_id, None)
                else:
                    emit.append(RunChanged(state))
                    self._note(run_id, version=state.version)
        for run_id in deleted:
            if run_id in watched:
                emit.append(RunDeleted(run_id))
                self._reported.pop(run_id, None)
        for change in emit:
            self._listener(change)

    def _note(self, run_id: str, *, version: int | None = None, seq: int | None = None) -> None:
        known_version, known_seq = self._reported.get(run_id, (0, None))
        self._reported[run_id] = (
            known_version if version is None else max(version, known_version),
            known_seq if seq is None else seq,
        )

    async def _forward_logs(
        self,
        run_id: str,
        first: int,
        last: int,
        records: list[LogRecord] | None,
        emit: list[Change],
    ) -> None:
        """Records first..last of run_id, gap-free after the last ones reported."""
        known = self._reported.get(run_id, (0, None))[1]
        start = first if known is None else known + 1
        if last < start:
            return
        if records is None or start != first or len(records) != last - first + 1:
            if last - start >= MAX_FORWARDED_LOG_RECORDS:
                emit.append(LogsAppended(run_id, [], resync=True))
                self._note(run_id, seq=last)
                return
            records = await self._read(lambda tx: self._log_range(tx, run_id, start, last))
        emit.append(LogsAppended(run_id, records))
        self._note(run_id, seq=last)

    @staticmethod
    async def _log_range(tx: _Tx, run_id: str, first: int, last: int) -> list[LogRecord]:
        rows = await tx.all(
            "SELECT doc FROM logs WHERE run_id=%s AND seq>=%s AND seq<=%s ORDER BY seq",
            (run_id, first, last),
        )
        return [json.loads(row[0]) for row in rows]

    async def _read_state(self, run_id: str) -> RunState | None:
        async def read(tx: _Tx) -> RunState | None:
            row = await tx.one("SELECT doc, version FROM runs WHERE id=%s", (run_id,))
            return None if row is None else RunState(json.loads(row[0]), row[1])

        return await self._read(read)

    async def _resync(self, watched: set[str]) -> None:
        """Re-read every watched run: after (re)connecting, and as the slow fallback poll."""
        if not watched:
            return

        async def read(tx: _Tx) -> list[tuple[Any, ...]]:
            return await tx.all(
                "SELECT id, version, log_seq FROM runs WHERE id = ANY(%s)", (list(watched),)
            )

        rows = {row[0]: (row[1], row[2]) for row in await self._read(read)}
        emit: list[Change] = []
        for run_id in watched:
            if run_id not in rows:  # it existed when subscribed to: deleted since
                emit.append(RunDeleted(run_id))
                self._reported.pop(run_id, None)
                continue
            version, log_seq = rows[run_id]
            known_version, known_seq = self._reported.get(run_id, (0, None))
            if version > known_version:
                state = await self._read_state(run_id)
                if state is None:
                    emit.append(RunDeleted(run_id))
                    self._reported.pop(run_id, None)
                    continue
                emit.append(RunChanged(state))
                self._note(run_id, version=state.version)
            if known_seq is None:
                emit.append(LogsAppended(run_id, [], resync=True))
                self._note(run_id, seq=log_seq)
            elif log_seq > known_seq:
                await self._forward_logs(run_id, known_seq + 1, log_seq, None, emit)
        for change in emit:
            self._listener(change)

    # idempotency -----------------------------------------------------------------------------

    @staticmethod
    async def _replayed(tx: _Tx, idem: Idempotency | None) -> Any:
        if idem is None:
            return None
        scope = _key(idem.scope)
        # Two requests with one key (on any replica) run one after the other.
        await tx.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{scope} {idem.key}",)
        )
        row = await tx.one(
            "SELECT fingerprint, response FROM idempotency WHERE scope=%s AND key=%s "
            f"AND created > now() - interval '{IDEMPOTENCY_TTL}'",
            (scope, idem.key),
        )
        if row is None:
            return None
        if row[0] != idem.fingerprint:
            raise Conflict(
                f"Idempotency-Key {idem.key!r} was already used with a different request body"
            )
        return json.loads(row[1])

    @staticmethod
    async def _remember(tx: _Tx, idem: Idempotency | None, response: Any, resource: str) -> None:
        """Store the response for replays; resource: the pipeline or run whose deletion
        forgets the key (a replay must not answer with something that no longer exists)."""
        if idem is None:
            return
        await tx.conn.execute(
            f"DELETE FROM idempotency WHERE created <= now() - interval '{IDEMPOTENCY_TTL}'"
        )
        await tx.conn.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created, resource) "
            "VALUES (%s, %s, %s, %s, now(), %s) ON CONFLICT (scope, key) DO UPDATE SET "
            "fingerprint=EXCLUDED.fingerprint, response=EXCLUDED.response, "
            "created=EXCLUDED.created, resource=EXCLUDED.resource",
            (_key(idem.scope), idem.key, idem.fingerprint, _dumps(response), resource),
        )

    # pipelines -------------------------------------------------------------------------------

    async def create_pipeline(self, body: PipelineCreate, idem: Idempotency | None) -> Pipeline:
        async def create(tx: _Tx) -> Pipeline:
            replay = await self._replayed(tx, idem)
            if replay is not None:
                return cast(Pipeline, replay)
            pipeline = rules.new_pipeline(body, tx.now)
            await tx.conn.execute(
                "INSERT INTO pipelines (id, doc) VALUES (%s, %s)",
                (pipeline["id"], _dumps(pipeline)),
            )
            await self._remember(tx, idem, pipeline, pipeline["id"])
            return pipeline

        return await self._write(create)

    @staticmethod
    async def _get_pipeline(tx: _Tx, pipeline_id: str, lock: str = "") -> Pipeline:
        row = await tx.one(f"SELECT doc FROM pipelines WHERE id=%s {lock}", (_id(pipeline_id),))
        if row is None:
            raise NotFound("Pipeline not found")
        pipeline: Pipeline = json.loads(row[0])
        return pipeline

    async def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self._read(lambda tx: self._get_pipeline(tx, pipeline_id))

    async def list_pipelines(self, skip: int, limit: int) -> Page[Pipeline]:
        async def read(tx: _Tx) -> Page[Pipeline]:
            keys = (
                "SELECT pk AS page_key, octet_length(doc) AS page_bytes FROM pipelines "
                "ORDER BY pk DESC LIMIT %s OFFSET %s"
            )
            rows = await tx.all(
                f"SELECT doc, page_rows FROM pipelines "
                f"JOIN ({bytes_bounded(keys, 'page_key DESC')}) AS cut "
                "ON pipelines.pk = cut.page_key ORDER BY pipelines.pk DESC",
                (limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows, _document)

        return await self._read(read)

    async def update_pipeline(self, pipeline_id: str, body: PipelineUpdate) -> Pipeline:
        async def update(tx: _Tx) -> Pipeline:
            pipeline = await self._get_pipeline(tx, pipeline_id, "FOR UPDATE")
            rules.update_pipeline(pipeline, body, tx.now)
            await tx.conn.execute(
                "UPDATE pipelines SET doc=%s WHERE id=%s", (_dumps(pipeline), pipeline["id"])
            )
            return pipeline

        return await self._write(update)

    async def delete_pipeline(self, pipeline_id: str) -> None:
        async def delete(tx: _Tx) -> None:
            key = _id(pipeline_id)
            runs = await tx.all("SELECT id FROM runs WHERE pipeline_id=%s", (key,))
            if await tx.one("DELETE FROM pipelines WHERE id=%s RETURNING 1", (key,)) is None:
                raise NotFound("Pipeline not found")
            await tx.conn.execute(
                "DELETE FROM idempotency WHERE resource = ANY(%s)",
                ([key, *(row[0] for row in runs)],),
            )

        await self._write(delete)

    # runs ------------------------------------------------------------------------------------

    async def create_run(self, pipeline_id: str, body: RunCreate, idem: Idempotency | None) -> Run:
        async def create(tx: _Tx) -> Run:
            replay = await self._replayed(tx, idem)
            if replay is not None:
                return cast(Run, replay)
            pipeline = await self._get_pipeline(tx, pipeline_id, "FOR SHARE")
            resumed: Run | None = None
            if body.resume_from is not None:
                row = await tx.one(
                    "SELECT doc FROM runs WHERE id=%s FOR SHARE", (_id(body.resume_from),)
                )
                resumed = None if row is None else json.loads(row[0])
            run = rules.new_run(pipeline, body, resumed, tx.now)
            await tx.conn.execute(
                "INSERT INTO runs (id, pipeline_id, status, doc) VALUES (%s, %s, %s, %s)",
                (run["id"], pipeline["id"], run["status"], _dumps(run)),
            )
            if resumed is not None:
                rows = await tx.all(
                    "SELECT doc FROM checkpoints WHERE run_id=%s ORDER BY pk", (resumed["id"],)
                )
                copies: list[Checkpoint] = []
                for row in rows:
                    checkpoint: Checkpoint = json.loads(row[0])
                    checkpoint["id"] = rules.new_id()
                    checkpoint["run_id"] = run["id"]
                    copies.append(checkpoint)
                await self._insert_checkpoints(tx, copies)
            await self._remember(tx, idem, run, run["id"])
            return run

        return await self._write(create)

    @staticmethod
    async def _get_run(tx: _Tx, run_id: str) -> RunState:
        row = await tx.one("SELECT doc, version FROM runs WHERE id=%s", (_id(run_id),))
        if row is None:
            raise NotFound("Run not found")
        return RunState(json.loads(row[0]), row[1])

    async def get_run(self, run_id: str) -> RunState:
        return await self._read(lambda tx: self._get_run(tx, run_id))

    async def list_runs(
        self, status: str | None, pipeline_id: str | None, skip: int, limit: int
    ) -> Page[Run]:
        async def read(tx: _Tx) -> Page[Run]:
            where, args = [], []
            if pipeline_id is not None:
                if await tx.one("SELECT 1 FROM pipelines WHERE id=%s", (_id(pipeline_id),)) is None:
                    raise NotFound("Pipeline not found")
                where.append("pipeline_id=%s")
                args.append(_id(pipeline_id))
            if status is not None:
                where.append("status=%s")
                args.append(status)
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            keys = (
                f"SELECT pk AS page_key, octet_length(doc) AS page_bytes FROM runs {clause} "
                "ORDER BY pk DESC LIMIT %s OFFSET %s"
            )
            rows = await tx.all(
                f"SELECT doc, page_rows FROM runs JOIN ({bytes_bounded(keys, 'page_key DESC')}) "
                "AS cut ON runs.pk = cut.page_key ORDER BY runs.pk DESC",
                (*args, limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows, _document)

        return await self._read(read)

    async def _change_run(
        self,
        tx: _Tx,
        run_id: str,
        change: Callable[[Run], object],
        lease_token: int | None = None,
    ) -> RunState:
        """Lock the run, check the lease, apply change; a changed document gets the next version."""
        row = await tx.one(
            "SELECT doc, version, lease_token FROM runs WHERE id=%s FOR UPDATE", (_id(run_id),)
        )
        if row is None:
            raise NotFound("Run not found")
        if lease_token is not None and lease_token != row[2]:
            raise lease_lost(run_id, lease_token, row[2])
        state = RunState(json.loads(row[0]), row[1])
        run = state.run
        if not rules.changed(run, change):
            return state
        state = RunState(run, state.version + 1)
        await tx.conn.execute(
            "UPDATE runs SET doc=%s, status=%s, version=%s WHERE id=%s",
            (_dumps(run), run["status"], state.version, run["id"]),
        )
        tx.fresh.append((("r", run["id"], state.version), state))
        return state

    async def update_run(
        self, run_id: str, body: RunUpdate, lease_token: int | None = None
    ) -> RunState:
        return await self._write(
            lambda tx: self._change_run(
                tx, run_id, lambda run: rules.apply_run_update(run, body, tx.now), lease_token
            )
        )

    async def report_progress(
        self, run_id: str, body: ProgressUpdate, lease_token: int | None = None
    ) -> RunState:
        async def report(tx: _Tx) -> RunState:
            state = await self._change_run(
                tx, run_id, lambda run: rules.apply_progress_update(run, body, tx.now), lease_token
            )
            reported = metric_history.reported_point(state.run, body, tx.now)
            if reported is not None:
                await self._record_metric_point(tx, state.run["id"], *reported)
            return state

        return await self._write(report)

    async def cancel_run(self, run_id: str) -> RunState:
        return await self._write(
            lambda tx: self._change_run(tx, run_id, lambda run: rules.cancel_run(run, tx.now))
        )

    async def delete_run(self, run_id: str) -> None:
        async def delete(tx: _Tx) -> None:
            key = _id(run_id)
            if await tx.one("DELETE FROM runs WHERE id=%s RETURNING 1", (key,)) is None:
                raise NotFound("Run not found")
            await tx.conn.execute("DELETE FROM idempotency WHERE resource=%s", (key,))

        await self._write(delete)

    @staticmethod
    async def _require_run(tx: _Tx, run_id: str) -> None:
        if await tx.one("SELECT 1 FROM runs WHERE id=%s", (_id(run_id),)) is None:
            raise NotFound("Run not found")

    @staticmethod
    async def _fence(tx: _Tx, run_id: str, lease_token: int | None, lock: str) -> None:
        """Lock the run (lock: FOR SHARE / FOR UPDATE): NotFound without it; Conflict when
        lease_token is not its current one. A claim waits for the lock, and so for the write."""
        row = await tx.one(f"SELECT lease_token FROM runs WHERE id=%s {lock}", (_id(run_id),))
        if row is None:
            raise NotFound("Run not found")
        if lease_token is not None and lease_token != row[0]:
            raise lease_lost(run_id, lease_token, row[0])

    # metrics ---------------------------------------------------------------------------------

    async def _record_metric_point(
        self, tx: _Tx, run_id: str, action_name: str, point: JSON
    ) -> None:
        """Add point to the action's series, thinning it as metric_history says (the run's row
        is locked: one writer per series at a time)."""
        key = (run_id, _key(action_name))
        row = await tx.one(
            "SELECT stride, recorded, kept FROM metric_series WHERE run_id=%s AND action_key=%s",
            key,
        )
        stride, recorded, kept = row if row is not None else (1, 0, 0)
        if recorded and not metric_history.is_kept(recorded, stride):
            # The previous newest point was kept only for being the newest.
            await tx.conn.execute(
                "DELETE FROM metric_points WHERE run_id=%s AND action_key=%s AND seq=%s",
                (*key, recorded),
            )
            kept -= 1
        recorded += 1
        await tx.conn.execute(
            "INSERT INTO metric_points (run_id, action_key, seq, point) VALUES (%s, %s, %s, %s)",
            (*key, recorded, _dumps(point)),
        )
        kept += 1
        while kept > self.max_metric_points:
            stride *= 2
            await tx.conn.execute(
                "DELETE FROM metric_points WHERE run_id=%s AND action_key=%s AND seq<%s "
                "AND (seq - 1) %% %s <> 0",
                (*key, recorded, stride),
            )
            counted = await tx.one(
                "SELECT count(*) FROM metric_points WHERE run_id=%s AND action_key=%s", key
            )
            kept = counted[0] if counted else 0
        await tx.conn.execute(
            "INSERT INTO metric_series (run_id, action_key, stride, recorded, kept) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id, action_key) DO UPDATE SET "
            "stride=EXCLUDED.stride, recorded=EXCLUDED.recorded, kept=EXCLUDED.kept",
            (*key, stride, recorded, kept),
        )

    async def get_metrics(self, run_id: str) -> RunMetrics:
        async def read(tx: _Tx) -> RunMetrics:
            run = (await self._get_run(tx, run_id)).run
            series = await tx.all(
                "SELECT action_key, recorded FROM metric_series WHERE run_id=%s", (run["id"],)
            )
            recorded = {json.loads(row[0]): row[1] for row in series}
            stored = await tx.all(
                "SELECT action_key, seq, point FROM metric_points WHERE run_id=%s "
                "ORDER BY action_key, seq",
                (run["id"],),
            )
            rows = [(json.loads(key), seq, point) for key, seq, point in stored]
            return metric_history.run_metrics(run, recorded, rows, self.max_metric_points)

        return await self._read(read)

    # checkpoints -----------------------------------------------------------------------------

    @staticmethod
    async def _insert_checkpoints(tx: _Tx, checkpoints: list[Checkpoint]) -> None:
        if not checkpoints:
            return
        async with tx.conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO checkpoints (run_id, action_key, action_index, created_at, doc) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        c["run_id"],
                        _key(c["action_name"]),
                        c["action_index"],
                        c["created_at"],
                        _dumps(c),
                    )
                    for c in checkpoints
                ],
            )

    async def create_checkpoint(
        self,
        run_id: str,
        body: CheckpointCreate,
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> Checkpoint:
        async def create(tx: _Tx) -> Checkpoint:
            replay = await self._replayed(tx, idem)
            if replay is not None:
                return cast(Checkpoint, replay)
            await self._fence(tx, run_id, lease_token, "FOR SHARE")
            checkpoint = rules.new_checkpoint(run_id, body, tx.now)
            await self._insert_checkpoints(tx, [checkpoint])
            await self._remember(tx, idem, checkpoint, run_id)
            return checkpoint

        return await self._write(create)

    async def list_checkpoints(self, run_id: str, skip: int, limit: int) -> Page[Checkpoint]:
        async def read(tx: _Tx) -> Page[Checkpoint]:
            await self._require_run(tx, run_id)
            keys = (
                "SELECT pk AS page_key, action_index AS page_index, created_at AS page_created, "
                "octet_length(doc) AS page_bytes FROM checkpoints WHERE run_id=%s "
                "ORDER BY action_index, created_at, pk LIMIT %s OFFSET %s"
            )
            order = "page_index, page_created, page_key"
            rows = await tx.all(
                f"SELECT doc, page_rows FROM checkpoints JOIN ({bytes_bounded(keys, order)}) "
                f"AS cut ON checkpoints.pk = cut.page_key ORDER BY {order}",
                (run_id, limit, min(skip, MAX_SQL_INT)),
            )
            return cut_page(rows, _document)

        return await self._read(read)

    async def latest_checkpoint(self, run_id: str, action_name: str | None) -> Checkpoint:
        async def read(tx: _Tx) -> Checkpoint:
            await self._require_run(tx, run_id)
            if action_name is None:
                row = await tx.one(
                    "SELECT doc FROM checkpoints WHERE run_id=%s "
                    "ORDER BY action_index DESC, created_at DESC, pk DESC LIMIT 1",
                    (run_id,),
                )
            else:
                row = await tx.one(
                    "SELECT doc FROM checkpoints WHERE run_id=%s AND action_key=%s "
                    "ORDER BY created_at DESC, pk DESC LIMIT 1",
                    (run_id, _key(action_name)),
                )
            if row is None:
                raise NotFound("Checkpoint not found")
            checkpoint: Checkpoint = json.loads(row[0])
            return checkpoint

        return await self._read(read)

    # logs ------------------------------------------------------------------------------------

    async def append_logs(
        self,
        run_id: str,
        entries: list[LogEntry],
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> list[LogRecord]:
        async def append(tx: _Tx) -> list[LogRecord]:
            replay = await self._replayed(tx, idem)
            if replay is not None:
                return cast(list[LogRecord], replay)
            # Numbers the records under the run's row lock: seq is gap-free and commit-ordered.
            row = await tx.one(
                "UPDATE runs SET log_seq = log_seq + %s WHERE id=%s RETURNING log_seq, lease_token",
                (len(entries), _id(run_id)),
            )
            if row is None:
                raise NotFound("Run not found")
            if lease_token is not None and lease_token != row[1]:
                raise lease_lost(run_id, lease_token, row[1])  # rolls the numbering back
            first = row[0] - len(entries) + 1
            records = rules.log_records(run_id, first - 1, entries, tx.now)
            if records:
                await tx.conn.execute(
                    "INSERT INTO logs (run_id, seq, action_key, level, timestamp, doc) "
                    "SELECT %s, * FROM unnest(%s::bigint[], %s::text[], %s::text[], "
                    "%s::text[], %s::text[])",
                    (
                        run_id,
                        [r["seq"] for r in records],
                        [_key(r["action_name"]) for r in records],
                        [r["level"] for r in records],
                        [r["timestamp"] for r in records],
                        [_dumps(r) for r in records],
                    ),
                )
                tx.fresh.append((("l", run_id, first), records))
            await self._remember(tx, idem, records, run_id)
            return records

        return await self._write(append)

    async def get_logs(self, run_id: str, query: LogQuery) -> Page[LogRecord]:
        async def read(tx: _Tx) -> Page[LogRecord]:
            where = ["run_id=%s", "seq>%s"]
            args: list[Any] = [_id(run_id), min(query.after_seq, MAX_SQL_INT)]
            if query.action_name is not None:
                where.append("action_key=%s")
                args.append(_key(query.action_name))
            if query.level is not None:
                where.append("level=%s")
                args.append(query.level)
            if query.since is not None:
                where.append("timestamp>%s")
                args.append(query.since)
            keys = (
                "SELECT seq AS page_key, octet_length(doc) AS page_bytes FROM logs "
                f"WHERE {' AND '.join(where)} ORDER BY seq LIMIT %s"
            )
            rows = await tx.all(
                f"SELECT doc, page_rows FROM logs JOIN ({bytes_bounded(keys, 'page_key')}) AS cut "
                "ON logs.run_id = %s AND logs.seq = cut.page_key ORDER BY logs.seq",
                (*args, query.limit, _id(run_id)),
            )
            if not rows:
                await self._require_run(tx, run_id)
            return cut_page(rows, _document)

        return await self._read(read)

    # workers ---------------------------------------------------------------------------------

    async def claim_run(
        self, worker_id: str, lease_seconds: float, pipeline_id: str | None
    ) -> RunClaim | None:
        async def claim(tx: _Tx) -> RunClaim | None:
            sql = (
                # A pending run somebody already updated (version > 1) is driven by that
                # somebody, as v1 clients drive their own runs: workers leave it alone.
                "SELECT id FROM runs WHERE ((status='pending' AND version=1 AND "
                "(lease_expires IS NULL OR lease_expires < now())) "
                "OR (status='running' AND lease_expires < now()))"
            )
            args: tuple[Any, ...] = ()
            if pipeline_id is not None:
                sql += " AND pipeline_id=%s"
                args = (_id(pipeline_id),)
            row = await tx.one(sql + " ORDER BY pk LIMIT 1 FOR UPDATE SKIP LOCKED", args)
            if row is None:
                return None
            state = await self._change_run(
                tx, row[0], lambda run: rules.move_run(run, "running", tx.now)
            )
            lease = await tx.one(
                "UPDATE runs SET lease_worker=%s, lease_token = lease_token + 1, "
                "lease_expires = now() + make_interval(secs => %s) "
                "WHERE id=%s RETURNING lease_expires, lease_token",
                (_key(worker_id), lease_seconds, row[0]),
            )
            assert lease is not None
            return {
                "run": state.run,
                "worker_id": worker_id,
                "lease_expires_at": format_timestamp(lease[0]),
                "lease_token": lease[1],
            }

        return await self._write(claim)

    async def renew_lease(
        self, run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None = None
    ) -> Lease:
        async def renew(tx: _Tx) -> Lease:
            row = await tx.one(
                "SELECT status, lease_worker, lease_token FROM runs WHERE id=%s FOR UPDATE",
                (_id(run_id),),
            )
            if row is None:
                raise NotFound("Run not found")
            status, holder, current = row
            if lease_token is not None and lease_token != current:
                raise lease_lost(run_id, lease_token, current)
            if holder != _key(worker_id):
                raise Conflict(
                    "the lease is held by another worker"
                    if holder
                    else "this worker holds no lease on the run"
                )
            lease = await tx.one(
                "UPDATE runs SET lease_expires = now() + make_interval(secs => %s) "
                "WHERE id=%s RETURNING lease_expires",
                (lease_seconds, run_id),
            )
            assert lease is not None
            return {
                "run_id": run_id,
                "worker_id": worker_id,
                "lease_expires_at": format_timestamp(lease[0]),
                "status": status,
                "lease_token": current,
            }

        return await self._write(renew)

    async def release_lease(
        self, run_id: str, worker_id: str, lease_token: int | None = None
    ) -> None:
        async def release(tx: _Tx) -> None:
            await self._fence(tx, run_id, lease_token, "FOR UPDATE")
            await tx.conn.execute(
                "UPDATE runs SET lease_worker=NULL, lease_expires='-infinity' "
                "WHERE id=%s AND lease_worker=%s",
                (run_id, _key(worker_id)),
            )

        await self._write(release)
