"""Metrics: logged metric points in, the history of each action's metrics out."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import RunId, RunWriteDep, StorageDep
from pipeline_service.server.errors import check_batch_size
from pipeline_service.server.models import MetricBatch
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.wire import MAX_METRIC_BATCH

router = APIRouter(prefix="/api/v1/runs", tags=["metrics"], route_class=StrictJSONRoute)


@router.post("/{run_id:seg}/metrics", operation_id="append_metrics", status_code=201)
async def append_metrics(
    write: RunWriteDep, body: MetricBatch, storage: StorageDep
) -> JSONResponse:
    check_batch_size("metric", len(body.points), MAX_METRIC_BATCH)
    answer = await storage.append_metrics(write, body.points)
    return JSONResponse(answer, status_code=201)


@router.get("/{run_id:seg}/metrics", operation_id="get_metrics")
async def get_metrics(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.get_metrics(run_id))
