"""Storage behind one class (`interface.Storage`), one design for SQLite and PostgreSQL.

Every record is a JSON document beside the columns queries use (`documents.py`); every
operation is a plan written once (`pipelines.py`, `runs.py`, `checkpoints.py`, `logs.py`,
`leases.py`, `fencing.py`, `idempotency.py`, `metric_history.py`), run by `Storage`
(`interface.py`) on a backend: `sqlite/` or `postgres/`. CONTRIBUTING.md maps the package.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_service.server.settings import database, is_postgres_url
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.sqlite import SQLiteStorage

__all__ = ["SQLiteStorage", "Storage", "open_storage"]


def open_storage(db: Path | str) -> Storage:
    """The backend db names: a `postgresql://` URL → PostgreSQL, else a SQLite file."""
    if is_postgres_url(db):
        try:
            from pipeline_service.server.storage.postgres.store import PostgresStorage
        except ImportError as exc:
            raise RuntimeError(
                'the PostgreSQL backend needs psycopg: pip install "pipeline-service[postgres]"'
            ) from exc
        return PostgresStorage(str(db))
    return SQLiteStorage(database(db))
