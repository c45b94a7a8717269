"""Databases written by the release before documents (SQLite schema 4, PostgreSQL schema 1),
with a row in every table, are opened by a server and read back whole: every record, the lease,
the log cursor, the metric series and the Idempotency-Keys carry over (each backend)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.storage.postgres import schema as postgres_schema
from pipeline_service.server.storage.sqlite import schema as sqlite_schema
from tests.sample import API
from tests.support.sse import open_stream

from .conftest import Database

T0 = "2026-01-02T03:04:05.000006Z"
T1 = "2026-01-02T03:04:06.000000Z"
T2 = "2026-01-02T03:04:07.000000Z"
WORKER = "wörker-1"  # non-ASCII: stored as a key since the documents
LEASE_TOKEN = 3

PIPELINE: dict[str, Any] = {
    "id": "pipe-1",
    "name": "old pipeline",
    "description": "déjà vu",
    "actions": [
        {"name": "dównload", "entrypoint": "m.A", "description": None},
        {"name": "train", "entrypoint": "m.B", "description": "fit"},
    ],
    "created_at": T0,
    "updated_at": T1,
}
SECOND_BODY = {"name": "second", "actions": [{"name": "a", "entrypoint": "m.A"}]}
SECOND: dict[str, Any] = {
    "id": "pipe-2",
    "name": "second",
    "description": None,
    "actions": [{"name": "a", "entrypoint": "m.A", "description": None}],
    "created_at": T1,
    "updated_at": T1,
}


def action(name: str, **fields: Any) -> dict[str, Any]:
    entry = {
        "name": name,
        "status": "pending",
        "progress": 0,
        "total": None,
        "progress_step": None,
        "message": None,
        "metrics": {},
        "started_at": None,
        "completed_at": None,
        "error": None,
    }
    entry.update(fields)
    return entry


RUNNING: dict[str, Any] = {
    "id": "run-1",
    "pipeline_id": "pipe-1",
    "status": "running",
    "params": {"lr": 0.1, "note": "ünïcode", "nested": {"k": [1, 2.5, None]}},
    "current_action": "train",
    "current_action_index": 1,
    "progress": [
        action("dównload", status="completed", progress=1, started_at=T0, completed_at=T1),
        action("train", status="running", progress=5, total=10, metrics={"loss": 0.5}),
    ],
    "result": None,
    "error": None,
    "work_dir": "/tmp/work",
    "started_at": T0,
    "completed_at": None,
    "created_at": T0,
}
PENDING: dict[str, Any] = {
    "id": "run-2",
    "pipeline_id": "pipe-1",
    "status": "pending",
    "params": None,
    "current_action": None,
    "current_action_index": 0,
    "progress": [action("dównload"), action("train")],
    "result": None,
    "error": None,
    "work_dir": None,
    "started_at": None,
    "completed_at": None,
    "created_at": T1,
}
CHECKPOINTS: list[dict[str, Any]] = [
    {
        "id": "cp-1",
        "run_id": "run-1",
        "action_name": "dównload",
        "action_index": 0,
        "status": "completed",
        "params_snapshot": {"lr": 0.1},
        "result": {"rows": 3},
        "artifacts_path": "/artifacts/1",
        "created_at": T1,
    },
    {
        "id": "cp-2",
        "run_id": "run-1",
        "action_name": "train",
        "action_index": 1,
        "status": "failed",
        "params_snapshot": None,
        "result": None,
        "artifacts_path": None,
        "created_at": T2,
    },
]
LOGS: list[dict[str, Any]] = [
    {
        "id": "log-1",
        "run_id": "run-1",
        "seq": 1,
        "action_name": "dównload",
        "level": "info",
        "message": "with a NUL \x00 and ü",
        "timestamp": T1,
    },
    {
        "id": "log-2",
        "run_id": "run-1",
        "seq": 2,
        "action_name": None,
        "level": "error",
        "message": "second",
        "timestamp": T2,
    },
]
POINTS: list[dict[str, Any]] = [
    {"t": T1, "progress": 2, "total": 10, "progress_step": None, "values": {"loss": 0.9}},
    {"t": T2, "progress": 5, "total": 10, "progress_step": None, "values": {"loss": 0.5}},
]
RUN_VERSION = 7


def fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def old_sqlite_database(path: Path) -> None:
    """What the release with SQLite schema 4 wrote: a column per field, JSON in some."""

    def dumps(value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    with sqlite3.connect(path) as conn:
        for step in sqlite_schema.MIGRATIONS[:4]:
            assert isinstance(step, str)
            conn.executescript(step)
        for p in (PIPELINE, SECOND):
            conn.execute(
                "INSERT INTO pipelines (id, name, description, actions, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    p["id"],
                    p["name"],
                    p["description"],
                    dumps(p["actions"]),
                    p["created_at"],
                    p["updated_at"],
                ),
            )
        for run, lease in (
            (RUNNING, (WORKER, time.time() + 3600, LEASE_TOKEN, 2, RUN_VERSION)),
            (PENDING, (None, None, 0, 0, 1)),
        ):
            conn.execute(
                "INSERT INTO runs (id, pipeline_id, status, params, current_action, "
                "current_action_index, progress, result, error, work_dir, started_at, "
                "completed_at, created_at, lease_worker, lease_expires, lease_token, log_seq, "
                "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run["id"],
                    run["pipeline_id"],
                    run["status"],
                    dumps(run["params"]),
                    run["current_action"],
                    run["current_action_index"],
                    dumps(run["progress"]),
                    dumps(run["result"]),
                    run["error"],
                    run["work_dir"],
                    run["started_at"],
                    run["completed_at"],
                    run["created_at"],
                    *lease,
                ),
            )
        conn.executemany(
            "INSERT INTO checkpoints (id, run_id, action_name, action_index, status, "
            "params_snapshot, result, artifacts_path, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c["id"],
                    c["run_id"],
                    c["action_name"],
                    c["action_index"],
                    c["status"],
                    dumps(c["params_snapshot"]),
                    dumps(c["result"]),
                    c["artifacts_path"],
                    c["created_at"],
                )
                for c in CHECKPOINTS
            ],
        )
        conn.executemany(
            "INSERT INTO logs (id, run_id, seq, action_name, level, message, timestamp) "
            "VALUES (:id, :run_id, :seq, :action_name, :level, :message, :timestamp)",
            LOGS,
        )
        conn.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created, resource) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                "POST /api/v1/pipelines",
                "old-key",
                fingerprint(SECOND_BODY),
                dumps(SECOND),
                time.time(),
                "pipe-2",
            ),
        )
        conn.execute(
            "INSERT INTO metric_series (run_id, action_name, stride, recorded, kept) "
            "VALUES ('run-1', 'train', 1, 2, 2)"
        )
        conn.executemany(
            "INSERT INTO metric_points (run_id, action_name, seq, point) "
            "VALUES ('run-1', 'train', ?, ?)",
            [(seq, dumps(point)) for seq, point in enumerate(POINTS, start=1)],
        )
        conn.execute("PRAGMA user_version=4")


def old_postgres_database(dsn: str) -> None:
    """What the release with PostgreSQL schema 1 wrote: documents, keys JSON-encoded."""
    import psycopg

    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(postgres_schema.MIGRATIONS[0])
        conn.execute("CREATE TABLE pipeline_service_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO pipeline_service_schema VALUES (1)")
        for p in (PIPELINE, SECOND):
            conn.execute("INSERT INTO pipelines (id, doc) VALUES (%s, %s)", (p["id"], dumps(p)))
        conn.execute(
            "INSERT INTO runs (id, pipeline_id, status, doc, version, lease_worker, "
            "lease_expires, lease_token, log_seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, now() + interval '1 hour', %s, 2)",
            (
                RUNNING["id"],
                "pipe-1",
                "running",
                dumps(RUNNING),
                RUN_VERSION,
                dumps(WORKER),
                LEASE_TOKEN,
            ),
        )
        conn.execute(
            "INSERT INTO runs (id, pipeline_id, status, doc) VALUES (%s, %s, %s, %s)",
            (PENDING["id"], "pipe-1", "pending", dumps(PENDING)),
        )
        for c in CHECKPOINTS:
            conn.execute(
                "INSERT INTO checkpoints (run_id, action_key, action_index, created_at, doc) "
                "VALUES (%s, %s, %s, %s, %s)",
                (
                    c["run_id"],
                    dumps(c["action_name"]),
                    c["action_index"],
                    c["created_at"],
                    dumps(c),
                ),
            )
        for r in LOGS:
            conn.execute(
                "INSERT INTO logs (run_id, seq, action_key, level, timestamp, doc) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    r["run_id"],
                    r["seq"],
                    None if r["action_name"] is None else dumps(r["action_name"]),
                    r["level"],
                    r["timestamp"],
                    dumps(r),
                ),
            )
        conn.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created, resource) "
            "VALUES (%s, 'old-key', %s, %s, now(), 'pipe-2')",
            (dumps("POST /api/v1/pipelines"), fingerprint(SECOND_BODY), dumps(SECOND)),
        )
        train = dumps("train")
        conn.execute(
            "INSERT INTO metric_series (run_id, action_key, stride, recorded, kept) "
            "VALUES ('run-1', %s, 1, 2, 2)",
            (train,),
        )
        for seq, point in enumerate(POINTS, start=1):
            conn.execute(
                "INSERT INTO metric_points (run_id, action_key, seq, point) "
                "VALUES ('run-1', %s, %s, %s)",
                (train, seq, dumps(point)),
            )


def test_a_database_of_the_previous_release_reads_back_whole(new_database: Database) -> None:
    with new_database("previous-release") as db:
        if isinstance(db, Path):
            old_sqlite_database(db)
        else:
            old_postgres_database(db)
        with EmbeddedServer(db) as server, httpx.Client(base_url=server.url) as http:
            read_everything_back(http)
            seq = runs_stream_after(server.url, "0", {"run-1", "run-2"})
            write_on(http)
            # Numbered after the migrated runs: their deletions (with their pipeline's).
            runs_stream_after(server.url, seq, {"run-1", "run-2"}, "deleted")
        if isinstance(db, Path):
            with sqlite3.connect(db) as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            assert version == sqlite_schema.SCHEMA_VERSION
            assert "doc" in columns
            assert "params" not in columns


def runs_stream_after(url: str, seq: str, runs: set[str], *events: str) -> str:
    """The runs stream from Last-Event-ID seq names these runs with one of these events (created
    or changed by default), among others; the id of its `sync`."""
    events = events or ("created", "changed")
    with open_stream(f"{url}{API}/runs/stream", {"Last-Event-ID": seq}) as reader:
        frames = []
        while (frame := reader.next_event(10)).event != "sync":
            frames.append(frame)
    assert runs <= {f.json()["id"] for f in frames if f.event in events}, frames
    assert frame.id is not None
    return frame.id


def get(http: httpx.Client, path: str, **params: Any) -> Any:
    response = http.get(f"{API}{path}", params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


# Fields the previous release did not know, as its documents read back.
LINEAGE: dict[str, Any] = {"resumed_from": None, "from_action": None, "labels": {}}
IN_ACTION: dict[str, Any] = {"step": None, "state": None, "artifacts": []}
SHARED_WORKERS: dict[str, Any] = {"dedicated_workers": False, "runtime_env": None, "labels": {}}


def read_everything_back(http: httpx.Client) -> None:
    running, pending = {**RUNNING, **LINEAGE}, {**PENDING, **LINEAGE}
    checkpoints = [{**c, **IN_ACTION} for c in CHECKPOINTS]
    pipeline, second = {**PIPELINE, **SHARED_WORKERS}, {**SECOND, **SHARED_WORKERS}
    assert get(http, "/pipelines/pipe-1") == pipeline
    assert get(http, "/pipelines/") == [second, pipeline]  # newest first
    assert get(http, "/runs/run-1") == running
    assert get(http, "/runs/") == [pending, running]
    assert get(http, "/runs/", status_filter="running") == [running]
    assert get(http, "/runs/", resumed_from="run-1") == []
    assert get(http, "/pipelines/pipe-1/runs/") == [pending, running]
    assert get(http, "/runs/run-1/checkpoints/") == checkpoints
    assert get(http, "/runs/run-1/checkpoints/latest") == checkpoints[1]
    assert get(http, "/runs/run-1/checkpoints/d%C3%B3wnload") == checkpoints[0]
    assert get(http, "/runs/run-1/artifacts") == []
    assert get(http, "/runs/run-1/logs/") == LOGS
    assert get(http, "/runs/run-1/logs/", action_name="dównload") == LOGS[:1]
    assert get(http, "/runs/run-1/logs/", level="error") == LOGS[1:]
    assert get(http, "/runs/run-1/logs/", after_seq=1) == LOGS[1:]
    metrics = get(http, "/runs/run-1/metrics")["actions"]
    assert metrics == [
        {"action_name": "dównload", "recorded": 0, "points": [], "logged": []},
        {
            "action_name": "train",
            "recorded": 2,
            "points": [{"seq": seq, **point} for seq, point in enumerate(POINTS, start=1)],
            "logged": [],
        },
    ]


def write_on(http: httpx.Client) -> None:
    # The Idempotency-Key an older release stored still replays, and still refuses another body.
    key = {"Idempotency-Key": "old-key"}
    replay = http.post(f"{API}/pipelines/", json=SECOND_BODY, headers=key)
    assert (replay.status_code, replay.json()) == (201, SECOND)
    other = http.post(f"{API}/pipelines/", json={**SECOND_BODY, "name": "x"}, headers=key)
    assert other.status_code == 409
    # The lease, its worker and its token carry over.
    lease = http.post(
        f"{API}/runs/run-1/lease",
        json={"worker_id": WORKER},
        headers={"Lease-Token": str(LEASE_TOKEN)},
    )
    assert lease.status_code == 200, lease.text
    assert lease.json()["lease_token"] == LEASE_TOKEN
    stale = http.post(
        f"{API}/runs/run-1/lease", json={"worker_id": WORKER}, headers={"Lease-Token": "2"}
    )
    assert stale.status_code == 409
    # The log cursor, the version and the metric series go on where they were.
    appended = http.post(f"{API}/runs/run-1/logs/", json={"entries": [{"message": "third"}]})
    assert [r["seq"] for r in appended.json()] == [3]
    report = {"action_progress": {"name": "train", "progress": 6, "metrics": {"loss": 0.4}}}
    assert http.post(f"{API}/runs/run-1/progress", json=report).status_code == 200
    assert get(http, "/runs/run-1/metrics")["actions"][1]["recorded"] == 3
    with http.stream("GET", f"{API}/runs/run-1/progress/stream") as stream:
        for line in stream.iter_lines():
            if line.startswith("id:"):
                assert int(line.removeprefix("id:").strip()) == RUN_VERSION + 1
                break
    # The pending run nobody touched is claimable; the leased one is not.
    claim = http.post(f"{API}/runs/claim", json={"worker_id": "new", "pipeline_id": "pipe-1"})
    assert claim.status_code == 200
    assert (claim.json()["run"]["id"], claim.json()["lease_token"]) == ("run-2", 1)
    assert http.post(f"{API}/runs/claim", json={"worker_id": "new"}).status_code == 204
    # Deleting what a key created forgets the key.
    assert http.delete(f"{API}/pipelines/pipe-2").status_code == 204
    fresh = http.post(f"{API}/pipelines/", json=SECOND_BODY, headers=key)
    assert fresh.status_code == 201
    assert fresh.json()["id"] != "pipe-2"
    assert http.delete(f"{API}/pipelines/pipe-1").status_code == 204
    assert http.get(f"{API}/runs/run-1/checkpoints/").status_code == 404


@pytest.mark.parametrize("version", [1, 2, 3])
def test_every_older_sqlite_schema_reaches_the_current_one(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    with sqlite3.connect(path) as conn:
        for step in sqlite_schema.MIGRATIONS[:version]:
            assert isinstance(step, str)
            conn.executescript(step)
        conn.execute(
            "INSERT INTO pipelines (id, name, actions, created_at, updated_at) "
            "VALUES ('p', 'n', '[]', ?, ?)",
            (T0, T0),
        )
        conn.execute(f"PRAGMA user_version={version}")
    with EmbeddedServer(path) as server, httpx.Client(base_url=server.url) as http:
        assert get(http, "/pipelines/p")["name"] == "n"
        created = http.post(
            f"{API}/pipelines/p/runs/", json={}, headers={"Idempotency-Key": "k"}
        ).json()
        assert get(http, f"/runs/{created['id']}")["status"] == "pending"
