"""The storage's writer survives whatever callers and the database do: cancelled waiters, a
failing batch, a failing ROLLBACK, a full queue; /health goes through it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server import Settings, create_app
from pipeline_service.server.errors import StorageUnavailable
from pipeline_service.server.models import PipelineCreate, ProgressUpdate, RunCreate
from pipeline_service.server.storage.paging import Page
from pipeline_service.server.storage.plans import Plan, Query
from pipeline_service.server.storage.queries import RunWrite
from pipeline_service.server.storage.sqlite import SQLiteStorage
from pipeline_service.server.storage.sqlite import store as sqlite_storage
from pipeline_service.wire import Pipeline
from tests.sample import ACTIONS

WAIT = 30.0  # a write that takes this long is a hang


def pipeline_body(name: str) -> PipelineCreate:
    return PipelineCreate.model_validate({"name": name, "actions": ACTIONS})


def run_with(store: SQLiteStorage, scenario: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await store.start(lambda change: None)
        try:
            await scenario()
        finally:
            await store.close()

    asyncio.run(main())


async def hold_writer(store: SQLiteStorage) -> threading.Event:
    """Keep the writer busy until the returned event is set (writes queue up meanwhile)."""
    release, busy = threading.Event(), threading.Event()

    def block(conn: sqlite3.Connection) -> None:
        busy.set()
        release.wait(WAIT)

    assert store._writer is not None
    store._writer.submit(block, (), raw=True)
    await asyncio.get_running_loop().run_in_executor(None, busy.wait, WAIT)
    return release


async def queued(store: SQLiteStorage, count: int) -> None:
    """Until `count` writes wait in the writer's queue."""
    assert store._writer is not None
    deadline = time.monotonic() + WAIT
    while store._writer._queue.qsize() < count:
        assert time.monotonic() < deadline, "the writes were never queued"
        await asyncio.sleep(0.01)


async def names(store: SQLiteStorage) -> set[str]:
    return {p["name"] for p in await store.list_pipelines(0, 1000)}


def test_a_write_cancelled_mid_batch_leaves_the_writer_working(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "cancel.db")

    async def scenario() -> None:
        release = await hold_writer(store)
        writes = [
            asyncio.create_task(store.create_pipeline(pipeline_body(f"p{i}"), None))
            for i in range(5)
        ]
        await queued(store, 5)  # all five behind the held writer: they form one batch
        writes[2].cancel()
        for _ in range(10):  # a few loop turns: the cancellation reaches the queued job
            await asyncio.sleep(0)
        release.set()
        done = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), WAIT)
        assert isinstance(done[2], asyncio.CancelledError)
        names_ = [d if isinstance(d, BaseException) else d["name"] for d in done]
        assert names_[:2] + names_[3:] == ["p0", "p1", "p3", "p4"]
        after = await asyncio.wait_for(store.create_pipeline(pipeline_body("after"), None), WAIT)
        assert after["name"] == "after"
        assert await names(store) == {"p0", "p1", "p3", "p4", "after"}
        await asyncio.wait_for(store.check(), WAIT)

    run_with(store, scenario)


def test_a_batch_publishes_its_changes_before_it_answers_its_writes(tmp_path: Path) -> None:
    """One hand-back per batch: every change of it reaches the listener before any of its
    writers resumes (a subscriber sees a report no later than its reporter's answer), and a
    listener that fails does not keep the writes from being answered."""
    store = SQLiteStorage(tmp_path / "order.db")
    published: list[str] = []
    failures = [RuntimeError("a listener that fails")]

    def listener(change: Any) -> None:
        published.append(change.state.run["id"])
        if failures:
            raise failures.pop()

    async def report(run_id: str) -> list[str]:
        await store.report_progress(RunWrite(run_id), ProgressUpdate(status="running"))
        return list(published)

    async def main() -> None:
        await store.start(listener)
        try:
            pipeline = await store.create_pipeline(pipeline_body("p"), None)
            run_ids = [
                (await store.create_run(pipeline["id"], RunCreate(), None))["id"] for _ in range(4)
            ]
            release = await hold_writer(store)
            published.clear()
            reports = [asyncio.create_task(report(run_id)) for run_id in run_ids]
            await queued(store, 4)  # one batch
            release.set()
            seen = await asyncio.wait_for(asyncio.gather(*reports), WAIT)
            assert seen == [published] * 4
            assert sorted(published) == sorted(run_ids)
        finally:
            await store.close()

    asyncio.run(main())


