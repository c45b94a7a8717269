"""PostgreSQL storage: several server replicas on one database behave as one service.

Every write is a plan (`storage/plans.py`) run in a transaction on a pooled connection (psycopg
3, async), again when the database aborts it to resolve a conflict. Plans lock the rows they
read-modify-write (`FOR UPDATE`), claims skip rows others hold (`SKIP LOCKED`), leases and
Idempotency-Keys run on the database's clock, and two requests with one Idempotency-Key are
serialized by a transaction-level advisory lock. Changes reach every replica's subscribers
through LISTEN/NOTIFY (`listener.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.rows import dict_row

from pipeline_service.server.errors import StorageUnavailable, Unprocessable
from pipeline_service.server.settings import redacted
from pipeline_service.server.storage import metric_history
from pipeline_service.server.storage.changes import ChangeListener, WatchedRuns
from pipeline_service.server.storage.plans import Dialect, Plan, PlanFactory, Rows, Tx
from pipeline_service.server.storage.postgres import schema
from pipeline_service.server.storage.postgres.listener import ChangeFeed
from pipeline_service.server.storage.sql_storage import SQLStorage, heartbeat
from pipeline_service.wire import MAX_STEP_POINTS

T = TypeVar("T")

logger = logging.getLogger("pipeline_service.server.postgres")

APPLICATION_NAME = "pipeline-service"
CONNECT_TIMEOUT_SECONDS = 30.0
HEALTH_TIMEOUT_SECONDS = 5.0
WRITE_ATTEMPTS = 5

# Transactions the database aborts to resolve a conflict: running them again succeeds.
_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)

POSTGRES = Dialect(
    now="now()",
    seconds="make_interval(secs => :{name})",
    long_ago="'-infinity'",
    lock="FOR UPDATE",
    share="FOR SHARE",
    skip_locked="FOR UPDATE SKIP LOCKED",
    serialize="SELECT pg_advisory_xact_lock(hashtextextended(:{name}, 0))",
    pyformat=True,
    doc_bytes="octet_length(doc)",  # from the stored size: a large document is not read
)


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached or written is a 503; a value it cannot hold a 422."""
    try:
        yield
    except pg_errors.DataError as exc:
        raise Unprocessable(f"a value cannot be stored: {exc.diag.message_primary}") from exc
    except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
        raise StorageUnavailable(f"database is unusable: {exc}") from exc


async def run_plan(conn: psycopg.AsyncConnection[Any], plan: Plan[T]) -> T:
    """Run plan's statements on conn."""
    try:
        query = next(plan)
        while True:
            rows: Rows
            sql = POSTGRES.render(query.sql)
            if not sql:
                rows = []
            elif query.many is not None:
                if query.many:
                    async with conn.cursor() as cursor:
                        await cursor.executemany(sql, query.many)
                rows = []
            else:
                cursor = await conn.execute(sql, query.params)
                rows = await cursor.fetchall() if cursor.description is not None else []
            query = plan.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        plan.close()


class PostgresStorage(SQLStorage):
    """Storage in one PostgreSQL database, shared by any number of server processes."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        max_metric_points: int = metric_history.MAX_POINTS,
        max_step_points: int = MAX_STEP_POINTS,
    ) -> None:
        super().__init__(max_metric_points=max_metric_points, max_step_points=max_step_points)
        self.dsn = dsn
        self._pool_size = pool_size
        self._pool: psycopg_pool.AsyncConnectionPool[Any] | None = None
        self._feed = ChangeFeed(dsn, lambda change: None, frozenset, self._read)
        self._tasks: list[asyncio.Task[None]] = []

    # lifecycle -------------------------------------------------------------------------------

    async def start(self, listener: ChangeListener, watched: WatchedRuns = frozenset) -> None:
        self._feed = ChangeFeed(self.dsn, listener, watched, self._read)
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
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            self.dsn,
            min_size=min(2, self._pool_size),
            max_size=self._pool_size,
            kwargs={
                "autocommit": True,
                "application_name": APPLICATION_NAME,
                "row_factory": dict_row,
            },
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
            async with self._connection() as conn:
                await schema.migrate(conn, self.dsn)
        except BaseException:
            await self.close()
            raise
        loop = asyncio.get_running_loop()
        feed = self._feed
        self._tasks = [loop.create_task(feed.listen()), loop.create_task(feed.forward())]
        with contextlib.suppress(TimeoutError):  # /health says so until it is listening
            await asyncio.wait_for(self._feed.listening.wait(), CONNECT_TIMEOUT_SECONDS)

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

    @contextlib.asynccontextmanager
    async def _connection(
        self, wait: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (waiting at most `wait` seconds for one, else the pool's limit)."""
        if self._pool is None:
            raise StorageUnavailable("storage is closed")
        async with self._pool.connection(timeout=wait) as conn:
            yield conn

    # plans -----------------------------------------------------------------------------------

    async def _write(self, plan: PlanFactory[T]) -> T:
        """Run plan in a transaction, again when the database aborts it (deadlock...)."""
        for attempt in range(WRITE_ATTEMPTS):
            tx = Tx()
            try:
                with _database_errors():
                    async with self._connection() as conn, conn.transaction():
                        result = await run_plan(conn, plan(tx))
            except StorageUnavailable as exc:
                retry = isinstance(exc.__cause__, _RETRIED)
                if not retry or attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
                continue
            self._feed.keep_fresh(tx.changes)
            return result
        raise AssertionError("unreachable")

    async def _read(self, plan: PlanFactory[T]) -> T:
        with _database_errors():
            async with self._connection() as conn:
                return await run_plan(conn, plan(Tx()))

    # health ----------------------------------------------------------------------------------

    async def check(self) -> None:
        """A real write (fails on a read-only standby, a full disk, an unreachable server), and
        a listening connection (without it, subscribers here would miss changes)."""
        try:
            await asyncio.wait_for(self._write(lambda tx: heartbeat()), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            raise StorageUnavailable(
                f"the database did not take a write within {HEALTH_TIMEOUT_SECONDS:.0f} s"
            ) from None
        if not self._feed.listening.is_set():
            raise StorageUnavailable(
                f"database change listener is disconnected ({self._feed.listen_error}); "
                "reconnecting"
            )
        if any(task.done() for task in self._tasks):
            raise StorageUnavailable("database change listener stopped")

    def describe(self) -> dict[str, str]:
        return {
            "database": "postgresql",
            "listener": "listening" if self._feed.listening.is_set() else "disconnected",
        }
