"""Artifacts in storage: the records of a run's files (their bytes are in the artifact store).

An artifact is one row of `artifacts`: its document (`doc`, the wire shape) beside the columns
its queries use: `run_id`, `path` (unique in the run) and `object_key`, where the store holds
its bytes. A run that resumes another shares the objects of the artifacts its copied
checkpoints list (rows of its own, the same `object_key`), so an object is removed only once no
row references it (`unreferenced`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pipeline_service.server.artifacts.records import (
    ArtifactPut,
    ArtifactUpload,
    StoredArtifact,
    new_artifact,
    put_decision,
)
from pipeline_service.server.errors import NotFound, Unprocessable
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.fencing import check_fence, run_row
from pipeline_service.server.storage.plans import Plan, Query, Row, Tx, first
from pipeline_service.wire import Artifact, Checkpoint

# At most this many keys in one `IN (...)` list.
_BATCH = 500


def _document(row: Row) -> Artifact:
    artifact: Artifact = json.loads(row["doc"])
    return artifact


def _stored(run_key: str, path: str, lock: str = "") -> Plan[StoredArtifact | None]:
    rows = yield Query(
        f"SELECT doc, object_key FROM artifacts WHERE run_id=:run_id AND path=:path {lock}",
        {"run_id": run_key, "path": path},
    )
    row = first(rows)
    return None if row is None else StoredArtifact(_document(row), row["object_key"])


def put(tx: Tx, run_id: str, upload: ArtifactUpload, lease_token: int | None) -> Plan[ArtifactPut]:
    """Record bytes stored under `upload.key` as the run's artifact at `upload.path` (fenced
    by lease_token; the run's row is locked, so uploads to one run are recorded one by one)."""
    row = yield from run_row(run_id, "id, lease_token", "{lock}")
    check_fence(run_id, lease_token, row)
    existing = yield from _stored(row["id"], upload.path, "{lock}")
    decision = put_decision(existing, upload)
    if existing is not None and decision == "same":
        return ArtifactPut(existing.artifact, created=False)
    artifact = new_artifact(upload, tx.now)
    values = {
        "run_id": row["id"],
        "path": upload.path,
        "object_key": upload.key,
        "doc": documents.encode(artifact),
    }
    if existing is None:
        yield Query(
            "INSERT INTO artifacts (run_id, path, object_key, doc) "
            "VALUES (:run_id, :path, :object_key, :doc)",
            values,
        )
        return ArtifactPut(artifact, created=True)
    yield Query(
        "UPDATE artifacts SET object_key=:object_key, doc=:doc WHERE run_id=:run_id AND path=:path",
        values,
    )
    return ArtifactPut(artifact, created=True, stale_key=existing.key)


def list_artifacts(run_id: str) -> Plan[list[Artifact]]:
    """The run's artifacts by path; NotFound without the run."""
    row = yield from run_row(run_id, "id")
    rows = yield Query(
        "SELECT doc FROM artifacts WHERE run_id=:run_id ORDER BY path", {"run_id": row["id"]}
    )
    return [_document(row) for row in rows]


def get(run_id: str, path: str) -> Plan[StoredArtifact]:
    """The run's artifact at path, with its object's key; NotFound without either."""
    row = yield from run_row(run_id, "id")
    stored = yield from _stored(row["id"], path)
    if stored is None:
        raise NotFound(f"run {run_id!r} has no artifact {path!r}")
    return stored


def list_in_checkpoint(run_key: str, checkpoint: Checkpoint) -> Plan[None]:
    """The artifacts a new checkpoint lists now belong to it (their `checkpoint_id`, where none
    had one: from then on they never change); 422 for a path the run has no artifact at."""
    paths = checkpoint["artifacts"]
    if not paths:
        return
    rows = yield Query("SELECT path, doc FROM artifacts WHERE run_id=:run_id", {"run_id": run_key})
    found = {row["path"]: _document(row) for row in rows}
    missing = [path for path in paths if path not in found]
    if missing:
        raise Unprocessable(
            f"body field 'artifacts': the run has no artifact {missing[0]!r} (upload it first)"
        )
    claimed = [found[path] for path in paths if found[path]["checkpoint_id"] is None]
    if not claimed:
        return
    yield Query(
        "UPDATE artifacts SET doc=:doc WHERE run_id=:run_id AND path=:path",
        many=[
            {
                "doc": documents.encode({**artifact, "checkpoint_id": checkpoint["id"]}),
                "run_id": run_key,
                "path": artifact["path"],
            }
            for artifact in claimed
        ],
    )


def share(from_run: str, to_run: str, copies: Mapping[str, Checkpoint]) -> Plan[None]:
    """Give to_run (resuming from_run) the artifacts that its copied checkpoints list, sharing
    their objects; `copies` maps each copied checkpoint's id in from_run to its copy."""
    listed: dict[str, str] = {}  # path → the id of the first copy that lists it
    for copy in copies.values():
        for path in copy["artifacts"]:
            listed.setdefault(path, copy["id"])
    if not listed:
        return
    rows = yield Query(
        "SELECT path, object_key, doc FROM artifacts WHERE run_id=:run_id", {"run_id": from_run}
    )
    shared = []
    for row in rows:
        if row["path"] not in listed:
            continue
        artifact = _document(row)
        original = copies.get(artifact["checkpoint_id"] or "")
        checkpoint_id = original["id"] if original is not None else listed[row["path"]]
        shared.append(
            {
                "run_id": to_run,
                "path": row["path"],
                "object_key": row["object_key"],
                "doc": documents.encode({**artifact, "checkpoint_id": checkpoint_id}),
            }
        )
    if shared:
        yield Query(
            "INSERT INTO artifacts (run_id, path, object_key, doc) "
            "VALUES (:run_id, :path, :object_key, :doc)",
            many=shared,
        )


def object_keys(where: str, params: Mapping[str, str]) -> Plan[list[str]]:
    """The object keys of the artifacts of the runs `where` selects (a condition on `runs`),
    read before those runs are deleted."""
    rows = yield Query(
        f"SELECT object_key FROM artifacts WHERE run_id IN (SELECT id FROM runs WHERE {where})",
        params,
    )
    return [row["object_key"] for row in rows]


def unreferenced(keys: Sequence[str]) -> Plan[list[str]]:
    """The keys among these that no artifact record references."""
    referenced: set[str] = set()
    for start in range(0, len(keys), _BATCH):
        batch = keys[start : start + _BATCH]
        names = {f"k{index}": key for index, key in enumerate(batch)}
        placeholders = ", ".join(f":{name}" for name in names)
        rows = yield Query(
            f"SELECT object_key FROM artifacts WHERE object_key IN ({placeholders})", names
        )
        referenced.update(row["object_key"] for row in rows)
    return [key for key in keys if key not in referenced]
