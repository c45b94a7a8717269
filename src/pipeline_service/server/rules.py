"""The rules of the contract on documents, independent of the storage backend.

Every backend builds and changes its pipelines, runs, checkpoints and log records here (the
wire shapes, as plain dicts), so the rules live in one place; a backend only stores them.
Functions that take a document change it in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from pipeline_service import wire
from pipeline_service.server.errors import Conflict, Unprocessable
from pipeline_service.server.models import (
    ActionDefinition,
    CheckpointCreate,
    LogEntry,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service.wire import (
    TERMINAL_ACTION_STATUSES,
    TERMINAL_RUN_STATUSES,
    ActionProgressState,
    Run,
)

JSON = dict[str, Any]

_ALLOWED_MOVES = {
    "pending": {"running", "completed", "failed", "cancelled"},
    "running": {"completed", "failed", "cancelled"},
}


def check_unique_action_names(actions: Sequence[ActionDefinition]) -> None:
    """Action names are unique within a pipeline (422 otherwise)."""
    seen: set[str] = set()
    for action in actions:
        if action.name in seen:
            raise Unprocessable(f"body field 'actions': duplicate action name {action.name!r}")
        seen.add(action.name)


def action_definitions(actions: Sequence[ActionDefinition]) -> list[wire.ActionDefinition]:
    """The stored form of a pipeline's actions (known fields only)."""
    return [
        {"name": a.name, "entrypoint": a.entrypoint, "description": a.description} for a in actions
    ]


def pending_action(name: str) -> ActionProgressState:
    """The progress entry of an action that has not started."""
    return {
        "name": name,
        "status": "pending",
        "progress": 0,
        "total": None,
        "progress_step": None,
        "message": None,
        "metrics": {},
        "started_at": None,
        "completed_at": None,
        "error": None,
    }


def move_run(run: Run, status: str, now: str) -> bool:
    """Move a run to status (stamping started_at / completed_at once). False when unchanged."""
    current = run["status"]
    if status == current:
        return False
    if status not in _ALLOWED_MOVES.get(current, set()):
        if current in TERMINAL_RUN_STATUSES:
            raise Conflict(f"run is {current}; a terminal run cannot become {status}")
        raise Conflict(f"run is {current}; it cannot go back to {status}")
    run["status"] = status
    if status == "running" and run["started_at"] is None:
        run["started_at"] = now
    if status in TERMINAL_RUN_STATUSES and run["completed_at"] is None:
        run["completed_at"] = now
    return True


def apply_run_update(run: Run, body: RunUpdate, now: str) -> None:
    """PATCH /runs/{id}: only the fields sent change."""
    sent = body.model_fields_set
    if "status" in sent:
        move_run(run, body.status, now)
    _apply_pointers(run, body, sent)
    if "result" in sent:
        run["result"] = body.result


def apply_progress_update(run: Run, body: ProgressUpdate, now: str) -> None:
    """POST /runs/{id}/progress: status, pointers, and action progress merged into its entry."""
    sent = body.model_fields_set
    if "status" in sent:
        move_run(run, body.status, now)
    _apply_pointers(run, body, sent)
    if "action_progress" in sent:
        index = body.current_action_index if "current_action_index" in sent else None
        merge_action_progress(run["progress"], body.action_progress.sent_fields(), index, now)


def _apply_pointers(run: Run, body: RunUpdate | ProgressUpdate, sent: set[str]) -> None:
    """The current action, its index and the error, where the body sent them."""
    if "current_action" in sent:
        run["current_action"] = body.current_action
    if "current_action_index" in sent:
        run["current_action_index"] = body.current_action_index
    if "error" in sent:
        run["error"] = body.error


def merge_action_progress(
    entries: list[ActionProgressState], update: JSON, index: int | None, now: str
) -> None:
    """Merge update into the entry at index, or the entry named update["name"]."""
    name = update["name"]
    if index is not None:
        if index >= len(entries):
            raise Unprocessable(
                f"body field 'current_action_index': {index} is out of range "
                f"(the run has {len(entries)} actions)"
            )
        if entries[index]["name"] != name:
            raise Unprocessable(
                f"body field 'action_progress.name': {name!r} is not action {index} "
                f"({entries[index]['name']!r})"
            )
    else:
        index = next((i for i, e in enumerate(entries) if e["name"] == name), None)
        if index is None:
            raise Unprocessable(
                f"body field 'action_progress.name': the run has no action {name!r}"
            )
    entry: JSON = dict(entries[index])
    previous_status = entry["status"]
    entry.update(update)
    status = entry["status"]
    if status != previous_status:
        if status == "running" and "started_at" not in update and entry["started_at"] is None:
            entry["started_at"] = now
        if (
            status in TERMINAL_ACTION_STATUSES
            and "completed_at" not in update
            and entry["completed_at"] is None
        ):
            entry["completed_at"] = now
    check_progress_range(entry)
    # The update holds the ActionProgress fields the request sent, validated by its model.
    entries[index] = cast(ActionProgressState, entry)


