"""Workers: claim a run, renew and release its lease."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.deps import LeaseTokenHeader, RunId, StorageDep
from pipeline_service.server.models import ClaimRequest, LeaseRequest
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(prefix="/api/v1/runs", tags=["workers"], route_class=StrictJSONRoute)


@router.post("/claim", operation_id="claim_run")
async def claim_run(request: Request, body: ClaimRequest, storage: StorageDep) -> Response:
    host = request.client.host if request.client else None
    claim = await storage.claim_run(body, host)
    if claim is None:
        return Response(status_code=204)
    return JSONResponse(claim)


@router.post("/{run_id:seg}/lease", operation_id="renew_lease")
async def renew_lease(
    run_id: RunId, body: LeaseRequest, storage: StorageDep, lease_token: LeaseTokenHeader = None
) -> JSONResponse:
    lease = await storage.renew_lease(run_id, body.worker_id, body.lease_seconds, lease_token)
    return JSONResponse(lease)


@router.delete("/{run_id:seg}/lease", operation_id="release_lease", status_code=204)
async def release_lease(
    run_id: RunId,
    storage: StorageDep,
    worker_id: Annotated[
        str, Query(min_length=1, max_length=255, description="The worker that holds the lease.")
    ],
    lease_token: LeaseTokenHeader = None,
) -> Response:
    await storage.release_lease(run_id, worker_id, lease_token)
    return Response(status_code=204)
