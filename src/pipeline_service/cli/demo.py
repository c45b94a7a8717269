"""`pipeline-service demo`: the whole service on this machine, running a sample pipeline live."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_service.cli._common import (
    dashboard_url,
    describe_error,
    fail,
    format_metrics,
    interactive,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.examples import examples
from pipeline_service.cli.watch import watch_run
from pipeline_service.cli.worker_command import (
    Executor,
    ExecutorOption,
    RayAddressOption,
    executor_kwargs,
)

if TYPE_CHECKING:
    from pipeline_service.types import Run

DEMO_ACTIONS = [
    {
        "name": "download",
        "entrypoint": "plugin.download.DownloadAction",
        "description": "Fetch the dataset (generated) and store it as CSV",
    },
    {
        "name": "convert",
        "entrypoint": "plugin.convert.ConvertAction",
        "description": "Check, standardise and split it",
    },
    {
        "name": "train",
        "entrypoint": "plugin.train.TrainAction",
        "description": "Fit a linear model by gradient descent",
    },
]
DEMO_PARAMS: dict[str, Any] = {"dataset": 42, "rows": 4000, "epochs": 40, "pace": 0.05}
DEMO_TIMEOUT = 120.0
EXAMPLES = examples("pipeline-service demo", "pipeline-service demo --db demo.db --json")


def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            dir_okay=False,
            help="SQLite database to use and keep (default: a temporary one, removed at exit).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as JSON at the end.")
    ] = False,
    executor: ExecutorOption = Executor.process,
    ray_address: RayAddressOption = None,
    exit_at_end: Annotated[
        bool,
        typer.Option(
            "--exit",
            help="Stop as soon as the run ends (for scripts); on a terminal the demo otherwise "
            "keeps serving the dashboard until Enter or Ctrl-C.",
        ),
    ] = False,
) -> None:
    """Start the service with a worker, run the sample download → convert → train pipeline
    (its actions in child processes, or as Ray tasks with `--executor ray`).

    Shows each action's progress live and sums up the result; on a terminal it then keeps the
    service (and its dashboard) up until Enter or Ctrl-C. Exits 0 when the run completed.
    """
    from pipeline_service.runner.actions import bundled_examples_path
    from pipeline_service.runner.ray_executor import RayUnavailableError
    from pipeline_service.runner.worker import WorkerPool

    try:
        from pipeline_service.server import EmbeddedServer
    except ImportError as error:
        fail(
            f"the demo runs the server, which needs the 'server' extra ({error}): "
            "pip install 'pipeline-service[server]'"
        )
    if bundled_examples_path() is None:
        fail("the sample plugin (examples/plugin) is not part of this installation")
    console = stdout_console()
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    if executor is Executor.process and ray_address is not None:
        usage_error("--ray-address needs --executor ray")
    options = executor_kwargs(executor, ray_address, None)
    with EmbeddedServer(db) as server:
        try:
            workers = WorkerPool(server.url, 1, **options)
        except RayUnavailableError as error:
            fail(str(error))
        with workers:
            code, final = _run_demo(server.url, executor, db is None)
            if final["status"] == "completed":
                if as_json:
                    console.print_json(data=final["result"])
                else:
                    console.print(result_summary(final["result"] or {}, final["id"]), markup=False)
            if db is not None:
                console.print(f"Runs, checkpoints and logs are kept in {db}", markup=False)
            if not exit_at_end and interactive():
                console.print(
                    f"The dashboard stays up at {dashboard_url(server.url, final['id'])}: "
                    "press Enter (or Ctrl-C) to stop.",
                    markup=False,
                )
                with contextlib.suppress(EOFError, KeyboardInterrupt):
                    input()
    raise typer.Exit(code)


def _run_demo(url: str, executor: Executor, temporary: bool) -> tuple[int, Run]:
    """Create the sample pipeline and a run, and watch it to its end: (exit code, the run)."""
    from pipeline_service import PipelineServiceClient
    from pipeline_service.errors import PipelineServiceError

    console = stdout_console()
    where = "as Ray tasks" if executor is Executor.ray else "in child processes"
    console.print(
        f"Pipeline Service running at {url} with 1 worker (actions {where})", markup=False
    )
    if temporary:
        console.print(
            "Its database is temporary (removed at exit); keep it with "
            "`pipeline-service demo --db demo.db`.",
            markup=False,
        )
    try:
        with PipelineServiceClient(url) as client:
            pipeline = client.create_pipeline(
                "Demo: download → convert → train",
                DEMO_ACTIONS,
                "The sample pipeline of examples/plugin",
            )
            run = client.create_run(pipeline["id"], params=DEMO_PARAMS)
            console.print(
                f"Pipeline {pipeline['id']}, run {run['id']} with params {json.dumps(DEMO_PARAMS)}",
                markup=False,
            )
            console.print(
                f"Watch it in the dashboard: {dashboard_url(url, run['id'])}", markup=False
            )
            code = watch_run(client, run["id"], url=url, as_json=False, timeout=DEMO_TIMEOUT)
            return code, client.get_run(run["id"])
    except PipelineServiceError as error:
        fail(describe_error(error, url))


def result_summary(result: dict[str, Any], run_id: str) -> str:
    """The result's numbers on one line, and where to see the rest."""
    numbers = {
        key: value
        for key, value in result.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    rest = len(result) - len(numbers)
    line = f"Result: {format_metrics(numbers)}" if numbers else "Result:"
    if rest:
        line += (
            f" (+{rest} more: `--json`, or `pipeline-service runs get {run_id[:8]}` "
            "against a kept database)"
        )
    return line


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""
    app.command("demo", epilog=EXAMPLES)(demo)
