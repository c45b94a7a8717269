"""Pydantic models of progress and log entries, and the API's enums.

The enums are str enums that accept values this client does not know yet (a newer server may
add a status): such a value becomes a pseudo-member that compares equal to its string, so
parsing never fails and `progress.status in ("completed", "failed")` keeps working.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from .wire import TERMINAL_RUN_STATUSES, RunSummary

__all__ = [
    "ActionProgress",
    "ActionStatus",
    "LogEntry",
    "LogLevel",
    "PipelineProgress",
    "RunChange",
    "RunStatus",
    "as_utc",
]


def as_utc(value: datetime) -> datetime:
    """`value` with an offset: naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class _OpenStrEnum(enum.StrEnum):
    """A str enum that turns unknown string values into pseudo-members instead of failing."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """False for a value a newer server sent that this client does not know."""
        return self._name_ in type(self).__members__


class RunStatus(_OpenStrEnum):
    """Status of a run; `completed`, `failed` and `cancelled` are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for completed, failed and cancelled."""
        return self.value in TERMINAL_RUN_STATUSES


class ActionStatus(_OpenStrEnum):
    """Status of one action of a run."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class LogLevel(_OpenStrEnum):
    """Level of a log entry (the seven levels of the upstream SDKs)."""

    DEBUG = "debug"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    DANGER = "danger"
    ERROR = "error"
    CRITICAL = "critical"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _datetimes_carry_an_offset(cls, value: Any) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value


class ActionProgress(_Model):
    """Progress of one action of a run.

    With `total` None, `progress` is a fraction in [0, 1]; with `total` set it counts units of
    work up to `total`. Unknown fields are ignored; `progress_category` (an older name) is read
    as `progress_step`.
    """

    name: str
    status: ActionStatus = ActionStatus.PENDING
    progress: int | float = 0
    total: int | float | None = None
    progress_step: str | None = Field(
        default=None, validation_alias=AliasChoices("progress_step", "progress_category")
    )
    message: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        # Servers that store what clients sent may hold nulls where the API has defaults.
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not (v is None and k in _DEFAULTED)}
        return data

    @property
    def fraction(self) -> float:
        """How far the action is, in [0, 1]: progress/total, or progress when total is None."""
        value = self.progress / self.total if self.total else self.progress
        return min(max(value, 0.0), 1.0)


_DEFAULTED = frozenset({"status", "progress", "metrics"})


class PipelineProgress(_Model):
    """Progress of a whole run: the wire's Progress object, with its `progress` list as `actions`.

    `version` is the run's version (the SSE `id:`) when the state came from a stream. Fields a
    server leaves out are None (the v1 core's GET /progress has no `pipeline_id`).
    """

    run_id: str
    pipeline_id: str | None = None
    status: RunStatus
    current_action: str | None = None
    current_action_index: int = 0
    actions: list[ActionProgress] = Field(
        default_factory=list, validation_alias=AliasChoices("progress", "actions")
    )
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    version: int | None = None

    @classmethod
    def from_wire(cls, data: Any, version: int | None = None) -> PipelineProgress:
        """Parse the wire's Progress object. Keys the API does not define are ignored, even
        those named like this model's own fields (`actions`, `version`)."""
        if isinstance(data, Mapping):
            data = {k: v for k, v in data.items() if k not in _NOT_ON_THE_WIRE}
        progress = cls.model_validate(data)
        progress.version = version
        return progress

    @property
    def is_terminal(self) -> bool:
        """True once the run completed, failed or was cancelled."""
        return self.status.is_terminal

    @property
    def fraction(self) -> float:
        """How far the whole run is, in [0, 1]: the mean over its actions."""
        if self.status == RunStatus.COMPLETED:
            return 1.0
        if not self.actions:
            return 0.0
        done = (ActionStatus.COMPLETED, ActionStatus.SKIPPED)
        total = sum(1.0 if a.status in done else a.fraction for a in self.actions)
        return total / len(self.actions)


_NOT_ON_THE_WIRE = frozenset({"actions", "version"})


class LogEntry(_Model):
    """One log line to append to a run; `timestamp` None means the server's time."""

    message: str
    level: LogLevel = LogLevel.INFO
    action_name: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class RunChange:
    """One event of the runs stream (`stream_runs`).

    `kind` is `created` or `changed` (`run` holds the run's summary as it is now: treat both as
    "this is the run now"), `left` (the run, in `run` as it is now, no longer matches the
    stream's status or label filter: drop it; it may be one you never had), `deleted`
    (`run_id` and `pipeline_id` say which; under those filters, also maybe one you never
    had), `sync` (caught
    up: what follows is live) or `reset` (changes were forgotten: list the runs again). `seq`
    is the change's number (where the stream resumes)."""

    kind: str
    seq: int | None
    run: RunSummary | None = None
    run_id: str | None = None
    pipeline_id: str | None = None
