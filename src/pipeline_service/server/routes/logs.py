"""Logs: append, read, follow."""

from __future__ import annotations

import re
from typing import Annotated, get_args
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request, Response
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
from pipeline_service.server.errors import check_batch_size
from pipeline_service.server.models import LogBatch, Timestamp
from pipeline_service.server.pages import page_response
from pipeline_service.server.responses import FastJSONResponse
from pipeline_service.server.routing import StrictJSONRoute
from pipeline_service.server.sse import EventStream
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.queries import LogQuery
from pipeline_service.server.streams import event_stream, log_events, parse_last_event_id
from pipeline_service.wire import MAX_LOG_BATCH, LogLevelName

router = APIRouter(prefix="/api/v1/runs", tags=["logs"], route_class=StrictJSONRoute)

MAX_ACTION_NAME = 255
ActionName = Annotated[
    str | None, Query(max_length=MAX_ACTION_NAME, description="Only this action's.")
]
Level = Annotated[LogLevelName | None, Query(description="Only this level.")]
AfterSeq = Annotated[int | None, Query(ge=0, description="Only records after this seq.")]


@router.post("/{run_id:seg}/logs/", operation_id="append_logs", status_code=201)
async def append_logs(write: RunWriteDep, body: LogBatch, storage: StorageDep) -> JSONResponse:
    check_batch_size("log", len(body.entries), MAX_LOG_BATCH)
    records = await storage.append_logs(write, body.entries)
    return FastJSONResponse(records, status_code=201)


@write_route(append_logs)
async def append_logs_fast(request: Request) -> Response | None:
    """append_logs for the ordinary request (see routing.fast_path): FastAPI's handler, kept
    out, resolves six parameters and validates the batch through its own adapter; a batch over
    the limit, a refused header or body: None (the full handler answers)."""
    found = await lean_run_write(request, LogBatch)
    if found is None or len(found[1].entries) > MAX_LOG_BATCH:
        return None
    write, body = found
    storage: Storage = request.app.state.storage
    records = await storage.append_logs(write, body.entries)
    return FastJSONResponse(records, status_code=201)


@router.get("/{run_id:seg}/logs/", operation_id="get_logs")
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


@router.get("/{run_id:seg}/logs/stream", operation_id="stream_logs")
async def stream_logs(
    run_id: RunId,
    storage: StorageDep,
    hub: HubDep,
    settings: SettingsDep,
    last_event_id: LastEventIdHeader = None,
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


_LEVELS = frozenset(get_args(LogLevelName))
_AFTER_SEQ = re.compile(r"[0-9]{1,18}")


@stream_route(stream_logs)
async def stream_logs_fast(request: Request) -> Response | None:
    """stream_logs for an ordinary run id and query (see ahead): each filter at most
    once, with a value the FastAPI handler would take as it is; anything else goes to it."""
    run_id = request.path_params["run_id"]
    if not 0 < len(run_id) <= MAX_ID_LENGTH:
        return None
    filters: dict[str, str] = {}
    for name, value in parse_qsl(request.scope["query_string"].decode("latin-1"), True):
        if name in filters or not (
            (name == "after_seq" and _AFTER_SEQ.fullmatch(value))
            or (name == "level" and value in _LEVELS)
            or (name == "action_name" and 0 < len(value) <= MAX_ACTION_NAME)
        ):
            return None
        filters[name] = value
    app = request.app.state
    storage: Storage = app.storage
    await storage.get_run(run_id)  # 404 as JSON before the stream starts
    cursor = parse_last_event_id(request.headers.get("last-event-id"))
    if cursor is None:
        cursor = int(filters.get("after_seq", 0))
    query = LogQuery(
        action_name=filters.get("action_name"), level=filters.get("level"), after_seq=cursor
    )
    return event_stream(log_events(app.hub, storage, run_id, query, app.settings), app.settings)
