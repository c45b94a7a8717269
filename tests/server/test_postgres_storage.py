"""The PostgreSQL store on its own: schema versioning, concurrent starts, the listener's health."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.errors import StorageUnavailable
from pipeline_service.server.models import ClaimRequest, PipelineCreate, ProgressUpdate, RunCreate
from pipeline_service.server.settings import database, redacted
from pipeline_service.server.storage import open_storage
from pipeline_service.server.storage.changes import Change, RunChanged, RunState
from pipeline_service.server.storage.plans import Plan, Query, Tx
from pipeline_service.server.storage.postgres import prepared
from pipeline_service.server.storage.postgres import store as postgres_store
from pipeline_service.server.storage.postgres.listener import LISTENER_APPLICATION_NAME
from pipeline_service.server.storage.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from pipeline_service.server.storage.postgres.store import PostgresStorage
from pipeline_service.server.storage.queries import RunWrite
from pipeline_service.server.timestamps import format_timestamp
from tests.postgres_support import unavailable, with_dbname
from tests.sample import API


async def create_pipeline(store: PostgresStorage) -> str:
    body = PipelineCreate.model_validate(
        {"name": "p", "actions": [{"name": "a", "entrypoint": "m.A"}]}
    )
    return str((await store.create_pipeline(body, None))["id"])


def test_urls_select_the_backend() -> None:
    assert database("postgresql://u@h/db") == "postgresql://u@h/db"  # not a Path: `//` stays
    assert database("sqlite:///data/x.db") == Path("data/x.db")
    assert database("sqlite:////data/x.db") == Path("/data/x.db")
    assert database("x.db") == Path("x.db")
    assert redacted("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redacted("postgresql://u@h/db") == "postgresql://u@h/db"
    assert isinstance(open_storage("postgresql://u@127.0.0.1/db"), PostgresStorage)
    assert isinstance(open_storage("postgres://u@127.0.0.1/db"), PostgresStorage)
    assert type(open_storage("sqlite:///x.db")).__name__ == "SQLiteStorage"
    assert type(open_storage("x.db")).__name__ == "SQLiteStorage"


def test_replicas_starting_together_migrate_once_and_share_data(postgres_dsn: str) -> None:
    async def scenario() -> set[str]:
        stores = [PostgresStorage(postgres_dsn, pool_size=2) for _ in range(4)]
        await asyncio.gather(*(store.start(lambda change: None) for store in stores))
        try:
            ids = {await create_pipeline(store) for store in stores}
            listed = await stores[0].list_pipelines(0, 10)
            assert {p["id"] for p in listed} == ids
            return ids
        finally:
            await asyncio.gather(*(store.close() for store in stores))

    assert len(asyncio.run(scenario())) == 4
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute("SELECT version FROM pipeline_service_schema").fetchall()
    assert rows == [(SCHEMA_VERSION,)]


def test_database_of_schema_version_1_is_migrated(postgres_dsn: str) -> None:
    """A pipeline stored before `dedicated_workers` existed reads as an ordinary one, and its
    runs are claimed as before."""
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(MIGRATIONS[0])
        conn.execute("CREATE TABLE pipeline_service_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO pipeline_service_schema VALUES (1)")
        old = {
            "id": "old",
            "name": "kept",
            "description": None,
            "actions": [{"name": "a", "entrypoint": "m.A", "description": None}],
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
        }
        conn.execute("INSERT INTO pipelines (id, doc) VALUES ('old', %s)", (json.dumps(old),))

    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn)
        await store.start(lambda change: None)
        try:
            assert await store.get_pipeline("old") == {
                **old,
                "dedicated_workers": False,
                "runtime_env": None,
                "labels": {},
            }
            run = await store.create_run("old", RunCreate(), None)
            claim = await store.claim_run(ClaimRequest(worker_id="w", lease_seconds=30))
            assert claim is not None
            assert claim["run"]["id"] == run["id"]
        finally:
            await store.close()

    asyncio.run(scenario())
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT version FROM pipeline_service_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]


def test_migrations_that_ran_never_change() -> None:
    """A migration is history: databases ran its text (built from shared parts or not), so
    each released one stays as it was, byte for byte (SHA-256, first 16 hex digits)."""
    released = [
        "94b3c515ea6bf78b",
        "a97c282254d0aed4",
        "3e86492890e1a886",
        "902c0ce857b70795",
        "3e348b6118d0f0c5",
        "e7772de60986aa60",
    ]
    ran = [hashlib.sha256(text.encode()).hexdigest()[:16] for text in MIGRATIONS]
    assert ran[: len(released)] == released


def test_database_from_a_newer_release_is_refused(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pipeline_service_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO pipeline_service_schema VALUES (%s)", (SCHEMA_VERSION + 1,))

    async def scenario() -> None:
        await PostgresStorage(postgres_dsn).start(lambda change: None)

    with pytest.raises(RuntimeError, match=r"newer than this release understands.*upgrade"):
        asyncio.run(scenario())


def test_unreachable_database_fails_the_start_clearly(postgres_dsn: str) -> None:
    missing = with_dbname(postgres_dsn, "no_such_database")

    async def scenario() -> None:
        await PostgresStorage(missing).start(lambda change: None)

    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"cannot connect to PostgreSQL.*does not exist"):
        asyncio.run(scenario())
    assert time.monotonic() - started < 10  # at once, not after a pool's retries


def test_health_is_503_while_the_listener_is_down(postgres_dsn: str) -> None:
    dbname = urlsplit(postgres_dsn).path.lstrip("/")
    admin = with_dbname(postgres_dsn, "postgres")
    with EmbeddedServer(postgres_dsn) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/health").status_code == 200
        run = http.post(
            f"{API}/pipelines/", json={"name": "p", "actions": [{"name": "a", "entrypoint": "m.A"}]}
        ).json()
        with psycopg.connect(admin, autocommit=True) as conn:
            # Existing (pooled) connections stay; new ones, the listener's included, are refused.
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            try:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND datname = %s",
                    (LISTENER_APPLICATION_NAME, dbname),
                )
                response = wait_for_status(http, 503)
                assert "listener" in response.json()["detail"]
                # The API itself still answers through the pool.
                assert http.get(f"{API}/pipelines/{run['id']}").status_code == 200
            finally:
                conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        wait_for_status(http, 200)


def wait_for_status(http: httpx.Client, status: int, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = http.get("/health")
        if response.status_code == status:
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"/health stayed {response.status_code}, expected {status}")
        time.sleep(0.05)


def test_check_refuses_a_closed_store(postgres_dsn: str) -> None:
    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn)
        await store.start(lambda change: None)
        await store.close()
        with pytest.raises(StorageUnavailable):
            await store.check()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_missing_postgresql_skips_but_fails_under_ci(
    ci: str, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL unavailable"):
        unavailable("PostgreSQL unavailable: no initdb")


def test_each_change_is_read_once_by_a_replica_and_only_if_watched(postgres_dsn: str) -> None:
    """Replica B learns of A's commits by NOTIFY; it reads each change of a run it streams once
    (the hub fans that one state out to every subscriber) and none of a run nobody streams."""

    async def scenario() -> tuple[list[int], int, int]:
        writer, reader = PostgresStorage(postgres_dsn), PostgresStorage(postgres_dsn)
        watched: set[str] = set()
        seen: list[Change] = []
        await writer.start(lambda change: None)
        await reader.start(seen.append, lambda: watched)
        reads = 0
        read_state = reader._feed.read_state

        async def counting(run_id: str) -> RunState | None:
            nonlocal reads
            reads += 1
            return await read_state(run_id)

        reader._feed.read_state = counting  # type: ignore[method-assign]
        try:
            actions = [{"name": "a", "entrypoint": "m.A"}]
            pipeline = await writer.create_pipeline(
                PipelineCreate.model_validate({"name": "p", "actions": actions}), None
            )
            streamed = await writer.create_run(pipeline["id"], RunCreate(), None)
            ignored = await writer.create_run(pipeline["id"], RunCreate(), None)
            watched.add(streamed["id"])
            for step in range(1, 11):
                for run in (streamed, ignored):
                    update = {"action_progress": {"name": "a", "progress": step / 10}}
                    await writer.report_progress(
                        RunWrite(run["id"]), ProgressUpdate.model_validate(update)
                    )
                    await asyncio.sleep(0.02)  # one change at a time: no coalescing
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                versions = [c.state.version for c in seen if isinstance(c, RunChanged)]
                if versions and versions[-1] == 11:
                    break
                await asyncio.sleep(0.02)
            ignored_changes = sum(
                1 for c in seen if isinstance(c, RunChanged) and c.state.run["id"] == ignored["id"]
            )
            return versions, reads, ignored_changes
        finally:
            await asyncio.gather(writer.close(), reader.close())

    versions, reads, ignored_changes = asyncio.run(scenario())
    assert versions == list(range(2, 12))  # every change, in order, once
    assert reads <= len(versions)
    assert ignored_changes == 0


def test_a_report_is_two_round_trips_and_every_plan_keeps_the_transactions_clock(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction's now() goes with BEGIN and the plan's first read: a progress report is
    `BEGIN; SELECT now(); SELECT … FOR UPDATE`, then `UPDATE …; COMMIT`. A plan that reads its
    time before any statement still gets the database's clock (a round trip of its own)."""
    sent: list[str] = []  # each round trip's text
    send, execute = postgres_store._send, psycopg.AsyncConnection.execute

    async def sending(conn: Any, held: list[str], *args: Any) -> Any:
        if held:
            sent.append(";".join(held))
        return await send(conn, held, *args)

    def executing(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(postgres_store, "_send", sending)
    monkeypatch.setattr(psycopg.AsyncConnection, "execute", executing)

    def time_then_clock(tx: Tx) -> Plan[tuple[str, str]]:
        early = tx.now  # before the first statement
        rows = yield Query("SELECT now() AS now")
        return early, format_timestamp(rows[0]["now"])

    def clock_then_time(tx: Tx) -> Plan[tuple[str, str]]:
        rows = yield Query("SELECT now() AS now")
        return tx.now, format_timestamp(rows[0]["now"])

    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn)
        await store.start(lambda change: None)
        try:
            run = await store.create_run(await create_pipeline(store), RunCreate(), None)
            sent.clear()
            update = ProgressUpdate.model_validate(
                {"action_progress": {"name": "a", "progress": 0.5}}
            )
            reported = await store.report_progress(RunWrite(run["id"]), update)
            assert len(sent) == 2, [t[:60] + " … " + t[-60:] for t in sent]
            now = prepared.forms("SELECT now() AS now")[1]
            executed = [text for text in sent[0].split(";") if not text.startswith("PREPARE ")]
            assert executed[:2] == ["BEGIN", now], sent
            assert executed[2].startswith("EXECUTE ps_"), sent
            assert sent[1].endswith(";COMMIT"), sent  # a lone write: synchronously
            assert reported["progress"][0]["progress"] == 0.5
            for plan, round_trips in ((time_then_clock, 3), (clock_then_time, 2)):
                sent.clear()
                seen, clock = await store._write(plan)
                assert seen == clock
                assert len(sent) == round_trips, sent
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_write_beside_others_returns_only_once_its_commit_is_flushed(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another write is under way, a write commits without waiting for its flush (no
    lock held over it), then sends the flush barrier: its commit is on disk when it returns,
    though the WAL writer would flush it 10 s later (without the barrier, every write below
    fails this)."""
    ends: list[str] = []  # how each round trip ends
    send = postgres_store._send

    async def sending(conn: Any, held: list[str], *args: Any) -> Any:
        ends.append(";".join(held[-len(postgres_store._COMMIT) :]))
        return await send(conn, held, *args)

    monkeypatch.setattr(postgres_store, "_send", sending)

    def waiting(tx: Tx) -> Plan[None]:  # under way until the test's lock goes
        yield Query("SELECT pg_advisory_xact_lock(7) AS locked")

    def write(tx: Tx) -> Plan[str]:
        yield Query("UPDATE heartbeat SET checked = now()")
        rows = yield Query("SELECT pg_current_wal_insert_lsn()::text AS lsn")
        return str(rows[0]["lsn"])  # before the commit record

    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn)
        await store.start(lambda change: None)
        async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
            await conn.execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
            await conn.execute("SELECT pg_reload_conf()")
            await conn.execute("BEGIN; SELECT pg_advisory_xact_lock(7)")
            other = asyncio.create_task(store._write(waiting))
            try:
                await asyncio.sleep(0.2)
                for _ in range(10):
                    ends.clear()
                    lsn = await store._write(write)
                    assert ends[-1] == ";".join(postgres_store._COMMIT)
                    cursor = await conn.execute(
                        "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn AS flushed", (lsn,)
                    )
                    assert await cursor.fetchone() == (True,)
                assert not other.done()
            finally:
                await conn.execute("COMMIT")
                await other
                await conn.execute("ALTER SYSTEM RESET wal_writer_delay")
                await conn.execute("SELECT pg_reload_conf()")
                await store.close()

    asyncio.run(scenario())


def prepared_names(conn: psycopg.Connection[Any]) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM pg_prepared_statements")}


def test_reports_run_prepared_statements_prepared_again_when_the_database_forgot_them(
    postgres_dsn: str,
) -> None:
    """A write's statements are prepared once per connection (the PREPARE goes with their first
    EXECUTE) and only executed from then on; after `DEALLOCATE ALL` or `DISCARD ALL` on that
    connection, and on the new connection after the old one was terminated (a restart), reports
    still work: they are prepared again."""

    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn, pool_size=1)
        await store.start(lambda change: None)
        try:
            run = await store.create_run(await create_pipeline(store), RunCreate(), None)
            progress = 0.0

            async def report() -> None:
                nonlocal progress
                progress += 0.125
                update = ProgressUpdate.model_validate(
                    {"action_progress": {"name": "a", "progress": progress}}
                )
                reported = await store.report_progress(RunWrite(run["id"]), update)
                assert reported["progress"][0]["progress"] == progress

            async def names() -> set[str]:
                async with store._connection() as conn:
                    cursor = await conn.execute("SELECT name FROM pg_prepared_statements")
                    return {row["name"] for row in await cursor.fetchall()}

            async with store._connection() as conn:
                await conn.execute("DEALLOCATE ALL")  # those of creating the run
            await report()
            first = {name for name in await names() if name.startswith("ps_")}
            assert len(first) == 3, first  # the clock, the report's read and its write
            await report()
            assert {name for name in await names() if name.startswith("ps_")} == first
            for forget in ("DEALLOCATE ALL", "DISCARD ALL"):
                async with store._connection() as conn:
                    await conn.execute(forget)
                assert not {name for name in await names() if name.startswith("ps_")}
                await report()
                assert {name for name in await names() if name.startswith("ps_")} == first
            async with store._connection() as conn:
                pid = conn.info.backend_pid
            async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as c:
                await c.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await report()
            async with store._connection() as conn:
                assert conn.info.backend_pid != pid
            assert {name for name in await names() if name.startswith("ps_")} == first
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_statement_the_database_cannot_prepare_is_sent_unprepared(postgres_dsn: str) -> None:
    """PREPARE refuses a parameter whose type it cannot infer (`:v IS NULL`): the transaction
    runs again with that statement bound on the client, and so does every later one."""

    def untyped(tx: Tx) -> Plan[bool]:
        rows = yield Query("SELECT :v IS NULL AS missing", {"v": None})
        yield Query("UPDATE heartbeat SET checked = now()")
        return bool(rows[0]["missing"])

    async def scenario() -> None:
        store = PostgresStorage(postgres_dsn, pool_size=1)
        await store.start(lambda change: None)
        try:
            assert await store._write(untyped) is True
            assert await store._write(untyped) is True
        finally:
            await store.close()

    asyncio.run(scenario())
