"""Logs: append, read, follow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pipeline_service.server.deps import (
    HubDep,
    LeaseTokenHeader,
    RunId,
    SettingsDep,
    StorageDep,
    lean_write_target,
)
from pipeline_service.server.errors import PayloadTooLarge, ServiceError
from pipeline_service.server.idempotency import (
    IDEMPOTENCY_KEY,
    IdempotencyKeyHeader,
    idempotency_for,
)
from pipeline_service.server.models import LogBatch, Timestamp
from pipeline_service.server.pages import page_response
from pipeline_service.server.responses import FastJSONResponse
from pipeline_service.server.routing import StrictJSONRoute, fast_path
from pipeline_service.server.sse import EventStream
from pipeline_service.server.storage.interface import LogQuery, Storage
from pipeline_service.server.streams import event_stream, log_events, parse_last_event_id
from pipeline_service.wire import MAX_LOG_BATCH, LogLevelName

router = APIRouter(prefix="/api/v1/runs", tags=["logs"], route_class=StrictJSONRoute)

ActionName = Annotated[str | None, Query(max_length=255, description="Only this action's.")]
Level = Annotated[LogLevelName | None, Query(description="Only this level.")]
AfterSeq = Annotated[int | None, Query(ge=0, description="Only records after this seq.")]


@router.post(
    "/{run_id:seg}/logs/", operation_id="append_logs", status_code=201, response_model=None
)
async def append_logs(
    request: Request,
    run_id: RunId,
    body: LogBatch,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
    lease_token: LeaseTokenHeader = None,
) -> JSONResponse:
    if len(body.entries) > MAX_LOG_BATCH:
        raise PayloadTooLarge(
            f"a log batch holds at most {MAX_LOG_BATCH} entries, not {len(body.entries)}"
        )
    idem = await idempotency_for(request, idempotency_key)
    records = await storage.append_logs(run_id, body.entries, idem, lease_token)
    return FastJSONResponse(records, status_code=201)


@fast_path(append_logs)
async def append_logs_fast(request: Request) -> Response | None:
    """append_logs for the ordinary request (see routing.fast_path): FastAPI's handler, kept
    out, resolves six parameters and validates the batch through its own adapter; a batch over
    the limit, a refused header or body: None (the full handler answers)."""
    target = lean_write_target(request, IDEMPOTENCY_KEY)
    if target is None:
        return None
    try:
        body = LogBatch.model_validate(await request.json())
    except (ServiceError, ValidationError):
        return None
    if len(body.entries) > MAX_LOG_BATCH:
        return None
    run_id, lease_token = target
    storage: Storage = request.app.state.storage
    idem = await idempotency_for(request, request.headers.get("idempotency-key"))
    records = await storage.append_logs(run_id, body.entries, idem, lease_token)
    return FastJSONResponse(records, status_code=201)


@router.get("/{run_id:seg}/logs/", operation_id="get_logs", response_model=None)
async def get_logs(
    request: Request,
    run_id: RunId,
    storage: StorageDep,
    action_name: ActionName = None,
    level: Level = None,
    since: Annotated[Timestamp | None, Query(description="Strictly after this time.")] = None,
    after_seq: AfterSeq = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    query = LogQuery(action_name, level, since, after_seq or 0, limit)
    page = await storage.get_logs(run_id, query)
    after = {"after_seq": str(page[-1]["seq"])} if page else {}
    return await page_response(request, page, after)


@router.get("/{run_id:seg}/logs/stream", operation_id="stream_logs", response_model=None)
async def stream_logs(
    run_id: RunId,
    storage: StorageDep,
    hub: HubDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="The last seq seen.")
    ] = None,
    after_seq: AfterSeq = None,
    action_name: ActionName = None,
    level: Level = None,
) -> EventStream:
    await storage.get_run(run_id)  # 404 as JSON before the stream starts
    cursor = parse_last_event_id(last_event_id)
    if cursor is None:
        cursor = after_seq or 0
    query = LogQuery(action_name=action_name, level=level, after_seq=cursor)
    events = log_events(hub, storage, run_id, query, settings)
    return event_stream(events, settings)
