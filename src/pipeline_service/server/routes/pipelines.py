"""Pipelines: create, list, get, update, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import Limit, PipelineId, Skip, StorageDep
from pipeline_service.server.idempotency import IdempotencyKeyHeader, idempotency_for
from pipeline_service.server.models import PipelineCreate, PipelineUpdate
from pipeline_service.server.pages import page_response
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], route_class=StrictJSONRoute)


@router.post("/", operation_id="create_pipeline", status_code=201, response_model=None)
async def create_pipeline(
    request: Request,
    body: PipelineCreate,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    idem = await idempotency_for(request, idempotency_key)
    return JSONResponse(await storage.create_pipeline(body, idem), status_code=201)


@router.get("/", operation_id="list_pipelines", response_model=None)
async def list_pipelines(
    request: Request, storage: StorageDep, skip: Skip = 0, limit: Limit = 100
) -> Response:
    page = await storage.list_pipelines(skip, limit)
    return await page_response(request, page, {"skip": str(skip + len(page))})


@router.get("/{pipeline_id:seg}", operation_id="get_pipeline", response_model=None)
async def get_pipeline(pipeline_id: PipelineId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.get_pipeline(pipeline_id))


@router.put("/{pipeline_id:seg}", operation_id="update_pipeline", response_model=None)
async def update_pipeline(
    pipeline_id: PipelineId, body: PipelineUpdate, storage: StorageDep
) -> JSONResponse:
    return JSONResponse(await storage.update_pipeline(pipeline_id, body))


@router.delete(
    "/{pipeline_id:seg}", operation_id="delete_pipeline", status_code=204, response_model=None
)
async def delete_pipeline(pipeline_id: PipelineId, storage: StorageDep) -> Response:
    await storage.delete_pipeline(pipeline_id)
    return Response(status_code=204)
