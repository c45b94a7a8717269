"""Run events: what happened to a run, recorded in the transaction of the change itself.

Each event is a row of `run_events` (its document beside the run's id; `pk` orders every
event of the service and is the event's `id`). Most events are read off a run's document
before and after a change (`derived`, called by `runs.change_run`): the run started or ended,
an action started or ended (with its duration). The others are recorded where their cause is:
created and resumed (`runs.create`), claimed, lease expired and taken over (`leases.claim`),
cancel requested (`runs.cancel`), checkpoint saved (`checkpoints.create`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from pipeline_service.server.storage import documents
from pipeline_service.server.storage.fencing import run_row
from pipeline_service.server.storage.paging import Page, bounded, cut
from pipeline_service.server.storage.plans import MAX_INT_PARAM, Plan, Query
from pipeline_service.wire import TERMINAL_RUN_STATUSES, Run, RunEvent


def event(
    run_id: str,
    type_: str,
    time: str,
    message: str,
    /,
    *,
    worker_id: str | None = None,
    action_name: str | None = None,
    **details: Any,
) -> RunEvent:
    """An event without its id (the database numbers it)."""
    return {
        "id": 0,
        "run_id": run_id,
        "type": type_,
        "time": time,
        "worker_id": worker_id,
        "action_name": action_name,
        "message": message,
        "details": details,
    }


def derived(before: Run, after: Run, worker_id: str | None, now: str) -> list[RunEvent]:
    """The events a change of the run's document makes: actions that started or ended (in
    the pipeline's order), then the run's own status if it moved."""
    found: list[RunEvent] = []
    rid = after["id"]
    run_started = before["status"] == "pending" and after["status"] == "running"
    if run_started:
        found.append(event(rid, "started", now, "Run started", worker_id=worker_id))
    old = {entry["name"]: entry for entry in before["progress"]}
    for entry in after["progress"]:
        status, name = entry["status"], entry["name"]
        previous = old.get(name)
        if status in ("pending", previous and previous["status"]):
            continue
        if status == "running":
            found.append(
                event(
                    rid,
                    "action_started",
                    now,
                    f"Action {name} started",
                    worker_id=worker_id,
                    action_name=name,
                )
            )
            continue
        found.append(_ended(entry, run_id=rid, now=now, worker_id=worker_id, action_name=name))
    status = after["status"]
    if status != before["status"] and status in TERMINAL_RUN_STATUSES:
        found.append(_ended(after, run_id=rid, now=now, worker_id=worker_id))
    return found


def _ended(
    ended: Mapping[str, Any],
    *,
    run_id: str,
    now: str,
    worker_id: str | None,
    action_name: str | None = None,
) -> RunEvent:
    """The event of the run (`ended`, its document) or of its action action_name (`ended`, its
    progress entry) that ended: the message says how long it took, and a failure's error."""
    status = ended["status"]
    type_, subject = (
        (status, "Run") if action_name is None else (f"action_{status}", f"Action {action_name}")
    )
    seconds = _duration(ended["started_at"], ended["completed_at"])
    took = "" if seconds is None else f" after {seconds:.3g} s"
    error = f": {ended['error']}" if status == "failed" and ended["error"] else ""
    return event(
        run_id,
        type_,
        now,
        f"{subject} {status}{took}{error}",
        worker_id=worker_id,
        action_name=action_name,
        duration_seconds=seconds,
    )


def _duration(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None
    return max(seconds, 0.0)


def record(events: list[RunEvent]) -> Plan[None]:
    """Store events, in order."""
    if events:
        yield Query(
            "INSERT INTO run_events (run_id, doc) VALUES (:run_id, :doc)",
            many=[{"run_id": e["run_id"], "doc": documents.encode({**e, "id": 0})} for e in events],
        )


def worker_of(lease_worker: str | None) -> str | None:
    """The worker id in a run's `lease_worker` column (None when no worker holds it)."""
    return None if lease_worker is None else str(json.loads(lease_worker))


def read(run_id: str, after: int, limit: int) -> Plan[Page[RunEvent]]:
    """The run's events after the event id `after`, oldest first (a page cut at
    MAX_PAGE_BYTES: paging); NotFound without the run."""
    row = yield from run_row(run_id, "id")
    params = {"run_id": row["id"], "after": min(after, MAX_INT_PARAM), "limit": limit}
    keys = (
        "SELECT pk AS page_key, {doc_bytes} AS page_bytes FROM run_events "
        "WHERE run_id=:run_id AND pk>:after ORDER BY pk LIMIT :limit"
    )
    rows = yield Query(
        f"SELECT pk, doc, page_rows FROM run_events JOIN ({bounded(keys, 'page_key')}) AS cut "
        "ON run_events.pk = cut.page_key ORDER BY run_events.pk",
        params,
    )
    return cut(rows, lambda r: cast(RunEvent, {**json.loads(r["doc"]), "id": r["pk"]}))
