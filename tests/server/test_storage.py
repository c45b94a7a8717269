"""The SQLite store on its own: schema versioning, WAL/synchronous settings, timestamps (and
what every store refuses to write, on each backend)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_service.server.models import PipelineCreate
from pipeline_service.server.storage.changes import Change
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.plans import Plan, Query
from pipeline_service.server.storage.queries import RunQuery, RunWrite
from pipeline_service.server.storage.sqlite import SQLiteStorage
from pipeline_service.server.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from pipeline_service.server.timestamps import normalize_timestamp
from pipeline_service.wire import Run
from tests.sample import ACTIONS

from .conftest import Database


@contextlib.asynccontextmanager
async def started(db: Path | str) -> AsyncIterator[Storage]:
    """The store of db (a SQLite path or a PostgreSQL DSN), started; closed on leaving."""
    from pipeline_service.server.storage import open_storage

    store = open_storage(db)
    await store.start(lambda change: None)
    try:
        yield store
    finally:
        await store.close()


async def new_pipeline(store: Storage) -> str:
    """The id of a new pipeline of the sample actions."""
    body = PipelineCreate.model_validate({"name": "p", "actions": ACTIONS})
    return str((await store.create_pipeline(body, None))["id"])


def open_and_create(path: Path) -> tuple[str, list[Change]]:
    changes: list[Change] = []

    async def scenario() -> str:
        store = SQLiteStorage(path)
        await store.start(changes.append)
        try:
            body = PipelineCreate.model_validate(
                {"name": "p", "actions": [{"name": "a", "entrypoint": "m.a"}]}
            )
            return str((await store.create_pipeline(body, None))["id"])
        finally:
            await store.close()

    return asyncio.run(scenario()), changes


def test_new_database_is_versioned_wal_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first, _ = open_and_create(path)
    second, _ = open_and_create(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ids = {row[0] for row in conn.execute("SELECT id FROM pipelines")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert ids == {first, second}
    # Every migration ran: the tables of the current schema exist, nothing in between is left.
    assert tables >= {
        "pipelines",
        "runs",
        "checkpoints",
        "logs",
        "idempotency",
        "heartbeat",
        "metric_series",
        "metric_points",
    }
    assert not any(name.endswith("_v5") for name in tables)


def test_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        open_and_create(path)


def pragma(name: str) -> Plan[Any]:
    rows = yield Query(f"PRAGMA {name}")
    return rows[0][name]


def test_synchronous_full_on_every_connection(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "sync.db")

    async def scenario() -> int:
        await store.start(lambda change: None)
        try:
            return int(await store._read(lambda tx: pragma("synchronous")))
        finally:
            await store.close()

    assert asyncio.run(scenario()) == 2  # FULL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T12:00:00", "2026-01-01T12:00:00.000000Z"),
        ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00.000000Z"),
        ("2026-01-01T14:30:00+02:30", "2026-01-01T12:00:00.000000Z"),
        ("2026-01-01t12:00:00.123456789z", "2026-01-01T12:00:00.123456Z"),
        ("2026-06-30T23:59:60Z", "2026-06-30T23:59:59.999999Z"),
        ("0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00.000000Z"),
    ],
)
def test_timestamps_are_read_as_utc(text: str, expected: str) -> None:
    assert normalize_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-01-01", "noon", "2026-01-01T12:00", "2026-02-30T00:00:00", "2026-01-01T12:00:00+25:00"],
)
def test_bad_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        normalize_timestamp(text)


def test_database_of_schema_version_1_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        first = MIGRATIONS[0]
        assert isinstance(first, str)
        conn.executescript(first)
        conn.execute(
            "INSERT INTO pipelines (id, name, description, actions, created_at, updated_at) "
            "VALUES ('old', 'kept', NULL, '[]', '2026-01-01T00:00:00.000000Z', "
            "'2026-01-01T00:00:00.000000Z')"
        )
        conn.execute("PRAGMA user_version=1")
    open_and_create(path)

    async def read() -> str:
        store = SQLiteStorage(path)
        await store.start(lambda change: None)
        try:
            return (await store.get_pipeline("old"))["name"]
        finally:
            await store.close()

    assert asyncio.run(read()) == "kept"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in conn.execute("PRAGMA table_info(idempotency)")}
        dedicated = conn.execute("SELECT dedicated_workers FROM pipelines WHERE id='old'")
        assert dedicated.fetchone() == (0,)
    assert "resource" in columns


def test_non_finite_numbers_are_never_stored(new_database: Database) -> None:
    """A caller that bypasses the HTTP layer cannot store Infinity/NaN either (on either
    backend): the write is refused (Unprocessable) and the run it would have created does not
    exist."""
    from pipeline_service.server.errors import Unprocessable
    from pipeline_service.server.models import RunCreate

    async def scenario(db: Path | str) -> None:
        async with started(db) as store:
            pipeline = await new_pipeline(store)
            for bad in (float("inf"), float("nan"), -float("inf")):
                with pytest.raises(Unprocessable, match="non-finite"):
                    await store.create_run(pipeline, RunCreate(params={"x": [bad]}), None)
            assert await store.list_runs(RunQuery(limit=10)) == []

    with new_database("finite") as db:
        asyncio.run(scenario(db))


def test_a_changed_run_is_stored_as_its_json_value(new_database: Database) -> None:
    """A run changed by a report is written back as its JSON value (on either backend): a
    non-finite number in the changed action entry is refused, even where only the run's
    document holds it (no metric point), and the run keeps its version; texts beyond ASCII,
    NUL, integers beyond 64 bits and small floats read back as they were sent."""
    from pipeline_service.server.errors import Unprocessable
    from pipeline_service.server.models import ProgressUpdate, RunCreate

    def report(metrics: dict[str, Any], total: float | None = None) -> ProgressUpdate:
        sent = {"name": ACTIONS[0]["name"], "progress": 0.5, "metrics": metrics, "total": 1.0}
        body = ProgressUpdate.model_validate({"action_progress": sent})
        if total is not None:  # as a caller that bypasses validation could
            assert body.action_progress is not None
            body.action_progress.total = total
        return body

    async def scenario(db: Path | str) -> None:
        async with started(db) as store:
            pipeline = await new_pipeline(store)
            run = await store.create_run(pipeline, RunCreate(), None)
            for bad in (float("inf"), float("nan")):
                with pytest.raises(Unprocessable, match="non-finite"):
                    await store.report_progress(RunWrite(run["id"]), report({"loss": [1.0, bad]}))
            with pytest.raises(Unprocessable, match="non-finite"):  # in the run's entry only
                await store.report_progress(RunWrite(run["id"]), report({}, total=float("inf")))
            state = await store.get_run(run["id"])
            assert state.version == 1
            metrics: dict[str, Any] = {"loss": 1e-07, "count": 2**64 - 1, "note": "a\x00"}
            await store.report_progress(RunWrite(run["id"]), report(metrics))
            state = await store.get_run(run["id"])
            assert state.version == 2
            assert state.run["progress"][0]["metrics"] == metrics
            # Texts beyond ASCII, integers beyond 64 bits (in the report and in the run).
            metrics = {"note": "é\u2603", "huge": -(2**70)}
            run = await store.create_run(pipeline, RunCreate(params={"big": 2**70}), None)
            await store.report_progress(RunWrite(run["id"]), report(metrics))
            state = await store.get_run(run["id"])
            assert state.version == 2
            assert state.run["params"] == {"big": 2**70}
            assert state.run["progress"][0]["metrics"] == metrics

    with new_database("changed") as db:
        asyncio.run(scenario(db))


def test_rows_poisoned_by_an_older_release_are_served_with_null(tmp_path: Path) -> None:
    """A release before documents stored Infinity/NaN as they came; such a run reads back with
    null once migrated, instead of failing every read of it."""
    path = tmp_path / "poisoned.db"
    with sqlite3.connect(path) as conn:
        for step in MIGRATIONS[:4]:
            assert isinstance(step, str)
            conn.executescript(step)
        conn.execute(
            "INSERT INTO pipelines (id, name, actions, created_at, updated_at) "
            "VALUES ('p', 'p', '[{\"name\":\"a\",\"entrypoint\":\"m.f\"}]', 't', 't')"
        )
        conn.execute(
            "INSERT INTO runs (id, pipeline_id, status, params, progress, created_at) "
            "VALUES ('r', 'p', 'pending', ?, ?, 't')",
            ('{"x":Infinity,"y":[NaN,-Infinity]}', '[{"name":"a","metrics":{"loss":NaN}}]'),
        )
        conn.execute("PRAGMA user_version=4")

    async def read() -> Run:
        store = SQLiteStorage(path)
        await store.start(lambda change: None)
        try:
            return (await store.get_run("r")).run
        finally:
            await store.close()

    run = asyncio.run(read())
    assert run["params"] == {"x": None, "y": [None, None]}
    assert run["progress"] == [{"name": "a", "metrics": {"loss": None}}]


def test_deleting_runs_and_pipelines_leaves_no_log_records(new_database: Database) -> None:
    """A run's log records go with the run, and a pipeline's runs' with the pipeline (PostgreSQL
    has no foreign key to cascade them: the delete plans delete them); others stay."""
    from pipeline_service.server.models import LogEntry, RunCreate

    def count(tx: Any) -> Plan[dict[str, int]]:
        rows = yield Query("SELECT run_id, count(*) AS n FROM logs GROUP BY run_id")
        return {row["run_id"]: row["n"] for row in rows}

    async def scenario(db: Path | str) -> None:
        async with started(db) as store:
            first, second = [await new_pipeline(store) for _ in range(2)]
            runs = [
                (await store.create_run(pipeline, RunCreate(), None))["id"]
                for pipeline in (first, first, first, second)
            ]
            entries = [LogEntry(message=f"line {n}") for n in range(3)]
            for run_id in runs:
                await store.append_logs(RunWrite(run_id), entries)
            assert await store._read(count) == dict.fromkeys(runs, 3)
            await store.delete_run(runs[0])
            assert await store._read(count) == dict.fromkeys(runs[1:], 3)
            await store.delete_pipeline(first)
            assert await store._read(count) == {runs[3]: 3}

    with new_database("no-orphan-logs") as db:
        asyncio.run(scenario(db))
