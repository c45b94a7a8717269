"""Storage backends behind one interface (storage.base.Storage): SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from pipeline_service.server.settings import database, is_postgres_url
from pipeline_service.server.storage.base import Storage
from pipeline_service.server.storage.sqlite import SQLiteStorage

__all__ = ["SQLiteStorage", "Storage", "open_storage"]


def open_storage(db: Path | str) -> Storage:
    """The backend db names: a `postgresql://` URL → PostgreSQL, else a SQLite file."""
    if is_postgres_url(db):
        try:
            from pipeline_service.server.storage.postgres import PostgresStorage
        except ImportError as exc:
            raise RuntimeError(
                'the PostgreSQL backend needs psycopg: pip install "pipeline-service[postgres]"'
            ) from exc
        return PostgresStorage(str(db))
    return SQLiteStorage(database(db))
