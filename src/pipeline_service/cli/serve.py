"""`pipeline-service serve`: run the reference server."""

from __future__ import annotations

import enum
import errno
import logging
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline_service._constants import ENV_TOKEN
from pipeline_service.cli._common import LocalTimeFormatter, fail, usage_error
from pipeline_service.cli.examples import examples
from pipeline_service.cli.token_file import TokenFileOption, token_from
from pipeline_service.server.settings import (
    DEFAULT_DB_PATH,
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_HOST,
    DEFAULT_MAX_ARTIFACT_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_FIELD_BYTES,
    DEFAULT_PORT,
    ENV_ALLOWED_HOSTS,
    ENV_ARTIFACTS,
    ENV_DB,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_service.server.storage.interface import Storage

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
EXAMPLES = examples(
    "pipeline-service serve",
    "pipeline-service serve --port 0 --db /tmp/pipelines.db --workers 4",
    "pipeline-service serve --workers 0 --token-file ~/.pipeline-token --log-level debug",
    "pipeline-service serve --host 0.0.0.0 --token-file /etc/pipeline-service/token",
)


class LogLevel(enum.StrEnum):
    """How much `serve` says: a line per request only at `debug`."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


def configure_logging(level: LogLevel) -> None:
    """Log lines on stderr in local time; request lines and uvicorn's own only at debug."""
    handler = logging.StreamHandler()
    handler.setFormatter(LocalTimeFormatter(LOG_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    chatty = logging.DEBUG if level is LogLevel.DEBUG else max(logging.WARNING, _number(level))
    for name in ("pipeline_service.server", "httpx"):
        logging.getLogger(name).setLevel(chatty)


def _number(level: LogLevel) -> int:
    return logging.getLevelNamesMapping()[level.upper()]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = (
        DEFAULT_HOST
    ),
    port: Annotated[
        int, typer.Option(help="TCP port (0: any free one, printed at start).", min=0, max=65535)
    ] = DEFAULT_PORT,
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
        typer.Option(
            envvar=ENV_TOKEN,
            help="Require `Authorization: Bearer TOKEN` on /api/v1. Other users of the machine "
            "can see it in `ps`: prefer the environment variable or --token-file.",
        ),
    ] = None,
    token_file: TokenFileOption = None,
    insecure_no_token: Annotated[
        bool,
        typer.Option(
            "--insecure-no-token",
            help="Serve on an address other machines reach (--host 0.0.0.0…) without a token: "
            "anyone who reaches it may read and change everything.",
        ),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            envvar=ENV_ALLOWED_HOSTS,
            metavar="NAME",
            help="Without a token, a `Host` name to answer besides the address served on "
            "(repeatable; the variable takes a comma-separated list; `*`: any).",
        ),
    ] = None,
    heartbeat_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between `: ping` comments on idle streams.")
    ] = DEFAULT_HEARTBEAT_INTERVAL,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Request bodies larger than this are refused (413).")
    ] = DEFAULT_MAX_BODY_BYTES,
    max_field_bytes: Annotated[
        int,
        typer.Option(
            min=1,
            help="A larger free-form field (params, result, metrics…, as JSON) is refused (422).",
        ),
    ] = DEFAULT_MAX_FIELD_BYTES,
    head_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a connection has to send a request head (and a body may stay idle).",
        ),
    ] = DEFAULT_HEAD_TIMEOUT,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            help="Open connections at most; beyond, the longest idle one is closed "
            "(default: three quarters of the open-file limit).",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel,
        typer.Option(case_sensitive=False, help="debug adds a line per request."),
    ] = LogLevel.INFO,
    workers: Annotated[
        int, typer.Option(min=0, help="Local workers executing runs (0: the API alone).")
    ] = 1,
    artifacts: Annotated[
        str | None,
        typer.Option(
            envvar=ENV_ARTIFACTS,
            help="Artifact store: a directory, s3://bucket/prefix (the s3 extra; standard AWS "
            "variables, AWS_ENDPOINT_URL included) or any fsspec URL. Default: DB-artifacts/ "
            "next to a SQLite database; with PostgreSQL, give one (uploads are 503 without).",
        ),
    ] = None,
    max_artifact_bytes: Annotated[
        int, typer.Option(min=1, help="Artifact uploads larger than this are refused (413).")
    ] = DEFAULT_MAX_ARTIFACT_BYTES,
) -> None:
    """Run the Pipeline Service (FastAPI + SQLite or PostgreSQL) until SIGINT/SIGTERM."""
    from pipeline_service._hosts import is_loopback
    from pipeline_service.cli.worker_command import serve_with_workers
    from pipeline_service.server import EmbeddedServer
    from pipeline_service.server.artifacts import open_artifact_store
    from pipeline_service.server.settings import database, redacted

    configure_logging(log_level)
    token = token_from(token, token_file)
    if not token and not insecure_no_token and not is_loopback(host):
        usage_error(
            f"refusing to serve on {host} without a token: anyone who reaches it could read and "
            "change every pipeline and run. Give one (--token-file FILE or "
            f"${ENV_TOKEN}), or add --insecure-no-token if only trusted machines reach it."
        )
    problem = port_problem(host, port)
    if problem is not None:
        fail(problem)
    problem = _database_problem(database(db))
    if problem is not None:
        typer.echo(f"pipeline-service: cannot use the database {redacted(db)}: {problem}", err=True)
        raise typer.Exit(1)
    if artifacts:
        try:
            open_artifact_store(artifacts)
        except ValueError as exc:
            typer.echo(f"pipeline-service: {exc}", err=True)
            raise typer.Exit(1) from None
    server = EmbeddedServer(
        db,
        host=host,
        port=port,
        token=token or None,
        heartbeat_interval=heartbeat_interval,
        max_body_bytes=max_body_bytes,
        log_level="debug" if log_level is LogLevel.DEBUG else "warning",
        artifacts=artifacts,
        max_artifact_bytes=max_artifact_bytes,
        max_field_bytes=max_field_bytes,
        allowed_hosts=[n.strip() for names in allowed_host or () for n in names.split(",")],
        head_timeout=head_timeout,
        max_connections=max_connections,
    )
    try:
        serve_with_workers(server, workers, token=token or None)
    except RuntimeError as exc:  # cannot listen (the reason is uvicorn's line above)
        fail(f"cannot serve on {host}:{port}: {exc}")


def port_problem(host: str, port: int) -> str | None:
    """Why `serve` cannot listen on `host:port` (None when it can): checked before anything is
    created, so a port in use is one line and no database file is left behind."""
    if port == 0:
        return None
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        return f"cannot listen on {host}:{port}: {error.strerror}"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return (
                        f"port {port} on {host} is already in use; choose another with "
                        "--port PORT, or --port 0 for any free one"
                    )
                return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None


def _database_problem(db: Path | str) -> str | None:
    """Why the database cannot be opened (None when it can): checked before serving, so an
    unusable database is one clear line, not a traceback from the server's startup."""
    import asyncio

    from pipeline_service.server.app import create_app
    from pipeline_service.server.errors import ServiceError
    from pipeline_service.server.settings import Settings

    storage: Storage = create_app(Settings(db_path=db, artifacts=None)).state.storage

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
    app.command("serve", epilog=EXAMPLES)(serve)