def check_progress_range(entry: JSON) -> None:
    """With total null, progress is a fraction in [0, 1]; with total set, 0 ≤ progress ≤ total."""
    progress, total = entry["progress"], entry["total"]
    if total is None:
        if not 0 <= progress <= 1:
            raise Unprocessable(
                f"body field 'action_progress.progress': {progress} is not a fraction in [0, 1] "
                "(send 'total' to report units of work)"
            )
    elif not 0 <= progress <= total:
        raise Unprocessable(
            f"body field 'action_progress.progress': {progress} is outside 0..{total} (total)"
        )


# Documents every backend stores -------------------------------------------------------------


def new_id() -> str:
    """A fresh id for a pipeline, run, checkpoint or log record."""
    return str(uuid.uuid4())


def new_pipeline(body: PipelineCreate, now: str) -> wire.Pipeline:
    """A new Pipeline document."""
    check_unique_action_names(body.actions)
    return {
        "id": new_id(),
        "name": body.name,
        "description": body.description,
        "actions": action_definitions(body.actions),
        "created_at": now,
        "updated_at": now,
    }


def update_pipeline(pipeline: wire.Pipeline, body: PipelineUpdate, now: str) -> None:
    """PUT /pipelines/{id}: only the fields sent change; updated_at always moves."""
    sent = body.model_fields_set
    if "name" in sent:
        pipeline["name"] = body.name
    if "description" in sent:
        pipeline["description"] = body.description
    if "actions" in sent:
        check_unique_action_names(body.actions)
        pipeline["actions"] = action_definitions(body.actions)
    pipeline["updated_at"] = now


def new_run(pipeline: wire.Pipeline, body: RunCreate, resumed: Run | None, now: str) -> Run:
    """A new pending Run of pipeline; resuming a run inherits its params, the params sent win."""
    if body.resume_from is not None and (
        resumed is None or resumed["pipeline_id"] != pipeline["id"]
    ):
        raise Unprocessable(
            f"body field 'resume_from': {body.resume_from!r} is not a run of this pipeline"
        )
    params = body.params
    if resumed is not None:
        earlier = resumed["params"]
        if params is None:
            params = earlier
        elif earlier:
            params = {**earlier, **params}
    return {
        "id": new_id(),
        "pipeline_id": pipeline["id"],
        "status": "pending",
        "params": params,
        "current_action": None,
        "current_action_index": 0,
        "progress": [pending_action(a["name"]) for a in pipeline["actions"]],
        "result": None,
        "error": None,
        "work_dir": body.work_dir,
        "started_at": None,
        "completed_at": None,
        "created_at": now,
    }


def changed(run: Run, change: Callable[[Run], object]) -> bool:
    """Apply change to run; True when the document differs (the run's version then grows).

    The rules above replace what they change (a field, an action's entry in `progress`), never
    mutate a value in place: so the copy kept to compare with is shallow, and a document nested
    however deep (stored by an older release) cannot make a change fail on recursion.
    """
    before = {**run, "progress": list(run["progress"])}
    change(run)
    return run != before


def cancel_run(run: Run, now: str) -> None:
    """POST /runs/{id}/cancel: pending or running → cancelled; cancelled stays; others 409."""
    if run["status"] in ("completed", "failed"):
        raise Conflict(f"run is {run['status']}; only a pending or running run can be cancelled")
    move_run(run, "cancelled", now)


def new_checkpoint(run_id: str, body: CheckpointCreate, now: str) -> wire.Checkpoint:
    """A new Checkpoint document of run_id."""
    return {
        "id": new_id(),
        "run_id": run_id,
        "action_name": body.action_name,
        "action_index": body.action_index,
        "status": body.status,
        "params_snapshot": body.params_snapshot,
        "result": body.result,
        "artifacts_path": body.artifacts_path,
        "created_at": now,
    }


def log_records(
    run_id: str, last_seq: int, entries: Sequence[LogEntry], now: str
) -> list[wire.LogRecord]:
    """LogRecords for entries, numbered on from last_seq (the run's gap-free log cursor)."""
    return [
        {
            "id": new_id(),
            "run_id": run_id,
            "seq": last_seq + offset,
            "action_name": entry.action_name,
            "level": entry.level,
            "message": entry.message,
            "timestamp": entry.timestamp or now,
        }
        for offset, entry in enumerate(entries, start=1)
    ]