def test_a_write_raising_stopiteration_is_answered_and_the_writer_goes_on(tmp_path: Path) -> None:
    """An asyncio future cannot hold StopIteration (set_exception refuses it): such a write is
    answered with a RuntimeError instead of never, and the next write is answered as usual."""
    store = SQLiteStorage(tmp_path / "stop.db")

    def stops(conn: sqlite3.Connection) -> None:
        raise StopIteration

    async def scenario() -> None:
        assert store._writer is not None
        release = await hold_writer(store)
        stopping = store._writer.submit(stops, (), raw=True)
        created = asyncio.create_task(store.create_pipeline(pipeline_body("after"), None))
        await queued(store, 2)
        release.set()
        with pytest.raises(RuntimeError, match="StopIteration"):
            await asyncio.wait_for(stopping, WAIT)
        assert (await asyncio.wait_for(created, WAIT))["name"] == "after"

    run_with(store, scenario)


class FaultyConnection:
    """The writer's connection, with some statements made to fail once."""

    def __init__(self, conn: sqlite3.Connection, faults: list[str]) -> None:
        self._conn = conn
        self._faults = faults

    def execute(self, sql: str, *args: Any) -> Any:
        if sql in self._faults:
            self._faults.remove(sql)
            raise sqlite3.OperationalError(f"injected failure of {sql}")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class FaultyStorage(SQLiteStorage):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.faults: list[str] = []

    def _connect(self) -> Any:
        conn = super()._connect()
        if threading.current_thread().name == "sqlite-writer":
            return FaultyConnection(conn, self.faults)
        return conn


@pytest.mark.parametrize("faults", [["COMMIT"], ["COMMIT", "ROLLBACK"]])
def test_a_failed_batch_or_rollback_is_answered_and_the_next_write_works(
    tmp_path: Path, faults: list[str]
) -> None:
    store = FaultyStorage(tmp_path / "faulty.db")

    async def scenario() -> None:
        await store.create_pipeline(pipeline_body("before"), None)
        store.faults[:] = faults
        with pytest.raises(StorageUnavailable, match="injected failure of COMMIT"):
            await asyncio.wait_for(store.create_pipeline(pipeline_body("lost"), None), WAIT)
        assert store.faults == []
        after = await asyncio.wait_for(store.create_pipeline(pipeline_body("after"), None), WAIT)
        assert after["name"] == "after"
        assert await names(store) == {"before", "after"}
        await asyncio.wait_for(store.check(), WAIT)

    run_with(store, scenario)


def test_a_full_write_queue_is_a_503_with_retry_after(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "full.db", max_queued_writes=3)

    async def scenario() -> None:
        release = await hold_writer(store)
        waiting = [
            asyncio.create_task(store.create_pipeline(pipeline_body(f"q{i}"), None))
            for i in range(3)
        ]
        await queued(store, 3)
        with pytest.raises(StorageUnavailable) as refused:
            await store.create_pipeline(pipeline_body("one too many"), None)
        assert refused.value.status_code == 503
        assert refused.value.headers == {"Retry-After": "1"}
        release.set()
        await asyncio.wait_for(asyncio.gather(*waiting), WAIT)
        assert await names(store) == {"q0", "q1", "q2"}

    run_with(store, scenario)


def test_a_bug_in_a_statement_is_not_reported_as_an_unusable_database(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "bug.db")

    async def scenario() -> None:
        with pytest.raises(sqlite3.OperationalError, match=r"no such (table|column)"):
            await store._write(lambda tx: select_from("no_such_table"))
        await store.create_pipeline(pipeline_body("fine"), None)

    run_with(store, scenario)


def test_health_fails_while_the_writer_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_storage, "HEALTH_WRITE_TIMEOUT", 0.5)
    monkeypatch.setattr(sqlite_storage, "HEALTH_FRESH", 0.0)  # every check writes
    app = create_app(Settings(db_path=tmp_path / "health.db"))

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as http,
        ):
            assert (await http.get("/health")).status_code == 200
            release = await hold_writer(app.state.storage)
            try:
                stuck = await http.get("/health")
                assert stuck.status_code == 503
                assert "write" in stuck.json()["detail"]
            finally:
                release.set()
            assert (await http.get("/health")).status_code == 200

    asyncio.run(scenario())


def select_from(table: str) -> Plan[list[Any]]:
    """A plan whose statement names a column that exists nowhere (a bug, not an outage)."""
    rows = yield Query(f"SELECT nope FROM {table}")
    return list(rows)


