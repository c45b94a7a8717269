"""Runs: start, list, stream the list's changes, get, update, cancel, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from pipeline_service.server.ahead import stream_route
from pipeline_service.server.deps import (
    HubDep,
    LastEventIdHeader,
    Limit,
    PipelineId,
    RunId,
    RunWriteDep,
    SettingsDep,
    Skip,
    StorageDep,
)
from pipeline_service.server.idempotency import IdempotencyKeyHeader, idempotency_for
from pipeline_service.server.labels import parse_selector
from pipeline_service.server.models import RunCreate, RunUpdate
from pipeline_service.server.pages import page_response
from pipeline_service.server.responses import FastJSONResponse
from pipeline_service.server.routes.artifacts import release_run_objects
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.sse import EventStream
from pipeline_service.server.storage.documents import request_id
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.queries import RunQuery
from pipeline_service.server.storage.run_changes import RunFilter
from pipeline_service.server.streams import event_stream, parse_last_event_id, runs_events
from pipeline_service.wire import RunStatusName

router = APIRouter(prefix="/api/v1", tags=["runs"], route_class=StrictJSONRoute)


@router.post("/pipelines/{pipeline_id:seg}/runs/", operation_id="create_run", status_code=201)
async def create_run(
    request: Request,
    pipeline_id: PipelineId,
    body: RunCreate,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    # The header is a parameter here (not IdempotencyDep, a dependency, whose faults FastAPI
    # lists first) so that a request with several faults still names the path's first.
    idem = await idempotency_for(request, idempotency_key)
    return JSONResponse(await storage.create_run(pipeline_id, body, idem), status_code=201)


@router.get("/pipelines/{pipeline_id:seg}/runs/", operation_id="list_pipeline_runs")
async def list_pipeline_runs(
    request: Request,
    pipeline_id: PipelineId,
    storage: StorageDep,
    skip: Skip = 0,
    limit: Limit = 100,
) -> Response:
    return await _runs_page(
        request, storage, RunQuery(pipeline_id=pipeline_id, skip=skip, limit=limit)
    )


# The filters a list of runs and the runs stream share.
StatusFilter = Annotated[RunStatusName | None, Query(description="Only runs in this status.")]
LabelSelector = Annotated[
    str | None, Query(max_length=4096, description="Only runs matching this label selector.")
]


@router.get("/runs/", operation_id="list_runs")
async def list_runs(
    request: Request,
    storage: StorageDep,
    status_filter: StatusFilter = None,
    resumed_from: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            description="Only the runs that resumed this run.",
        ),
    ] = None,
    label: LabelSelector = None,
    skip: Skip = 0,
    limit: Limit = 100,
) -> Response:
    selector = () if label is None else parse_selector(label)
    query = RunQuery(
        status=status_filter, resumed_from=resumed_from, selector=selector, skip=skip, limit=limit
    )
    return await _runs_page(request, storage, query)


async def _runs_page(request: Request, storage: Storage, query: RunQuery) -> Response:
    """A page of runs with `Change-Seq`: where a runs stream resumes to miss nothing it lacks
    (read before the list, so the stream may repeat a change the list shows, never miss one)."""
    head = await storage.run_changes_head()
    page = await storage.list_runs(query)
    response = await page_response(request, page, {"skip": str(query.skip + len(page))})
    response.headers["Change-Seq"] = str(head)
    return response


@router.get("/runs/stream", operation_id="stream_runs")
async def stream_runs(
    storage: StorageDep,
    hub: HubDep,
    settings: SettingsDep,
    status_filter: StatusFilter = None,
    pipeline_id: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="Only runs of this pipeline."),
    ] = None,
    label: LabelSelector = None,
    last_event_id: LastEventIdHeader = None,
) -> EventStream:
    runs = RunFilter(
        status_filter,
        None if pipeline_id is None else request_id(pipeline_id),
        () if label is None else parse_selector(label),
    )
    events = runs_events(hub, storage, runs, parse_last_event_id(last_event_id), settings)
    return event_stream(events, settings)


@stream_route(stream_runs)
async def stream_runs_fast(request: Request) -> Response | None:
    """stream_runs without filters (see ahead), served ahead of the FastAPI stack; a
    request with a query goes to the full handler, which validates its filters."""
    if request.scope["query_string"]:
        return None
    app = request.app.state
    last_event_id = parse_last_event_id(request.headers.get("last-event-id"))
    events = runs_events(
        app.hub, app.storage, RunFilter(None, None, ()), last_event_id, app.settings
    )
    return event_stream(events, app.settings)


@router.get("/runs/{run_id:seg}", operation_id="get_run")
async def get_run(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return FastJSONResponse((await storage.get_run(run_id)).run)


@router.patch("/runs/{run_id:seg}", operation_id="update_run")
async def update_run(write: RunWriteDep, body: RunUpdate, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.update_run(write, body))


@router.delete("/runs/{run_id:seg}", operation_id="delete_run", status_code=204)
async def delete_run(request: Request, run_id: RunId, storage: StorageDep) -> Response:
    released = await storage.delete_run(run_id)
    await release_run_objects(request, storage, [run_id], released)
    return Response(status_code=204)


@router.post("/runs/{run_id:seg}/cancel", operation_id="cancel_run")
async def cancel_run(run_id: RunId, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await storage.cancel_run(run_id))
