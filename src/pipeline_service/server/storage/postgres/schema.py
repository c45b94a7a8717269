"""The PostgreSQL schema, versioned in table `pipeline_service_schema`, and its migrations.

Documents are stored as JSON text (`doc`), so they come back exactly as written (key order,
numbers, `\\u0000` inside strings); the columns beside them are what queries filter and order on
(the same tables as SQLite's since its version 5). Text compared by range uses the "C"
collation, the byte order SQLite uses too.

A trigger announces every committed change of a run on channel `pipeline_service`, in commit
order, with a payload of a few bytes (never the document: NOTIFY payloads are capped at 8,000
bytes): `r <run id> <version>` (a new run, or a new version), `l <run id> <first seq> <last
seq>`, `d <run id>`.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from pipeline_service.server.settings import redacted

logger = logging.getLogger("pipeline_service.server.postgres")

CHANNEL = "pipeline_service"

# Held (pg_advisory_lock) while migrating, so replicas that start together never race.
MIGRATION_LOCK_ID = 0x7069_7065_6C69_6E65  # "pipeline"


def _announce_function(create: str, inserts: str = "") -> str:
    """The function the trigger announces changes with, as migration 1 created it (`create`:
    how the statement begins) and migration 5 replaced it (announcing `inserts` as well)."""
    return f"""{create} pipeline_service_announce() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('pipeline_service', 'd ' || OLD.id);
            RETURN OLD;
        END IF;
{inserts}        IF NEW.version <> OLD.version THEN
            PERFORM pg_notify('pipeline_service', 'r ' || NEW.id || ' ' || NEW.version);
        END IF;
        IF NEW.log_seq <> OLD.log_seq THEN
            PERFORM pg_notify(
                'pipeline_service', 'l ' || NEW.id || ' ' || (OLD.log_seq + 1) || ' ' || NEW.log_seq
            );
        END IF;
        RETURN NEW;
    END $$;"""


_ANNOUNCE_INSERTS = """        IF TG_OP = 'INSERT' THEN
            PERFORM pg_notify('pipeline_service', 'r ' || NEW.id || ' ' || NEW.version);
            RETURN NEW;
        END IF;
