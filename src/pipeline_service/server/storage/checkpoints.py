"""Checkpoints in storage: record, list, the latest (of an action), and copies for a resume.

A checkpoint is one row of `checkpoints`: its document (`doc`) beside the columns its queries
use: `run_id`, `action_key` (the action's name, documents.key), `action_index`, `created_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from pipeline_service.server.errors import CHECKPOINT_NOT_FOUND, NotFound
from pipeline_service.server.models import CheckpointCreate
from pipeline_service.server.storage import documents, idempotency
from pipeline_service.server.storage.fencing import fence, run_row
from pipeline_service.server.storage.idempotency import Idempotency
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
    tx: Tx,
    run_id: str,
    body: CheckpointCreate,
    idem: Idempotency | None,
    lease_token: int | None,
) -> Plan[Checkpoint]:
    """Record a checkpoint of the run (fenced by lease_token)."""
    replay = yield from idempotency.replayed(idem)
    if replay is not None:
        return cast(Checkpoint, replay)
    yield from fence(run_id, lease_token)
    checkpoint = documents.new_checkpoint(run_id, body, tx.now)
    yield from insert([checkpoint])
    yield from idempotency.remember(idem, checkpoint, run_id)
    return checkpoint


def copy(from_run: str, to_run: str) -> Plan[None]:
    """Copy the checkpoints of from_run to to_run (a run resuming from_run)."""
    rows = yield Query("SELECT doc FROM checkpoints WHERE run_id=:id ORDER BY pk", {"id": from_run})
    yield from insert(
        [
            documents.copied_checkpoint(documents.checkpoint_document(row["doc"]), to_run)
            for row in rows
        ]
    )


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
