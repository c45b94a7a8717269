"""Pipelines in storage: create, read, list, update, delete (with their runs).

A pipeline is one row of `pipelines`: its document (`doc`) and its id; the order of creation
(`pk`) orders lists, newest first.
"""

from __future__ import annotations

from pipeline_service.server import rules
from pipeline_service.server.errors import PIPELINE_NOT_FOUND
from pipeline_service.server.models import PipelineCreate, PipelineUpdate
from pipeline_service.server.storage import artifacts, documents, idempotency, logs
from pipeline_service.server.storage.changes import RunDeleted
from pipeline_service.server.storage.paging import Page, bounded, cut
from pipeline_service.server.storage.plans import MAX_INT_PARAM, Plan, Query, Tx, row_by_id
from pipeline_service.wire import Pipeline


def exists(key: str) -> Plan[bool]:
    """Whether the pipeline with this id (a documents.request_id) exists."""
    rows = yield Query("SELECT id FROM pipelines WHERE id=:id", {"id": key})
    return bool(rows)


def get(pipeline_id: str, lock: str = "") -> Plan[Pipeline]:
    """The pipeline (its row locked as lock says); NotFound without it."""
    key = documents.request_id(pipeline_id)
    row = yield from row_by_id("pipelines", "doc", key, lock, PIPELINE_NOT_FOUND)
    return documents.pipeline_document(row["doc"])


def list_pipelines(skip: int, limit: int) -> Plan[Page[Pipeline]]:
    """Pipelines, newest first (a page cut at MAX_PAGE_BYTES: paging)."""
    keys = (
        "SELECT pk AS page_key, {doc_bytes} AS page_bytes FROM pipelines "
        "ORDER BY pk DESC LIMIT :limit OFFSET :skip"
    )
    rows = yield Query(
        f"SELECT doc, page_rows FROM pipelines JOIN ({bounded(keys, 'page_key DESC')}) AS cut "
        "ON pipelines.pk = cut.page_key ORDER BY pipelines.pk DESC",
        {"limit": limit, "skip": min(skip, MAX_INT_PARAM)},
    )
    return cut(rows, lambda row: documents.pipeline_document(row["doc"]))


def create(tx: Tx, body: PipelineCreate) -> Plan[tuple[Pipeline, str]]:
    """A new pipeline."""
    pipeline = documents.new_pipeline(body, tx.now)
    yield Query(
        "INSERT INTO pipelines (id, doc, dedicated_workers) VALUES (:id, :doc, :dedicated)",
        {
            "id": pipeline["id"],
            "doc": documents.encode(pipeline),
            "dedicated": pipeline["dedicated_workers"],
        },
    )
    return pipeline, pipeline["id"]


def update(tx: Tx, pipeline_id: str, body: PipelineUpdate) -> Plan[Pipeline]:
    """PUT /pipelines/{id}: the fields sent change."""
    pipeline = yield from get(pipeline_id, "{lock}")
    rules.update_pipeline(pipeline, body, tx.now)
    yield Query(
        "UPDATE pipelines SET doc=:doc, dedicated_workers=:dedicated WHERE id=:id",
        {
            "doc": documents.encode(pipeline),
            "dedicated": pipeline["dedicated_workers"],
            "id": pipeline["id"],
        },
    )
    return pipeline


def delete(tx: Tx, pipeline_id: str) -> Plan[list[str]]:
    """Delete the pipeline with its runs (and theirs: checkpoints, artifact records, logs,
    metrics); forget the keys that wrote to any of them. The object keys the runs' artifact
    records held."""
    key = documents.request_id(pipeline_id)
    # Locked first: a run being created meanwhile (it holds the pipeline's row for share) is
    # either committed before its runs are read, and deleted with its keys, or refused after.
    yield from get(pipeline_id, "{lock}")
    # Its runs locked before they are deleted: a run's change waits here, not while holding
    # the change sequence's lock that a deletion takes (run_changes.py).
    runs = yield Query("SELECT id FROM runs WHERE pipeline_id=:id {lock}", {"id": key})
    released = yield from artifacts.object_keys("pipeline_id=:id", {"id": key})
    yield Query("DELETE FROM pipelines WHERE id=:id", {"id": key})
    run_ids = [row["id"] for row in runs]
    yield from logs.delete(run_ids)
    yield from idempotency.forget([key, *run_ids])
    tx.changes.extend(RunDeleted(run_id) for run_id in run_ids)
    return released