"""


# Each entry upgrades the schema from version i to i + 1 (MIGRATIONS[0]: empty → 1).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE pipelines (
        pk bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        doc text NOT NULL
    );
    CREATE TABLE runs (
        pk bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        pipeline_id text NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        status text NOT NULL,
        doc text NOT NULL,
        version bigint NOT NULL DEFAULT 1,
        lease_worker text,
        lease_expires timestamptz,
        lease_token bigint NOT NULL DEFAULT 0,
        log_seq bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_pipeline ON runs (pipeline_id, pk);
    CREATE INDEX runs_by_status ON runs (status, pk);
    CREATE TABLE checkpoints (
        pk bigserial PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key text NOT NULL,
        action_index bigint NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        doc text NOT NULL
    );
    CREATE INDEX checkpoints_by_run ON checkpoints (run_id, action_index, created_at, pk);
    CREATE INDEX checkpoints_by_action ON checkpoints (run_id, action_key, created_at, pk);
    CREATE TABLE logs (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        action_key text,
        level text NOT NULL,
        timestamp text COLLATE "C" NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE idempotency (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        response text NOT NULL,
        created timestamptz NOT NULL,
        resource text,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_by_age ON idempotency (created);
    CREATE INDEX idempotency_by_resource ON idempotency (resource);
    CREATE TABLE metric_series (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key text NOT NULL,
        stride bigint NOT NULL,
        recorded bigint NOT NULL,
        kept bigint NOT NULL,
        PRIMARY KEY (run_id, action_key)
    );
    CREATE TABLE metric_points (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key text NOT NULL,
        seq bigint NOT NULL,
        point text NOT NULL,
        PRIMARY KEY (run_id, action_key, seq)
    );
    CREATE TABLE heartbeat (id integer PRIMARY KEY CHECK (id = 1), checked timestamptz NOT NULL);
    INSERT INTO heartbeat (id, checked) VALUES (1, now());
    """
    + _announce_function("CREATE FUNCTION")
    + """
    CREATE TRIGGER runs_announce AFTER UPDATE OR DELETE ON runs
        FOR EACH ROW EXECUTE FUNCTION pipeline_service_announce();
    """,
    # 2: lineage (the run a run resumed, a column to list the runs that resumed one) and the
    # records of artifacts (their bytes are in the artifact store, under `object_key`).
    """
    ALTER TABLE runs ADD COLUMN resumed_from text;
    CREATE INDEX runs_by_resumed_from ON runs (resumed_from, pk);
    CREATE TABLE artifacts (
        pk bigserial PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path text COLLATE "C" NOT NULL,
        object_key text NOT NULL,
        doc text NOT NULL,
        UNIQUE (run_id, path)
    );
    CREATE INDEX artifacts_by_object ON artifacts (object_key);
    """,
    # 3: pipelines whose runs only claims naming them take.
    """
    ALTER TABLE pipelines ADD COLUMN dedicated_workers boolean NOT NULL DEFAULT false;
    """,
    # 4: logged metrics, one bounded series per (run, action, metric): storage/metric_steps.py;
    # run events (storage/events.py); run labels, to filter by (storage/labels.py).
    """
    CREATE TABLE metric_step_series (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key text NOT NULL,
        name text NOT NULL,
        stride bigint NOT NULL,
        recorded bigint NOT NULL,
        PRIMARY KEY (run_id, action_key, name)
    );
    CREATE TABLE metric_steps (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        action_key text NOT NULL,
        name text NOT NULL,
        seq bigint NOT NULL,
        point text NOT NULL,
        PRIMARY KEY (run_id, action_key, name, seq)
    );
    CREATE TABLE run_events (
        pk bigserial PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        doc text NOT NULL
    );
    CREATE INDEX run_events_by_run ON run_events (run_id, pk);
    CREATE TABLE run_labels (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE INDEX run_labels_by_label ON run_labels (key, value);
    """,
    # 5: the runs' change sequence, for the runs stream (storage/run_changes.py): every insert
    # and every new version of a run takes the next number of `run_change_seq` under a
    # transaction-level advisory lock, so numbers are handed out in commit order (NOTIFY
    # serializes commits already); a deleted run leaves a tombstone with its number, kept for
    # a day; `run_change_horizon.forgotten` is the newest number forgotten. Inserts are
    # announced too.
    """
    ALTER TABLE runs ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
    UPDATE runs SET change_seq = pk;
    CREATE INDEX runs_by_change ON runs (change_seq);
    CREATE SEQUENCE run_change_seq;
    SELECT setval('run_change_seq', coalesce((SELECT max(pk) FROM runs), 0) + 1, false);
    CREATE TABLE run_tombstones (
        seq bigint PRIMARY KEY,
        run_id text NOT NULL,
        pipeline_id text NOT NULL,
        status text NOT NULL,
        labels text NOT NULL,
        deleted_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX run_tombstones_by_age ON run_tombstones (deleted_at);
    CREATE TABLE run_change_horizon (
        id integer PRIMARY KEY CHECK (id = 1),
        forgotten bigint NOT NULL
    );
    INSERT INTO run_change_horizon (id, forgotten) VALUES (1, 0);
    CREATE FUNCTION pipeline_service_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        number bigint;
        expired bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock(1886220389, 1668178277);
        number := nextval('run_change_seq');
        IF TG_OP = 'DELETE' THEN
            INSERT INTO run_tombstones (seq, run_id, pipeline_id, status, labels)
            VALUES (number, OLD.id, OLD.pipeline_id, OLD.status,
                    coalesce((OLD.doc::json -> 'labels')::text, '{}'));
            SELECT max(seq) INTO expired FROM run_tombstones
                WHERE deleted_at < now() - interval '1 day';
            IF expired IS NOT NULL THEN
                DELETE FROM run_tombstones WHERE seq <= expired;
                UPDATE run_change_horizon SET forgotten = greatest(forgotten, expired);
            END IF;
            RETURN OLD;
        END IF;
        NEW.change_seq := number;
        RETURN NEW;
    END $$;
    CREATE TRIGGER runs_sequence_insert BEFORE INSERT ON runs
        FOR EACH ROW EXECUTE FUNCTION pipeline_service_sequence();
    CREATE TRIGGER runs_sequence_update BEFORE UPDATE OF version ON runs
        FOR EACH ROW WHEN (NEW.version <> OLD.version)
        EXECUTE FUNCTION pipeline_service_sequence();
    CREATE TRIGGER runs_sequence_delete AFTER DELETE ON runs
        FOR EACH ROW EXECUTE FUNCTION pipeline_service_sequence();
    """
    + _announce_function("CREATE OR REPLACE FUNCTION", _ANNOUNCE_INSERTS)
    + """
    CREATE TRIGGER runs_announce_insert AFTER INSERT ON runs
        FOR EACH ROW EXECUTE FUNCTION pipeline_service_announce();
    """,
    # 6: no foreign key from log records to their run: its check looked the run up for every
    # record appended (a batch of 1,000: 1,000 lookups), while the append holds the run's row
    # locked already. The plans that delete runs delete their records (storage/logs.delete).
    """
    ALTER TABLE logs DROP CONSTRAINT logs_run_id_fkey;
    """,
)

# The version of a database every migration has been applied to.
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: psycopg.AsyncConnection[Any], dsn: str) -> None:
    """Bring the schema to SCHEMA_VERSION under an advisory lock (replicas that start together
    migrate once); refuse a newer one."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS pipeline_service_schema (version integer NOT NULL)"
        )
        cursor = await conn.execute(
            "SELECT coalesce(max(version), 0) AS version FROM pipeline_service_schema"
        )
        row = await cursor.fetchone()
        version: int = row["version"] if row else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the PostgreSQL database {redacted(dsn)} has schema version {version}, newer "
                f"than this release understands ({SCHEMA_VERSION}); upgrade pipeline-service"
            )
        for step in range(version, SCHEMA_VERSION):
            async with conn.transaction():
                await conn.execute(MIGRATIONS[step])
                await conn.execute("DELETE FROM pipeline_service_schema")
                await conn.execute("INSERT INTO pipeline_service_schema VALUES (%s)", (step + 1,))
            logger.info("PostgreSQL schema migrated to version %d", step + 1)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
