"""The `pipeline-service` typer app: the root options and every command group."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline_service import __version__
from pipeline_service.cli import (
    checkpoints,
    config,
    demo,
    logs,
    pipelines,
    runs,
    serve,
    worker_command,
)
from pipeline_service.cli.exit_codes import EXIT_CODES_HELP
from pipeline_service.conformance import cli as conformance

EPILOG = (
    f"{EXIT_CODES_HELP}\n\n"
    "Connection: --url / $PIPELINE_SERVICE_URL and --token / $PIPELINE_SERVICE_TOKEN, else the "
    f"profile of {config.config_path()} chosen with --profile / ${config.ENV_PROFILE} "
    "(or its default_profile).\n\n"
    "Examples:\n\n"
    "pipeline-service demo\n\n"
    "pipeline-service serve --port 0\n\n"
    "pipeline-service pipelines apply examples/pipeline.yaml\n\n"
    "pipeline-service runs create download-convert-train -p epochs=30 --watch"
)

app = typer.Typer(
    name="pipeline-service",
    help="Run the Pipeline Service and drive it from a terminal.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pipeline-service {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar=config.ENV_PROFILE,
            show_envvar=True,
            metavar="NAME",
            help="Profile of the config file to take the URL and token from.",
        ),
    ] = None,
) -> None:
    """Run the Pipeline Service and drive it from a terminal."""
    config.selected_profile = profile


for command_module in (
    serve,
    worker_command,
    demo,
    pipelines,
    runs,
    logs,
    checkpoints,
    conformance,
):
    command_module.register(app)
