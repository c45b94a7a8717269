"""`pipeline-service pipelines`: list, show, register, apply, validate and delete pipelines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_service.cli._common import (
    compact_json,
    confirm_deletion,
    format_time,
    print_document,
    print_fields,
    print_table,
    read_document,
    short_id,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.arguments import LimitOption, PipelineArgument, YesOption
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.examples import examples
from pipeline_service.cli.exit_codes import EXIT_ERROR
from pipeline_service.cli.resolve import find_pipeline_by_name, resolve_pipeline
from pipeline_service.vocabulary import MAX_PAGE_ITEMS

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient
    from pipeline_service.types import Pipeline

PIPELINE_KEYS = frozenset({"name", "description", "actions", "dedicated_workers", "runtime_env"})

FileArgument = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="YAML or JSON file with name, description and actions (`-` reads stdin).",
    ),
]


@client_command(output=True)
def list_pipelines(
    session: Session,
    limit: LimitOption = 100,
) -> None:
    """List pipelines, newest first."""
    with session.client() as client:
        pipelines = list(islice(client.iter_pipelines(page_size=min(limit, MAX_PAGE_ITEMS)), limit))
    if print_document(pipelines, session.fmt):
        return
    if not pipelines:
        stdout_console().print(
            "No pipelines yet. Register one with `pipeline-service pipelines apply FILE` "
            "(e.g. examples/pipeline.yaml).",
            markup=False,
        )
        return
    wide = session.fmt == "wide"
    headers = ["ID", "NAME", "ACTIONS", "CREATED"]
    if wide:
        headers += ["UPDATED", "DEDICATED", "DESCRIPTION"]
    rows = []
    for p in pipelines:
        row = [
            short_id(p["id"], session.fmt),
            p["name"],
            " → ".join(a["name"] for a in p["actions"]) or "-",
            format_time(p["created_at"]),
        ]
        if wide:
            dedicated = "yes" if p.get("dedicated_workers") else "no"
            row += [format_time(p["updated_at"]), dedicated, p.get("description") or "-"]
        rows.append(row)
    print_table(stdout_console(), headers, rows)


@client_command(output=True)
def get_pipeline(
    session: Session,
    pipeline_ref: PipelineArgument,
) -> None:
    """Show a pipeline and its actions."""
    with session.client() as client:
        pipeline = resolve_pipeline(client, pipeline_ref)
    if print_document(pipeline, session.fmt):
        return
    console = stdout_console()
    print_fields(
        console,
        [
            ("id", pipeline["id"]),
            ("name", pipeline["name"]),
            ("description", pipeline.get("description") or "-"),
            ("dedicated", "yes" if pipeline.get("dedicated_workers") else "no"),
            (
                "runtime env",
                compact_json(pipeline["runtime_env"]) if pipeline.get("runtime_env") else "-",
            ),
            ("created", format_time(pipeline["created_at"])),
            ("updated", format_time(pipeline["updated_at"])),
        ],
    )
    rows = [
        [
            str(index),
            action["name"],
            action["entrypoint"],
            compact_json(action["resources"]) if action.get("resources") else "-",
            action.get("description") or "-",
        ]
        for index, action in enumerate(pipeline["actions"])
    ]
    print_table(console, ["#", "ACTION", "ENTRYPOINT", "RESOURCES", "DESCRIPTION"], rows)


@client_command(output=True)
def create_pipeline(
    session: Session,
    file: FileArgument,
) -> None:
    """Register a pipeline from a YAML or JSON file (always a new one: see `apply`)."""
    definition = _pipeline_definition(read_document(file, "pipeline file"), file)
    with session.client() as client, _refused_locally(file):
        pipeline = _create(client, definition)
    if not print_document(pipeline, session.fmt):
        _say("Created", pipeline)


@client_command(output=True)
def apply_pipeline(
    session: Session,
    file: FileArgument,
    import_check: Annotated[
        bool,
        typer.Option(
            "--import-check/--no-import-check",
            help="Refuse the file when an action's entrypoint does not import here (as "
            "`validate` checks); --no-import-check when only the workers' machines can import it.",
        ),
    ] = True,
) -> None:
    """Create the pipeline of a file, or update the one of that name to match it.

    Every action's entrypoint must import here first (from the current directory, PYTHONPATH
    and the bundled examples), so that a typo fails now rather than after the earlier actions
    of a run.
    """
    from pipeline_service.types import NOT_GIVEN

    definition = _pipeline_definition(read_document(file, "pipeline file"), file)
    if import_check:
        problems = _import_problems(definition)
        if problems:
            name, error = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            usage_error(
                f"{file}: action {name!r} cannot be loaded{more}: {error} -- check the file with "
                "`pipeline-service pipelines validate`, or pass --no-import-check if only the "
                "workers can import it"
            )
    with session.client() as client, _refused_locally(file):
        existing = find_pipeline_by_name(client, definition["name"])
        if existing is None:
            pipeline = _create(client, definition)
            verb = "Created"
        elif _same(existing, definition):
            pipeline, verb = existing, "Unchanged"
        else:
            pipeline = client.update_pipeline(
                existing["id"],
                description=definition["description"],
                actions=definition["actions"],
                # not sent when false and unchanged: v1 core servers do not know the field
                dedicated_workers=(
                    definition["dedicated_workers"]
                    if definition["dedicated_workers"] != existing.get("dedicated_workers", False)
                    else NOT_GIVEN
                ),
                runtime_env=(
                    definition["runtime_env"]
                    if definition["runtime_env"] != existing.get("runtime_env")
                    else NOT_GIVEN
                ),
            )
            verb = "Updated"
    if not print_document(pipeline, session.fmt):
        _say(verb, pipeline)


def _create(client: PipelineServiceClient, definition: Mapping[str, Any]) -> Pipeline:
    """A new pipeline of a file's definition."""
    return client.create_pipeline(
        definition["name"],
        definition["actions"],
        definition["description"],
        dedicated_workers=definition["dedicated_workers"],
        runtime_env=definition["runtime_env"],
    )


