"""The wire vocabulary of the Pipeline Service API, as openapi.yaml defines it.

The record shapes (TypedDicts of the JSON documents the server sends), the status and level
names, and the limits (those plain facts live in `vocabulary`, re-exported here). This module
imports nothing else from the package: the server, the client and the runner all take these
facts from here (tests/test_wire.py holds it against openapi.yaml).

Timestamps are the RFC 3339 strings of the wire; statuses are plain strings, so a value a newer
server adds never breaks a reader. Unknown keys a newer server adds are kept (`extra="allow"`
when pydantic validates a record).
"""

# No `from __future__ import annotations`: the TypedDicts' required keys must be known at runtime.

from typing import Any, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from pipeline_service.vocabulary import (
    ACTION_STATUSES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_FIELD_BYTES,
    LOG_LEVELS,
    MAX_JSON_DEPTH,
    MAX_LABELS,
    MAX_LOG_BATCH,
    MAX_LOG_PAGE_ITEMS,
    MAX_METRIC_BATCH,
    MAX_PAGE_BYTES,
    MAX_PAGE_ITEMS,
    MAX_SELECTOR_REQUIREMENTS,
    MAX_SELECTOR_VALUES,
    MAX_STEP_POINTS,
    RUN_STATUSES,
    TERMINAL_ACTION_STATUSES,
    TERMINAL_RUN_STATUSES,
    ActionStatusName,
    LogLevelName,
    RunStatusName,
)

__all__ = [
    "ACTION_STATUSES",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_FIELD_BYTES",
    "LOG_LEVELS",
    "MAX_JSON_DEPTH",
    "MAX_LABELS",
    "MAX_LOG_BATCH",
    "MAX_LOG_PAGE_ITEMS",
    "MAX_METRIC_BATCH",
    "MAX_PAGE_BYTES",
    "MAX_PAGE_ITEMS",
    "MAX_SELECTOR_REQUIREMENTS",
    "MAX_SELECTOR_VALUES",
    "MAX_STEP_POINTS",
    "RUN_STATUSES",
    "TERMINAL_ACTION_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "ActionDefinition",
    "ActionProgressState",
    "ActionStatusName",
    "Artifact",
    "Checkpoint",
    "Health",
    "Lease",
    "LogLevelName",
    "LogRecord",
    "LoggedMetric",
    "MetricPoint",
    "MetricSeries",
    "MetricsAppended",
    "Pipeline",
    "Progress",
    "Run",
    "RunClaim",
    "RunEvent",
    "RunMetrics",
    "RunRemoved",
    "RunStatusName",
    "RunSummary",
    "RunsStreamMark",
    "StepPoint",
]

_OPEN = ConfigDict(extra="allow")


class ActionResources(TypedDict, total=False):
    """What one action needs to run, in Ray's terms (memory in bytes)."""

    cpus: int | float
    gpus: int | float
    memory: int
    custom: dict[str, int | float]


class RuntimeEnv(TypedDict, total=False):
    """Code and environment shipped with a pipeline's actions (the Ray executor's)."""

    working_dir: str | None
    env_vars: dict[str, str]
    py_modules: list[str]


class RanOn(TypedDict):
    """Where an action ran: `process` (host, pid) or `ray` (node id, task id)."""

    executor: str
    node: NotRequired[str | None]
    task_id: NotRequired[str | None]


@with_config(_OPEN)
class ActionDefinition(TypedDict):
    """One step of a pipeline."""

    name: str
    entrypoint: str
    description: NotRequired[str | None]
    resources: NotRequired[ActionResources | None]  # absent when the action asks for nothing


@with_config(_OPEN)
class Pipeline(TypedDict):
    """A pipeline definition."""

    id: str
    name: str
    description: str | None
    actions: list[ActionDefinition]
    dedicated_workers: NotRequired[bool]  # only claims naming it take its runs; not v1 core
    runtime_env: NotRequired[RuntimeEnv | None]  # shipped to Ray nodes; not v1 core
    labels: NotRequired[dict[str, str]]
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
    ran_on: NotRequired[RanOn | None]  # absent until its executor reports


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
    resumed_from: NotRequired[str | None]  # the run this one resumes (absent from v1 core)
    from_action: NotRequired[str | None]  # the action a resume re-ran from (absent from v1 core)
    labels: NotRequired[dict[str, str]]


