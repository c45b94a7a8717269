"""Progress: report, read, stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from pipeline_service.server.deps import HubDep, LeaseTokenHeader, RunId, SettingsDep, StorageDep
from pipeline_service.server.idempotency import IdempotencyKeyHeader, idempotency_for
from pipeline_service.server.models import ProgressUpdate
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.streams import event_stream, parse_last_event_id, progress_events

router = APIRouter(prefix="/api/v1/runs", tags=["progress"], route_class=StrictJSONRoute)


@router.post("/{run_id:seg}/progress", operation_id="report_progress", response_model=None)
async def report_progress(
    request: Request,
    run_id: RunId,
    body: ProgressUpdate,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
    lease_token: LeaseTokenHeader = None,
) -> JSONResponse:
    idem = await idempotency_for(request, idempotency_key)
    return JSONResponse(await storage.report_progress(run_id, body, idem, lease_token))


@router.get("/{run_id:seg}/progress", operation_id="get_progress", response_model=None)
async def get_progress(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse((await storage.get_run(run_id)).progress())


@router.get("/{run_id:seg}/progress/stream", operation_id="stream_progress", response_model=None)
async def stream_progress(
    run_id: RunId,
    storage: StorageDep,
    hub: HubDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="The last version seen.")
    ] = None,
) -> EventSourceResponse:
    await storage.get_run(run_id)  # 404 as JSON before the stream starts
    events = progress_events(hub, storage, run_id, parse_last_event_id(last_event_id), settings)
    return event_stream(events, settings)
