"""PostgreSQL storage: several server replicas on one database behave as one service.

Every write is a plan (`storage/plans.py`) run in a transaction on a pooled connection (psycopg
3, async), again when the database aborts it to resolve a conflict, and again on another
connection when its pooled connection had died before the transaction was committed (a restart
or fail-over terminated it: nothing of it was written). Plans lock the rows they
read-modify-write (`FOR UPDATE`), claims skip rows others hold (`SKIP LOCKED`), run timestamps,
leases and Idempotency-Keys all come from the transaction's `now()` (one clock for every
replica), and two requests with one Idempotency-Key are serialized by a transaction-level
advisory lock. Changes reach every replica's subscribers through LISTEN/NOTIFY (`listener.py`).

Committing without holding locks over the disk flush: a transaction that changes a run holds the
change sequence's advisory lock (schema.py, 5) and NOTIFY's database lock until it ends, so a
commit that waited for its WAL flush there would make every concurrent writer wait for that
flush in turn (no group commit: one fsync after the other). So while other writes of this
process are under way, a write transaction commits asynchronously (`synchronous_commit` off:
its locks go at once) and, in the same round trip, a durability barrier follows (`_FLUSHED`: a
one-record transaction committed synchronously, whose flush covers the write's commit record):
the caller gets its answer only once the write is on disk, as before, and concurrent writers
share flushes. Other sessions may see such a commit up to one flush before it is on disk; a
database crash in that window loses it (its writer got an error, as for any connection lost at
its COMMIT). A lone write commits synchronously (one flush either way, and less work).

Statements of write transactions are prepared once per connection (`prepared.py`): the
database parses and plans each only once, however often it runs.

Failing fast: a request waits at most REQUEST_WAIT_SECONDS for a pooled connection (then 503
with Retry-After), the pool retries connecting at least every RECONNECT_MAX_DELAY_SECONDS while
the database is away, and /health never waits for the pool (its own connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg import generators
from psycopg.adapt import Transformer
from psycopg.pq import TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.rows import dict_row
from psycopg_pool.base import AttemptWithBackoff

from pipeline_service.server.errors import StorageUnavailable, Unprocessable
from pipeline_service.server.settings import redacted
from pipeline_service.server.storage import metric_history
from pipeline_service.server.storage.changes import ChangeListener, WatchedRuns
from pipeline_service.server.storage.interface import Storage, heartbeat
from pipeline_service.server.storage.plans import Dialect, Plan, PlanFactory, Rows, Tx
from pipeline_service.server.storage.postgres import prepared, schema
from pipeline_service.server.storage.postgres.listener import ChangeFeed
from pipeline_service.server.timestamps import format_timestamp
from pipeline_service.wire import MAX_STEP_POINTS

T = TypeVar("T")

logger = logging.getLogger("pipeline_service.server.postgres")

APPLICATION_NAME = "pipeline-service"
HEALTH_APPLICATION_NAME = "pipeline-service health"
CONNECT_TIMEOUT_SECONDS = 30.0
HEALTH_TIMEOUT_SECONDS = 2.0
# A request waits this long for a pooled connection, then gets a 503 with Retry-After.
REQUEST_WAIT_SECONDS = 2.0
# While the database is away, the pool tries to connect again at least this often.
RECONNECT_MAX_DELAY_SECONDS = 1.0
# A real write committed this recently proves that the database takes writes (/health).
HEALTH_FRESH_SECONDS = 1.0
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
    next_change="0",  # numbered by a trigger, in commit order (postgres/schema.py, 5)
)


def _oneline(exc: BaseException) -> str:
    """An error's message on one line (libpq's span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached or written is a 503; a value it cannot hold a 422."""
    try:
        yield
    except pg_errors.DataError as exc:
        raise Unprocessable(f"a value cannot be stored: {exc.diag.message_primary}") from exc
    except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
        raise StorageUnavailable(f"database is unusable: {_oneline(exc)}") from exc


class _ConnectionLost(Exception):
    """A pooled connection had died before its transaction committed (nothing was written):
    the plan may run again on another connection."""


class _Reconnecting(AttemptWithBackoff):
    """psycopg_pool's reconnection delay, which starts sooner and stops growing at
    RECONNECT_MAX_DELAY_SECONDS (the pool's own doubles without bound: after an outage of a
    minute, it would wait half a minute more once the database is back)."""

    INITIAL_DELAY = 0.2

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_DELAY_SECONDS)


class _Pool(psycopg_pool.AsyncConnectionPool[Any]):
    """The connection pool, reconnecting with `_Reconnecting`."""

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        if attempt is None:
            attempt = _Reconnecting(timeout=self.reconnect_timeout)
        await super()._add_connection(attempt, growing)


class _TimeNeeded(BaseException):
    """A plan read its transaction's time before its first statement went out (a
    BaseException: no plan's `except Exception` takes it)."""


