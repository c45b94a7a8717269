"""The SQLite backend: `store.py` (the Storage), `writer.py` (the one writing thread), `schema.py`
and `to_documents.py` (migrations), `changes.py` (commits of other processes)."""

from pipeline_service.server.storage.sqlite.store import SQLiteStorage

__all__ = ["SQLiteStorage"]
