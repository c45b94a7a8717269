"""`pipeline-service conformance URL` (also `python -m pipeline_service.conformance URL`)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from pipeline_service._constants import ENV_TOKEN
from pipeline_service.vocabulary import DEFAULT_MAX_BODY_BYTES

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def conformance(
    url: Annotated[
        str | None, typer.Argument(help="Base URL of the server, e.g. http://127.0.0.1:8100.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar=ENV_TOKEN, help="Bearer token, if the server needs one.")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer fuzz examples, no coverage phase.")
    ] = False,
    deep: Annotated[
        bool, typer.Option("--deep", help="Many more fuzz examples and longer sequences.")
    ] = False,
    core_only: Annotated[
        bool, typer.Option("--core-only", help="Only the checks of the v1 core API.")
    ] = False,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="Run only this check (an id, or a prefix like 'stream.')."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fuzzer (same seed, same requests).")] = 0,
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit XML report.")] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write a JSON report.")
    ] = None,
    test_deployment: Annotated[
        bool,
        typer.Option(
            "--test-deployment",
            "--allow-remote",
            help="The URL is not loopback but a test deployment the kit may write to.",
        ),
    ] = False,
    heartbeat_timeout: Annotated[
        float,
        typer.Option(min=0.1, help="How long to wait for a `: ping` on an idle stream (s)."),
    ] = 20.0,
    event_timeout: Annotated[
        float, typer.Option(min=0.1, help="How long to wait for each expected stream event (s).")
    ] = 10.0,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="The server's request body limit (checked at 413).")
    ] = DEFAULT_MAX_BODY_BYTES,
    keep_failed: Annotated[
        bool,
        typer.Option(
            "--keep-failed",
            help="Keep the pipelines of failing checks, so their reproduction lines replay.",
        ),
    ] = False,
    list_checks: Annotated[bool, typer.Option("--list", help="List the checks and exit.")] = False,
) -> None:
    """Check that a server speaks the Pipeline Service API: schema fuzzing and behaviour.

    Exit code 0 when every selected check holds, 1 when one does not (or the server cannot be
    reached), 2 for bad usage, 130 when stopped. The kit creates pipelines named
    `conformance-kit-…` and deletes them at the end (those of failing checks stay with
    --keep-failed, so that the reproduction lines replay); it refuses a non-loopback URL unless
    --test-deployment is given.
    """
    from rich.console import Console

    from pipeline_service.conformance.context import Options
    from pipeline_service.conformance.registry import Depth, all_checks, select
    from pipeline_service.conformance.report import print_report
    from pipeline_service.conformance.runner import TargetRefused, check_target, run_checks

    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    if quick and deep:
        errors.print("error: --quick and --deep exclude each other")
        raise typer.Exit(EXIT_USAGE)
    depth = Depth.QUICK if quick else Depth.DEEP if deep else Depth.STANDARD
    if list_checks:
        for item in select(all_checks(), depth=Depth.DEEP, core_only=core_only, only=check or ()):
            typer.echo(f"{item.id:<24} {item.tier.value:<9} {item.title}")
        return
    if url is None:
        errors.print("error: the server's URL is missing")
        raise typer.Exit(EXIT_USAGE)
    known = {item.id for item in all_checks()}
    for name in check or ():
        if not any(item == name or item.startswith(name) for item in known):
            errors.print(f"error: no check {name!r} (see --list)")
            raise typer.Exit(EXIT_USAGE)
    try:
        check_target(url, allow_remote=test_deployment)
    except TargetRefused as exc:
        errors.print(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    options = Options(
        base_url=url,
        token=token,
        depth=depth,
        core_only=core_only,
        seed=seed,
        only=tuple(check or ()),
        heartbeat_timeout=heartbeat_timeout,
        event_timeout=event_timeout,
        max_body_bytes=max_body_bytes,
        keep_failed=keep_failed,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # so that a stopped run still cleans up
    try:
        with errors.status("checking…") as status:
            report = run_checks(
                options, on_result=lambda result: status.update(f"{result.check_id} done…")
            )
    except KeyboardInterrupt:
        errors.print("interrupted: the kit's pipelines were deleted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    print_report(console, report)
    if junit is not None:
        report.write_junit(junit)
    if json_file is not None:
        report.write_json(json_file)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(conformance)


def main() -> None:
    """`python -m pipeline_service.conformance`."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(no_args_is_help=True)(conformance)
    app(prog_name="python -m pipeline_service.conformance")
