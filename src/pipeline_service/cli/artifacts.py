"""`pipeline-service runs artifacts RUN_ID`: the files a run keeps in the artifact store, and
downloading them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline_service.cli._common import (
    format_time,
    print_document,
    print_table,
    short_id,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.arguments import RunIdArgument
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.examples import examples
from pipeline_service.cli.resolve import resolve_run

EXAMPLES = examples(
    "pipeline-service runs artifacts 0b53d409",
    "pipeline-service runs artifacts 0b53d409 --download ./run-files",
    "pipeline-service runs artifacts 0b53d409 train/step-40/model.json -d .",
)


def format_size(size: int) -> str:
    """Bytes for people: 812 B, 4.2 KiB, 17.0 MiB, 1.3 GiB."""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


@client_command(output=True)
def artifacts(
    session: Session,
    run_ref: RunIdArgument,
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="[PATH]...", help="Only these artifacts (all by default)."),
    ] = None,
    download: Annotated[
        Path | None,
        typer.Option(
            "--download",
            "-d",
            metavar="DIR",
            help="Download them into DIR, each at its path there (checked by SHA-256).",
        ),
    ] = None,
) -> None:
    """List a run's artifacts (path, size, action, step, checkpoint), or download them."""
    fmt = session.fmt
    console = stdout_console()
    with session.client() as client:
        run_id = resolve_run(client, run_ref)["id"]
        found = client.list_artifacts(run_id)
        if paths:
            missing = sorted(set(paths) - {a["path"] for a in found})
            if missing:
                usage_error(f"run {run_id} has no artifact {', '.join(map(repr, missing))}")
            found = [a for a in found if a["path"] in paths]
        if download is not None:
            root = download.resolve()
            for artifact in found:
                target = client.download_artifact(run_id, artifact["path"], root / artifact["path"])
                console.print(f"{target} ({format_size(artifact['size'])})", markup=False)
            return
    if print_document(found, fmt):
        return
    if not found:
        console.print(f"Run {run_id} has no artifacts.", markup=False)
        return
    rows = [
        [
            artifact["path"],
            format_size(artifact["size"]),
            artifact["action_name"] or "-",
            "-" if artifact["step"] is None else str(artifact["step"]),
            short_id(artifact["checkpoint_id"], fmt) if artifact["checkpoint_id"] else "-",
            format_time(artifact["created_at"]),
        ]
        + ([artifact["sha256"]] if fmt == "wide" else [])
        for artifact in found
    ]
    headers = ["PATH", "SIZE", "ACTION", "STEP", "CHECKPOINT", "CREATED"]
    print_table(console, headers + (["SHA256"] if fmt == "wide" else []), rows)


def register(group: typer.Typer) -> None:
    """Add `artifacts` to the `runs` command group."""
    group.command("artifacts", epilog=EXAMPLES)(artifacts)
