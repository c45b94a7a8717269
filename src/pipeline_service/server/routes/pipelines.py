"""Pipelines: create, list, get, update, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import IdempotencyDep, Limit, PipelineId, Skip, StorageDep
from pipeline_service.server.models import PipelineCreate, PipelineUpdate
from pipeline_service.server.pages import page_response
from pipeline_service.server.routes.artifacts import release_run_objects
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.queries import RunQuery
from pipeline_service.wire import Run

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], route_class=StrictJSONRoute)


@router.post("/", operation_id="create_pipeline", status_code=201)
async def create_pipeline(
    body: PipelineCreate, storage: StorageDep, idem: IdempotencyDep
) -> JSONResponse:
    return JSONResponse(await storage.create_pipeline(body, idem), status_code=201)


@router.get("/", operation_id="list_pipelines")
async def list_pipelines(
    request: Request, storage: StorageDep, skip: Skip = 0, limit: Limit = 100
) -> Response:
    page = await storage.list_pipelines(skip, limit)
    return await page_response(request, page, {"skip": str(skip + len(page))})


@router.get("/{pipeline_id:seg}", operation_id="get_pipeline")
async def get_pipeline(pipeline_id: PipelineId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.get_pipeline(pipeline_id))


@router.put("/{pipeline_id:seg}", operation_id="update_pipeline")
async def update_pipeline(
    pipeline_id: PipelineId, body: PipelineUpdate, storage: StorageDep
) -> JSONResponse:
    return JSONResponse(await storage.update_pipeline(pipeline_id, body))


@router.delete("/{pipeline_id:seg}", operation_id="delete_pipeline", status_code=204)
async def delete_pipeline(
    request: Request, pipeline_id: PipelineId, storage: StorageDep
) -> Response:
    run_ids = [run["id"] async for run in _all_runs(storage, pipeline_id)]
    released = await storage.delete_pipeline(pipeline_id)
    await release_run_objects(request, storage, run_ids, released)
    return Response(status_code=204)


async def _all_runs(storage: Storage, pipeline_id: str) -> AsyncIterator[Run]:
    """Every run of the pipeline (NotFound without it), page by page."""
    skip, page = 0, 1000
    while True:
        runs = await storage.list_runs(RunQuery(pipeline_id=pipeline_id, skip=skip, limit=page))
        for run in runs:
            yield run
        if len(runs) < page:
            return
        skip += page
