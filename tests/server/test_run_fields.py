"""Adding a field to runs (CONTRIBUTING.md, "Adding a run field"): a field that only the shared
document code knows — a default for stored runs without it, a value set when a run is created —
round-trips through each backend: create, get, list, update, claim, and the change feeds that
serve streams (this process's own commits, and another process's on the same database)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server.models import PipelineCreate, ProgressUpdate, RunCreate
from pipeline_service.server.storage import documents, open_storage
from pipeline_service.server.storage.changes import Change, RunChanged
from pipeline_service.server.storage.queries import RunWrite
from pipeline_service.wire import Run
from tests.sample import ACTIONS, API, unique

from .conftest import Database

Factory = Callable[..., dict[str, Any]]
FIELD = "test_only_field"
DEFAULT = {"origin": "default"}
AddField = Callable[[], None]


@pytest.fixture
def add_field(monkeypatch: pytest.MonkeyPatch) -> AddField:
    """add_field() adds FIELD to runs as a new field is added: a default in RUN_DEFAULTS (what
    stored runs without it read as) and a value new_run sets ({"origin": "create", "n": 1, 2…})."""

    def add() -> None:
        made = 0
        new_run = documents.new_run

        def new_run_with_field(*args: Any) -> Run:
            nonlocal made
            made += 1
            run = new_run(*args)
            run[FIELD] = {"origin": "create", "n": made}  # type: ignore[literal-required]
            return run

        monkeypatch.setitem(documents.RUN_DEFAULTS, FIELD, DEFAULT)
        monkeypatch.setattr(documents, "new_run", new_run_with_field)

    return add


def test_a_new_run_field_round_trips_over_the_wire(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory, add_field: AddField
) -> None:
    pipeline_id = make_pipeline()["id"]
    older = make_run(pipeline_id)  # stored before the field existed
    assert FIELD not in older
    add_field()
    newer = make_run(pipeline_id)
    created = {"origin": "create", "n": 1}
    assert newer[FIELD] == created

    assert client.get(f"{API}/runs/{newer['id']}").json()[FIELD] == created
    assert client.get(f"{API}/runs/{older['id']}").json()[FIELD] == DEFAULT
    listed = client.get(f"{API}/pipelines/{pipeline_id}/runs/").json()
    assert [run[FIELD] for run in listed] == [created, DEFAULT]  # newest first
    everywhere = client.get(f"{API}/runs/", params={"limit": 1000}).json()
    assert {run["id"]: run[FIELD] for run in everywhere}[newer["id"]] == created

    claims = []
    for _ in range(2):
        response = client.post(
            f"{API}/runs/claim", json={"worker_id": unique("w"), "pipeline_id": pipeline_id}
        )
        assert response.status_code == 200, response.text
        claims.append(response.json()["run"])
    assert [(run["id"], run[FIELD]) for run in claims] == [
        (older["id"], DEFAULT),
        (newer["id"], created),
    ]
    patched = client.patch(f"{API}/runs/{newer['id']}", json={"status": "completed"})
    assert patched.json()[FIELD] == created
    reported = client.post(
        f"{API}/runs/{older['id']}/progress",
        json={"action_progress": {"name": "download", "progress": 0.5}},
    )
    assert reported.json()[FIELD] == DEFAULT


def test_a_new_run_field_reaches_the_change_feeds(
    new_database: Database, add_field: AddField
) -> None:
    """Two stores on one database, as two server processes: the writer's own listener and the
    other store's (SQLite: its data_version watcher; PostgreSQL: LISTEN/NOTIFY) see the field."""
    add_field()

    async def scenario(db: Path | str) -> tuple[list[Run], list[Run]]:
        writer, reader = open_storage(db), open_storage(db)
        own: list[Change] = []
        other: list[Change] = []
        watched: set[str] = set()
        await writer.start(own.append, lambda: watched)
        await reader.start(other.append, lambda: watched)
        try:
            body = PipelineCreate.model_validate({"name": "p", "actions": ACTIONS})
            pipeline = await writer.create_pipeline(body, None)
            run = await writer.create_run(pipeline["id"], RunCreate(), None)
            watched.add(run["id"])
            report = {"action_progress": {"name": "download", "progress": 0.5}}
            deadline = time.monotonic() + 30
            while not all(any(isinstance(c, RunChanged) for c in seen) for seen in (own, other)):
                assert time.monotonic() < deadline, "a store never reported the change"
                await writer.report_progress(
                    RunWrite(run["id"]), ProgressUpdate.model_validate(report)
                )
                await asyncio.sleep(0.2)
            return (
                [c.state.run for c in own if isinstance(c, RunChanged)],
                [c.state.run for c in other if isinstance(c, RunChanged)],
            )
        finally:
            await asyncio.gather(writer.close(), reader.close())

    with new_database("field-feeds") as db:
        own, other = asyncio.run(scenario(db))
    created = {"origin": "create", "n": 1}
    assert own
    assert other
    assert all(run[FIELD] == created for run in own + other)  # type: ignore[literal-required]
