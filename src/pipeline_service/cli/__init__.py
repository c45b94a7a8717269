"""The `pipeline-service` command line."""

from __future__ import annotations

import typer

from pipeline_service.cli import checkpoints, demo, logs, pipelines, runs, serve, worker
from pipeline_service.conformance import cli as conformance

app = typer.Typer(
    name="pipeline-service",
    help="Run the Pipeline Service and drive it from a terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command_module in (serve, worker, demo, pipelines, runs, logs, checkpoints, conformance):
    command_module.register(app)


def main() -> None:
    """Entry point of the `pipeline-service` console script."""
    app()
