"""Checkpoints: record, list, latest, by action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import RunId, RunWriteDep, Skip, StorageDep
from pipeline_service.server.models import CheckpointCreate
from pipeline_service.server.pages import page_response
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(prefix="/api/v1/runs", tags=["checkpoints"], route_class=StrictJSONRoute)


@router.post("/{run_id:seg}/checkpoints/", operation_id="create_checkpoint", status_code=201)
async def create_checkpoint(
    write: RunWriteDep, body: CheckpointCreate, storage: StorageDep
) -> JSONResponse:
    checkpoint = await storage.create_checkpoint(write, body)
    return JSONResponse(checkpoint, status_code=201)


@router.get("/{run_id:seg}/checkpoints/", operation_id="list_checkpoints")
async def list_checkpoints(
    request: Request,
    run_id: RunId,
    storage: StorageDep,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many at most.")] = 1000,
) -> Response:
    page = await storage.list_checkpoints(run_id, skip, limit)
    return await page_response(request, page, {"skip": str(skip + len(page))})


@router.get("/{run_id:seg}/checkpoints/latest", operation_id="get_latest_checkpoint")
async def get_latest_checkpoint(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.latest_checkpoint(run_id, None))


@router.get("/{run_id:seg}/checkpoints/{action_name:seg}", operation_id="get_checkpoint_by_action")
async def get_checkpoint_by_action(
    run_id: RunId,
    action_name: Annotated[str, Path(min_length=1, max_length=255)],
    storage: StorageDep,
) -> JSONResponse:
    return JSONResponse(await storage.latest_checkpoint(run_id, action_name))
