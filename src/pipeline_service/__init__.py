"""Python client and reference server for the Pipeline Service API.

from pipeline_service import PipelineServiceClient, ActionProgress

with PipelineServiceClient("http://localhost:8100") as client:
    for progress in client.stream_progress(run_id):
        print(progress.status, progress.fraction)
"""

__version__ = "0.1.0"

from . import errors
from .async_client import AsyncPipelineServiceClient
from .client import PipelineServiceClient
from .models import ActionProgress, ActionStatus, LogEntry, LogLevel, PipelineProgress, RunStatus

__all__ = [
    "ActionProgress",
    "ActionStatus",
    "AsyncPipelineServiceClient",
    "LogEntry",
    "LogLevel",
    "PipelineProgress",
    "PipelineServiceClient",
    "RunStatus",
    "__version__",
    "errors",
]
