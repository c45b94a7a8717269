"""Runs in storage: create (or resume), read, list, change, cancel, delete.

A run is one row of `runs`: its document (`doc`), its version (grows with every change of the
document), the columns mirrored from the document (documents.RUN_COLUMNS), and the columns the
service keeps beside it (the lease, the log cursor). Every change of a run goes through
`change_run`: lock the row, check the lease token, apply a rule of `server/rules.py`, and write
the document back with the next version when it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline_service.server import rules
from pipeline_service.server.errors import PIPELINE_NOT_FOUND, RUN_NOT_FOUND, NotFound
from pipeline_service.server.models import ProgressUpdate, RunCreate, RunUpdate
from pipeline_service.server.storage import (
    artifacts,
    checkpoints,
    documents,
    events,
    idempotency,
    labels,
    logs,
    metric_history,
    pipelines,
)
from pipeline_service.server.storage.changes import RunChanged, RunDeleted, RunState
from pipeline_service.server.storage.fencing import check_fence, run_row
from pipeline_service.server.storage.paging import Page, bounded, cut
from pipeline_service.server.storage.plans import MAX_INT_PARAM, Plan, Query, Tx, first
from pipeline_service.server.storage.queries import RunQuery
from pipeline_service.wire import Checkpoint, Run


def get(run_id: str) -> Plan[RunState]:
    """The run's state; NotFound without it."""
    row = yield from run_row(run_id, "doc, version")
    return documents.run_state(row)


def find(run_id: str, lock: str = "") -> Plan[Run | None]:
    """The run's document, or None."""
    rows = yield Query(
        f"SELECT doc FROM runs WHERE id=:id {lock}", {"id": documents.request_id(run_id)}
    )
    row = first(rows)
    return None if row is None else documents.run_document(row["doc"])


