"""`pipeline-service checkpoints RUN_ID`: the checkpoints a run saved, by action."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline_service.cli._common import (
    JsonOption,
    TokenOption,
    UrlOption,
    compact_json,
    format_time,
    open_client,
    print_json,
    print_table,
    shorten,
    stdout_console,
)


def checkpoints(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id.")],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List a run's checkpoints, by action index, then age (--json for whole results)."""
    with open_client(url, token) as client:
        saved = client.get_checkpoints(run_id)
    if as_json:
        print_json(saved)
        return
    rows = [
        [
            str(checkpoint["action_index"]),
            checkpoint["action_name"],
            checkpoint["status"],
            format_time(checkpoint["created_at"]),
            checkpoint.get("artifacts_path") or "-",
            shorten(compact_json(checkpoint.get("result"))),
        ]
        for checkpoint in saved
    ]
    console = stdout_console()
    if not rows:
        console.print(f"Run {run_id} has no checkpoints.", markup=False)
        return
    print_table(console, ["#", "ACTION", "STATUS", "CREATED", "ARTIFACTS", "RESULT"], rows)


def register(app: typer.Typer) -> None:
    """Add the `checkpoints` command to `app`."""
    app.command("checkpoints")(checkpoints)
