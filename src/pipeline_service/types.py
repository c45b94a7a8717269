"""TypedDicts of the plain-dict shapes the client returns (as the server sends them).

Timestamps stay the strings the server sent (RFC 3339); statuses stay plain strings, so a
value a newer server adds never breaks a caller. Unknown keys a newer server adds are kept.
"""

from __future__ import annotations

from typing import Any, Final, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = [
    "NOT_GIVEN",
    "ActionDefinition",
    "ActionProgressState",
    "Checkpoint",
    "Health",
    "Lease",
    "LogRecord",
    "MetricPoint",
    "MetricSeries",
    "NotGiven",
    "Pipeline",
    "Run",
    "RunClaim",
    "RunMetrics",
]

_OPEN = ConfigDict(extra="allow")


@with_config(_OPEN)
class ActionDefinition(TypedDict):
    """One step of a pipeline."""

    name: str
    entrypoint: str
    description: NotRequired[str | None]


@with_config(_OPEN)
class Pipeline(TypedDict):
    """A pipeline definition."""

    id: str
    name: str
    description: str | None
    actions: list[ActionDefinition]
    created_at: str
    updated_at: str


@with_config(_OPEN)
class ActionProgressState(TypedDict):
    """Progress of one action, as stored in a run's `progress` list."""

    name: str
    status: NotRequired[str]
    progress: NotRequired[int | float]
    total: NotRequired[int | float | None]
    progress_step: NotRequired[str | None]
    message: NotRequired[str | None]
    metrics: NotRequired[dict[str, Any]]
    started_at: NotRequired[str | None]
    completed_at: NotRequired[str | None]
    error: NotRequired[str | None]


@with_config(_OPEN)
class Run(TypedDict):
    """One execution of a pipeline."""

    id: str
    pipeline_id: str
    status: str
    params: dict[str, Any] | None
    current_action: str | None
    current_action_index: int
    progress: list[ActionProgressState]
    result: dict[str, Any] | None
    error: str | None
    work_dir: str | None
    started_at: str | None
    completed_at: str | None
    created_at: str


@with_config(_OPEN)
class Checkpoint(TypedDict):
    """A checkpoint a run recorded after an action."""

    id: str
    run_id: str
    action_name: str
    action_index: int
    status: str
    params_snapshot: dict[str, Any] | None
    result: dict[str, Any] | None
    artifacts_path: str | None
    created_at: str


@with_config(_OPEN)
class LogRecord(TypedDict):
    """A stored log line; `seq` (1, 2, 3… per run) is absent from v1-core servers."""

    id: str
    run_id: str
    seq: NotRequired[int]
    action_name: str | None
    level: str
    message: str
    timestamp: str


@with_config(_OPEN)
class MetricPoint(TypedDict):
    """The numeric metrics of one progress report, with where the action was."""

    seq: int
    t: str
    progress: int | float
    total: int | float | None
    progress_step: str | None
    values: dict[str, int | float]


@with_config(_OPEN)
class MetricSeries(TypedDict):
    """One action's kept metric points, by `seq`; `recorded` counts thinned-out ones too."""

    action_name: str
    recorded: int
    points: list[MetricPoint]


@with_config(_OPEN)
class RunMetrics(TypedDict):
    """A run's metric history: one series per action, at most `max_points` points each."""

    run_id: str
    max_points: int
    actions: list[MetricSeries]


@with_config(_OPEN)
class RunClaim(TypedDict):
    """A run a worker claimed, with its lease."""

    run: Run
    worker_id: str
    lease_expires_at: str
    lease_token: NotRequired[int]  # send it back as `lease_token=` on the run's writes


@with_config(_OPEN)
class Lease(TypedDict):
    """A renewed lease; `status` tells the worker whether the run was cancelled."""

    run_id: str
    worker_id: str
    lease_expires_at: str
    status: str
    lease_token: NotRequired[int]


@with_config(_OPEN)
class Health(TypedDict):
    """The answer of GET /health (`database`: `sqlite` or `postgresql`; `listener`: PostgreSQL
    only; both absent from older servers)."""

    status: str
    service: str
    version: str
    database: NotRequired[str]
    listener: NotRequired[str]


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
