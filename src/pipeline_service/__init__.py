"""Python client and reference server for the Pipeline Service API.

from pipeline_service import PipelineServiceClient, ActionProgress

with PipelineServiceClient("http://localhost:8100") as client:
    for progress in client.stream_progress(run_id):
        print(progress.status, progress.fraction)

The names below are imported on first use, so that `import pipeline_service` (and the command
line's `--version` and `--help`) does not load httpx, pydantic and the generated client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from . import errors
    from .async_client import AsyncPipelineServiceClient
    from .client import PipelineServiceClient
    from .models import (
        ActionProgress,
        ActionStatus,
        LogEntry,
        LogLevel,
        PipelineProgress,
        RunChange,
        RunStatus,
    )

_HOMES = {
    "ActionProgress": ".models",
    "ActionStatus": ".models",
    "AsyncPipelineServiceClient": ".async_client",
    "LogEntry": ".models",
    "LogLevel": ".models",
    "PipelineProgress": ".models",
    "PipelineServiceClient": ".client",
    "RunChange": ".models",
    "RunStatus": ".models",
}

__all__ = [
    "ActionProgress",
    "ActionStatus",
    "AsyncPipelineServiceClient",
    "LogEntry",
    "LogLevel",
    "PipelineProgress",
    "PipelineServiceClient",
    "RunChange",
    "RunStatus",
    "__version__",
    "errors",
]


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module(".errors", __name__)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
