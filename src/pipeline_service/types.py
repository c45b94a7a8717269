"""TypedDicts of the plain-dict records the client returns (as the server sends them).

They are defined once, in `pipeline_service.wire`, which the server uses too; this module is
where users import them from, with NOT_GIVEN.
"""

from __future__ import annotations

from typing import Final

from .wire import (
    ActionDefinition,
    ActionProgressState,
    ActionResources,
    Artifact,
    Checkpoint,
    Health,
    Lease,
    LoggedMetric,
    LogRecord,
    MetricPoint,
    MetricsAppended,
    MetricSeries,
    Pipeline,
    Progress,
    RanOn,
    Run,
    RunClaim,
    RunEvent,
    RunMetrics,
    RunRemoved,
    RunsStreamMark,
    RunSummary,
    RuntimeEnv,
    StepPoint,
)

__all__ = [
    "NOT_GIVEN",
    "ActionDefinition",
    "ActionProgressState",
    "ActionResources",
    "Artifact",
    "Checkpoint",
    "Health",
    "Lease",
    "LogRecord",
    "LoggedMetric",
    "MetricPoint",
    "MetricSeries",
    "MetricsAppended",
    "NotGiven",
    "Pipeline",
    "Progress",
    "RanOn",
    "Run",
    "RunClaim",
    "RunEvent",
    "RunMetrics",
    "RunRemoved",
    "RunSummary",
    "RunsStreamMark",
    "RuntimeEnv",
    "StepPoint",
]


class NotGiven:
    """Type of NOT_GIVEN: marks a parameter the caller left out (distinct from None)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