class BuggyStorage(SQLiteStorage):
    async def list_pipelines(self, skip: int, limit: int) -> Page[Pipeline]:
        return Page(await self._read(lambda tx: select_from("pipelines")))


def test_a_bug_is_answered_500_not_503(tmp_path: Path) -> None:
    app = create_app(
        Settings(db_path=tmp_path / "buggy.db"), storage=BuggyStorage(tmp_path / "b.db")
    )

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as http,
        ):
            response = await http.get("/api/v1/pipelines/")
            assert response.status_code == 500
            assert response.json() == {"detail": "internal server error"}
            assert (await http.get("/health")).status_code == 200

    asyncio.run(scenario())


def test_health_fails_until_a_real_write_succeeds_again(tmp_path: Path) -> None:
    """After real writes failed, a passing one-row probe proves nothing (it can pass where every
    insert fails): /health stays 503 until a real write commits again."""
    store = FaultyStorage(tmp_path / "full.db")

    async def scenario() -> None:
        await store.create_pipeline(pipeline_body("fresh"), None)
        await store.check()  # a write just committed: nothing more to prove
        store.faults[:] = ["COMMIT"]  # like a disk that just filled up
        with pytest.raises(StorageUnavailable):
            await store.create_pipeline(pipeline_body("lost"), None)
        for _ in range(2):
            with pytest.raises(StorageUnavailable, match="injected failure of COMMIT"):
                await store.check()
        await store.create_pipeline(pipeline_body("room again"), None)
        await store.check()
        assert await names(store) == {"fresh", "room again"}

    run_with(store, scenario)


def test_a_failing_health_probe_is_a_503_and_a_passing_one_is_not_a_real_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_storage, "HEALTH_FRESH", 0.0)  # every check writes
    store = FaultyStorage(tmp_path / "probe.db")

    async def scenario() -> None:
        store.faults[:] = ["COMMIT"]
        with pytest.raises(StorageUnavailable, match="injected failure of COMMIT"):
            await store.check()
        await store.check()  # a failed probe is not a failed real write
        assert store._writer is not None
        assert store._writer.health.last_success is None  # nor a passing one a real write

    run_with(store, scenario)


def test_writes_that_came_together_are_waited_for_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a batch of four, the next batch waits (at most LINGER) for four writes rather than
    commit the first alone: one fsync for what the last batch's clients send back. Fewer than
    that are committed once LINGER is over, and the recent peak (four) is still waited for
    next; once the peak is older than PEAK_WINDOW, the last batch's size is."""
    store = SQLiteStorage(tmp_path / "linger.db")
    sizes: list[int] = []

    async def scenario() -> None:
        writer = store._writer
        assert writer is not None
        commit = writer._commit

        def counted(batch: list[Any]) -> None:
            sizes.append(len(batch))
            commit(batch)

        def create(name: str) -> asyncio.Task[Pipeline]:
            return asyncio.create_task(store.create_pipeline(pipeline_body(name), None))

        async def one_by_one(names: str) -> None:
            """Each write sent a while after the one before."""
            writes = []
            for name in names:
                writes.append(create(name))
                await asyncio.sleep(0.05)
            await asyncio.wait_for(asyncio.gather(*writes), WAIT)

        monkeypatch.setattr(writer, "_commit", counted)
        monkeypatch.setattr(writer, "LINGER", WAIT, raising=False)
        monkeypatch.setattr(writer, "PEAK_WINDOW", WAIT, raising=False)
        release = await hold_writer(store)
        together = [create(f"a{i}") for i in range(4)]
        await queued(store, 4)
        release.set()
        await asyncio.wait_for(asyncio.gather(*together), WAIT)
        await one_by_one("bcde")  # one batch all the same
        monkeypatch.setattr(writer, "LINGER", 0.05, raising=False)
        # Two of the four: committed once LINGER is over.
        await asyncio.wait_for(asyncio.gather(create("f"), create("g")), WAIT)
        monkeypatch.setattr(writer, "LINGER", WAIT, raising=False)
        await one_by_one("hijk")  # the peak (four), not the last batch (two), is waited for
        monkeypatch.setattr(writer, "LINGER", 0.05, raising=False)
        monkeypatch.setattr(writer, "PEAK_WINDOW", 0.0, raising=False)
        for name in "lm":  # the peak is old: l waits for the last batch's four, then m is alone
            await asyncio.wait_for(store.create_pipeline(pipeline_body(name), None), WAIT)
        assert sizes[-6:] == [4, 4, 2, 4, 1, 1]

    run_with(store, scenario)