class _DatabaseTime(Tx):
    """A Tx whose `now` is the transaction's `now()`, asked in the first round trip (with
    BEGIN and the plan's first statement that reads). Reading it before that raises
    _TimeNeeded, and the transaction starts over asking for the time first."""

    __slots__ = ("_now",)

    def __init__(self) -> None:
        self._now: str | None = None
        super().__init__()
        self._now = None

    @property
    def now(self) -> str:
        if self._now is None:
            raise _TimeNeeded
        return self._now

    @now.setter
    def now(self, value: str) -> None:
        self._now = value

    @property
    def pending(self) -> bool:
        return self._now is None


async def _transaction(
    conn: psycopg.AsyncConnection[Any],
    plan: PlanFactory[T],
    contended: Callable[[], bool] | None = None,
) -> tuple[T, Tx]:
    """Run plan in a transaction on conn: its answer and its Tx, whose `now` is the
    transaction's `now()`, asked in the round trip of BEGIN and the plan's first read (a
    report is two round trips); only a plan that needs the time before its first read waits
    for it a round trip of its own. _ConnectionLost when conn died before the COMMIT was
    sent. `contended`: as for run_transaction."""
    committing: list[bool] = []
    try:
        tx = _DatabaseTime()
        try:
            result = await run_transaction(
                conn, plan(tx), clock=tx, committing=committing, contended=contended
            )
        except _TimeNeeded:  # nothing was sent: start over, asking for the time first
            tx = _DatabaseTime()
            cursor = await conn.execute("BEGIN; SELECT now() AS now")
            cursor.nextset()
            row = await cursor.fetchone()
            assert row is not None
            tx.now = format_timestamp(row["now"])
            result = await run_transaction(
                conn, plan(tx), begun=True, committing=committing, contended=contended
            )
    except BaseException as exc:
        if conn.broken:
            if isinstance(exc, psycopg.OperationalError) and not committing:
                raise _ConnectionLost(_oneline(exc)) from exc
        elif conn.info.transaction_status in (_INTRANS, _INERROR):
            with contextlib.suppress(psycopg.Error):
                await conn.execute("ROLLBACK")
        raise  # (a connection in any other state is the pool's to reset when it comes back)
    return result, tx


_INTRANS = psycopg.pq.TransactionStatus.INTRANS
_INERROR = psycopg.pq.TransactionStatus.INERROR


async def run_plan(conn: psycopg.AsyncConnection[Any], plan: Plan[T]) -> T:
    """Run a read plan's statements on conn, one round trip each (plans.run, awaiting), as
    prepared statements (prepared.py)."""
    client = psycopg.AsyncClientCursor(conn, row_factory=dict_row)
    try:
        query = next(plan)
        while True:
            rows: Rows = []
            sql = POSTGRES.render(query.sql)
            if sql and query.many is None:
                held: list[str] = []
                prepared.statements(conn, client, sql, query.params, held)
                rows = await _send(conn, held)
            elif sql and query.many:
                async with conn.cursor() as cursor:
                    await cursor.executemany(sql, query.many)
            try:
                query = plan.send(rows)
            except StopIteration as done:
                result: T = done.value
                return result
    finally:
        plan.close()
        await client.close()


