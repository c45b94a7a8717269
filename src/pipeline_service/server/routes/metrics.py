"""Metrics: the history of each action's numeric metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import RunId, StorageDep
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(prefix="/api/v1/runs", tags=["metrics"], route_class=StrictJSONRoute)


@router.get("/{run_id:seg}/metrics", operation_id="get_metrics", response_model=None)
async def get_metrics(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.get_metrics(run_id))
