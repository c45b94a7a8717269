"""Storage backends behind one interface (storage.base.Storage)."""

from pipeline_service.server.storage.base import Storage
from pipeline_service.server.storage.sqlite import SQLiteStorage

__all__ = ["SQLiteStorage", "Storage"]
