"""Each API operation as a `Call`, shared by the sync and async clients.

Requests are built only by the generated operation modules (`request_kwargs`) from the generated
attrs body models, so paths, percent-encoding and field names come from openapi.yaml. Answers
are read here into TypedDicts (plain dicts) or pydantic models.
"""

from __future__ import annotations

import contextlib
import io
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, ParamSpec, TypeVar

import httpx
from pipeline_service_api.api.artifacts import download_artifact as _download_artifact
from pipeline_service_api.api.artifacts import list_artifacts as _list_artifacts
from pipeline_service_api.api.artifacts import upload_artifact as _upload_artifact
from pipeline_service_api.api.checkpoints import (
    create_checkpoint as _create_checkpoint,
)
from pipeline_service_api.api.checkpoints import (
    get_checkpoint_by_action as _get_checkpoint_by_action,
)
from pipeline_service_api.api.checkpoints import (
    get_latest_checkpoint as _get_latest_checkpoint,
)
from pipeline_service_api.api.checkpoints import list_checkpoints as _list_checkpoints
from pipeline_service_api.api.events import list_run_events as _list_run_events
from pipeline_service_api.api.health import get_health as _get_health
from pipeline_service_api.api.logs import append_logs as _append_logs
from pipeline_service_api.api.logs import get_logs as _get_logs
from pipeline_service_api.api.logs import stream_logs as _stream_logs
from pipeline_service_api.api.metrics import append_metrics as _append_metrics
from pipeline_service_api.api.metrics import get_metrics as _get_metrics
from pipeline_service_api.api.pipelines import create_pipeline as _create_pipeline
from pipeline_service_api.api.pipelines import delete_pipeline as _delete_pipeline
from pipeline_service_api.api.pipelines import get_pipeline as _get_pipeline
from pipeline_service_api.api.pipelines import list_pipelines as _list_pipelines
from pipeline_service_api.api.pipelines import update_pipeline as _update_pipeline
from pipeline_service_api.api.progress import get_progress as _get_progress
from pipeline_service_api.api.progress import report_progress as _report_progress
from pipeline_service_api.api.progress import stream_progress as _stream_progress
from pipeline_service_api.api.runs import cancel_run as _cancel_run
from pipeline_service_api.api.runs import create_run as _create_run
from pipeline_service_api.api.runs import delete_run as _delete_run
from pipeline_service_api.api.runs import get_run as _get_run
from pipeline_service_api.api.runs import list_pipeline_runs as _list_pipeline_runs
from pipeline_service_api.api.runs import list_runs as _list_runs
from pipeline_service_api.api.runs import stream_runs as _stream_runs
from pipeline_service_api.api.runs import update_run as _update_run
from pipeline_service_api.api.workers import claim_run as _claim_run
from pipeline_service_api.api.workers import release_lease as _release_lease
from pipeline_service_api.api.workers import renew_lease as _renew_lease
from pipeline_service_api.models import (
    CheckpointCreate,
    ClaimRequest,
    LeaseRequest,
    LogBatch,
    MetricBatch,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service_api.models import LogLevel as _WireLogLevel
from pipeline_service_api.models import RunStatus as _WireRunStatus
from pipeline_service_api.types import UNSET, File
from pydantic import BaseModel, TypeAdapter

from ._request import Call, Page, page_reader, read_json
from .models import ActionProgress, LogEntry, PipelineProgress, as_utc
from .types import (
    NOT_GIVEN,
    Artifact,
    Checkpoint,
    Lease,
    LogRecord,
    MetricsAppended,
    NotGiven,
    Pipeline,
    Run,
    RunClaim,
    RunEvent,
    RunMetrics,
    RunSummary,
)

T = TypeVar("T")
M = TypeVar("M")
P = ParamSpec("P")

_PIPELINE = TypeAdapter(Pipeline)
_PIPELINES = TypeAdapter(list[Pipeline])
_RUN = TypeAdapter(Run)
_RUNS = TypeAdapter(list[Run])
_CHECKPOINT = TypeAdapter(Checkpoint)
_CHECKPOINTS = TypeAdapter(list[Checkpoint])
_ARTIFACT = TypeAdapter(Artifact)
_ARTIFACTS = TypeAdapter(list[Artifact])
LOG_RECORD = TypeAdapter(LogRecord)
RUN_SUMMARY = TypeAdapter(RunSummary)
_LOG_RECORDS = TypeAdapter(list[LogRecord])
_RUN_METRICS = TypeAdapter(RunMetrics)
_RUN_EVENTS = TypeAdapter(list[RunEvent])
_METRICS_APPENDED = TypeAdapter(MetricsAppended)
_RUN_CLAIM = TypeAdapter(RunClaim)
_LEASE = TypeAdapter(Lease)
_JSON_OBJECT = TypeAdapter(dict[str, Any])

_DATETIME_FIELDS = frozenset({"started_at", "completed_at", "timestamp"})


# --- request bodies ------------------------------------------------------------------------


def new_idempotency_key() -> str:
    """A fresh key for one logical create request, reused by each of its attempts."""
    return str(uuid.uuid4())


def jsonable(value: Any) -> Any:
    """`value` as JSON-ready data: datetimes carry an offset (naive ones are UTC), enums and
    pydantic models become their values."""
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(exclude_unset=True))
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def entry(value: LogEntry | ActionProgress | Mapping[str, Any]) -> dict[str, Any]:
    """A log entry or action progress as a JSON-ready dict whose timestamps carry an offset."""
    data = jsonable(value)
    if not isinstance(data, dict):
        raise TypeError(f"expected a model or a dict, got {type(value).__name__}")
    for key in _DATETIME_FIELDS & data.keys():
        if isinstance(data[key], str):
            with contextlib.suppress(ValueError):  # else the server says what is wrong
                data[key] = as_utc(datetime.fromisoformat(data[key])).isoformat()
    return data


