"""The `pipeline-service` command line.

`main` is the console script. It answers `--version` without loading anything else, and turns a
Ctrl-C while the commands are still being imported into one line and exit status 130.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from pipeline_service import __version__
from pipeline_service.cli.exit_codes import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from typer import Typer

    app: Typer

VERSION_FLAGS = ("--version", "-V")


def main() -> None:
    """Entry point of the `pipeline-service` console script."""
    if sys.argv[1:2] and sys.argv[1] in VERSION_FLAGS:
        print(f"pipeline-service {__version__}")
        return
    try:
        from pipeline_service.cli.root import app
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from pipeline_service.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
