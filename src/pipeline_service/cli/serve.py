"""`pipeline-service serve`: run the reference server."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline_service._constants import ENV_TOKEN

if TYPE_CHECKING:
    from fastapi import FastAPI
from pipeline_service.cli._common import dashboard_url
from pipeline_service.server.settings import (
    DEFAULT_DB_PATH,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    ENV_DB,
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = (
        DEFAULT_HOST
    ),
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = DEFAULT_PORT,
    db: Annotated[
        str,
        typer.Option(
            envvar=ENV_DB,
            help="SQLite database file (created if missing; also sqlite:///PATH), or a "
            "PostgreSQL URL postgresql://USER@HOST/DBNAME shared by several `serve` processes.",
        ),
    ] = str(DEFAULT_DB_PATH),
    token: Annotated[
        str | None,
        typer.Option(envvar=ENV_TOKEN, help="Require `Authorization: Bearer TOKEN` on /api/v1."),
    ] = None,
    heartbeat_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between `: ping` comments on idle streams.")
    ] = DEFAULT_HEARTBEAT_INTERVAL,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Request bodies larger than this are refused (413).")
    ] = DEFAULT_MAX_BODY_BYTES,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[
        int, typer.Option(min=0, help="Local workers executing runs (0: the API alone).")
    ] = 1,
) -> None:
    """Run the Pipeline Service (FastAPI + SQLite or PostgreSQL) until SIGINT/SIGTERM."""
    from pipeline_service.server.app import create_app
    from pipeline_service.server.serving import ServiceServer, uvicorn_config
    from pipeline_service.server.settings import Settings, database, redacted

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(
        db_path=database(db),
        token=token or None,
        heartbeat_interval=heartbeat_interval,
        max_body_bytes=max_body_bytes,
    )
    app = create_app(settings)
    problem = _database_problem(app)
    if problem is not None:
        typer.echo(f"pipeline-service: cannot use the database {redacted(db)}: {problem}", err=True)
        raise typer.Exit(1)
    if workers:
        from pipeline_service.cli.worker import serve_with_workers
        from pipeline_service.server import EmbeddedServer

        server_with_workers = EmbeddedServer(
            db,
            host=host,
            port=port,
            token=token or None,
            heartbeat_interval=heartbeat_interval,
            max_body_bytes=max_body_bytes,
            log_level=log_level,
        )
        serve_with_workers(server_with_workers, workers, token=token or None)
        return
    server = ServiceServer(uvicorn_config(app, host, port, log_level=log_level))
    typer.echo(
        f"pipeline-service: serving on http://{host}:{port} (database {redacted(db)})", err=True
    )
    typer.echo(f"pipeline-service: dashboard at {dashboard_url(f'http://{host}:{port}')}", err=True)
    server.run()


def _database_problem(app: FastAPI) -> str | None:
    """Why the app's storage cannot be opened (None when it can): checked before serving, so an
    unusable database is one clear line, not a traceback from the server's startup."""
    from pipeline_service.server.errors import ServiceError
    from pipeline_service.server.storage.base import Storage

    storage: Storage = app.state.storage

    async def probe() -> None:
        await storage.start(lambda change: None)
        await storage.close()

    try:
        asyncio.run(probe())
    except ServiceError as exc:
        return str(exc.detail)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""
    app.command("serve")(serve)