@contextlib.contextmanager
def _refused_locally(file: str) -> Iterator[None]:
    """What the client refuses before sending (an unknown key of `resources` or `runtime_env`)
    is a usage error naming the file."""
    try:
        yield
    except (TypeError, ValueError) as error:
        usage_error(f"pipeline file {file!r}: {error}")


def _same(pipeline: Mapping[str, Any], definition: Mapping[str, Any]) -> bool:
    def shape(actions: Any) -> list[tuple[Any, Any, Any, Any]]:
        return [
            (a["name"], a["entrypoint"], a.get("description"), a.get("resources")) for a in actions
        ]

    return (
        pipeline.get("description") == definition["description"]
        and shape(pipeline["actions"]) == shape(definition["actions"])
        and pipeline.get("dedicated_workers", False) == definition["dedicated_workers"]
        and pipeline.get("runtime_env") == definition["runtime_env"]
    )


def _say(verb: str, pipeline: Mapping[str, Any]) -> None:
    count = len(pipeline["actions"])
    stdout_console().print(
        f"{verb} pipeline {pipeline['id']} ({pipeline['name']}, "
        f"{count} action{'s' if count != 1 else ''})",
        markup=False,
    )


def validate_pipeline(file: FileArgument) -> None:
    """Check a pipeline file here, without a server: its shape, and that every action's
    entrypoint imports (from the current directory, PYTHONPATH and the bundled examples)."""
    definition = _pipeline_definition(read_document(file, "pipeline file"), file)
    console = stdout_console()
    problems = dict(_import_problems(definition))
    for action in definition["actions"]:
        if action["name"] in problems:
            console.print(
                f"✗ {action['name']}: {problems[action['name']]}", style="red", markup=False
            )
        else:
            console.print(f"✓ {action['name']}: {action['entrypoint']}", markup=False)
    if problems:
        console.print(
            f"{file}: {len(problems)} of {len(definition['actions'])} actions cannot be loaded",
            markup=False,
        )
        raise typer.Exit(EXIT_ERROR)
    console.print(f"{file}: {definition['name']} is valid", markup=False)


