"""The stored documents: what a pipeline, run, checkpoint and log record are in every backend.

Each record is stored as one JSON document (column `doc`, the wire shape) beside the columns
queries filter and sort on. This module builds new documents, encodes and decodes them, fills
in the fields a document written by an older release lacks (`*_DEFAULTS`), and says which run
fields are mirrored in columns (`RUN_COLUMNS`).

Adding a field to runs (see CONTRIBUTING.md): give it a default in RUN_DEFAULTS (what older
documents read as) and set it in `new_run` when a request sets it. Only a field that queries
filter or sort on also becomes a column: an entry in RUN_COLUMNS and one migration per backend.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import orjson

from pipeline_service.server import rules
from pipeline_service.server.errors import Unprocessable
from pipeline_service.server.models import (
    CheckpointCreate,
    LogEntry,
    PipelineCreate,
    RunCreate,
)
from pipeline_service.server.storage.changes import RunState
from pipeline_service.server.storage.plans import Row
from pipeline_service.wire import ActionProgressState, Checkpoint, LogRecord, Pipeline, Run

JSON = dict[str, Any]

# What a stored document lacking the field reads as (documents of older releases).
PIPELINE_DEFAULTS: JSON = {"dedicated_workers": False, "runtime_env": None, "labels": {}}
RUN_DEFAULTS: JSON = {
    "params": None,
    "current_action": None,
    "current_action_index": 0,
    "result": None,
    "error": None,
    "work_dir": None,
    "started_at": None,
    "completed_at": None,
    "resumed_from": None,
    "from_action": None,
    "labels": {},
}
CHECKPOINT_DEFAULTS: JSON = {"step": None, "state": None, "artifacts": []}
LOG_DEFAULTS: JSON = {}

# Run fields mirrored in a column (for queries to filter and sort on), with the column's value;
# written when the run is created and whenever its document changes. `pipeline_id` is a column
# of its own (the foreign key), written once.
RUN_COLUMNS: dict[str, Callable[[Run], Any]] = {
    "status": lambda run: run["status"],
    "resumed_from": lambda run: run.get("resumed_from"),
}


# Encoding ------------------------------------------------------------------------------------


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def encode(value: Any) -> str:
    """Compact JSON in ASCII: no NUL and no lone surrogate reach the database (PostgreSQL's
    text cannot hold them), and never a non-finite number (it could not be served back)."""
    try:
        return _ENCODER.encode(value)
    except ValueError as exc:
        raise Unprocessable(f"non-finite numbers (NaN, Infinity) cannot be stored: {exc}") from exc


def encode_log(record: LogRecord) -> str:
    """encode(record), fast: a log record holds only texts and integers (no float that could be
    non-finite), so orjson writes it; a record orjson refuses (a lone surrogate) or writes beyond
    ASCII goes through encode (the same JSON value either way)."""
    try:
        data = orjson.dumps(record)
    except TypeError:
        return encode(record)
    return data.decode() if data.isascii() else encode(record)


def key(value: str | None) -> str | None:
    """A caller's text as a column compared for equality (action names, worker ids, scopes):
    encoded, so that any text, NUL included, is storable and equal texts are equal keys."""
    return None if value is None else encode(value)


def request_id(value: str) -> str:
    """An id from a request as a parameter: ids are made by the server (ASCII); any other text
    matches nothing (and never reaches the database as text it cannot hold)."""
    return value if value.isascii() and "\x00" not in value else ""


def _complete(doc: Any, defaults: JSON) -> None:
    """Add to doc (in place) each field of defaults it lacks."""
    for name, value in defaults.items():
        if name not in doc:
            doc[name] = copy.deepcopy(value)


def _stored(text: str, defaults: JSON) -> Any:
    """A stored document, with the fields its release did not know (from defaults)."""
    doc = json.loads(text)
    _complete(doc, defaults)
    return doc


def pipeline_document(text: str) -> Pipeline:
    """A stored pipeline, with the fields its release did not know."""
    return cast(Pipeline, _stored(text, PIPELINE_DEFAULTS))


def run_document(text: str) -> Run:
    """A stored run, with the fields its release did not know."""
    return cast(Run, _stored(text, RUN_DEFAULTS))


def checkpoint_document(text: str) -> Checkpoint:
    """A stored checkpoint, with the fields its release did not know."""
    return cast(Checkpoint, _stored(text, CHECKPOINT_DEFAULTS))


def log_document(text: str) -> LogRecord:
    """A stored log record, with the fields its release did not know."""
    return cast(LogRecord, _stored(text, LOG_DEFAULTS))


def run_state(row: Row) -> RunState:
    """The RunState of a row with columns `doc` and `version`."""
    return RunState(run_document(row["doc"]), row["version"])


def run_columns(run: Run) -> JSON:
    """The values of the columns that mirror run fields (RUN_COLUMNS)."""
    return {name: value(run) for name, value in RUN_COLUMNS.items()}


# New documents -------------------------------------------------------------------------------


def new_id() -> str:
    """A fresh id for a pipeline, run, checkpoint or log record."""
    return str(uuid.uuid4())


_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_ids(count: int) -> list[str]:
    """count fresh ids, as new_id's (random UUIDs, version 4) but from one read of the system's
    randomness: a batch of 1,000 log records costs ~2 ms instead of ~8."""
    hexes = os.urandom(16 * count).hex()
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
        for h in (hexes[i : i + 32] for i in range(0, 32 * count, 32))
    ]


def new_pipeline(body: PipelineCreate, now: str) -> Pipeline:
    """A new Pipeline document."""
    rules.check_unique_action_names(body.actions)
    pipeline: Pipeline = {
        "id": new_id(),
        "name": body.name,
        "description": body.description,
        "actions": rules.action_definitions(body.actions),
        "dedicated_workers": body.dedicated_workers,
        "runtime_env": rules.runtime_env(body.runtime_env),
        "labels": body.labels,
        "created_at": now,
        "updated_at": now,
    }
    _complete(pipeline, PIPELINE_DEFAULTS)
    return pipeline


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


def new_run(pipeline: Pipeline, body: RunCreate, resumed: Run | None, now: str) -> Run:
    """A new pending Run of pipeline; resuming a run inherits its params, the params sent win."""
    rules.check_resumable(pipeline, body, resumed)
    params = body.params
    if resumed is not None:
        earlier = resumed["params"]
        if params is None:
            params = earlier
        elif earlier:
            params = {**earlier, **params}
    run: Run = {
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
        "resumed_from": None if resumed is None else resumed["id"],
        "from_action": body.from_action,
        "labels": body.labels,
    }
    _complete(run, RUN_DEFAULTS)
    return run


def new_checkpoint(run_id: str, body: CheckpointCreate, now: str) -> Checkpoint:
    """A new Checkpoint document of run_id."""
    checkpoint: Checkpoint = {
        "id": new_id(),
        "run_id": run_id,
        "action_name": body.action_name,
        "action_index": body.action_index,
        "status": body.status,
        "params_snapshot": body.params_snapshot,
        "result": body.result,
        "artifacts_path": body.artifacts_path,
        "created_at": now,
        "step": body.step,
        "state": body.state,
        "artifacts": list(dict.fromkeys(body.artifacts)),
    }
    _complete(checkpoint, CHECKPOINT_DEFAULTS)
    return checkpoint


def copied_checkpoint(checkpoint: Checkpoint, run_id: str) -> Checkpoint:
    """checkpoint as a checkpoint of run_id (a resumed run starts with its predecessor's)."""
    return {**checkpoint, "id": new_id(), "run_id": run_id}


def log_records(
    run_id: str, last_seq: int, entries: Sequence[LogEntry], now: str
) -> list[LogRecord]:
    """LogRecords for entries, numbered on from last_seq (the run's gap-free log cursor)."""
    records: list[LogRecord] = []
    ids = new_ids(len(entries))
    for offset, entry in enumerate(entries, start=1):
        record: LogRecord = {
            "id": ids[offset - 1],
            "run_id": run_id,
            "seq": last_seq + offset,
            "action_name": entry.action_name,
            "level": entry.level,
            "message": entry.message,
            "timestamp": entry.timestamp or now,
        }
        if LOG_DEFAULTS:
            _complete(record, LOG_DEFAULTS)
        records.append(record)
    return records