# A write whose answer a plan never reads: INSERT, UPDATE or DELETE without RETURNING, and the
# `{serialize:…}` lock (plans.Dialect: it answers no rows).
_ANSWERS_NOTHING = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE)\b(?!.*\bRETURNING\b)", re.I | re.S)
_SERIALIZE_TOKEN = re.compile(r"^\s*\{serialize:\w+\}\s*$")
# The statements that open a write transaction (nothing of the plan's yet).
_ASK_TIME = "SELECT now() AS now"
_PREAMBLE = frozenset({"BEGIN", _ASK_TIME, *prepared.forms(_ASK_TIME)})
# The statements that end one beside others: commit without waiting for the flush (no lock is
# held over it), then wait for a flush that covers the commit (a transactional WAL record,
# committed synchronously: its flush reaches past the write's commit record).
_FLUSHED = "SELECT pg_logical_emit_message(true, 'pipeline_service', '')"
_COMMIT = ("SET LOCAL synchronous_commit TO off", "COMMIT", _FLUSHED)
# An insert of plain parameters, which COPY does faster for many rows.
_PLAIN_INSERT = re.compile(r"^INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(([%()\w, ]+)\)$")


async def run_transaction(
    conn: psycopg.AsyncConnection[Any],
    plan: Plan[T],
    *,
    begun: bool = False,
    clock: _DatabaseTime | None = None,
    committing: list[bool] | None = None,
    contended: Callable[[], bool] | None = None,
) -> T:
    """Run a write plan in one transaction on conn (in autocommit mode), in as few round trips
    as its reads allow: a statement whose answer the plan never reads (_ANSWERS_NOTHING) is
    bound on the client and held back, answered with no rows at once, and goes with the next
    statement that reads, or with the COMMIT. So BEGIN goes with the first read, and the writes
    after the last read with the COMMIT: a progress report is two round trips (`BEGIN; SELECT …
    FOR UPDATE`, then `UPDATE …; COMMIT` and the flush barrier: _COMMIT), not four. Rows of
    many parameter sets go by COPY when the statement is a plain INSERT (log records), else by
    executemany.

    When the plan fails (NotFound…), what it held back is sent first: a database error of an
    earlier write (a value it cannot hold: 422) is the answer, as when each statement went on
    its own. Any failure rolls the transaction back. With `begun`, the caller has sent the
    BEGIN; with `clock`, `SELECT now()` goes right after the BEGIN and sets its time;
    `committing` gets an entry as the COMMIT goes out (past it, a lost connection may have
    committed). When `contended` says other writes are under way, the COMMIT releases the
    transaction's locks before its flush, and the flush barrier follows (_COMMIT)."""
    cursor = psycopg.AsyncClientCursor(conn, row_factory=dict_row)
    held = [] if begun else ["BEGIN"]
    if clock is not None:
        prepared.statements(conn, cursor, _ASK_TIME, {}, held)
    try:
        try:
            query = next(plan)
            while True:
                rows: Rows = []
                sql = POSTGRES.render(query.sql)
                if query.many is not None:
                    if query.many:
                        await _send(conn, held, clock)
                        await _write_many(conn, sql, query.many)
                elif sql:
                    prepared.statements(conn, cursor, sql, query.params, held)
                    if not (_SERIALIZE_TOKEN.match(query.sql) or _ANSWERS_NOTHING.match(sql)):
                        rows = await _send(conn, held, clock)
                try:
                    query = plan.send(rows)
                except StopIteration:
                    raise
                except Exception:
                    if any(statement not in _PREAMBLE for statement in held):
                        await _send(conn, held, clock)
                    raise
        except StopIteration as done:
            held += _COMMIT if contended is not None and contended() else ("COMMIT",)
            if committing is not None:
                committing.append(True)
            await _send(conn, held, clock)
            result: T = done.value
            return result
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                await conn.execute("ROLLBACK")
        raise
    finally:
        plan.close()
        await cursor.close()