def _import_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(action name, why) for each action whose entrypoint does not load here."""
    from pipeline_service.runner.actions import (
        EntrypointError,
        default_import_paths,
        load_action,
        use_import_paths,
    )

    use_import_paths(default_import_paths())
    problems = []
    for action in definition["actions"]:
        try:
            load_action(action["entrypoint"])
        except EntrypointError as error:
            problems.append((action["name"], str(error)))
    return problems


@client_command()
def delete_pipeline(
    session: Session,
    pipeline_ref: PipelineArgument,
    yes: YesOption = False,
) -> None:
    """Delete a pipeline, with its runs, checkpoints and logs (asks first when it has runs)."""
    with session.client() as client:
        pipeline = resolve_pipeline(client, pipeline_ref)
        runs = sum(1 for _ in client.iter_pipeline_runs(pipeline["id"], page_size=MAX_PAGE_ITEMS))
        if runs and not yes:
            named = f"{pipeline['name']} ({pipeline['id']})"
            confirm_deletion(f"pipeline {named} with its {runs} run(s)")
        client.delete_pipeline(pipeline["id"])
    stdout_console().print(f"Deleted pipeline {pipeline['id']}", markup=False)


def _pipeline_definition(document: object, file: str) -> dict[str, Any]:
    """Check the shape of a pipeline file before sending it; a bad one is a usage error."""
    where = f"pipeline file {file!r}"
    if not isinstance(document, Mapping):
        usage_error(f"{where} must hold a mapping with name and actions, not {_kind(document)}")
    unknown = sorted(str(key) for key in document if key not in PIPELINE_KEYS)
    if unknown:
        usage_error(
            f"{where} has unknown key(s) {', '.join(unknown)}; expected name, description, "
            "actions, dedicated_workers, runtime_env"
        )
    name = document.get("name")
    if not isinstance(name, str) or not name:
        usage_error(f"{where} needs a non-empty string `name`")
    description = document.get("description")
    if description is not None and not isinstance(description, str):
        usage_error(f"{where}: `description` must be a string")
    actions = document.get("actions")
    if not isinstance(actions, list) or not actions:
        usage_error(f"{where} needs `actions`, a list of {{name, entrypoint}} mappings")
    for index, action in enumerate(actions):
        if not isinstance(action, Mapping):
            usage_error(f"{where}: actions[{index}] must be a mapping, not {_kind(action)}")
        for key in ("name", "entrypoint"):
            if not isinstance(action.get(key), str) or not action[key]:
                usage_error(f"{where}: actions[{index}] needs a non-empty string `{key}`")
    dedicated = document.get("dedicated_workers", False)
    if not isinstance(dedicated, bool):
        usage_error(f"{where}: `dedicated_workers` must be true or false")
    runtime_env = document.get("runtime_env")
    if runtime_env is not None and not isinstance(runtime_env, Mapping):
        usage_error(f"{where}: `runtime_env` must be a mapping (working_dir, env_vars, py_modules)")
    return {
        "name": name,
        "description": description,
        "actions": [dict(a) for a in actions],
        "dedicated_workers": dedicated,
        "runtime_env": None if runtime_env is None else dict(runtime_env),
    }


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {"list": "a list", "str": "a string", "int": "a number", "float": "a number"}.get(
        type(value).__name__, compact_json(value)
    )


EXAMPLES = {
    "list": examples("pipeline-service pipelines list", "pipeline-service pipelines list -o yaml"),
    "get": examples(
        "pipeline-service pipelines get download-convert-train",
        "pipeline-service pipelines get 3cc620bc --json",
    ),
    "create": examples("pipeline-service pipelines create examples/pipeline.yaml"),
    "apply": examples("pipeline-service pipelines apply examples/pipeline.yaml"),
    "validate": examples("pipeline-service pipelines validate examples/pipeline.yaml"),
    "delete": examples("pipeline-service pipelines delete download-convert-train --yes"),
}


def register(app: typer.Typer) -> None:
    """Add the `pipelines` command group to `app`."""
    group = typer.Typer(
        name="pipelines",
        help="Register, update, check and inspect pipelines.",
        no_args_is_help=True,
    )
    for name, function in (
        ("list", list_pipelines),
        ("get", get_pipeline),
        ("create", create_pipeline),
        ("apply", apply_pipeline),
        ("validate", validate_pipeline),
        ("delete", delete_pipeline),
    ):
        group.command(name, epilog=EXAMPLES[name])(function)
    app.add_typer(group, name="pipelines")
