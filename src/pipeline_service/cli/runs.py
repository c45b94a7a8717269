"""`pipeline-service runs`: list, show, start, cancel and watch runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Annotated, Any

import typer

from pipeline_service import PipelineServiceClient, RunStatus
from pipeline_service.cli._common import (
    STATUS_STYLES,
    JsonOption,
    TokenOption,
    UrlOption,
    compact_json,
    dashboard_url,
    elapsed_seconds,
    format_amount,
    format_duration,
    format_metrics,
    format_time,
    open_client,
    print_fields,
    print_json,
    print_table,
    read_document,
    resolved_url,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.watch import EXIT_STATUS_HELP, watch_run

RUN_STATUSES = tuple(status.value for status in RunStatus)

RunIdArgument = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=0.0, metavar="SECONDS", help="Stop watching after this long (exit 3)."
    ),
]


def list_runs(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help=f"Only runs in this state: {', '.join(RUN_STATUSES)}.",
        ),
    ] = None,
    pipeline_id: Annotated[
        str | None,
        typer.Option("--pipeline", metavar="PIPELINE_ID", help="Only this pipeline's runs."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List runs, newest first."""
    if status is not None and status not in RUN_STATUSES:
        usage_error(f"--status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
    with open_client(url, token) as client:
        runs = list(islice(_runs(client, status, pipeline_id, min(limit, 1000)), limit))
    if as_json:
        print_json(runs)
        return
    rows = [
        [
            run["id"],
            run["pipeline_id"],
            run["status"],
            _current_action(run),
            _run_elapsed(run),
            format_time(run["created_at"]),
        ]
        for run in runs
    ]
    print_table(
        stdout_console(), ["ID", "PIPELINE", "STATUS", "ACTION", "ELAPSED", "CREATED"], rows
    )


def _runs(
    client: PipelineServiceClient, status: str | None, pipeline_id: str | None, page_size: int
) -> Iterator[Any]:
    if pipeline_id is None:
        return client.iter_runs(status, page_size=page_size)
    runs = client.iter_pipeline_runs(pipeline_id, page_size=page_size)
    return (run for run in runs if status is None or run["status"] == status)


def get_run(
    run_id: RunIdArgument,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a run: its state, parameters, result and the progress of each action."""
    with open_client(url, token) as client:
        run = client.get_run(run_id)
    if as_json:
        print_json(run)
        return
    console = stdout_console()
    fields = [
        ("id", run["id"]),
        ("pipeline", run["pipeline_id"]),
        ("status", run["status"]),
        ("action", _current_action(run)),
        ("params", compact_json(run["params"])),
        ("created", format_time(run["created_at"])),
        ("started", format_time(run["started_at"])),
        ("completed", format_time(run["completed_at"])),
        ("elapsed", _run_elapsed(run)),
    ]
    if run["work_dir"]:
        fields.append(("work dir", run["work_dir"]))
    if run["result"] is not None:
        fields.append(("result", compact_json(run["result"])))
    if run["error"]:
        fields.append(("error", run["error"]))
    print_fields(console, fields)
    rows = [
        [
            str(index),
            action["name"],
            action["status"],
            format_amount(action.get("progress", 0), action.get("total")),
            action.get("progress_step") or "",
            " ".join(
                part
                for part in (
                    action.get("message") or "",
                    format_metrics(action.get("metrics")),
                    f"error: {action['error']}" if action.get("error") else "",
                )
                if part
            ),
        ]
        for index, action in enumerate(run["progress"])
    ]
    print_table(console, ["#", "ACTION", "STATUS", "PROGRESS", "STEP", "DETAIL"], rows)


def create_run(
    pipeline_id: Annotated[str, typer.Argument(metavar="PIPELINE_ID", help="The pipeline to run.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUE",
            help="A run parameter; VALUE is parsed as JSON when it is valid JSON (epochs=3 is a "
            "number), else taken as a string. Repeatable; overrides --params-file.",
        ),
    ] = None,
    params_file: Annotated[
        str | None,
        typer.Option("--params-file", metavar="FILE", help="YAML or JSON mapping of parameters."),
    ] = None,
    work_dir: Annotated[
        str | None, typer.Option("--work-dir", metavar="DIR", help="Working directory of the run.")
    ] = None,
    resume_from: Annotated[
        str | None,
        typer.Option(
            "--resume-from",
            metavar="RUN_ID",
            help="Continue an earlier run of the same pipeline after its latest completed action "
            "(its params are used unless given).",
        ),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help=f"Watch the run until it ends. {EXIT_STATUS_HELP}")
    ] = False,
    timeout: TimeoutOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run as JSON (with --watch: each progress event, one per line).",
        ),
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Start a run of a pipeline."""
    params = run_params(param or [], params_file)
    with open_client(url, token) as client:
        run = client.create_run(pipeline_id, params, work_dir, resume_from=resume_from)
        if as_json and not watch:
            print_json(run)
            return
        if not as_json:
            console = stdout_console()
            console.print(f"Created run {run['id']} of pipeline {run['pipeline_id']}", markup=False)
            console.print(f"Dashboard: {dashboard_url(client.base_url, run['id'])}", markup=False)
        if watch:
            code = watch_run(
                client, run["id"], url=resolved_url(url), as_json=as_json, timeout=timeout
            )
            raise typer.Exit(code)


def cancel_run(
    run_id: RunIdArgument,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Cancel a pending or running run."""
    with open_client(url, token) as client:
        run = client.cancel_run(run_id)
    if as_json:
        print_json(run)
        return
    stdout_console().print(
        f"Run {run['id']} is {run['status']}",
        style=STATUS_STYLES.get(run["status"], ""),
        markup=False,
    )


def watch(
    run_id: RunIdArgument,
    timeout: TimeoutOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each progress event as one JSON object per line.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Watch a run live until it ends; Ctrl-C stops watching and leaves the run alone."""
    with open_client(url, token) as client:
        code = watch_run(client, run_id, url=resolved_url(url), as_json=as_json, timeout=timeout)
    raise typer.Exit(code)


def run_params(pairs: list[str], params_file: str | None) -> dict[str, Any] | None:
    """Parameters from `--params-file` then `--param KEY=VALUE` (JSON when valid, else a string)."""
    params: dict[str, Any] = {}
    if params_file is not None:
        document = read_document(params_file, "params file")
        if document is not None and not isinstance(document, Mapping):
            usage_error(f"params file {params_file!r} must hold a mapping of parameters")
        params.update({str(key): value for key, value in (document or {}).items()})
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            usage_error(f"--param expects KEY=VALUE, got {pair!r}")
        params[key] = parse_param_value(raw)
    return params or None


def parse_param_value(raw: str) -> Any:
    """`3` → 3, `true` → True, `[1,2]` → [1, 2], `"x"` → "x"; anything else stays a string."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        return raw


def _reject_constant(name: str) -> float:
    """NaN and Infinity are not JSON: keep such values as strings."""
    raise ValueError(name)


def _current_action(run: Mapping[str, Any]) -> str:
    actions = run.get("progress") or []
    if not run.get("current_action"):
        return "-"
    index = run.get("current_action_index") or 0
    return (
        f"{run['current_action']} ({index + 1}/{len(actions)})"
        if actions
        else run["current_action"]
    )


def _run_elapsed(run: Mapping[str, Any]) -> str:
    seconds = elapsed_seconds(run.get("started_at"), run.get("completed_at"))
    return format_duration(seconds) if seconds is not None else "-"


def register(app: typer.Typer) -> None:
    """Add the `runs` command group to `app`."""
    group = typer.Typer(
        name="runs", help="Start, inspect, watch and cancel runs.", no_args_is_help=True
    )
    group.command("list")(list_runs)
    group.command("get")(get_run)
    group.command("create")(create_run)
    group.command("cancel")(cancel_run)
    group.command("watch", help=f"{watch.__doc__}\n\n{EXIT_STATUS_HELP}")(watch)
    app.add_typer(group, name="runs")
