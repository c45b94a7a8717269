"""The FastAPI application of the reference server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import pipeline_service
from pipeline_service.server.ahead import AheadRoutes, Guard, ServiceApp
from pipeline_service.server.api_docs import api_docs_routes
from pipeline_service.server.artifacts import open_artifact_store
from pipeline_service.server.auth import BearerAuth, BearerAuthMiddleware
from pipeline_service.server.dashboard import dashboard_routes
from pipeline_service.server.errors import UnhandledErrorMiddleware, install_error_handlers
from pipeline_service.server.events import EventHub
from pipeline_service.server.host_guard import HostGuard, HostGuardMiddleware
from pipeline_service.server.request_log import RequestLogMiddleware
from pipeline_service.server.routes import ROUTERS
from pipeline_service.server.routes.artifacts import is_artifact_upload
from pipeline_service.server.routing import (
    BodyLimitMiddleware,
    HeadMiddleware,
    RawPathMiddleware,
    add_trailing_slash_twins,
    hot_routes_first,
)
from pipeline_service.server.settings import ANY_HOST, Settings
from pipeline_service.server.storage import open_storage
from pipeline_service.server.storage.interface import Storage
from pipeline_service.spec import load_spec, spec_text


def create_app(settings: Settings | None = None, *, storage: Storage | None = None) -> FastAPI:
    """The app: every operation of openapi.yaml over the given storage (by default the one
    settings.db_path names: SQLite or PostgreSQL), with the artifact store settings name
    (ValueError when it cannot be opened)."""
    settings = settings or Settings()
    artifacts_url = settings.artifacts_url()
    artifacts = open_artifact_store(artifacts_url) if artifacts_url else None
    store = storage if storage is not None else open_storage(settings.db_path)
    hub = EventHub(store.run_changes, store.run_changes_head)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        await store.start(hub.dispatch, hub.watched_runs)
        app.state.close_streams = lambda: loop.call_soon_threadsafe(hub.close)
        try:
            yield
        finally:
            hub.close()
            await store.close()

    app = ServiceApp(
        title="Pipeline Service API",
        version=pipeline_service.__version__,
        lifespan=lifespan,
        docs_url=None,  # served by the package, not from a CDN: api_docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.storage = store
    app.state.artifacts = artifacts
    app.state.hub = hub
    app.state.close_streams = hub.close
    install_error_handlers(app)
    for router in ROUTERS:
        # Plain routes on the app's router (no included-router indirection): one flat table.
        app.router.routes.extend(router.routes)
    add_trailing_slash_twins(app)
    app.router.routes.extend(api_docs_routes())  # before the dashboard's /ui/{page} catch-all
    app.router.routes.extend(dashboard_routes())
    hot_routes_first(app)

    def committed_spec() -> dict[str, Any]:
        return load_spec()

    app.openapi = committed_spec  # type: ignore[method-assign]

    @app.get("/openapi.yaml", include_in_schema=False)
    async def openapi_yaml() -> PlainTextResponse:
        return PlainTextResponse(spec_text(), media_type="application/yaml")

    guards: list[Guard] = []
    if settings.token:
        app.add_middleware(BearerAuthMiddleware, token=settings.token)
        guards.append(BearerAuth(settings.token))
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt=is_artifact_upload
    )
    app.add_middleware(RawPathMiddleware)
    app.add_middleware(HeadMiddleware)
    if not settings.token and ANY_HOST not in settings.allowed_hosts:
        app.add_middleware(HostGuardMiddleware, allowed=settings.allowed_hosts)
        guards.append(HostGuard(settings.allowed_hosts))
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestLogMiddleware)
    app.ahead_routes = AheadRoutes(app, guards)
    return app
