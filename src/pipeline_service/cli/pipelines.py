"""`pipeline-service pipelines`: list, show, register and delete pipelines."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Annotated, Any

import typer

from pipeline_service.cli._common import (
    JsonOption,
    TokenOption,
    UrlOption,
    compact_json,
    format_time,
    open_client,
    print_fields,
    print_json,
    print_table,
    read_document,
    stdout_console,
    usage_error,
)

PIPELINE_KEYS = frozenset({"name", "description", "actions"})

LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]


def list_pipelines(
    limit: LimitOption = 100,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List pipelines, newest first."""
    with open_client(url, token) as client:
        pipelines = list(islice(client.iter_pipelines(page_size=min(limit, 1000)), limit))
    if as_json:
        print_json(pipelines)
        return
    rows = [
        [
            p["id"],
            p["name"],
            " → ".join(a["name"] for a in p["actions"]) or "-",
            format_time(p["created_at"]),
        ]
        for p in pipelines
    ]
    print_table(stdout_console(), ["ID", "NAME", "ACTIONS", "CREATED"], rows)


def get_pipeline(
    pipeline_id: Annotated[str, typer.Argument(help="The pipeline's id.")],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a pipeline and its actions."""
    with open_client(url, token) as client:
        pipeline = client.get_pipeline(pipeline_id)
    if as_json:
        print_json(pipeline)
        return
    console = stdout_console()
    print_fields(
        console,
        [
            ("id", pipeline["id"]),
            ("name", pipeline["name"]),
            ("description", pipeline.get("description") or "-"),
            ("created", format_time(pipeline["created_at"])),
            ("updated", format_time(pipeline["updated_at"])),
        ],
    )
    rows = [
        [str(index), action["name"], action["entrypoint"], action.get("description") or "-"]
        for index, action in enumerate(pipeline["actions"])
    ]
    print_table(console, ["#", "ACTION", "ENTRYPOINT", "DESCRIPTION"], rows)


def create_pipeline(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="YAML or JSON file with name, description and actions (`-` reads stdin).",
        ),
    ],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Register a pipeline from a YAML or JSON file."""
    definition = _pipeline_definition(read_document(file, "pipeline file"), file)
    with open_client(url, token) as client:
        pipeline = client.create_pipeline(
            definition["name"], definition["actions"], definition.get("description")
        )
    if as_json:
        print_json(pipeline)
        return
    count = len(pipeline["actions"])
    stdout_console().print(
        f"Created pipeline {pipeline['id']} ({pipeline['name']}, "
        f"{count} action{'s' if count != 1 else ''})",
        markup=False,
    )


def delete_pipeline(
    pipeline_id: Annotated[str, typer.Argument(help="The pipeline's id.")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Delete a pipeline, with its runs, checkpoints and logs."""
    with open_client(url, token) as client:
        client.delete_pipeline(pipeline_id)
    stdout_console().print(f"Deleted pipeline {pipeline_id}", markup=False)


def _pipeline_definition(document: object, file: str) -> dict[str, Any]:
    """Check the shape of a pipeline file before sending it; a bad one is a usage error."""
    where = f"pipeline file {file!r}"
    if not isinstance(document, Mapping):
        usage_error(f"{where} must hold a mapping with name and actions, not {_kind(document)}")
    unknown = sorted(str(key) for key in document if key not in PIPELINE_KEYS)
    if unknown:
        usage_error(
            f"{where} has unknown key(s) {', '.join(unknown)}; expected name, description, actions"
        )
    name = document.get("name")
    if not isinstance(name, str) or not name:
        usage_error(f"{where} needs a non-empty string `name`")
    description = document.get("description")
    if description is not None and not isinstance(description, str):
        usage_error(f"{where}: `description` must be a string")
    actions = document.get("actions")
    if not isinstance(actions, list):
        usage_error(f"{where} needs `actions`, a list of {{name, entrypoint}} mappings")
    for index, action in enumerate(actions):
        if not isinstance(action, Mapping):
            usage_error(f"{where}: actions[{index}] must be a mapping, not {_kind(action)}")
        for key in ("name", "entrypoint"):
            if not isinstance(action.get(key), str) or not action[key]:
                usage_error(f"{where}: actions[{index}] needs a non-empty string `{key}`")
    return {"name": name, "description": description, "actions": [dict(a) for a in actions]}


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {"list": "a list", "str": "a string", "int": "a number", "float": "a number"}.get(
        type(value).__name__, compact_json(value)
    )


def register(app: typer.Typer) -> None:
    """Add the `pipelines` command group to `app`."""
    group = typer.Typer(
        name="pipelines", help="Register and inspect pipelines.", no_args_is_help=True
    )
    group.command("list")(list_pipelines)
    group.command("get")(get_pipeline)
    group.command("create")(create_pipeline)
    group.command("delete")(delete_pipeline)
    app.add_typer(group, name="pipelines")