def _body(model: Callable[[dict[str, Any]], M], data: Mapping[str, Any], what: str) -> M:
    """A generated body model from JSON-ready data, with a clear error for bad input."""
    try:
        return model(dict(data))
    except KeyError as exc:
        raise ValueError(f"{what}: missing required field {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{what}: {exc}") from None


def given(**fields: Any) -> dict[str, Any]:
    """A request body of the fields given (neither None nor NOT_GIVEN), JSON-ready."""
    return {k: jsonable(v) for k, v in fields.items() if v is not None and v is not NOT_GIVEN}


_RESOURCE_KEYS = ("cpus", "gpus", "memory", "custom")
_RUNTIME_ENV_KEYS = ("working_dir", "env_vars", "py_modules")


def _closed(value: Any, what: str, known: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object of a schema without additional properties: the generated model would drop
    an unknown key silently, so it is refused here instead."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping of {', '.join(known)}")
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise ValueError(
            f"{what}: unknown key(s) {', '.join(map(repr, unknown))}; expected {', '.join(known)}"
        )
    result: dict[str, Any] = jsonable(value)
    return result


def _action_definitions(actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(actions, str | bytes) or not isinstance(actions, Sequence):
        raise TypeError("actions must be a list of action definitions (dicts)")
    definitions = [jsonable(a) for a in actions]
    for index, action in enumerate(definitions):
        if isinstance(action, dict) and action.get("resources") is not None:
            what = f"actions[{index}].resources"
            action["resources"] = _closed(action["resources"], what, _RESOURCE_KEYS)
    return definitions


def run_status(status: str, what: str) -> _WireRunStatus:
    try:
        return _WireRunStatus(str(status))
    except ValueError:
        known = ", ".join(s.value for s in _WireRunStatus)
        raise ValueError(f"{what}: unknown run status {status!r} (one of: {known})") from None


def _log_level(level: str) -> _WireLogLevel:
    try:
        return _WireLogLevel(str(level))
    except ValueError:
        known = ", ".join(s.value for s in _WireLogLevel)
        raise ValueError(f"unknown log level {level!r} (one of: {known})") from None


def _aware(value: datetime | str, what: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what}: not an ISO 8601 timestamp: {value!r}") from None
    return as_utc(value)


# --- answers -------------------------------------------------------------------------------


def _reader(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    return lambda response: read_json(response, adapter)


def _nothing(response: httpx.Response) -> None:
    return None


def _progress(response: httpx.Response) -> PipelineProgress:
    return read_json(response, _JSON_OBJECT, PipelineProgress.from_wire)


def _lease(lease_token: int | None) -> int | Any:
    """The generated `lease_token` argument: UNSET when there is none."""
    return UNSET if lease_token is None else lease_token


def _key(idempotency_key: str | None) -> str | Any:
    """The generated `idempotency_key` argument: UNSET when there is none (a PATCH or progress
    report without a key is applied again when resent, so the client does not resend it)."""
    return UNSET if idempotency_key is None else idempotency_key


@dataclass(frozen=True)
class _RunWrite(Generic[T]):
    """A write to a run: its body checked by the generated model, fenced by the run's lease
    (`lease_token`, none for a caller that holds none), made idempotent by its key.

    A `creates` write (records appended) always has a key, a fresh one unless given; a change
    (PATCH, progress) has one only when given: without one it is sent once, not resent."""

    request_kwargs: Callable[..., dict[str, Any]]
    model: Callable[[dict[str, Any]], Any]
    read: Callable[[httpx.Response], T]
    what: str
    creates: bool

    def __call__(
        self, run_id: str, data: Mapping[str, Any], *, key: str | None, lease_token: int | None
    ) -> Call[T]:
        body = _body(self.model, data, self.what)
        key = (key or new_idempotency_key()) if self.creates else key
        kwargs = self.request_kwargs(
            run_id, body=body, idempotency_key=_key(key), lease_token=_lease(lease_token)
        )
        return Call(kwargs, self.read)

    def batched(
        self,
        run_id: str,
        field: str,
        batches: Sequence[list[Any]],
        *,
        key: str | None,
        lease_token: int | None,
    ) -> list[Call[T]]:
        """One write `{field: batch}` per batch (the server takes a bounded number of entries a
        request), all checked before any is sent; a key given becomes one per batch (`key-0`,
        `key-1`, … when there are several), so that each is applied once."""
        several = len(batches) > 1
        return [
            self(
                run_id,
                {field: batch},
                key=f"{key}-{i}" if key and several else key,
                lease_token=lease_token,
            )
            for i, batch in enumerate(batches)
        ]


@dataclass(frozen=True)
class _Operation(Generic[P, T]):
    """An operation sent as the generated module builds it (same arguments), read by `read`;
    `retry_safe` for one that may be repeated."""

    request_kwargs: Callable[P, dict[str, Any]]
    read: Callable[[httpx.Response], T]
    retry_safe: bool = False

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        return Call(self.request_kwargs(*args, **kwargs), self.read, retry_safe=self.retry_safe)


def _run_claim(response: httpx.Response) -> RunClaim | None:
    return None if response.status_code == 204 else read_json(response, _RUN_CLAIM)


# The writes to a run, each called with the body its client method built (`given`).
update_run = _RunWrite(
    _update_run.request_kwargs, RunUpdate.from_dict, _reader(_RUN), "update_run", creates=False
)
report_progress = _RunWrite(
    _report_progress.request_kwargs,
    ProgressUpdate.from_dict,
    _reader(_RUN),
    "report_progress",
    creates=False,
)
append_metrics = _RunWrite(
    _append_metrics.request_kwargs,
    MetricBatch.from_dict,
    _reader(_METRICS_APPENDED),
    "append_metrics",
    creates=True,
)
create_checkpoint = _RunWrite(
    _create_checkpoint.request_kwargs,
    CheckpointCreate.from_dict,
    _reader(_CHECKPOINT),
    "create_checkpoint",
    creates=True,
)
append_logs = _RunWrite(
    _append_logs.request_kwargs,
    LogBatch.from_dict,
    _reader(_LOG_RECORDS),
    "append_logs",
    creates=True,
)


# --- operations ----------------------------------------------------------------------------


# Lenient on purpose: a healthy server that omits `service` or `version` is still healthy.
health = _Operation(_get_health.request_kwargs, _reader(_JSON_OBJECT))


def create_pipeline(
    name: str,
    *,
    actions: Sequence[Mapping[str, Any]],
    description: str | None,
    dedicated_workers: bool,
    runtime_env: Mapping[str, Any] | None,
    idempotency_key: str | None,
    labels: Mapping[str, str] | None = None,
) -> Call[Pipeline]:
    data = given(name=name, description=description)
    data["actions"] = _action_definitions(actions)
    if dedicated_workers:  # not sent otherwise: v1 core servers do not know the field
        data["dedicated_workers"] = True
    if runtime_env is not None:  # likewise
        data["runtime_env"] = _closed(runtime_env, "runtime_env", _RUNTIME_ENV_KEYS)
    if labels:  # likewise
        data["labels"] = dict(labels)
    body = _body(PipelineCreate.from_dict, data, "create_pipeline")
    key = idempotency_key or new_idempotency_key()
    return Call(_create_pipeline.request_kwargs(body=body, idempotency_key=key), _reader(_PIPELINE))


get_pipeline = _Operation(_get_pipeline.request_kwargs, _reader(_PIPELINE))


list_pipelines = _Operation(_list_pipelines.request_kwargs, page_reader(_PIPELINES))


def update_pipeline(
    pipeline_id: str,
    *,
    name: str | NotGiven,
    description: str | NotGiven | None,
    actions: Sequence[Mapping[str, Any]] | NotGiven,
    dedicated_workers: bool | NotGiven,
    runtime_env: Mapping[str, Any] | NotGiven | None,
    labels: Mapping[str, str] | NotGiven = NOT_GIVEN,
) -> Call[Pipeline]:
    data: dict[str, Any] = {}
    if not isinstance(name, NotGiven):
        data["name"] = name
    if not isinstance(description, NotGiven):
        data["description"] = description
    if not isinstance(actions, NotGiven):
        data["actions"] = _action_definitions(actions)
    if not isinstance(dedicated_workers, NotGiven):
        data["dedicated_workers"] = dedicated_workers
    if not isinstance(runtime_env, NotGiven):
        data["runtime_env"] = (
            None if runtime_env is None else _closed(runtime_env, "runtime_env", _RUNTIME_ENV_KEYS)
        )
    if not isinstance(labels, NotGiven):
        data["labels"] = dict(labels)
    body = _body(PipelineUpdate.from_dict, data, "update_pipeline")
    return Call(_update_pipeline.request_kwargs(pipeline_id, body=body), _reader(_PIPELINE))


delete_pipeline = _Operation(_delete_pipeline.request_kwargs, _nothing)


def create_run(
    pipeline_id: str,
    *,
    params: Mapping[str, Any] | None,
    work_dir: str | None,
    resume_from: str | None,
    from_action: str | None = None,
    idempotency_key: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Call[Run]:
    data = given(params=params, work_dir=work_dir, resume_from=resume_from, from_action=from_action)
    if labels:  # not sent otherwise: v1 core servers do not know the field
        data["labels"] = dict(labels)
    body = _body(RunCreate.from_dict, data, "create_run")
    key = idempotency_key or new_idempotency_key()
    return Call(
        _create_run.request_kwargs(pipeline_id, body=body, idempotency_key=key), _reader(_RUN)
    )


get_run = _Operation(_get_run.request_kwargs, _reader(_RUN))


def list_runs(
    status: str | None,
    *,
    skip: int,
    limit: int,
    resumed_from: str | None = None,
    label: str | None = None,
) -> Call[Page[Run]]:
    status_filter = UNSET if status is None else run_status(status, "list_runs")
    return Call(
        _list_runs.request_kwargs(
            status_filter=status_filter,
            resumed_from=UNSET if resumed_from is None else resumed_from,
            label=UNSET if label is None else label,
            skip=skip,
            limit=limit,
        ),
        page_reader(_RUNS),
    )


list_pipeline_runs = _Operation(_list_pipeline_runs.request_kwargs, page_reader(_RUNS))


delete_run = _Operation(_delete_run.request_kwargs, _nothing)


# Cancelling is idempotent by contract (an already cancelled run is returned unchanged).
cancel_run = _Operation(_cancel_run.request_kwargs, _reader(_RUN), retry_safe=True)


get_progress = _Operation(_get_progress.request_kwargs, _progress)


def stream_progress_kwargs(run_id: str) -> dict[str, Any]:
    """Request of the progress stream (Last-Event-ID is added per connection)."""
    return _stream_progress.request_kwargs(run_id)


def stream_runs_kwargs(
    status: str | None, *, pipeline_id: str | None, label: str | None
) -> dict[str, Any]:
    """Request of the runs stream (Last-Event-ID is added per connection)."""
    return _stream_runs.request_kwargs(
        status_filter=UNSET if status is None else run_status(status, "stream_runs"),
        pipeline_id=UNSET if pipeline_id is None else pipeline_id,
        label=UNSET if label is None else label,
    )


def stream_logs_kwargs(
    run_id: str, *, action_name: str | None, level: str | None, after_seq: int | None
) -> dict[str, Any]:
    """Request of the log stream (Last-Event-ID is added per connection)."""
    return _stream_logs.request_kwargs(
        run_id,
        after_seq=UNSET if after_seq is None else after_seq,
        action_name=UNSET if action_name is None else action_name,
        level=UNSET if level is None else _log_level(level),
    )


get_metrics = _Operation(_get_metrics.request_kwargs, _reader(_RUN_METRICS))


def metric_entry(value: Mapping[str, Any]) -> dict[str, Any]:
    """A logged-metrics entry as JSON-ready data: non-finite values (NaN, ±inf) become null,
    the one form the wire has for them. (Called per point: plain dicts take a short path.)"""
    if not isinstance(value, Mapping):
        raise TypeError(f"a metric entry is a dict, not {type(value).__name__}")
    data = dict(value)
    timestamp = data.get("timestamp")
    if isinstance(timestamp, datetime):
        data["timestamp"] = as_utc(timestamp).isoformat()
    values = data.get("values")
    if isinstance(values, Mapping):
        data["values"] = {
            str(name): None if isinstance(v, float) and not math.isfinite(v) else v
            for name, v in values.items()
        }
    return data


list_run_events = _Operation(_list_run_events.request_kwargs, page_reader(_RUN_EVENTS))


list_checkpoints = _Operation(_list_checkpoints.request_kwargs, page_reader(_CHECKPOINTS))


get_latest_checkpoint = _Operation(_get_latest_checkpoint.request_kwargs, _reader(_CHECKPOINT))


get_checkpoint_by_action = _Operation(
    _get_checkpoint_by_action.request_kwargs, _reader(_CHECKPOINT)
)


def newest_checkpoint_named(
    checkpoints: list[Checkpoint], *, action_name: str
) -> Checkpoint | None:
    """The newest checkpoint of `action_name` in a run's list (for the name `latest`, which
    `/checkpoints/{action_name}` cannot reach)."""
    named = [c for c in checkpoints if c["action_name"] == action_name]
    if not named:
        return None
    # The list is ordered by action_index then created_at; the newest is the latest created.
    return max(enumerate(named), key=lambda ic: (ic[1]["created_at"], ic[0]))[1]


list_artifacts = _Operation(_list_artifacts.request_kwargs, _reader(_ARTIFACTS))


def upload_artifact(
    run_id: str,
    path: str,
    *,
    content: Callable[[], Any],
    sha256: str | None,
    action_name: str | None,
    step: int | None,
    lease_token: int | None = None,
) -> Call[Artifact]:
    """The upload of `path`; `content()` gives the body afresh for each attempt (bytes, or an
    iterator of chunks for the client's kind)."""
    kwargs = _upload_artifact.request_kwargs(
        run_id,
        path,
        body=File(payload=io.BytesIO()),  # replaced by `content` below
        action_name=UNSET if action_name is None else action_name,
        step=UNSET if step is None else step,
        content_sha256=UNSET if sha256 is None else sha256,
        lease_token=_lease(lease_token),
    )
    kwargs["content"] = content
    return Call(kwargs, _reader(_ARTIFACT))


def download_artifact_kwargs(run_id: str, path: str) -> dict[str, Any]:
    """Request of an artifact's bytes (streamed by the caller)."""
    return _download_artifact.request_kwargs(run_id, path)


def log_batches(entries: Sequence[LogEntry | Mapping[str, Any]], *, size: int) -> list[list[Any]]:
    """Entries as JSON-ready dicts, in batches the server accepts."""
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise TypeError("entries must be a list of LogEntry objects or dicts")
    items = [entry(e) for e in entries]
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def get_logs(
    run_id: str,
    *,
    action_name: str | None,
    level: str | None,
    since: datetime | str | None,
    limit: int,
    after_seq: int | None,
) -> Call[Page[LogRecord]]:
    return Call(
        _get_logs.request_kwargs(
            run_id,
            action_name=UNSET if action_name is None else action_name,
            level=UNSET if level is None else _log_level(level),
            since=UNSET if since is None else _aware(since, "get_logs since"),
            after_seq=UNSET if after_seq is None else after_seq,
            limit=limit,
        ),
        page_reader(_LOG_RECORDS),
    )


def claim_run(
    worker_id: str, *, lease_seconds: float, pipeline_id: str | None
) -> Call[RunClaim | None]:
    data = given(worker_id=worker_id, lease_seconds=lease_seconds, pipeline_id=pipeline_id)
    body = _body(ClaimRequest.from_dict, data, "claim_run")
    return Call(_claim_run.request_kwargs(body=body), _run_claim)


def renew_lease(
    run_id: str, *, worker_id: str, lease_seconds: float, lease_token: int | None = None
) -> Call[Lease]:
    body = _body(
        LeaseRequest.from_dict,
        given(worker_id=worker_id, lease_seconds=lease_seconds),
        "renew_lease",
    )
    # Renewing twice extends the same lease: safe to repeat.
    kwargs = _renew_lease.request_kwargs(run_id, body=body, lease_token=_lease(lease_token))
    return Call(kwargs, _reader(_LEASE), retry_safe=True)


def release_lease(run_id: str, *, worker_id: str, lease_token: int | None = None) -> Call[None]:
    kwargs = _release_lease.request_kwargs(
        run_id, worker_id=worker_id, lease_token=_lease(lease_token)
    )
    return Call(kwargs, _nothing)
