"""Artifact records: what storage keeps of each artifact, and the rules of replacing one.

Both storage backends build and change artifact records with these functions, so the rules
(resending the same bytes changes nothing; an artifact a checkpoint lists never changes) live
in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline_service.server.errors import Conflict
from pipeline_service.wire import Artifact


@dataclass(frozen=True, slots=True)
class ArtifactUpload:
    """Bytes stored whole under `key`, to be recorded as the run's artifact at `path`."""

    path: str
    key: str
    size: int
    sha256: str
    action_name: str | None
    step: int | None


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """An artifact record with the key of its object in the store."""

    artifact: Artifact
    key: str


@dataclass(frozen=True, slots=True)
class ArtifactPut:
    """What recording an upload did. `created` False: the same bytes were there already (the
    upload's own object is not needed). `stale_key`: the object a replaced record held."""

    artifact: Artifact
    created: bool
    stale_key: str | None = None


def new_artifact(upload: ArtifactUpload, now: str) -> Artifact:
    """The Artifact document of an upload (no checkpoint lists it yet)."""
    return {
        "path": upload.path,
        "size": upload.size,
        "sha256": upload.sha256,
        "action_name": upload.action_name,
        "step": upload.step,
        "checkpoint_id": None,
        "created_at": now,
    }


def put_decision(
    existing: StoredArtifact | None, upload: ArtifactUpload
) -> Literal["insert", "same", "replace"]:
    """How an upload meets the record at its path: a new record, the same bytes (nothing
    changes), or a replacement; Conflict when a checkpoint lists the record."""
    if existing is None:
        return "insert"
    if existing.artifact["sha256"] == upload.sha256:
        return "same"
    checkpoint_id = existing.artifact["checkpoint_id"]
    if checkpoint_id is not None:
        raise Conflict(
            f"artifact {upload.path!r} is listed by checkpoint {checkpoint_id!r} and never "
            "changes; upload other bytes to another path"
        )
    return "replace"
