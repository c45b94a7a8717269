"""Metrics: logged metric points in, the history of each action's metrics out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import LeaseTokenHeader, RunId, StorageDep
from pipeline_service.server.errors import PayloadTooLarge
from pipeline_service.server.idempotency import IdempotencyKeyHeader, idempotency_for
from pipeline_service.server.models import MetricBatch
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.wire import MAX_METRIC_BATCH

router = APIRouter(prefix="/api/v1/runs", tags=["metrics"], route_class=StrictJSONRoute)


@router.post(
    "/{run_id:seg}/metrics", operation_id="append_metrics", status_code=201, response_model=None
)
async def append_metrics(
    request: Request,
    run_id: RunId,
    body: MetricBatch,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
    lease_token: LeaseTokenHeader = None,
) -> JSONResponse:
    if len(body.points) > MAX_METRIC_BATCH:
        raise PayloadTooLarge(
            f"a metric batch holds at most {MAX_METRIC_BATCH} entries, not {len(body.points)}"
        )
    idem = await idempotency_for(request, idempotency_key)
    answer = await storage.append_metrics(run_id, body.points, idem, lease_token)
    return JSONResponse(answer, status_code=201)


@router.get("/{run_id:seg}/metrics", operation_id="get_metrics", response_model=None)
async def get_metrics(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.get_metrics(run_id))