def list_runs(query: RunQuery) -> Plan[Page[Run]]:
    """Runs, newest first (a page cut at MAX_PAGE_BYTES: paging); with pipeline_id, NotFound
    when that pipeline does not exist; with resumed_from, only the runs that resumed that run;
    with a label selector, only the runs whose labels match it."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": query.limit, "skip": min(query.skip, MAX_INT_PARAM)}
    if query.pipeline_id is not None:
        key = documents.request_id(query.pipeline_id)
        if not (yield from pipelines.exists(key)):
            raise NotFound(PIPELINE_NOT_FOUND)
        where.append("pipeline_id=:pipeline_id")
        params["pipeline_id"] = key
    if query.status is not None:
        where.append("status=:status")
        params["status"] = query.status
    if query.resumed_from is not None:
        where.append("resumed_from=:resumed_from")
        params["resumed_from"] = documents.request_id(query.resumed_from)
    where += labels.where(query.selector, params)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    keys = (
        "SELECT pk AS page_key, {doc_bytes} AS page_bytes FROM runs "
        f"{clause} ORDER BY pk DESC LIMIT :limit OFFSET :skip"
    )
    rows = yield Query(
        f"SELECT doc, page_rows FROM runs JOIN ({bounded(keys, 'page_key DESC')}) AS cut "
        "ON runs.pk = cut.page_key ORDER BY runs.pk DESC",
        params,
    )
    return cut(rows, lambda row: documents.run_document(row["doc"]))


def create(tx: Tx, pipeline_id: str, body: RunCreate) -> Plan[tuple[Run, str]]:
    """A new pending run of the pipeline; resuming a run copies its checkpoints (those before
    `from_action`, if given) and shares the artifacts they list."""
    pipeline = yield from pipelines.get(pipeline_id, "{share}")
    resumed = None
    if body.resume_from is not None:
        resumed = yield from find(body.resume_from, "{share}")
    run = documents.new_run(pipeline, body, resumed, tx.now)
    kept: list[Checkpoint] = []
    if resumed is not None:
        earlier = yield from checkpoints.of_run(resumed["id"])
        kept = rules.resumed_checkpoints(pipeline, body, resumed["id"], earlier)
    columns = documents.run_columns(run)
    names = "".join(f", {name}" for name in columns)
    values = "".join(f", :{name}" for name in columns)
    yield Query(
        f"INSERT INTO runs (id, pipeline_id, doc, change_seq{names}) "
        f"VALUES (:id, :pipeline_id, :doc, {{next_change}}{values})",
        {
            "id": run["id"],
            "pipeline_id": run["pipeline_id"],
            "doc": documents.encode(run),
            **columns,
        },
    )
    created = [
        events.event(run["id"], "created", tx.now, f"Run created (pipeline {pipeline['name']})")
    ]
    yield from labels.store(run["id"], run["labels"], replace=False)
    if resumed is not None:
        copies = yield from checkpoints.copy(kept, run["id"])
        yield from artifacts.share(resumed["id"], run["id"], copies)
        created += [
            events.event(
                run["id"],
                "resumed_from",
                tx.now,
                f"Resumes run {resumed['id']}",
                run_id=resumed["id"],
            ),
            events.event(
                resumed["id"],
                "resumed_as",
                tx.now,
                f"Resumed as run {run['id']}",
                run_id=run["id"],
            ),
        ]
    yield from events.record(created)
    tx.changes.append(RunChanged(RunState(run, 1)))
    return run, run["id"]


def change_run(
    tx: Tx, run_id: str, change: Callable[[Run], object], lease_token: int | None = None
) -> Plan[RunState]:
    """Lock the run, check the lease token, apply change; a changed document is written back
    with the next version (and reported as a change once committed)."""
    row = yield from run_row(run_id, "id, doc, version, lease_token, lease_worker", "{lock}")
    check_fence(run_id, lease_token, row)
    state = documents.run_state(row)
    run = state.run
    before = rules.changed(run, change)
    if before is None:
        return state
    yield from events.record(
        events.derived(before, run, events.worker_of(row["lease_worker"]), tx.now)
    )
    if run["labels"] != before["labels"]:
        yield from labels.store(row["id"], run["labels"], replace=True)
    state = RunState(run, state.version + 1)
    # Only the columns whose values changed: an index on a column assigned is rewritten even
    # when the value stays (two more pages for every commit to write).
    was = documents.run_columns(before)
    columns = {name: v for name, v in documents.run_columns(run).items() if v != was[name]}
    assignments = "".join(f", {name}=:{name}" for name in columns)
    yield Query(
        f"UPDATE runs SET doc=:doc, version=:version, change_seq={{next_change}}{assignments} "
        "WHERE id=:id",
        {"doc": documents.encode(run), "version": state.version, "id": row["id"], **columns},
    )
    tx.changes.append(RunChanged(state))
    return state


def update(tx: Tx, run_id: str, body: RunUpdate, lease_token: int | None) -> Plan[tuple[Run, str]]:
    """PATCH /runs/{id}: the fields sent change."""
    state = yield from change_run(
        tx, run_id, lambda run: rules.apply_run_update(run, body, tx.now), lease_token
    )
    return state.run, state.run["id"]


def report_progress(
    tx: Tx, run_id: str, body: ProgressUpdate, lease_token: int | None, max_metric_points: int
) -> Plan[tuple[Run, str]]:
    """POST /runs/{id}/progress, and the metric point it carries (metric_history)."""
    state = yield from change_run(
        tx, run_id, lambda run: rules.apply_progress_update(run, body, tx.now), lease_token
    )
    run = state.run
    point = metric_history.reported_point(run, body, tx.now)
    if point is not None:
        yield from metric_history.record(run["id"], *point, max_metric_points)
    return run, run["id"]


def cancel(tx: Tx, run_id: str) -> Plan[Run]:
    """POST /runs/{id}/cancel (and its event, when the run was not cancelled already)."""
    row = yield from run_row(run_id, "id, status", "{lock}")
    if row["status"] != "cancelled":
        requested = events.event(row["id"], "cancel_requested", tx.now, "Cancel requested")
        yield from events.record([requested])
    state = yield from change_run(tx, run_id, lambda run: rules.cancel_run(run, tx.now))
    return state.run


def delete(tx: Tx, run_id: str) -> Plan[list[str]]:
    """Delete the run (its checkpoints, artifact records, logs and metrics with it) and forget
    its keys; the object keys its artifact records held."""
    key = documents.request_id(run_id)
    released = yield from artifacts.object_keys("id=:id", {"id": key})
    if not (yield Query("DELETE FROM runs WHERE id=:id RETURNING id", {"id": key})):
        raise NotFound(RUN_NOT_FOUND)
    yield from logs.delete([key])
    yield from idempotency.forget([key])
    tx.changes.append(RunDeleted(key))
    return released
