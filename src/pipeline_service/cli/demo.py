"""`pipeline-service demo`: the whole service on this machine, running a sample pipeline live."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline_service import PipelineServiceClient
from pipeline_service.cli._common import (
    dashboard_url,
    describe_error,
    fail,
    format_metrics,
    interactive,
    stdout_console,
)
from pipeline_service.cli.watch import watch_run
from pipeline_service.errors import PipelineServiceError
from pipeline_service.runner.actions import bundled_examples_path
from pipeline_service.runner.worker import WorkerPool

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
    exit_at_end: Annotated[
        bool,
        typer.Option(
            "--exit",
            help="Stop as soon as the run ends (for scripts); on a terminal the demo otherwise "
            "keeps serving the dashboard until Enter or Ctrl-C.",
        ),
    ] = False,
) -> None:
    """Start the service with a worker, run the sample download → convert → train pipeline.

    Shows each action's progress live and sums up the result; on a terminal it then keeps the
    service (and its dashboard) up until Enter or Ctrl-C. Exits 0 when the run completed.
    """
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
    with EmbeddedServer(db) as server, WorkerPool(server.url, 1):
        console.print(f"Pipeline Service running at {server.url} with 1 worker", markup=False)
        if db is None:
            console.print(
                "Its database is temporary (removed at exit); keep it with "
                "`pipeline-service demo --db demo.db`.",
                markup=False,
            )
        try:
            with PipelineServiceClient(server.url) as client:
                pipeline = client.create_pipeline(
                    "Demo: download → convert → train",
                    DEMO_ACTIONS,
                    "The sample pipeline of examples/plugin",
                )
                run = client.create_run(pipeline["id"], params=DEMO_PARAMS)
                console.print(
                    f"Pipeline {pipeline['id']}, run {run['id']} with params "
                    f"{json.dumps(DEMO_PARAMS)}",
                    markup=False,
                )
                console.print(
                    f"Watch it in the dashboard: {dashboard_url(server.url, run['id'])}",
                    markup=False,
                )
                code = watch_run(
                    client, run["id"], url=server.url, as_json=False, timeout=DEMO_TIMEOUT
                )
                final = client.get_run(run["id"])
        except PipelineServiceError as error:
            fail(describe_error(error, server.url))
        if final["status"] == "completed" and as_json:
            console.print_json(data=final["result"])
        elif final["status"] == "completed":
            console.print(result_summary(final["result"] or {}, run["id"]), markup=False)
        if db is not None:
            console.print(f"Runs, checkpoints and logs are kept in {db}", markup=False)
        if not exit_at_end and interactive():
            console.print(
                f"The dashboard stays up at {dashboard_url(server.url, run['id'])}: "
                "press Enter (or Ctrl-C) to stop.",
                markup=False,
            )
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input()
    raise typer.Exit(code)


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
    app.command(
        "demo",
        epilog="Examples:\n\npipeline-service demo\n\npipeline-service demo --db demo.db --json",
    )(demo)
