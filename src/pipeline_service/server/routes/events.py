"""Run events: what happened to a run, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pipeline_service.server.deps import RunId, StorageDep
from pipeline_service.server.pages import page_response
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(prefix="/api/v1/runs", tags=["events"], route_class=StrictJSONRoute)


@router.get("/{run_id:seg}/events", operation_id="list_run_events")
async def list_run_events(
    request: Request,
    run_id: RunId,
    storage: StorageDep,
    after: Annotated[int, Query(ge=0, le=9007199254740991)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    page = await storage.list_run_events(run_id, after, limit)
    following = {"after": str(page[-1]["id"])} if page else {}
    return await page_response(request, page, following)
