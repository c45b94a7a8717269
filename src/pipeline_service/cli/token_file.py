"""`--token-file`: the bearer token read from a file, so that it does not show in `ps`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline_service.cli._common import usage_error

TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        metavar="FILE",
        dir_okay=False,
        help="Read the bearer token from FILE (its first line). Unlike --token, the token is not "
        "shown to other users of the machine in `ps`.",
    ),
]


def token_from(token: str | None, token_file: Path | None) -> str | None:
    """The token given by `--token` (or its environment variable) or `--token-file`."""
    if token_file is None:
        return token or None
    if token:
        usage_error("give the token with --token or with --token-file, not both")
    try:
        lines = token_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"cannot read the token file {token_file}: {exc}")
    read = lines[0].strip() if lines else ""
    if not read:
        usage_error(f"the token file {token_file} is empty")
    return read
