"""`pipeline-service runs`: list, show, start, resume, cancel, delete and watch runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_service.cli import artifacts
from pipeline_service.cli._common import (
    STATUS_STYLES,
    check_choice,
    compact_json,
    confirm_deletion,
    dashboard_url,
    elapsed_seconds,
    format_amount,
    format_duration,
    format_metrics,
    format_time,
    print_document,
    print_fields,
    print_json,
    print_table,
    read_document,
    short_id,
    shown_action_status,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.arguments import (
    LimitOption,
    PipelineArgument,
    RunIdArgument,
    RunIdsArgument,
    YesOption,
)
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.completion import complete_pipeline, complete_run_id
from pipeline_service.cli.examples import examples
from pipeline_service.cli.lineage import lineage_columns, lineage_fields, refuse_finished_resume
from pipeline_service.cli.resolve import pipeline_names, resolve_pipeline, resolve_run
from pipeline_service.cli.watch import EXIT_STATUS_HELP, watch_run
from pipeline_service.vocabulary import MAX_PAGE_ITEMS, RUN_STATUSES

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient

TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=0.0, metavar="SECONDS", help="Stop watching after this long (exit 3)."
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="KEY=VALUE",
        help="A run parameter; VALUE is parsed as JSON when it is valid JSON (epochs=3 is a "
        "number), else taken as a string. Repeatable; overrides --params-file.",
    ),
]
ParamsFileOption = Annotated[
    str | None,
    typer.Option("--params-file", metavar="FILE", help="YAML or JSON mapping of parameters."),
]
LabelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        "-l",
        metavar="KEY=VALUE",
        help="A label of the run (team=nlp); repeatable.",
    ),
]
SelectorOption = Annotated[
    str | None,
    typer.Option(
        "--label",
        "-l",
        metavar="SELECTOR",
        help="Only runs whose labels match: team=nlp,stage!=dev, 'stage in (dev,test)', "
        "experimental, !experimental (requirements separated by commas, all must hold).",
    ),
]
WatchOption = Annotated[
    bool, typer.Option("--watch", "-w", help=f"Watch the run until it ends. {EXIT_STATUS_HELP}")
]
WATCH_JSON_HELP = "Print the run as JSON (with --watch: each progress event, one per line)."


@client_command(output=True)
def list_runs(
    session: Session,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help=f"Only runs in this state: {', '.join(RUN_STATUSES)}.",
        ),
    ] = None,
    pipeline_ref: Annotated[
        str | None,
        typer.Option(
            "--pipeline",
            metavar="PIPELINE",
            help="Only this pipeline's runs (name, id or id prefix).",
            autocompletion=complete_pipeline,
        ),
    ] = None,
    selector: SelectorOption = None,
    limit: LimitOption = 100,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            "-w",
            help="Then print one line per run created, changed or deleted (with -o json: one "
            "JSON line each), until Ctrl-C.",
        ),
    ] = False,
) -> None:
    """List runs, newest first (with --watch: then each change, as it happens)."""
    fmt = session.fmt
    check_choice("--status", status, RUN_STATUSES)
    if watch and fmt not in ("table", "wide", "json"):
        usage_error(f"--watch prints tables or JSON lines, not {fmt}")
    with session.client() as client:
        pipeline_id = resolve_pipeline(client, pipeline_ref)["id"] if pipeline_ref else None

        def print_list() -> list[str]:
            return _print_runs(client, fmt, status, pipeline_id, pipeline_ref, selector, limit)

        if not watch:
            print_list()
            return
        from pipeline_service.cli.runs_watch import watch_runs

        code = watch_runs(
            client,
            session.url,
            fmt,
            status=status,
            pipeline_id=pipeline_id,
            selector=selector,
            print_list=print_list,
        )
    raise typer.Exit(code)


def _print_runs(
    client: PipelineServiceClient,
    fmt: str,
    status: str | None,
    pipeline_id: str | None,
    pipeline_ref: str | None,
    selector: str | None,
    limit: int,
) -> list[str]:
    """The listing of `runs list`: a table, or the document in the output format; the ids of
    the runs shown."""
    pages = _runs(client, status, pipeline_id, selector, min(limit, MAX_PAGE_ITEMS))
    runs = list(islice(pages, limit))
    names = pipeline_names(client) if runs and fmt in ("table", "wide") else {}
    shown = [run["id"] for run in runs]
    if print_document(runs, fmt):
        return shown
    if not runs:
        stdout_console().print(_no_runs(status, pipeline_ref, selector), markup=False)
        return shown
    headers = ["ID", "PIPELINE", "STATUS", "ACTION", "ELAPSED", "CREATED"]
    if fmt == "wide":
        headers.insert(2, "PIPELINE ID")
        headers += ["RESUMED FROM", "RESUMED BY", "LABELS"]
    lineage = lineage_columns(runs)
    rows = []
    for run in runs:
        row = [
            short_id(run["id"], fmt),
            names.get(run["pipeline_id"], short_id(run["pipeline_id"])),
            run["status"],
            _current_action(run),
            _run_elapsed(run),
            format_time(run["created_at"]),
        ]
        if fmt == "wide":
            row.insert(2, run["pipeline_id"])
            row += [*lineage[run["id"]], format_labels(run.get("labels"))]
        rows.append(row)
    print_table(stdout_console(), headers, rows)
    return shown


def _no_runs(status: str | None, pipeline_ref: str | None, selector: str | None) -> str:
    """What an empty listing says: that nothing matched, and how to start a run."""
    if status is not None or pipeline_ref is not None or selector is not None:
        return "No runs match."
    return (
        "No runs yet. Start one with `pipeline-service runs create PIPELINE` (see "
        "`pipeline-service pipelines list`), or try `pipeline-service demo`."
    )


def _runs(
    client: PipelineServiceClient,
    status: str | None,
    pipeline_id: str | None,
    selector: str | None,
    page_size: int,
) -> Iterator[Any]:
    runs = client.iter_runs(status, label=selector, page_size=page_size)
    if pipeline_id is None:
        return runs
    if selector is None:
        runs = client.iter_pipeline_runs(pipeline_id, page_size=page_size)
    return (
        run
        for run in runs
        if run["pipeline_id"] == pipeline_id and (status is None or run["status"] == status)
    )


def format_labels(labels: Mapping[str, str] | None) -> str:
    """`team=nlp,stage=dev`, or `-` without labels."""
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items()) or "-"


def parse_labels(pairs: list[str]) -> dict[str, str]:
    """`-l team=nlp -l stage=dev` as `{team: nlp, stage: dev}` (the server checks the texts)."""
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            usage_error(f"--label expects KEY=VALUE, got {pair!r}")
        labels[key] = value
    return labels


def _ran_elsewhere(ran_on: Mapping[str, Any] | None) -> str:
    """Where an action ran, when not in a child process of its worker (a Ray task…)."""
    if not ran_on or ran_on.get("executor") == "process":
        return ""
    parts = [f"on {ran_on['executor']}"]
    if ran_on.get("node"):
        parts.append(f"node {str(ran_on['node'])[:12]}")
    if ran_on.get("task_id"):
        parts.append(f"task {str(ran_on['task_id'])[:16]}")
    return " ".join(parts)


@client_command(output=True)
def get_run(
    session: Session,
    run_ref: RunIdArgument,
) -> None:
    """Show a run: its state, parameters, result and the progress of each action."""
    from rich.syntax import Syntax

    fmt = session.fmt
    with session.client() as client:
        run = resolve_run(client, run_ref)
        pipeline_name = (
            _pipeline_name(client, run["pipeline_id"]) if fmt in ("table", "wide") else None
        )
        resumed_by = (
            client.list_runs(resumed_from=run["id"], limit=MAX_PAGE_ITEMS)
            if fmt in ("table", "wide")
            else []
        )
    if print_document(run, fmt):
        return
    console = stdout_console()
    fields = [
        ("id", run["id"]),
        ("pipeline", f"{pipeline_name} ({run['pipeline_id']})"),
        ("status", run["status"]),
        ("action", _current_action(run)),
        ("params", compact_json(run["params"])),
        ("labels", format_labels(run.get("labels"))),
        ("created", format_time(run["created_at"])),
        ("started", format_time(run["started_at"])),
        ("completed", format_time(run["completed_at"])),
        ("elapsed", _run_elapsed(run)),
    ]
    if run["work_dir"]:
        fields.append(("work dir", run["work_dir"]))
    if run["error"]:
        fields.append(("error", run["error"]))
    fields += lineage_fields(run, resumed_by, fmt)
    print_fields(console, fields)
    rows = [
        [
            str(index),
            action["name"],
            shown := shown_action_status(action["status"], run["status"]),
            format_amount(action.get("progress", 0), action.get("total"), shown),
            action.get("progress_step") or "",
            " ".join(
                part
                for part in (
                    action.get("message") or "",
                    format_metrics(action.get("metrics")),
                    f"error: {action['error']}" if action.get("error") else "",
                    _ran_elsewhere(action.get("ran_on")),
                )
                if part
            ),
        ]
        for index, action in enumerate(run["progress"])
    ]
    print_table(console, ["#", "ACTION", "STATUS", "PROGRESS", "STEP", "DETAIL"], rows)
    if run["result"] is not None:
        console.print("result:", markup=False)
        text = json.dumps(run["result"], indent=2, ensure_ascii=False, default=str)
        if console.is_terminal:
            console.print(Syntax(text, "json", background_color="default"))
        else:
            typer.echo(text)


def _pipeline_name(client: PipelineServiceClient, pipeline_id: str) -> str:
    from pipeline_service.errors import NotFoundError

    try:
        return client.get_pipeline(pipeline_id)["name"]
    except NotFoundError:
        return "?"


@client_command(json_help=WATCH_JSON_HELP)
def create_run(
    session: Session,
    pipeline_ref: PipelineArgument,
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    work_dir: Annotated[
        str | None, typer.Option("--work-dir", metavar="DIR", help="Working directory of the run.")
    ] = None,
    resume_from: Annotated[
        str | None,
        typer.Option(
            "--resume-from",
            metavar="RUN_ID",
            help="Continue an earlier run of the same pipeline after its latest completed action "
            "(its params are used where not given).",
            autocompletion=complete_run_id,
        ),
    ] = None,
    label: LabelOption = None,
    watch: WatchOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Start a run of a pipeline."""
    params = run_params(param or [], params_file)
    labels = parse_labels(label or [])
    with session.client() as client:
        pipeline = resolve_pipeline(client, pipeline_ref)
        earlier = resolve_run(client, resume_from)["id"] if resume_from else None
        run = client.create_run(
            pipeline["id"], params, work_dir, resume_from=earlier, labels=labels
        )
        _started(session, client, run, f"of pipeline {pipeline['name']}", watch, timeout)


