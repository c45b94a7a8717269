"""The arguments and options several commands take, declared once: a run, runs, a pipeline,
`--limit` and `--yes`.

Light to import (typer and the completion functions only), as every command module loads it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline_service.cli.completion import complete_pipeline, complete_run_id

__all__ = ["LimitOption", "PipelineArgument", "RunIdArgument", "RunIdsArgument", "YesOption"]

RunIdArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN_ID",
        help="The run's id, or a unique prefix of it.",
        autocompletion=complete_run_id,
    ),
]
RunIdsArgument = Annotated[
    list[str],
    typer.Argument(
        metavar="RUN_ID...",
        help="The runs' ids, or unique prefixes of them.",
        autocompletion=complete_run_id,
    ),
]
PipelineArgument = Annotated[
    str,
    typer.Argument(
        metavar="PIPELINE",
        help="The pipeline's name, id, or a unique id prefix.",
        autocompletion=complete_pipeline,
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Delete without asking first (needed where no terminal can answer)."
    ),
]
