"""PostgreSQL under faults: races the database resolves, a metrics snapshot, the database's
clock, connections terminated, the database stopped and started under requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API


@pytest.fixture
def server(postgres_dsn: str, tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(postgres_dsn, artifacts=tmp_path / "artifacts") as started:
        yield started


@pytest.fixture
def http(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + API, timeout=60) as client:
        yield client


def new_pipeline(http: httpx.Client) -> str:
    response = http.post("/pipelines/", json={"name": "faults", "actions": ACTIONS})
    assert response.status_code == 201, response.text
    pipeline_id: str = response.json()["id"]
    return pipeline_id


def in_thread(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def wait_for_lock_waiters(dsn: str, count: int) -> None:
    """Until `count` sessions of the server wait for a lock."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(600):
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone() or (0,)
            if waiting >= count:
                return
            conn.execute("SELECT pg_sleep(0.05)")
    raise AssertionError("the server's statements never waited for the lock")


def test_a_run_created_while_its_pipeline_is_deleted_is_not_replayed(
    http: httpx.Client, postgres_dsn: str
) -> None:
    """The delete stalls between reading the pipeline's runs and deleting it (the test holds a
    lock it needs); a run created meanwhile must not survive as an Idempotency-Key replaying a
    run that the delete cascaded away."""
    pipeline_id = new_pipeline(http)
    key = {"Idempotency-Key": "race-1"}
    with psycopg.connect(postgres_dsn) as blocker:
        blocker.execute("LOCK TABLE artifacts IN ACCESS EXCLUSIVE MODE")
        deleting, deleted = in_thread(lambda: http.delete(f"/pipelines/{pipeline_id}"))
        wait_for_lock_waiters(postgres_dsn, 1)
        creating, created = in_thread(
            lambda: http.post(f"/pipelines/{pipeline_id}/runs/", json={}, headers=key)
        )
        creating.join(2)  # it either finishes now (it needs nothing locked) or waits for the delete
        blocker.rollback()
    deleting.join(60)
    creating.join(60)
    assert deleted[0].status_code == 204, deleted[0].text
    replay = http.post(f"/pipelines/{pipeline_id}/runs/", json={}, headers=key)
    if created[0].status_code == 201:  # committed before the delete: deleted with it
        assert http.get(f"/runs/{created[0].json()['id']}").status_code == 404
    else:
        assert created[0].status_code == 404, created[0].text
    assert replay.status_code == 404, replay.text