@client_command(json_help=WATCH_JSON_HELP)
def resume_run(
    session: Session,
    run_ref: RunIdArgument,
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    from_action: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="ACTION",
            help="Run this action and those after it again, reusing the checkpoints before it "
            "(needed to resume a run whose actions all completed).",
        ),
    ] = None,
    watch: WatchOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Start a new run continuing RUN_ID after its latest completed action (an action that
    saved in-action checkpoints continues from its latest one).

    The parameters given win; the others keep RUN_ID's values.
    """
    from pipeline_service.errors import ConflictError

    params = run_params(param or [], params_file)
    with session.client() as client:
        earlier = resolve_run(client, run_ref)
        try:
            run = client.resume_run(earlier["id"], params, from_action=from_action)
        except ConflictError as exc:
            refuse_finished_resume(client, earlier, exc)
            raise
        _started(session, client, run, f"resuming run {earlier['id']}", watch, timeout)


def _started(
    session: Session,
    client: PipelineServiceClient,
    run: Any,
    what: str,
    watch: bool,
    timeout: float | None,
) -> None:
    as_json = session.as_json
    if as_json and not watch:
        print_json(run)
        return
    if not as_json:
        console = stdout_console()
        console.print(f"Created run {run['id']} {what}", markup=False)
        console.print(f"Dashboard: {dashboard_url(client.base_url, run['id'])}", markup=False)
    if watch:
        code = watch_run(client, run["id"], url=session.url, as_json=as_json, timeout=timeout)
        raise typer.Exit(code)


@client_command(output=True)
def cancel_run(
    session: Session,
    run_ref: RunIdArgument,
) -> None:
    """Cancel a pending or running run."""
    fmt = session.fmt
    with session.client() as client:
        run = client.cancel_run(resolve_run(client, run_ref)["id"])
    if print_document(run, fmt):
        return
    stdout_console().print(
        f"Run {run['id']} is {run['status']}",
        style=STATUS_STYLES.get(run["status"], ""),
        markup=False,
    )


@client_command()
def delete_run(
    session: Session,
    run_refs: RunIdsArgument,
    yes: YesOption = False,
) -> None:
    """Delete runs with their checkpoints, artifacts and logs (asks first for a pending or
    running one: its worker stops it).

    The worker executing a deleted run removes the work dir it made for it; a run that had
    ended keeps its work dir on the worker's machine (under <tmp>/pipeline-service/runs/).
    """
    with session.client() as client:
        found = {run["id"]: run for run in (resolve_run(client, ref) for ref in run_refs)}
        going = [run for run in found.values() if run["status"] in ("pending", "running")]
        if going and not yes:
            which = ", ".join(f"{run['id']} ({run['status']})" for run in going)
            confirm_deletion("runs still going", which)
        for run_id in found:
            client.delete_run(run_id)
            stdout_console().print(f"Deleted run {run_id}", markup=False)


@client_command(json_help="Print each progress event as one JSON object per line.")
def watch(
    session: Session,
    run_ref: RunIdArgument,
    timeout: TimeoutOption = None,
) -> None:
    """Watch a run live until it ends; Ctrl-C stops watching and leaves the run alone."""
    with session.client() as client:
        run_id = resolve_run(client, run_ref)["id"]
        code = watch_run(client, run_id, url=session.url, as_json=session.as_json, timeout=timeout)
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
        try:
            json.dumps(params[key], allow_nan=False)
        except ValueError:
            usage_error(
                f"--param {pair!r}: {raw} holds a number too large for JSON (at most about "
                f"1.8e308); quote it to send it as a string: -p '{key}=\"{raw}\"'"
            )
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


EXAMPLES = {
    "list": examples(
        "pipeline-service runs list --status failed",
        "pipeline-service runs list -l team=nlp,stage!=dev",
        "pipeline-service runs list --watch -l team=nlp",
        "pipeline-service runs list --pipeline download-convert-train -o wide",
    ),
    "get": examples(
        "pipeline-service runs get 0b53d409", "pipeline-service runs get 0b53d409 -o yaml"
    ),
    "create": examples(
        "pipeline-service runs create download-convert-train -p epochs=30 --watch",
        "pipeline-service runs create download-convert-train -l team=nlp -l stage=dev",
        "pipeline-service runs create 3cc620bc --params-file params.yaml --json",
    ),
    "resume": examples(
        "pipeline-service runs resume 61b7e469 --param epochs=5 --watch",
        "pipeline-service runs resume 61b7e469 --from train -p lr=0.01",
    ),
    "describe": examples(
        "pipeline-service runs describe 0b53d409", "pipeline-service runs describe 0b53d409 -o json"
    ),
    "compare": examples(
        "pipeline-service runs compare 0b53d409 61b7e469",
        "pipeline-service runs compare 0b53d409 61b7e469 c1d2e3f4 -o json",
    ),
    "cancel": examples("pipeline-service runs cancel 0b53d409"),
    "delete": examples(
        "pipeline-service runs delete 0b53d409 61b7e469",
        "pipeline-service runs delete 0b53d409 --yes",
    ),
    "watch": examples(
        "pipeline-service runs watch 0b53d409",
        "pipeline-service runs watch 0b53d409 --json --timeout 600",
    ),
}


def register(app: typer.Typer) -> None:
    """Add the `runs` command group to `app`."""
    from pipeline_service.cli import compare, describe  # they build on this module

    group = typer.Typer(
        name="runs",
        help="Start, resume, inspect, watch, cancel and delete runs.",
        no_args_is_help=True,
    )
    group.command("list", epilog=EXAMPLES["list"])(list_runs)
    group.command("get", epilog=EXAMPLES["get"])(get_run)
    group.command("describe", epilog=EXAMPLES["describe"])(describe.describe_run)
    group.command("compare", epilog=EXAMPLES["compare"])(compare.compare_runs)
    group.command("create", epilog=f"{EXIT_STATUS_HELP}\n\n{EXAMPLES['create']}")(create_run)
    group.command("resume", epilog=f"{EXIT_STATUS_HELP}\n\n{EXAMPLES['resume']}")(resume_run)
    group.command("cancel", epilog=EXAMPLES["cancel"])(cancel_run)
    group.command("delete", epilog=EXAMPLES["delete"])(delete_run)
    group.command("watch", epilog=f"{EXIT_STATUS_HELP}\n\n{EXAMPLES['watch']}")(watch)
    artifacts.register(group)
    app.add_typer(group, name="runs")
