"""The SQLite schema, versioned with `PRAGMA user_version`, and its migrations.

A database written by an older release is migrated step by step when opened; one written by a
newer release is refused rather than misread. Since version 5 the tables are those of
PostgreSQL (`postgres/schema.py`): documents beside the columns queries use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from pipeline_service.server.storage.sqlite import to_documents

# A step: SQL statements (separated by `;`), or a function of the connection.
Migration = str | Callable[[sqlite3.Connection], None]


# 9: the runs' change sequence. Every insert and every new version of a run sets `change_seq` to
# one more than the newest number (the plans do, with `{next_change}`: writes are serial, so
# numbers follow commit order); a deleted run leaves a tombstone with the next number, kept for a
# day; `run_change_horizon.forgotten` is the newest number forgotten. Trigger bodies hold `;`,
# so this step runs statement by statement.
_NEXT_AFTER_DELETE = (
    "(SELECT max(n) + 1 FROM (SELECT max(change_seq) AS n FROM runs "
    "UNION ALL SELECT max(seq) AS n FROM run_tombstones "
    "UNION ALL SELECT forgotten AS n FROM run_change_horizon "
    "UNION ALL SELECT OLD.change_seq AS n) AS heads)"
)
_RUN_CHANGES = (
    "ALTER TABLE runs ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0",
    "UPDATE runs SET change_seq = pk",
    "CREATE INDEX runs_by_change ON runs (change_seq)",
    """CREATE TABLE run_change_horizon (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        forgotten INTEGER NOT NULL
    )""",
    "INSERT INTO run_change_horizon (id, forgotten) VALUES (1, 0)",
    """CREATE TABLE run_tombstones (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        pipeline_id TEXT NOT NULL,
        status TEXT NOT NULL,
        labels TEXT NOT NULL,
        deleted_at REAL NOT NULL
    )""",
    "CREATE INDEX run_tombstones_by_age ON run_tombstones (deleted_at)",
    f"""CREATE TRIGGER runs_sequence_delete AFTER DELETE ON runs BEGIN
        INSERT INTO run_tombstones (seq, run_id, pipeline_id, status, labels, deleted_at)
            VALUES ({_NEXT_AFTER_DELETE}, OLD.id, OLD.pipeline_id, OLD.status,
                    coalesce(json_extract(OLD.doc, '$.labels'), '{{}}'),
                    (julianday('now') - 2440587.5) * 86400);
        UPDATE run_change_horizon SET forgotten = max(forgotten, coalesce(
            (SELECT max(seq) FROM run_tombstones
                WHERE deleted_at < (julianday('now') - 2440587.5 - 1) * 86400), 0)) WHERE id = 1;
        DELETE FROM run_tombstones
            WHERE seq <= (SELECT forgotten FROM run_change_horizon WHERE id = 1);
    END""",
)


def run_changes_migration(conn: sqlite3.Connection) -> None:
    """Migration 9 (see _RUN_CHANGES)."""
    for statement in _RUN_CHANGES:
        conn.execute(statement)


# Each entry upgrades the schema from version i to i + 1 (MIGRATIONS[0]: empty → 1).
MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE pipelines (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        description TEXT,
        actions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        pipeline_id TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        params TEXT,
        current_action TEXT,
        current_action_index INTEGER NOT NULL DEFAULT 0,
        progress TEXT NOT NULL,
        result TEXT,
        error TEXT,
        work_dir TEXT,
        started_at TEXT,
        completed_at TEXT,
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        lease_worker TEXT,
        lease_expires REAL,
        log_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_pipeline ON runs(pipeline_id, pk);
    CREATE INDEX runs_by_status ON runs(status, pk);
    CREATE TABLE checkpoints (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_name TEXT NOT NULL,
        action_index INTEGER NOT NULL,
        status TEXT NOT NULL,
        params_snapshot TEXT,
        result TEXT,
        artifacts_path TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX checkpoints_by_run ON checkpoints(run_id, action_index, pk);
    CREATE INDEX checkpoints_by_action ON checkpoints(run_id, action_name, pk);
    CREATE TABLE logs (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        action_name TEXT,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        timestamp TEXT NOT NULL
    );
    CREATE UNIQUE INDEX logs_by_run ON logs(run_id, seq);
    CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        response TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_by_age ON idempotency(created);
    """,
    # 2: deleting a pipeline or run forgets the Idempotency-Keys that created it or its parts.
    """
    ALTER TABLE idempotency ADD COLUMN resource TEXT;
    CREATE INDEX idempotency_by_resource ON idempotency(resource);
    """,
    # 3: lease fencing: each claim of a run hands out the next token; a row that health checks
    # rewrite, to prove the database takes writes.
    """
    ALTER TABLE runs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), checked REAL NOT NULL);
    INSERT INTO heartbeat (id, checked) VALUES (1, 0);
    """,
    # 4: metric history, one bounded series per action (see storage/metric_history.py).
    """
    CREATE TABLE metric_series (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_name TEXT NOT NULL,
        stride INTEGER NOT NULL,
        recorded INTEGER NOT NULL,
        kept INTEGER NOT NULL,
        PRIMARY KEY (run_id, action_name)
    );
    CREATE TABLE metric_points (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        point TEXT NOT NULL,
        PRIMARY KEY (run_id, action_name, seq)
    );
    """,
    # 5: documents beside the columns queries use, as on PostgreSQL.
    to_documents.migrate,
    # 6: lineage (the run a run resumed, a column to list the runs that resumed one) and the
    # records of artifacts (their bytes are in the artifact store, under `object_key`).
    """
    ALTER TABLE runs ADD COLUMN resumed_from TEXT;
    CREATE INDEX runs_by_resumed_from ON runs (resumed_from, pk);
    CREATE TABLE artifacts (
        pk INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        object_key TEXT NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (run_id, path)
    );
    CREATE INDEX artifacts_by_object ON artifacts (object_key);
    """,
    # 7: pipelines whose runs only claims naming them take.
    """
    ALTER TABLE pipelines ADD COLUMN dedicated_workers INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: logged metrics, one bounded series per (run, action, metric): storage/metric_steps.py;
    # run events (storage/events.py); run labels, to filter by (storage/labels.py).
    """
    CREATE TABLE metric_step_series (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key TEXT NOT NULL,
        name TEXT NOT NULL,
        stride INTEGER NOT NULL,
        recorded INTEGER NOT NULL,
        PRIMARY KEY (run_id, action_key, name)
    );
    CREATE TABLE metric_steps (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key TEXT NOT NULL,
        name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        point TEXT NOT NULL,
        PRIMARY KEY (run_id, action_key, name, seq)
    );
    CREATE TABLE run_events (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        doc TEXT NOT NULL
    );
    CREATE INDEX run_events_by_run ON run_events (run_id, pk);
    CREATE TABLE run_labels (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE INDEX run_labels_by_label ON run_labels (key, value);
    """,
    # 9: the runs' change sequence, for the runs stream (storage/run_changes.py).
    run_changes_migration,
)

# The version of a database every migration has been applied to.
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a newer one. Foreign keys are
    off while migrating: a table being rebuilt must not cascade."""
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{path} has schema version {version}, newer than this release "
                    f"understands ({SCHEMA_VERSION}); upgrade pipeline-service"
                )
            for step in MIGRATIONS[version:]:
                if isinstance(step, str):
                    for statement in step.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                else:
                    step(conn)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("PRAGMA foreign_keys=ON")
