"""Names and short ids: what the commands accept wherever an id is taken.

A run is named by its id or a unique prefix of it (as git takes short commit ids); a pipeline
by its id, its name or a unique id prefix (a name close to one that exists gets "did you mean").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer

from pipeline_service.cli._common import (
    print_error,
)
from pipeline_service.cli.exit_codes import EXIT_ERROR, EXIT_USAGE
from pipeline_service.vocabulary import MAX_PAGE_ITEMS

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient
    from pipeline_service.types import Pipeline, Run

SHOWN_CANDIDATES = 5


def resolve_run(client: PipelineServiceClient, ref: str) -> Run:
    """The run `ref` names: its id or a unique prefix of it."""
    from pipeline_service.errors import NotFoundError

    try:
        return client.get_run(ref)
    except NotFoundError:
        pass
    matches = [
        run for run in client.iter_runs(page_size=MAX_PAGE_ITEMS) if run["id"].startswith(ref)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise _ambiguous("run id prefix", ref, (run["id"] for run in matches))
    raise _not_found(f"no run with id or id prefix {ref!r} (404)")


def resolve_pipeline(client: PipelineServiceClient, ref: str) -> Pipeline:
    """The pipeline `ref` names: its id, its name, or a unique prefix of its id."""
    from pipeline_service.errors import NotFoundError

    try:
        return client.get_pipeline(ref)
    except NotFoundError:
        pass
    pipelines = list(client.iter_pipelines(page_size=MAX_PAGE_ITEMS))
    named = [p for p in pipelines if p["name"] == ref]
    if len(named) == 1:
        return named[0]
    if named:
        raise _ambiguous("pipeline name", ref, (p["id"] for p in named))
    matches = [p for p in pipelines if p["id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise _ambiguous("pipeline id prefix", ref, (p["id"] for p in matches))
    close = difflib.get_close_matches(ref, sorted({p["name"] for p in pipelines}), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise _not_found(f"no pipeline with id, name or id prefix {ref!r} (404){hint}")


def find_pipeline_by_name(client: PipelineServiceClient, name: str) -> Pipeline | None:
    """The one pipeline called `name`, None if there is none (a usage error if several)."""
    named = [p for p in client.iter_pipelines(page_size=MAX_PAGE_ITEMS) if p["name"] == name]
    if len(named) > 1:
        raise _ambiguous("pipeline name", name, (p["id"] for p in named))
    return named[0] if named else None


def pipeline_names(client: PipelineServiceClient) -> dict[str, str]:
    """Pipeline id → name, for listings that show names."""
    return {p["id"]: p["name"] for p in client.iter_pipelines(page_size=MAX_PAGE_ITEMS)}


def _not_found(message: str) -> typer.Exit:
    print_error(message)
    return typer.Exit(EXIT_ERROR)


def _ambiguous(what: str, ref: str, ids: Iterable[Any]) -> typer.Exit:
    found = list(ids)
    shown = ", ".join(str(i) for i in found[:SHOWN_CANDIDATES])
    more = f" and {len(found) - SHOWN_CANDIDATES} more" if len(found) > SHOWN_CANDIDATES else ""
    print_error(
        f"{what} {ref!r} is ambiguous: {len(found)} match ({shown}{more}); give more of the id"
    )
    return typer.Exit(EXIT_USAGE)
