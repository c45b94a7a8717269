"""The rules of the contract on documents, independent of the storage backend.

How a run moves between statuses, how a PATCH, a progress report or a cancel changes a run,
how a PUT changes a pipeline, and what a request may not ask for. Every backend applies them
through the shared storage plans (`storage/`); new documents are built in
`storage/documents.py`. Functions that take a document change it in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from pipeline_service import wire
from pipeline_service.server.errors import Conflict, Unprocessable
from pipeline_service.server.models import (
    ActionDefinition,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RuntimeEnv,
    RunUpdate,
)
from pipeline_service.wire import (
    TERMINAL_ACTION_STATUSES,
    TERMINAL_RUN_STATUSES,
    ActionProgressState,
    Checkpoint,
    Run,
)

JSON = dict[str, Any]

_ALLOWED_MOVES = {
    "pending": {"running", *TERMINAL_RUN_STATUSES},
    "running": set(TERMINAL_RUN_STATUSES),
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
    stored: list[wire.ActionDefinition] = []
    for action in actions:
        definition: wire.ActionDefinition = {
            "name": action.name,
            "entrypoint": action.entrypoint,
            "description": action.description,
        }
        if action.resources is not None:  # absent when none were asked for, as before
            definition["resources"] = cast(wire.ActionResources, action.resources.sent_fields())
        stored.append(definition)
    return stored


def runtime_env(env: RuntimeEnv | None) -> wire.RuntimeEnv | None:
    """The stored form of a pipeline's runtime_env (the keys sent)."""
    return None if env is None else cast(wire.RuntimeEnv, env.sent_fields())


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
    if status == "cancelled":
        cancel_running_actions(run, now)
    return True


def cancel_running_actions(run: Run, now: str) -> None:
    """A cancelled run's running action is cancelled with it (the actions after it, which
    never ran, stay pending)."""
    run["progress"] = [
        cast(
            ActionProgressState,
            {**entry, "status": "cancelled", "completed_at": entry["completed_at"] or now},
        )
        if entry["status"] == "running"
        else entry
        for entry in run["progress"]
    ]


def apply_run_update(run: Run, body: RunUpdate, now: str) -> None:
    """PATCH /runs/{id}: only the fields sent change."""
    sent = _apply_shared(run, body, now)
    if "result" in sent:
        run["result"] = body.result
    if "labels" in sent and body.labels is not None:
        run["labels"] = body.labels


def apply_progress_update(run: Run, body: ProgressUpdate, now: str) -> None:
    """POST /runs/{id}/progress: status, pointers, and action progress merged into its entry."""
    sent = _apply_shared(run, body, now)
    if "action_progress" in sent:
        index = body.current_action_index if "current_action_index" in sent else None
        merge_action_progress(run["progress"], body.action_progress.sent_fields(), index, now)


def _apply_shared(run: Run, body: RunUpdate | ProgressUpdate, now: str) -> set[str]:
    """What a PATCH and a progress report both carry, where the body sent it: the status (moved
    by the rules), the current action, its index and the error. The names of the fields sent."""
    sent = body.model_fields_set
    if "status" in sent:
        move_run(run, body.status, now)
    if "current_action" in sent:
        run["current_action"] = body.current_action
    if "current_action_index" in sent:
        run["current_action_index"] = body.current_action_index
    if "error" in sent:
        run["error"] = body.error
    return sent


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
    if previous_status == "cancelled":
        entry["status"] = "cancelled"  # a late report of the worker does not revive it
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
    if "dedicated_workers" in sent:
        pipeline["dedicated_workers"] = body.dedicated_workers
    if "runtime_env" in sent:
        pipeline["runtime_env"] = runtime_env(body.runtime_env)
    if "labels" in sent and body.labels is not None:
        pipeline["labels"] = body.labels
    pipeline["updated_at"] = now


def check_resumable(pipeline: wire.Pipeline, body: RunCreate, resumed: Run | None) -> None:
    """A run resumes (`resume_from`) an existing run of the same pipeline (422 otherwise)."""
    if body.resume_from is not None and (
        resumed is None or resumed["pipeline_id"] != pipeline["id"]
    ):
        raise Unprocessable(
            f"body field 'resume_from': {body.resume_from!r} is not a run of this pipeline"
        )


def resumed_checkpoints(
    pipeline: wire.Pipeline, body: RunCreate, resumed_id: str, checkpoints: Sequence[Checkpoint]
) -> list[Checkpoint]:
    """The checkpoints of the resumed run that the resuming run starts with: all of them, or
    with `from_action` those of the actions before it. 422 for a `from_action` the pipeline
    lacks; 409 when nothing is left to run (every action has a completed checkpoint and no
    `from_action` says which to run again), or when an action before `from_action` has no
    completed checkpoint (it would have to run again too)."""
    names = [action["name"] for action in pipeline["actions"]]
    completed = {
        c["action_index"]
        for c in checkpoints
        if c["status"] == "completed"
        and c["action_index"] < len(names)
        and names[c["action_index"]] == c["action_name"]
    }
    if body.from_action is None:
        if names and completed >= set(range(len(names))):
            raise Conflict(
                f"run {resumed_id!r} has nothing left to run: every action completed; send "
                "from_action to run one again (with those after it)"
            )
        return list(checkpoints)
    if body.from_action not in names:
        raise Unprocessable(
            f"body field 'from_action': the pipeline has no action {body.from_action!r}"
        )
    start = names.index(body.from_action)
    missing = [names[index] for index in range(start) if index not in completed]
    if missing:
        raise Conflict(
            f"cannot run again from action {body.from_action!r}: action {missing[0]!r} before "
            f"it has no completed checkpoint in run {resumed_id!r}"
        )
    return [c for c in checkpoints if c["action_index"] < start]


def changed(run: Run, change: Callable[[Run], object]) -> Run | None:
    """Apply change to run; the document as it was when it now differs (the run's version then
    grows), None when it does not.

    The rules above replace what they change (a field, an action's entry in `progress`), never
    mutate a value in place: so the copy kept to compare with is shallow, and a document nested
    however deep (stored by an older release) cannot make a change fail on recursion.
    """
    before = cast(Run, {**run, "progress": list(run["progress"])})
    change(run)
    return None if run == before else before


def cancel_run(run: Run, now: str) -> None:
    """POST /runs/{id}/cancel: pending or running → cancelled; cancelled stays; others 409."""
    if run["status"] in ("completed", "failed"):
        raise Conflict(f"run is {run['status']}; only a pending or running run can be cancelled")
    move_run(run, "cancelled", now)
