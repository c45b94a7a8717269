"""The SQLite store on its own: schema versioning, WAL/synchronous settings, timestamps (and
what every store refuses to write, on each backend)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from pipeline_service.server.models import PipelineCreate
from pipeline_service.server.storage.base import Change
from pipeline_service.server.storage.sqlite import SQLiteStorage
from pipeline_service.server.storage.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from pipeline_service.server.timestamps import normalize_timestamp
from pipeline_service.wire import Run
from tests.sample import ACTIONS

from .conftest import Database


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
    # Every migration ran: each table one of them creates exists.
    assert set(re.findall(r"CREATE TABLE (\w+)", "".join(MIGRATIONS))) <= tables


def test_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        open_and_create(path)


def test_synchronous_full_on_every_connection(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "sync.db")

    async def scenario() -> int:
        await store.start(lambda change: None)
        try:
            return int(
                await store._read(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
            )
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
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO pipelines (id, name, description, actions, created_at, updated_at) "
            "VALUES ('old', 'kept', NULL, '[]', '2026-01-01T00:00:00.000000Z', "
            "'2026-01-01T00:00:00.000000Z')"
        )
        conn.execute("PRAGMA user_version=1")
    open_and_create(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT name FROM pipelines WHERE id='old'").fetchone() == ("kept",)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(idempotency)")}
    assert "resource" in columns


def test_non_finite_numbers_are_never_stored(new_database: Database) -> None:
    """A caller that bypasses the HTTP layer cannot store Infinity/NaN either (on either
    backend): the write is refused (Unprocessable) and the run it would have created does not
    exist."""
    from pipeline_service.server.errors import Unprocessable
    from pipeline_service.server.models import RunCreate
    from pipeline_service.server.storage import open_storage

    async def scenario(db: Path | str) -> None:
        store = open_storage(db)
        await store.start(lambda change: None)
        try:
            body = PipelineCreate.model_validate({"name": "p", "actions": ACTIONS})
            pipeline = await store.create_pipeline(body, None)
            for bad in (float("inf"), float("nan"), -float("inf")):
                with pytest.raises(Unprocessable, match="non-finite"):
                    await store.create_run(pipeline["id"], RunCreate(params={"x": [bad]}), None)
            assert await store.list_runs(None, None, 0, 10) == []
        finally:
            await store.close()

    with new_database("finite") as db:
        asyncio.run(scenario(db))


def test_rows_poisoned_by_an_older_release_are_served_with_null(tmp_path: Path) -> None:
    """An older release stored Infinity/NaN as they came; such a run reads back with null
    there, instead of failing every read of it."""
    from pipeline_service.server.models import RunCreate

    path = tmp_path / "poisoned.db"

    async def create() -> str:
        store = SQLiteStorage(path)
        await store.start(lambda change: None)
        try:
            body = PipelineCreate.model_validate(
                {"name": "p", "actions": [{"name": "a", "entrypoint": "m.f"}]}
            )
            pipeline = await store.create_pipeline(body, None)
            return str((await store.create_run(pipeline["id"], RunCreate(), None))["id"])
        finally:
            await store.close()

    run_id = asyncio.run(create())
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE runs SET params=?, progress=? WHERE id=?",
            ('{"x":Infinity,"y":[NaN,-Infinity]}', '[{"name":"a","metrics":{"loss":NaN}}]', run_id),
        )

    async def read() -> Run:
        store = SQLiteStorage(path)
        await store.start(lambda change: None)
        try:
            return (await store.get_run(run_id)).run
        finally:
            await store.close()

    run = asyncio.run(read())
    assert run["params"] == {"x": None, "y": [None, None]}
    assert run["progress"] == [{"name": "a", "metrics": {"loss": None}}]
