"""Running the app under uvicorn, with open streams closed on shutdown."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from pipeline_service.server.connections import guarded_protocol
from pipeline_service.server.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 5


def uvicorn_config(
    app: FastAPI, host: str, port: int, *, log_level: str = "info"
) -> uvicorn.Config:
    """uvicorn settings of the service: our own per-request log line, not uvicorn's; httptools
    under the connection limits of the app's settings (see connections)."""
    settings: Settings = app.state.settings
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=guarded_protocol(settings.max_connections, settings.head_timeout),
    )


class ServiceServer(uvicorn.Server):
    """A uvicorn server that ends the app's open event streams as soon as it is told to exit."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.close_streams()
        super().handle_exit(sig, frame)

    def close_streams(self) -> None:
        app = self.config.app
        if isinstance(app, FastAPI):
            app.state.close_streams()
