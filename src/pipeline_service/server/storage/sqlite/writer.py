"""The one thread that writes to a SQLite file, committing writes that wait together at once.

Every write runs on this thread inside a `BEGIN IMMEDIATE` transaction, so a read-modify-write
(progress reports, claims) can never lose an update, and its future resolves (so the client gets
its 2xx) only once the COMMIT is on disk. Writes that queue up together share one transaction
and one fsync (group commit), each in its own savepoint; a batch waits a moment (`LINGER`, at
most 1 ms) for as many writes as the largest batch of the last moment (`PEAK_WINDOW`) had,
since writers answered together usually send their next writes together (without the wait, the
first of them was committed alone, the others in the next fsync). A lone writer never waits.
A `prelude` runs first in every batch (the change feed reads other processes' commits there,
under the same write lock), and the writer keeps the outcome of the latest real writes for
/health (`WriteHealth`).

A write's future is an asyncio future of the event loop that submitted it; the thread hands a
whole batch back to the loop at once — its changes, then its answers — with one
`call_soon_threadsafe`, instead of a thread-safe future per write and a loop wake-up for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pipeline_service.server.errors import StorageUnavailable
from pipeline_service.server.storage.changes import Change
from pipeline_service.server.storage.plans import Tx

logger = logging.getLogger("pipeline_service.server")


# Primary SQLite result codes that mean the database cannot be used right now (as opposed to a
# bug in a statement, which is a 500): busy/locked, out of memory, read-only, I/O error,
# corrupt, disk full, cannot open, locking protocol, not a database, permission denied.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26, 3})


def is_unavailable(exc: sqlite3.Error) -> bool:
    """Whether exc means the database cannot be used now (rather than a bug in a statement)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself: a closed database is unusable
        return isinstance(exc, sqlite3.OperationalError) or "closed" in str(exc)
    return (code & 0xFF) in _UNAVAILABLE_CODES


@contextlib.contextmanager
def unavailable_on_database_errors() -> Iterator[None]:
    """A database that cannot be used (locked, read-only, disk full, corrupt) is a 503;
    any other database error is a bug and stays what it is (a 500)."""
    try:
        yield
    except sqlite3.Error as exc:
        if not is_unavailable(exc):
            raise
        raise StorageUnavailable(f"database is unusable: {exc}") from exc


class WriteTx(Tx):
    """One write of a batch: its connection and clock (`{now}`: seconds since the epoch)."""

    __slots__ = ("conn", "epoch")

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn
        self.epoch = time.time()


class WriteHealth:
    """What the latest real writes did: a write that changed rows and committed, or one that
    failed because the database could not take it. Empty transactions and health probes count
    for neither (a one-row probe can succeed where every insert fails)."""

    __slots__ = ("failure", "last_success")

    def __init__(self) -> None:
        # When real writes last committed (monotonic), None before the first one.
        self.last_success: float | None = None
        # Why the latest real writes failed, None once one succeeded since.
        self.failure: str | None = None

    def succeeded(self) -> None:
        self.last_success = time.monotonic()
        self.failure = None

    def failed(self, error: BaseException) -> None:
        self.failure = str(getattr(error, "detail", error))


class _Job:
    __slots__ = ("args", "fn", "future", "probe", "raw")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        raw: bool,
        probe: bool,
        future: asyncio.Future[Any],
    ) -> None:
        self.fn = fn
        self.args = args
        self.raw = raw
        self.probe = probe
        self.future = future

    def start(self) -> bool:
        """Whether to run the job: False when its waiter gave up (cancelled) before it ran.
        (Read from the writer thread; a waiter cancelled later is simply not answered.)"""
        return not self.future.cancelled()


# A job's outcome: its result, or the error it raised.
_Outcome = tuple[_Job, Any, BaseException | None]


def _answer(outcomes: list[_Outcome]) -> None:
    """Resolve the waiters (on the event loop); never raises, whatever a waiter did meanwhile."""
    for job, result, error in outcomes:
        if job.future.done():  # cancelled while its write ran: nothing is waiting
            continue
        if error is None:
            job.future.set_result(result)
        elif isinstance(error, StopIteration):  # a future refuses it (TypeError)
            job.future.set_exception(RuntimeError(f"a write raised {error!r}"))
        else:
            job.future.set_exception(error)


