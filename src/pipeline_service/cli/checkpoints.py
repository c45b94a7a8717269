"""`pipeline-service checkpoints RUN_ID`: the checkpoints a run saved, by action."""

from __future__ import annotations

import typer

from pipeline_service.cli._common import (
    compact_json,
    format_time,
    print_document,
    print_table,
    shorten,
    stdout_console,
)
from pipeline_service.cli.arguments import RunIdArgument
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.examples import examples
from pipeline_service.cli.resolve import resolve_run

EXAMPLES = examples(
    "pipeline-service checkpoints 0b53d409", "pipeline-service checkpoints 0b53d409 -o yaml"
)


@client_command(output=True)
def checkpoints(
    session: Session,
    run_ref: RunIdArgument,
) -> None:
    """List a run's checkpoints, by action index, then age: after each action (`completed`) and
    inside one (`running`, with its step and files); -o json or yaml for whole results."""
    fmt = session.fmt
    with session.client() as client:
        run_id = resolve_run(client, run_ref)["id"]
        saved = client.get_checkpoints(run_id)
    if print_document(saved, fmt):
        return
    rows = [
        [
            str(checkpoint["action_index"]),
            checkpoint["action_name"],
            checkpoint["status"],
            "-" if checkpoint.get("step") is None else str(checkpoint.get("step")),
            format_time(checkpoint["created_at"]),
            ", ".join(checkpoint.get("artifacts") or ()) or checkpoint.get("artifacts_path") or "-",
            compact_json(checkpoint.get("result"))
            if fmt == "wide"
            else shorten(compact_json(checkpoint.get("result")), 60),
        ]
        for checkpoint in saved
    ]
    console = stdout_console()
    if not rows:
        console.print(f"Run {run_id} has no checkpoints.", markup=False)
        return
    headers = ["#", "ACTION", "STATUS", "STEP", "CREATED", "ARTIFACTS", "RESULT"]
    print_table(console, headers, rows)


def register(app: typer.Typer) -> None:
    """Add the `checkpoints` command to `app`."""
    app.command("checkpoints", epilog=EXAMPLES)(checkpoints)
