"""Checkpoints in storage: record, list, the latest (of an action), and copies for a resume.

An in-action checkpoint lists artifacts of its run (`artifacts.list_in_checkpoint`).

A checkpoint is one row of `checkpoints`: its document (`doc`) beside the columns its queries
use: `run_id`, `action_key` (the action's name, documents.key), `action_index`, `created_at`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline_service.server.artifacts.paths import normalise_artifact_path
from pipeline_service.server.errors import CHECKPOINT_NOT_FOUND, NotFound
from pipeline_service.server.models import CheckpointCreate
from pipeline_service.server.storage import artifacts, documents, events
from pipeline_service.server.storage.fencing import fence, run_row
from pipeline_service.server.storage.paging import Page, bounded, cut
from pipeline_service.server.storage.plans import MAX_INT_PARAM, Plan, Query, Tx, first
from pipeline_service.wire import Checkpoint


def insert(checkpoints: Sequence[Checkpoint]) -> Plan[None]:
    """Store checkpoints."""
    if not checkpoints:
        return
    yield Query(
        "INSERT INTO checkpoints (run_id, action_key, action_index, created_at, doc) "
        "VALUES (:run_id, :action_key, :action_index, :created_at, :doc)",
        many=[
            {
                "run_id": c["run_id"],
                "action_key": documents.key(c["action_name"]),
                "action_index": c["action_index"],
                "created_at": c["created_at"],
                "doc": documents.encode(c),
            }
            for c in checkpoints
        ],
    )


def create(
    tx: Tx, run_id: str, body: CheckpointCreate, lease_token: int | None
) -> Plan[tuple[Checkpoint, str]]:
    """Record a checkpoint of the run (fenced by lease_token)."""
    row = yield from fence(run_id, lease_token)
    paths = [normalise_artifact_path(p, "body field 'artifacts'") for p in body.artifacts]
    checkpoint = documents.new_checkpoint(
        run_id, body.model_copy(update={"artifacts": paths}), tx.now
    )
    yield from insert([checkpoint])
    yield from artifacts.list_in_checkpoint(documents.request_id(run_id), checkpoint)
    step = checkpoint.get("step")
    at = "" if step is None else f" at step {step}"
    saved = events.event(
        checkpoint["run_id"],
        "checkpoint_saved",
        tx.now,
        f"Checkpoint of action {checkpoint['action_name']} saved{at}",
        worker_id=events.worker_of(row["lease_worker"]),
        action_name=checkpoint["action_name"],
        checkpoint_id=checkpoint["id"],
        step=step,
    )
    yield from events.record([saved])
    return checkpoint, run_id


def of_run(run_key: str) -> Plan[list[Checkpoint]]:
    """The checkpoints of a run, in the order they were recorded."""
    rows = yield Query("SELECT doc FROM checkpoints WHERE run_id=:id ORDER BY pk", {"id": run_key})
    return [documents.checkpoint_document(row["doc"]) for row in rows]


def copy(kept: Sequence[Checkpoint], to_run: str) -> Plan[dict[str, Checkpoint]]:
    """Copy checkpoints (of a run to_run resumes) to to_run; each copy by its original's id."""
    copies = {c["id"]: documents.copied_checkpoint(c, to_run) for c in kept}
    yield from insert(list(copies.values()))
    return copies


def list_checkpoints(run_id: str, skip: int, limit: int) -> Plan[Page[Checkpoint]]:
    """The run's checkpoints by action index, then age (a page cut at MAX_PAGE_BYTES: paging);
    NotFound without the run."""
    row = yield from run_row(run_id, "id")
    keys = (
        "SELECT pk AS page_key, action_index AS page_index, created_at AS page_created, "
        "{doc_bytes} AS page_bytes FROM checkpoints WHERE run_id=:id "
        "ORDER BY action_index, created_at, pk LIMIT :limit OFFSET :skip"
    )
    order = "page_index, page_created, page_key"
    rows = yield Query(
        f"SELECT doc, page_rows FROM checkpoints JOIN ({bounded(keys, order)}) AS cut "
        f"ON checkpoints.pk = cut.page_key ORDER BY {order}",
        {"id": row["id"], "limit": limit, "skip": min(skip, MAX_INT_PARAM)},
    )
    return cut(rows, lambda row: documents.checkpoint_document(row["doc"]))


def latest(run_id: str, action_name: str | None) -> Plan[Checkpoint]:
    """The newest checkpoint of action_name, or with the highest action_index when None."""
    run = yield from run_row(run_id, "id")
    if action_name is None:
        rows = yield Query(
            "SELECT doc FROM checkpoints WHERE run_id=:id "
            "ORDER BY action_index DESC, created_at DESC, pk DESC LIMIT 1",
            {"id": run["id"]},
        )
    else:
        rows = yield Query(
            "SELECT doc FROM checkpoints WHERE run_id=:id AND action_key=:action_key "
            "ORDER BY created_at DESC, pk DESC LIMIT 1",
            {"id": run["id"], "action_key": documents.key(action_name)},
        )
    row = first(rows)
    if row is None:
        raise NotFound(CHECKPOINT_NOT_FOUND)
    return documents.checkpoint_document(row["doc"])
