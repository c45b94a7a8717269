"""The reference Pipeline Service server (FastAPI + SQLite, or PostgreSQL for several replicas).

Imported lazily, so `pipeline_service.server.settings` (used by the CLI) does not load FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_service.server.app import create_app
    from pipeline_service.server.embedded import EmbeddedServer
    from pipeline_service.server.settings import Settings

__all__ = ["EmbeddedServer", "Settings", "create_app"]

_EXPORTS = {
    "create_app": "pipeline_service.server.app",
    "EmbeddedServer": "pipeline_service.server.embedded",
    "Settings": "pipeline_service.server.settings",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