class GroupCommitWriter:
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
    LINGER = 0.001  # seconds a batch waits at most for as many writes as the recent peak
    PEAK_WINDOW = 0.05  # seconds a batch size stays the peak unless a batch reaches it again

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connect: Callable[[], sqlite3.Connection],
        discard: Callable[[], None],
        report: Callable[[list[Change]], None],
        publish: Callable[[Change], None],
        *,
        prelude: Callable[[WriteTx], None] | None = None,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        """report: committed changes, on the writer thread; publish: each of them, then on the
        loop, just before the writes that made them are answered."""
        self._loop = loop
        self._connect = connect
        self._discard = discard
        self._report = report
        self._publish = publish
        self._prelude = prelude
        self._queue: queue.Queue[_Job | None] = queue.Queue(max_queued)
        self._lock = threading.Lock()
        self._stopping = False
        self._last_batch = 0  # how many writes the last batch committed
        self._peak, self._peak_at = 0, 0.0  # the recent peak batch size, when last reached
        self.health = WriteHealth()
        self._thread = self._start_thread()

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        thread.start()
        return thread

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        *,
        raw: bool = False,
        probe: bool = False,
    ) -> asyncio.Future[Any]:
        """Run fn(tx: WriteTx, *args) in a write transaction (raw: fn(connection, *args), alone,
        outside any transaction; probe: a health check's write, left out of `health`).
        Called on the event loop; the future resolves there."""
        job = _Job(fn, args, raw, probe, self._loop.create_future())
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
        # Writes answered together usually come back together: wait a moment for as many as
        # the recent peak batch (the last batch once the peak is older than PEAK_WINDOW),
        # rather than commit the first alone and the others in the next fsync (as
        # PostgreSQL's commit_delay does).
        now = time.monotonic()
        expected = self._peak if now - self._peak_at <= self.PEAK_WINDOW else self._last_batch
        self._last_batch = 0
        deadline = now + self.LINGER
        while len(batch) < self.MAX_BATCH:
            try:
                if len(batch) < expected:
                    queued = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                else:
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
            self._last_batch = len(batch)
            now = time.monotonic()
            if len(batch) >= self._peak or now - self._peak_at > self.PEAK_WINDOW:
                self._peak, self._peak_at = len(batch), now
            self._commit(batch)
        return stopping

    def _run_raw(self, job: _Job) -> None:
        if not job.start():
            return
        try:
            with unavailable_on_database_errors():
                result = job.fn(self._connect(), *job.args)
        except BaseException as exc:
            self._hand_back([], [(job, None, exc)])
        else:
            self._hand_back([], [(job, result, None)])

    def _hand_back(self, changes: list[Change], outcomes: list[_Outcome]) -> None:
        """Publish changes, then answer outcomes, in one call on the event loop."""
        try:
            self._loop.call_soon_threadsafe(self._deliver, changes, outcomes)
        except RuntimeError:  # the loop is closed: nothing waits any more
            logger.debug("the event loop closed before writes were answered")

    def _deliver(self, changes: list[Change], outcomes: list[_Outcome]) -> None:
        try:
            for change in changes:
                try:
                    self._publish(change)
                except Exception:
                    logger.exception("a change listener failed")
        finally:
            _answer(outcomes)

    def _commit(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if job.start()]
        if not batch:
            return
        outcomes: list[_Outcome] = []
        changes: list[Change] = []
        # The outcome of the batch's real writes, in order: True once one changed rows, False
        # once one failed on the database, None while neither happened.
        wrote: bool | None = None
        failure: BaseException | None = None
        try:
            with unavailable_on_database_errors():
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self._prelude is not None:
                        tx = WriteTx(conn)
                        self._prelude(tx)
                        changes.extend(tx.changes)
                    for job in batch:
                        tx = WriteTx(conn)
                        before = conn.total_changes
                        conn.execute("SAVEPOINT job")
                        try:
                            with unavailable_on_database_errors():
                                result = job.fn(tx, *job.args)
                        except Exception as exc:
                            if not conn.in_transaction:
                                # The database rolled the whole batch back (an I/O error, a
                                # full disk): every write of it failed.
                                raise
                            conn.execute("ROLLBACK TO job")
                            conn.execute("RELEASE job")
                            outcomes.append((job, None, exc))
                            if isinstance(exc, StorageUnavailable) and not job.probe:
                                wrote, failure = False, exc
                        else:
                            conn.execute("RELEASE job")
                            outcomes.append((job, result, None))
                            changes.extend(tx.changes)
                            if conn.total_changes > before and not job.probe:
                                wrote, failure = True, None
                    conn.execute("COMMIT")
                except BaseException:
                    self._roll_back(conn)
                    raise
        except BaseException as exc:  # nothing of the batch was committed
            if not all(job.probe for job in batch):
                self.health.failed(exc)
            self._hand_back([], [(job, None, exc) for job in batch])
            return
        if wrote:
            self.health.succeeded()
        elif failure is not None:
            self.health.failed(failure)
        try:
            self._report(changes)
        finally:
            self._hand_back(changes, outcomes)

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        """Undo a failed batch; a connection that cannot even roll back is dropped."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except Exception:
            logger.exception("ROLLBACK failed; reopening the database connection")
            self._discard()
