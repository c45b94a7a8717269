"""`pipeline-service worker`: claim runs from a service and execute their actions."""

from __future__ import annotations

import enum
import logging
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from pipeline_service._constants import DEFAULT_LEASE_SECONDS, DEFAULT_POLL_INTERVAL
from pipeline_service.cli._common import (
    LocalTimeFormatter,
    dashboard_url,
    describe_error,
    fail,
    local_time,
    stderr_console,
    usage_error,
)
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.completion import complete_pipeline
from pipeline_service.cli.examples import examples
from pipeline_service.cli.resolve import resolve_pipeline
from pipeline_service.cli.token_file import TokenFileOption, token_from

if TYPE_CHECKING:
    from pipeline_service.server import EmbeddedServer

EXAMPLES = examples(
    "pipeline-service worker --url http://10.0.0.5:8100 --token s3cret",
    "pipeline-service worker --pipeline download-convert-train --max-runs 1",
    "pipeline-service worker --executor ray --ray-address auto "
    '--ray-runtime-env \'{"working_dir": "./actions"}\'',
)


def configure_logging(verbose: bool) -> None:
    """Worker and runner messages on stderr (INFO, or DEBUG with --verbose): rich columns on a
    terminal, else one event per line, never wrapped (so that `grep claimed` finds the id)."""
    from rich.logging import RichHandler

    console = stderr_console()
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(
            console=console,
            show_path=False,
            markup=False,
            log_time_format=lambda moment: Text(local_time(moment, millis=True)),
            omit_repeated_times=False,
        )
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(LocalTimeFormatter("%(asctime)s %(levelname)-8s %(message)s"))
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler])
    logging.getLogger("pipeline_service.runner").setLevel(
        logging.DEBUG if verbose else logging.INFO
    )


class Executor(enum.StrEnum):
    """Where a worker runs actions."""

    process = "process"
    ray = "ray"


ExecutorOption = Annotated[
    Executor,
    typer.Option(
        "--executor",
        help="Where actions run: a child process each, or a Ray task each (extra `ray`).",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help=(
            "With --executor ray: the cluster, `auto`, HOST:PORT or ray://HOST:PORT "
            "(default: start a local Ray). Token authentication: RAY_AUTH_TOKEN or "
            "RAY_AUTH_TOKEN_PATH."
        ),
    ),
]


