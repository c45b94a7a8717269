"""The artifact store: files of runs kept behind the API (a directory, S3, any fsspec URL)."""

from pipeline_service.server.artifacts.paths import (
    MAX_ARTIFACT_PATH,
    MAX_ARTIFACT_SEGMENT,
    normalise_artifact_path,
)
from pipeline_service.server.artifacts.store import (
    ArtifactStore,
    ArtifactStoreUnavailable,
    DigestMismatch,
    StoredObject,
    open_artifact_store,
)

__all__ = [
    "MAX_ARTIFACT_PATH",
    "MAX_ARTIFACT_SEGMENT",
    "ArtifactStore",
    "ArtifactStoreUnavailable",
    "DigestMismatch",
    "StoredObject",
    "normalise_artifact_path",
    "open_artifact_store",
]
