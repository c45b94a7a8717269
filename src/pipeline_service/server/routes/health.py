"""GET /health."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

import pipeline_service
from pipeline_service.server.deps import StorageDep
from pipeline_service.server.errors import ServiceError, error_response
from pipeline_service.server.routing import StrictJSONRoute

router = APIRouter(tags=["health"], route_class=StrictJSONRoute)


@router.get("/health", operation_id="get_health")
async def get_health(storage: StorageDep) -> JSONResponse:
    """Service health: 503 when the storage is unusable; the storage backend otherwise (and, on
    PostgreSQL, the replica's change listener)."""
    try:
        await storage.check()
    except ServiceError as exc:
        return error_response(503, str(exc.detail))
    except Exception as exc:  # any failure of the store means it is unusable
        return error_response(503, f"storage is unusable: {exc}")
    version = pipeline_service.__version__
    body = {"status": "healthy", "service": "pipeline-service", "version": version}
    return JSONResponse({**body, **storage.describe()})