@client_command()
def worker(
    session: Session,
    token_file: TokenFileOption = None,
    lease_seconds: Annotated[
        float,
        typer.Option(
            "--lease-seconds",
            min=1,
            max=3600,
            help=(
                "How long a claimed run stays ours without a renewal (renewed every second); "
                "an action is stopped a safety margin (a quarter, at most 2 s) before it ends."
            ),
        ),
    ] = DEFAULT_LEASE_SECONDS,
    pipeline_ref: Annotated[
        str | None,
        typer.Option(
            "--pipeline",
            metavar="PIPELINE",
            help=(
                "Only claim runs of this pipeline (name, id or id prefix): the only workers "
                "that run a pipeline with dedicated_workers."
            ),
            autocompletion=complete_pipeline,
        ),
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option("--poll-interval", min=0.05, help="Seconds between claims while idle."),
    ] = DEFAULT_POLL_INTERVAL,
    work_root: Annotated[
        Path | None,
        typer.Option(
            "--work-root",
            file_okay=False,
            help="Where runs without a work dir get one (default: <tmp>/pipeline-service/runs).",
        ),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Exit after executing this many runs.")
    ] = None,
    executor: ExecutorOption = Executor.process,
    ray_address: RayAddressOption = None,
    ray_runtime_env: Annotated[
        str | None,
        typer.Option(
            "--ray-runtime-env",
            metavar="JSON|FILE",
            help=(
                "With --executor ray: a runtime_env shipped with every action (working_dir, "
                "env_vars, py_modules…), as JSON or a JSON file; a pipeline's runtime_env "
                "goes over it."
            ),
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug messages.")] = False,
) -> None:
    """Claim pending runs and execute their actions, each in a child process (or a Ray task).

    Actions are imported from the current directory, PYTHONPATH and the bundled examples.
    Ctrl-C (or SIGTERM) finishes the action in progress and hands the run back; a second one
    stops at once. A run whose worker died is resumed by another from its latest checkpoint.
    """
    from pipeline_service.errors import AuthenticationError
    from pipeline_service.runner.ray_executor import RayUnavailableError
    from pipeline_service.runner.worker import Worker

    configure_logging(verbose)
    session = replace(session, token_option=token_from(session.token_option, token_file))
    url = session.url
    runtime_env = _ray_options(executor, ray_address, ray_runtime_env)
    pipeline_id = None
    if pipeline_ref is not None:
        with session.client() as client:
            pipeline_id = resolve_pipeline(client, pipeline_ref)["id"]
    try:
        claimer = Worker(
            url,
            token=session.token,
            lease_seconds=lease_seconds,
            pipeline_id=pipeline_id,
            poll_interval=poll_interval,
            work_root=work_root,
            **executor_kwargs(executor, ray_address, runtime_env),
        )
    except RayUnavailableError as error:
        fail(str(error))
    with claimer:
        requests = 0

        def on_signal(signum: int, frame: FrameType | None) -> None:
            nonlocal requests
            requests += 1
            if requests == 1:
                stderr_console().print(
                    "Stopping after the action in progress (again to stop now)…", markup=False
                )
            claimer.stop(force=requests > 1)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        stderr_console().print(f"Worker {claimer.worker_id} serving {url}", markup=False)
        try:
            claimer.run(max_runs=max_runs)
        except AuthenticationError as error:
            fail(describe_error(error, url))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _ray_options(
    executor: Executor, address: str | None, runtime_env: str | None
) -> dict[str, Any] | None:
    """The --ray-* options checked: they need --executor ray; the runtime_env read and parsed."""
    from pipeline_service.runner.ray_executor import load_runtime_env

    if executor is not Executor.ray:
        if address is not None or runtime_env is not None:
            usage_error("--ray-address and --ray-runtime-env need --executor ray")
        return None
    if runtime_env is None:
        return None
    try:
        return load_runtime_env(runtime_env)
    except ValueError as exc:
        usage_error(str(exc))


def executor_kwargs(
    executor: Executor, address: str | None, runtime_env: dict[str, Any] | None
) -> dict[str, Any]:
    """The Worker options of an --executor choice (`demo` uses them too)."""
    if executor is Executor.process:
        return {}
    return {"executor": "ray", "ray_address": address, "ray_runtime_env": runtime_env}


def _loopback_url(server: EmbeddedServer) -> str:
    """How local workers reach a server, which may listen on every interface."""
    if server.host in ("", "0.0.0.0"):
        return f"http://127.0.0.1:{server.port}"
    if server.host == "::":
        return f"http://[::1]:{server.port}"
    return server.url


def serve_with_workers(server: EmbeddedServer, workers: int, *, token: str | None) -> None:
    """Serve with `workers` local workers until SIGINT/SIGTERM (`pipeline-service serve`).

    On the way out the workers stop first, handing their runs back while the API still answers.
    """
    from pipeline_service.runner.worker import WorkerPool
    from pipeline_service.server.settings import redacted

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per worker request
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with server, WorkerPool(_loopback_url(server), workers, token=token):
            if workers:
                doing = f"with {workers} worker{'s' if workers != 1 else ''}"
            else:
                doing = "without workers (start some with `pipeline-service worker`)"
            typer.echo(
                f"pipeline-service: serving on {server.url} "
                f"(database {redacted(server.db_path)}) {doing}\n"
                f"pipeline-service: API docs at {server.url}/docs; Ctrl-C to stop",
                err=True,
            )
            typer.echo(f"pipeline-service: dashboard at {dashboard_url(server.url)}", err=True)
            artifacts = server.settings.artifacts_url()
            typer.echo(
                f"pipeline-service: artifacts in {artifacts}"
                if artifacts
                else "pipeline-service: no artifact store, uploads are refused (503); "
                "give one with --artifacts URI",
                err=True,
            )
            while not stop.wait(0.5):
                pass
            typer.echo("pipeline-service: stopping", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(app: typer.Typer) -> None:
    """Add the `worker` command to `app`."""
    app.command("worker", epilog=EXAMPLES)(worker)