async def _send(
    conn: psycopg.AsyncConnection[Any], held: list[str], clock: _DatabaseTime | None = None
) -> Rows:
    """Send the held statements (bound already) as one round trip; the rows of the last one.
    The first round trip of a clock's transaction (BEGIN, _ASK_TIME, …) sets its time.

    Straight on libpq's connection, as psycopg's cursor would send the text (simple query
    protocol) and check its results, without the cursor's per-statement bookkeeping (half the
    CPU of a round trip)."""
    if not held:
        return []
    texts = list(held)
    text = ";".join(held)
    held.clear()
    encoding = conn.info.encoding
    pgconn = conn.pgconn
    pgconn.send_query(text.encode(encoding))
    results = await conn.wait(generators.execute(pgconn))
    if not results:
        raise psycopg.InternalError("got no result from the query")
    for index, result in enumerate(results):
        if result.status == _FATAL_ERROR:
            error = pg_errors.error_from_result(result, encoding=encoding)
            prepared.ran(conn, texts[:index])
            prepared.failed(conn, texts[index], error)
            raise error
        if result.status not in _SUCCESS:
            raise psycopg.InternalError(f"unexpected result of a statement: {result.status!r}")
    prepared.ran(conn, texts)
    if clock is not None and clock.pending:
        first = next(result for result in results if result.status == _TUPLES_OK)
        clock.now = format_timestamp(_rows(conn, first)[0]["now"])
    return _rows(conn, results[-1])


def _rows(conn: psycopg.AsyncConnection[Any], result: PGresult) -> Rows:
    """A result's rows as dicts, loaded by the connection's adapters."""
    if result.status != _TUPLES_OK:
        return []
    transformer = Transformer(conn)
    transformer.set_pgresult(result)
    encoding = conn.info.encoding
    names = [(result.fname(i) or b"").decode(encoding) for i in range(result.nfields)]
    return transformer.load_rows(
        0, result.ntuples, lambda values: dict(zip(names, values, strict=True))
    )


_FATAL_ERROR = psycopg.pq.ExecStatus.FATAL_ERROR
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK
_SUCCESS = frozenset({_TUPLES_OK, psycopg.pq.ExecStatus.COMMAND_OK})


async def _write_many(
    conn: psycopg.AsyncConnection[Any], sql: str, many: Sequence[Mapping[str, Any]]
) -> None:
    """sql once per parameter set: by COPY for a plain INSERT, else by executemany."""
    insert = _PLAIN_INSERT.match(sql)
    names = None if insert is None else _param_names(insert[3])
    if insert is None or names is None:
        async with conn.cursor() as cursor:
            await cursor.executemany(sql, many)
        return
    copy_sql = f"COPY {insert[1]} ({insert[2]}) FROM STDIN"
    async with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for params in many:
            await copy.write_row([params[name] for name in names])


def _param_names(values: str) -> list[str] | None:
    """The parameter names of a VALUES list of `%(name)s` only; None when it holds more."""
    names = []
    for value in values.split(","):
        value = value.strip()
        if not (value.startswith("%(") and value.endswith(")s")):
            return None
        names.append(value[2:-2])
    return names


