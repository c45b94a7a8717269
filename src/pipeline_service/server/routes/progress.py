"""Progress: report, read, stream."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.ahead import stream_route, write_route
from pipeline_service.server.deps import (
    MAX_ID_LENGTH,
    HubDep,
    LastEventIdHeader,
    RunId,
    RunWriteDep,
    SettingsDep,
    StorageDep,
    lean_run_write,
)
from pipeline_service.server.models import ProgressUpdate
from pipeline_service.server.responses import FastJSONResponse
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.sse import EventStream
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.streams import event_stream, parse_last_event_id, progress_events

router = APIRouter(prefix="/api/v1/runs", tags=["progress"], route_class=StrictJSONRoute)


@router.post("/{run_id:seg}/progress", operation_id="report_progress")
async def report_progress(
    write: RunWriteDep, body: ProgressUpdate, storage: StorageDep
) -> JSONResponse:
    run = await storage.report_progress(write, body)
    return FastJSONResponse(run)


@write_route(report_progress)
async def report_progress_fast(request: Request) -> Response | None:
    """report_progress for the ordinary request (see routing.fast_path): a run id, headers and a
    body the full handler would take as they are; None otherwise."""
    found = await lean_run_write(request, ProgressUpdate)
    if found is None:
        return None
    write, body = found
    storage: Storage = request.app.state.storage
    run = await storage.report_progress(write, body)
    return FastJSONResponse(run)


@router.get("/{run_id:seg}/progress", operation_id="get_progress")
async def get_progress(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return FastJSONResponse((await storage.get_run(run_id)).progress())


@router.get("/{run_id:seg}/progress/stream", operation_id="stream_progress")
async def stream_progress(
    run_id: RunId,
    storage: StorageDep,
    hub: HubDep,
    settings: SettingsDep,
    last_event_id: LastEventIdHeader = None,
) -> EventStream:
    await storage.get_run(run_id)  # 404 as JSON before the stream starts
    events = progress_events(hub, storage, run_id, parse_last_event_id(last_event_id), settings)
    return event_stream(events, settings)


@stream_route(stream_progress)
async def stream_progress_fast(request: Request) -> Response | None:
    """stream_progress for an ordinary run id (see ahead): served ahead of the FastAPI
    stack, which would hold ~13 KB per open stream for as long as the stream lasts."""
    run_id = request.path_params["run_id"]
    if not 0 < len(run_id) <= MAX_ID_LENGTH:
        return None
    app = request.app.state
    storage: Storage = app.storage
    await storage.get_run(run_id)  # 404 as JSON before the stream starts
    last_event_id = parse_last_event_id(request.headers.get("last-event-id"))
    events = progress_events(app.hub, storage, run_id, last_event_id, app.settings)
    return event_stream(events, app.settings)