@with_config(_OPEN)
class RunSummary(TypedDict):
    """A run as the runs list shows it (the runs stream's `created` and `changed` events)."""

    id: str
    pipeline_id: str
    status: str
    current_action: str | None
    current_action_index: int
    actions: int
    actions_done: int
    action_progress: int | float | None
    error: str | None
    labels: dict[str, str]
    created_at: str
    started_at: str | None
    completed_at: str | None
    version: int


@with_config(_OPEN)
class RunRemoved(TypedDict):
    """A deleted run (the runs stream's `deleted` event)."""

    id: str
    pipeline_id: str


@with_config(_OPEN)
class RunsStreamMark(TypedDict):
    """The runs stream's `sync` (caught up) and `reset` (re-list the runs) events."""

    detail: str


@with_config(_OPEN)
class Checkpoint(TypedDict):
    """A checkpoint a run recorded after an action (`completed`), or inside one (`running`:
    with the `step`, `state` and `artifacts` the action continues from)."""

    id: str
    run_id: str
    action_name: str
    action_index: int
    status: str
    params_snapshot: dict[str, Any] | None
    result: dict[str, Any] | None
    artifacts_path: str | None
    created_at: str
    step: NotRequired[int | None]  # step, state, artifacts: absent from v1 core servers
    state: NotRequired[dict[str, Any] | None]
    artifacts: NotRequired[list[str]]


@with_config(_OPEN)
class Artifact(TypedDict):
    """A file of a run in the server's artifact store."""

    path: str
    size: int
    sha256: str
    action_name: str | None
    step: int | None
    checkpoint_id: str | None
    created_at: str


@with_config(_OPEN)
class LogRecord(TypedDict):
    """A stored log line; `seq` (1, 2, 3… per run) is absent from servers of the v1 core API."""

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
class StepPoint(TypedDict):
    """One logged value of a metric: null where the action logged NaN or ±infinity."""

    seq: int
    step: int
    value: int | float | None
    attempt: int
    t: str


@with_config(_OPEN)
class LoggedMetric(TypedDict):
    """The kept points of one logged metric; `recorded` counts thinned-out ones too."""

    name: str
    recorded: int
    thinned: bool
    points: list[StepPoint]


@with_config(_OPEN)
class MetricSeries(TypedDict):
    """One action's kept metric points, by `seq`; `recorded` counts thinned-out ones too;
    `logged` holds the metrics it logged, one series per name."""

    action_name: str
    recorded: int
    points: list[MetricPoint]
    logged: list[LoggedMetric]


@with_config(_OPEN)
class RunMetrics(TypedDict):
    """A run's metric history: one series per action, at most `max_points` points each."""

    run_id: str
    max_points: int
    max_steps: int
    actions: list[MetricSeries]


@with_config(_OPEN)
class MetricsAppended(TypedDict):
    """The answer to a metric batch: how many of its entries were stored."""

    run_id: str
    accepted: int


@with_config(_OPEN)
class RunEvent(TypedDict):
    """One thing that happened to a run (`type`: created, claimed, action_completed…)."""

    id: int
    run_id: str
    type: str
    time: str
    worker_id: str | None
    action_name: str | None
    message: str
    details: dict[str, Any]


@with_config(_OPEN)
class RunClaim(TypedDict):
    """A run a worker claimed, with its lease."""

    run: Run
    worker_id: str
    lease_expires_at: str
    lease_token: int  # send it back as `lease_token=` on the run's writes


@with_config(_OPEN)
class Lease(TypedDict):
    """A renewed lease; `status` tells the worker whether the run was cancelled."""

    run_id: str
    worker_id: str
    lease_expires_at: str
    status: str
    lease_token: int


@with_config(_OPEN)
class Health(TypedDict):
    """The answer of GET /health (`database`: `sqlite` or `postgresql`; `listener`: PostgreSQL
    only; both absent from older servers)."""

    status: str
    service: str
    version: str
    database: NotRequired[str]
    listener: NotRequired[str]


@with_config(_OPEN)
class Progress(TypedDict):
    """A run's progress (GET /runs/{id}/progress and the events of its stream)."""

    run_id: str
    pipeline_id: str
    status: str
    current_action: str | None
    current_action_index: int
    progress: list[ActionProgressState]
    error: str | None
    started_at: str | None
    completed_at: str | None
