"""Artifacts: list a run's files, upload one (streamed into the store), download one."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from pipeline_service.server.artifacts import (
    ArtifactStore,
    ArtifactStoreUnavailable,
    normalise_artifact_path,
)
from pipeline_service.server.artifacts.records import ArtifactUpload
from pipeline_service.server.deps import LeaseTokenHeader, RunId, SettingsDep, StorageDep
from pipeline_service.server.errors import PayloadTooLarge, UnsupportedMediaType
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.storage.interface import Storage

router = APIRouter(prefix="/api/v1/runs", tags=["artifacts"], route_class=StrictJSONRoute)

OCTET_STREAM = "application/octet-stream"
_UPLOAD_PATH = re.compile(r"^/api/v1/runs/[^/]+/artifacts/.")

RawPath = Annotated[str, "the path as routed (segments escaped by RawPathMiddleware)"]
ActionName = Annotated[
    str | None, Query(min_length=1, max_length=255, description="The action the file belongs to.")
]
Step = Annotated[int | None, Query(ge=0, le=2**53 - 1, description="The step the file belongs to.")]
ContentSHA256 = Annotated[
    str | None,
    Header(
        alias="Content-SHA256",
        pattern="^[0-9a-fA-F]{64}$",
        description="The SHA-256 of the body in hex; other bytes are 422 and nothing is kept.",
    ),
]


def is_artifact_upload(method: str, path: str) -> bool:
    """Whether a request is an artifact upload (its body limit is the artifact limit)."""
    return method == "PUT" and _UPLOAD_PATH.match(path) is not None


def artifact_store(request: Request) -> ArtifactStore:
    """The app's artifact store, or 503 saying how to configure one."""
    store: ArtifactStore | None = request.app.state.artifacts
    if store is None:
        raise ArtifactStoreUnavailable(
            "this server has no artifact store: start it with --artifacts URI (a directory, "
            "s3://bucket/prefix, any fsspec URL) or $PIPELINE_SERVICE_ARTIFACTS"
        )
    return store


def _artifact_path(raw: RawPath) -> str:
    return normalise_artifact_path(unquote(raw))


async def release_objects(request: Request, storage: Storage, candidates: set[str]) -> None:
    """Remove the objects among candidates that no artifact record references any more."""
    store: ArtifactStore | None = request.app.state.artifacts
    if store is None or not candidates:
        return
    await store.delete(await storage.unreferenced_artifact_objects(sorted(candidates)))


async def release_run_objects(
    request: Request, storage: Storage, run_ids: list[str], keys: list[str]
) -> None:
    """After runs were deleted: remove their objects (those their records held, and whatever
    was left under their prefixes by uploads that never got a record) that no other run's
    records reference."""
    store: ArtifactStore | None = request.app.state.artifacts
    if store is None:
        return
    candidates = set(keys)
    for run_id in run_ids:
        candidates.update(await store.keys_under(store.run_prefix(run_id)))
    await release_objects(request, storage, candidates)


@router.get("/{run_id:seg}/artifacts", operation_id="list_artifacts")
async def list_artifacts(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.list_artifacts(run_id))


@router.put(
    "/{run_id:seg}/artifacts/{path:path}",
    operation_id="upload_artifact",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_artifact(
    request: Request,
    run_id: RunId,
    path: RawPath,
    storage: StorageDep,
    settings: SettingsDep,
    action_name: ActionName = None,
    step: Step = None,
    content_sha256: ContentSHA256 = None,
    lease_token: LeaseTokenHeader = None,
) -> JSONResponse:
    normal = _artifact_path(path)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != OCTET_STREAM:
        raise UnsupportedMediaType(
            f"an artifact upload is the file's bytes as {OCTET_STREAM}, not "
            f"{content_type or 'a body without Content-Type'!r}"
        )
    length = request.headers.get("content-length")
    limit = settings.max_artifact_bytes
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(
            f"the artifact is larger than {limit} bytes, this server's limit (--max-artifact-bytes)"
        )
    store = artifact_store(request)
    await storage.get_run(run_id)  # 404 before any byte is read
    stored = await store.write(
        store.new_key(run_id, normal),
        request.stream(),
        max_bytes=limit,
        expected_sha256=content_sha256,
    )
    upload = ArtifactUpload(normal, stored.key, stored.size, stored.sha256, action_name, step)
    try:
        put = await storage.put_artifact(run_id, upload, lease_token)
    except BaseException:
        await store.delete([stored.key])
        raise
    if not put.created:
        await store.delete([stored.key])
    if put.stale_key is not None:
        await release_objects(request, storage, {put.stale_key})
    return JSONResponse(put.artifact, status_code=201 if put.created else 200)


@router.get("/{run_id:seg}/artifacts/{path:path}", operation_id="download_artifact")
async def download_artifact(
    request: Request, run_id: RunId, path: RawPath, storage: StorageDep
) -> StreamingResponse:
    normal = _artifact_path(path)
    found = await storage.get_artifact(run_id, normal)
    chunks = await artifact_store(request).open(found.key)
    artifact = found.artifact
    headers: dict[str, Any] = {
        "Content-Length": str(artifact["size"]),
        "ETag": f'"{artifact["sha256"]}"',
        "Content-SHA256": artifact["sha256"],
        "Content-Disposition": "attachment; filename*=UTF-8''"
        + quote(normal.rsplit("/", 1)[-1], safe=""),
    }
    return StreamingResponse(chunks, media_type=OCTET_STREAM, headers=headers)
