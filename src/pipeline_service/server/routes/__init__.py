"""The API's routes, one module per tag of openapi.yaml."""

from fastapi import APIRouter

from pipeline_service.server.routes import (
    artifacts,
    checkpoints,
    events,
    health,
    leases,
    logs,
    metrics,
    pipelines,
    progress,
    runs,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    pipelines.router,
    leases.router,  # before runs: /runs/claim must win over /runs/{run_id}
    runs.router,
    progress.router,
    metrics.router,
    events.router,
    checkpoints.router,
    artifacts.router,
    logs.router,
)

__all__ = ["ROUTERS"]
