"""Request bodies as strict pydantic models; unknown fields are rejected where the spec says so."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from pipeline_service.server.labels import check_labels
from pipeline_service.server.timestamps import normalize_timestamp
from pipeline_service.wire import ActionStatusName, LogLevelName, RunStatusName

MAX_INDEX = 2_147_483_647

Timestamp = Annotated[str, AfterValidator(normalize_timestamp)]
"""An RFC 3339 date-time (offset-less is UTC), normalized to the server's UTC form."""


def _integral(value: Any) -> Any:
    """JSON does not tell 2 from 2.0: an integral float is an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Index = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=MAX_INDEX)]
Step = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=2**53 - 1)]
JSONObject = dict[str, Any]

_field_limit: ContextVar[int | None] = ContextVar("field_limit", default=None)


@contextlib.contextmanager
def field_limit(max_bytes: int | None) -> Iterator[None]:
    """While validating a request's body: free-form fields hold at most max_bytes of UTF-8 JSON
    (None: unchecked, as when the whole body is smaller)."""
    token = _field_limit.set(max_bytes)
    try:
        yield
    finally:
        _field_limit.reset(token)


def _encoded_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def _within_field_limit(value: Any) -> Any:
    limit = _field_limit.get()
    if limit is not None and value is not None:
        size = _encoded_size(value)
        if size > limit:
            raise ValueError(
                f"is {size} bytes of JSON, over the limit of {limit} bytes for a free-form field"
            )
    return value


FreeForm = Annotated[JSONObject, AfterValidator(_within_field_limit)]
"""A free-form JSON object (params, result, metrics…): within the server's field limit."""
FreeText = Annotated[str, AfterValidator(_within_field_limit)]
"""A free-form text (an error): within the server's field limit, as UTF-8."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Open(BaseModel):
    """A schema with `additionalProperties: true`: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)


ENTRYPOINT_PATTERN = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*[.:][A-Za-z_][A-Za-z0-9_]*$"
)
"""What the spec accepts as an entrypoint: `package.module.Name` or `package.module:Name`."""


def _entrypoint(value: str) -> str:
    if not ENTRYPOINT_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a dotted path; expected 'package.module.Name' or "
            "'package.module:Name'"
        )
    return value


def _some_actions(actions: list[ActionDefinition]) -> list[ActionDefinition]:
    if not actions:
        raise ValueError("a pipeline needs at least one action")
    return actions


Amount = Annotated[int | float, Field(ge=0)]
"""A resource amount: a non-negative number (fractions of CPUs and GPUs are allowed)."""
ResourceName = Annotated[str, Field(min_length=1, max_length=255)]


class ActionResources(_Strict):
    # Optional, not nullable: a key is either sent with an amount or left out.
    cpus: Amount = Field(default=None)  # type: ignore[assignment]
    gpus: Amount = Field(default=None)  # type: ignore[assignment]
    memory: Annotated[int, BeforeValidator(_integral), Field(ge=0)] = Field(default=None)  # type: ignore[assignment]
    custom: dict[ResourceName, Amount] = Field(default=None, max_length=100)  # type: ignore[arg-type]

    def sent_fields(self) -> dict[str, Any]:
        """The keys the caller sent, as wire values."""
        return self.model_dump(include=self.model_fields_set)


class RuntimeEnv(_Strict):
    working_dir: str | None = Field(default=None, max_length=4096)
    env_vars: dict[ResourceName, Annotated[str, Field(max_length=10000)]] = Field(
        default=None,  # type: ignore[arg-type]
        max_length=1000,
    )
    py_modules: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default=None,  # type: ignore[arg-type]
        max_length=100,
    )

    def sent_fields(self) -> dict[str, Any]:
        """The keys the caller sent, as wire values."""
        return self.model_dump(include=self.model_fields_set)


class RanOn(_Strict):
    executor: str = Field(min_length=1, max_length=100)
    node: str | None = Field(default=None, max_length=1000)
    task_id: str | None = Field(default=None, max_length=1000)


class ActionDefinition(_Open):
    name: str = Field(min_length=1, max_length=255)
    entrypoint: Annotated[str, AfterValidator(_entrypoint)] = Field(min_length=1, max_length=1000)
    description: str | None = Field(default=None, max_length=10000)
    resources: ActionResources | None = None


Labels = Annotated[dict[str, str], AfterValidator(check_labels)]
"""Labels of a run or pipeline: keys, values and their number within `server/labels.py`'s rules."""


class PipelineCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10000)
    actions: Annotated[list[ActionDefinition], AfterValidator(_some_actions)] = Field(
        max_length=1000
    )
    dedicated_workers: bool = False
    runtime_env: RuntimeEnv | None = None
    labels: Labels = Field(default_factory=dict)


class PipelineUpdate(_Strict):
    name: str = Field(default=None, min_length=1, max_length=255)  # type: ignore[assignment]
    description: str | None = Field(default=None, max_length=10000)
    actions: Annotated[list[ActionDefinition], AfterValidator(_some_actions)] = Field(
        default=None,  # type: ignore[arg-type]
        max_length=1000,
    )
    dedicated_workers: bool = None  # type: ignore[assignment]
    runtime_env: RuntimeEnv | None = None
    labels: Labels = None  # type: ignore[assignment]


class ActionProgressBody(_Open):
    name: str = Field(min_length=1, max_length=255)
    status: ActionStatusName = "pending"
    # int | float keeps what the caller sent: 50 of 100 reads back as 50, not 50.0.
    progress: int | float = Field(default=0, ge=0)
    total: int | float | None = Field(default=None, gt=0)
    progress_step: str | None = Field(default=None, max_length=1000)
    message: str | None = Field(default=None, max_length=10000)
    metrics: FreeForm = Field(default_factory=dict)
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    error: FreeText | None = None
    ran_on: RanOn | None = None

    @model_validator(mode="before")
    @classmethod
    def _progress_category_alias(cls, data: Any) -> Any:
        """`progress_category` is an older name of `progress_step`."""
        if isinstance(data, dict) and "progress_category" in data:
            data = dict(data)
            category = data.pop("progress_category")
            data.setdefault("progress_step", category)
        return data

    def sent_fields(self) -> dict[str, Any]:
        """The fields the caller sent, as wire values."""
        return self.model_dump(include=self.model_fields_set)


class RunCreate(_Strict):
    params: FreeForm | None = None
    work_dir: str | None = Field(default=None, max_length=4096)
    resume_from: str | None = Field(default=None, max_length=255)
    from_action: str | None = Field(default=None, min_length=1, max_length=255)
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _from_action_needs_resume_from(self) -> RunCreate:
        if self.from_action is not None and self.resume_from is None:
            raise ValueError(
                "from_action needs resume_from: it names the action of the resumed run to run again"
            )
        return self


class RunUpdate(_Strict):
    status: RunStatusName = Field(default=None)  # type: ignore[arg-type]
    current_action: str | None = Field(default=None, max_length=255)
    current_action_index: Index = Field(default=None)  # type: ignore[assignment]
    result: FreeForm | None = None
    error: FreeText | None = None
    labels: Labels = None  # type: ignore[assignment]


class ProgressUpdate(_Strict):
    current_action: str | None = Field(default=None, max_length=255)
    current_action_index: Index = Field(default=None)  # type: ignore[assignment]
    status: RunStatusName = Field(default=None)  # type: ignore[arg-type]
    action_progress: ActionProgressBody = Field(default=None)  # type: ignore[assignment]
    error: FreeText | None = None


class CheckpointCreate(_Strict):
    action_name: str = Field(min_length=1, max_length=255)
    action_index: Index
    status: ActionStatusName = "completed"
    params_snapshot: FreeForm | None = None
    result: FreeForm | None = None
    artifacts_path: str | None = Field(default=None, max_length=4096)
    step: Step | None = None
    state: JSONObject | None = None
    artifacts: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=10_000
    )


class LogEntry(_Strict):
    message: str = Field(max_length=100_000)
    level: LogLevelName = "info"
    action_name: str | None = Field(default=None, max_length=255)
    timestamp: Timestamp | None = None


class LogBatch(_Strict):
    # The 10,000-entry limit is a 413 (checked by the route), not a validation error.
    entries: list[LogEntry]


MetricName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class MetricEntry(_Strict):
    action_name: str = Field(min_length=1, max_length=255)
    step: Step
    values: dict[MetricName, float | None] = Field(min_length=1, max_length=1000)
    timestamp: Timestamp | None = None


class MetricBatch(_Strict):
    # The 10,000-entry limit is a 413 (checked by the route), not a validation error.
    points: list[MetricEntry]


class ClaimRequest(_Strict):
    worker_id: str = Field(min_length=1, max_length=255)
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    pipeline_id: str | None = Field(default=None, max_length=255)


class LeaseRequest(_Strict):
    worker_id: str = Field(min_length=1, max_length=255)
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