class PostgresStorage(Storage):
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
        # /health's own connection (never a pooled one), and when real writes last committed
        # (monotonic) or failed on the database.
        self._health_conn: psycopg.AsyncConnection[Any] | None = None
        self._health_lock = asyncio.Lock()
        self._last_commit = 0.0
        self._write_failed = False
        self._writes = 0  # under way (_write)

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
        pool = _Pool(
            self.dsn,
            min_size=min(2, self._pool_size),
            max_size=self._pool_size,
            timeout=REQUEST_WAIT_SECONDS,
            kwargs={
                "autocommit": True,
                "application_name": APPLICATION_NAME,
                "row_factory": dict_row,
                # psycopg's own prepared statements would be dropped by `DEALLOCATE ALL`
                # after any ROLLBACK, and ours with them: prepared.py prepares them all.
                "prepare_threshold": None,
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
        health, self._health_conn = self._health_conn, None
        if health is not None:
            await health.close()

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
        """Run plan in a transaction: again when the database aborts it (deadlock...), again on
        another connection when its connection had died before it committed."""
        self._writes += 1
        try:
            return await self._commit(plan)
        finally:
            self._writes -= 1

    def _contended(self) -> bool:
        """Whether other writes of this process are under way (they wait for the locks that a
        transaction changing a run holds until it ends)."""
        return self._writes > 1

    async def _commit(self, plan: PlanFactory[T]) -> T:
        """_write's attempts."""
        lost = 0
        conflicts = 0
        unprepared = 0
        while True:
            try:
                with _database_errors():
                    async with self._connection() as conn:
                        result, tx = await _transaction(conn, plan, self._contended)
            except _ConnectionLost as exc:
                lost += 1
                if lost > self._pool_size:
                    self._write_failed = True
                    raise StorageUnavailable(f"database is unusable: {_oneline(exc)}") from exc
                continue
            except prepared.Unprepared as exc:  # corrected: the next attempt prepares anew
                unprepared += 1
                if unprepared == WRITE_ATTEMPTS:
                    self._write_failed = True
                    raise StorageUnavailable(f"database is unusable: {exc}") from exc
                continue
            except StorageUnavailable as exc:
                conflicts += 1
                if not isinstance(exc.__cause__, _RETRIED) or conflicts == WRITE_ATTEMPTS:
                    self._write_failed = True
                    raise
                await asyncio.sleep(0.01 * conflicts)
                continue
            self._last_commit = asyncio.get_running_loop().time()
            self._write_failed = False
            self._feed.keep_fresh(tx.changes)
            return result

    async def _read(self, plan: PlanFactory[T], *, snapshot: bool = False) -> T:
        """Run plan on a pooled connection (in one read-only transaction with snapshot); again
        on another connection when its connection had died (a read changes nothing)."""
        for attempt in range(self._pool_size + 1):
            try:
                with _database_errors():
                    async with self._connection() as conn:
                        try:
                            if not snapshot:
                                return await run_plan(conn, plan(Tx()))
                            async with conn.transaction():
                                await conn.execute(
                                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                                )
                                return await run_plan(conn, plan(Tx()))
                        except psycopg.OperationalError as exc:
                            if conn.broken and attempt < self._pool_size:
                                raise _ConnectionLost(str(exc)) from exc
                            raise
            except _ConnectionLost:
                continue
            except prepared.Unprepared as exc:  # corrected: the next attempt prepares anew
                if attempt == self._pool_size:
                    raise StorageUnavailable(f"database is unusable: {exc}") from exc
        raise AssertionError("unreachable")

    # health ----------------------------------------------------------------------------------

    async def check(self) -> None:
        """A real write (fails on a read-only standby, a full disk, an unreachable server) on
        /health's own connection, unless real writes committed within HEALTH_FRESH_SECONDS and
        none failed since; and a listening connection (without it, subscribers here would miss
        changes). Never waits for the pool."""
        if self._pool is None:
            raise StorageUnavailable("storage is closed")
        fresh = asyncio.get_running_loop().time() - self._last_commit < HEALTH_FRESH_SECONDS
        if self._write_failed or not fresh:
            try:
                await asyncio.wait_for(self._probe(), HEALTH_TIMEOUT_SECONDS)
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

    async def _probe(self) -> None:
        """The heartbeat write, on /health's own connection (opened again when it died: a
        connection the database terminated before the probe is no failure of the database)."""
        async with self._health_lock:
            with _database_errors():
                for attempt in range(2):
                    conn = self._health_conn
                    if conn is None or conn.closed:
                        conn = self._health_conn = await psycopg.AsyncConnection.connect(
                            self.dsn,
                            autocommit=True,
                            connect_timeout=max(1, int(HEALTH_TIMEOUT_SECONDS)),
                            application_name=HEALTH_APPLICATION_NAME,
                            row_factory=dict_row,
                            prepare_threshold=None,
                        )
                    try:
                        await _transaction(conn, lambda tx: heartbeat())
                        return
                    except prepared.Unprepared as exc:
                        if attempt == 1:
                            raise StorageUnavailable(f"database is unusable: {exc}") from exc
                    except _ConnectionLost as exc:
                        await conn.close()
                        if attempt == 1:
                            raise StorageUnavailable(
                                f"database is unusable: {_oneline(exc)}"
                            ) from exc

    def describe(self) -> dict[str, str]:
        return {
            "database": "postgresql",
            "listener": "listening" if self._feed.listening.is_set() else "disconnected",
        }
