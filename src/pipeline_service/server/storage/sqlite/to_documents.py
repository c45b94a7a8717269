"""SQLite migration 5: pipelines, runs, checkpoints and log records from columns to documents.

Releases before it stored each field of these records in a column of its own. From version 5
on, a SQLite file has the tables PostgreSQL has: each record is one JSON document (`doc`)
beside the columns queries filter and sort on, and the text compared for equality (action
names, worker ids, idempotency scopes) is stored as `documents.key` gives it.

The tables are rebuilt (new tables, every row copied and re-encoded, old tables dropped, new
ones renamed), in the migration's transaction; foreign keys are off meanwhile (`schema.migrate`)
so that dropping a table cascades nowhere. JSON an older release stored with NaN or Infinity in
it reads as null, as those releases served it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from pipeline_service.server.storage import documents

TABLES = """
CREATE TABLE pipelines_v5 (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE runs_v5 (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    lease_worker TEXT,
    lease_expires REAL,
    lease_token INTEGER NOT NULL DEFAULT 0,
    log_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE checkpoints_v5 (
    pk INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    action_key TEXT NOT NULL,
    action_index INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE logs_v5 (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    action_key TEXT,
    level TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE metric_series_v5 (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    action_key TEXT NOT NULL,
    stride INTEGER NOT NULL,
    recorded INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    PRIMARY KEY (run_id, action_key)
);
CREATE TABLE metric_points_v5 (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    action_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (run_id, action_key, seq)
)
"""

INDEXES = """
CREATE INDEX runs_by_pipeline ON runs (pipeline_id, pk);
CREATE INDEX runs_by_status ON runs (status, pk);
CREATE INDEX checkpoints_by_run ON checkpoints (run_id, action_index, created_at, pk);
CREATE INDEX checkpoints_by_action ON checkpoints (run_id, action_key, created_at, pk)
"""

REBUILT = ("pipelines", "runs", "checkpoints", "logs", "metric_series", "metric_points")


def _json(text: str | None) -> Any:
    """JSON an older release stored (NaN and Infinity read as null)."""
    return None if text is None else json.loads(text, parse_constant=lambda name: None)


# The columns in which older releases stored JSON text.
_JSON_COLUMNS = frozenset({"actions", "params", "progress", "result", "params_snapshot"})


def _document(row: sqlite3.Row, names: str) -> str:
    """The encoded document of row's columns names (space-separated), in that order."""
    return documents.encode(
        {name: _json(row[name]) if name in _JSON_COLUMNS else row[name] for name in names.split()}
    )


def _pipelines(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    for row in conn.execute(
        "SELECT pk, id, name, description, actions, created_at, updated_at FROM pipelines"
    ):
        doc = _document(row, "id name description actions created_at updated_at")
        yield row["pk"], row["id"], doc


def _runs(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    for row in conn.execute(
        "SELECT pk, id, pipeline_id, status, params, current_action, current_action_index, "
        "progress, result, error, work_dir, started_at, completed_at, created_at, version, "
        "lease_worker, lease_expires, lease_token, log_seq FROM runs"
    ):
        doc = _document(
            row,
            "id pipeline_id status params current_action current_action_index progress result "
            "error work_dir started_at completed_at created_at",
        )
        yield (
            row["pk"],
            row["id"],
            row["pipeline_id"],
            row["status"],
            doc,
            row["version"],
            documents.key(row["lease_worker"]),
            row["lease_expires"],
            row["lease_token"],
            row["log_seq"],
        )


def _checkpoints(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    for row in conn.execute(
        "SELECT pk, id, run_id, action_name, action_index, status, params_snapshot, result, "
        "artifacts_path, created_at FROM checkpoints"
    ):
        doc = _document(
            row,
            "id run_id action_name action_index status params_snapshot result artifacts_path "
            "created_at",
        )
        yield (
            row["pk"],
            row["run_id"],
            documents.key(row["action_name"]),
            row["action_index"],
            row["created_at"],
            doc,
        )


def _logs(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    keys: dict[str | None, str | None] = {}  # a run's records share a few action names
    cursor = conn.execute(
        "SELECT id, run_id, seq, action_name, level, message, timestamp FROM logs ORDER BY pk"
    )
    cursor.row_factory = None  # plain tuples: the biggest table, read at full speed
    for id_, run_id, seq, action_name, level, message, timestamp in cursor:
        doc = {
            "id": id_,
            "run_id": run_id,
            "seq": seq,
            "action_name": action_name,
            "level": level,
            "message": message,
            "timestamp": timestamp,
        }
        if action_name not in keys:
            keys[action_name] = documents.key(action_name)
        yield run_id, seq, keys[action_name], level, timestamp, documents.encode(doc)


def _keyed(conn: sqlite3.Connection, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows of sql (its second column an action name) with the name as its key."""
    for run_id, action_name, *rest in conn.execute(sql):
        yield (run_id, documents.key(action_name), *rest)


def migrate(conn: sqlite3.Connection) -> None:
    """Rebuild the tables (inside the caller's transaction, foreign keys off)."""
    factory, conn.row_factory = conn.row_factory, sqlite3.Row
    try:
        for statement in TABLES.split(";"):
            conn.execute(statement)
        copies = (
            ("pipelines_v5 (pk, id, doc)", _pipelines(conn)),
            (
                "runs_v5 (pk, id, pipeline_id, status, doc, version, lease_worker, "
                "lease_expires, lease_token, log_seq)",
                _runs(conn),
            ),
            (
                "checkpoints_v5 (pk, run_id, action_key, action_index, created_at, doc)",
                _checkpoints(conn),
            ),
            ("logs_v5 (run_id, seq, action_key, level, timestamp, doc)", _logs(conn)),
            (
                "metric_series_v5 (run_id, action_key, stride, recorded, kept)",
                _keyed(
                    conn,
                    "SELECT run_id, action_name, stride, recorded, kept FROM metric_series",
                ),
            ),
            (
                "metric_points_v5 (run_id, action_key, seq, point)",
                _keyed(conn, "SELECT run_id, action_name, seq, point FROM metric_points"),
            ),
        )
        for target, rows in copies:
            marks = ", ".join("?" * (target.count(",") + 1))
            conn.executemany(f"INSERT INTO {target} VALUES ({marks})", rows)
        scopes = conn.execute("SELECT scope, key FROM idempotency").fetchall()
        conn.executemany(
            "UPDATE idempotency SET scope=? WHERE scope=? AND key=?",
            [(documents.key(scope), scope, key) for scope, key in scopes],
        )
        for table in REBUILT:
            conn.execute(f"DROP TABLE {table}")
        for table in REBUILT:
            conn.execute(f"ALTER TABLE {table}_v5 RENAME TO {table}")
        for statement in INDEXES.split(";"):
            conn.execute(statement)
    finally:
        conn.row_factory = factory
