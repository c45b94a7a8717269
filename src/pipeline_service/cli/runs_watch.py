"""`runs list --watch`: the runs list, then one line per run created, changed, deleted or
that left the filters.

kubectl's `get --watch`: the runs stream is opened first (so that nothing between the listing
and the stream is missed), the table is printed, then each change as one aligned line (with
`-o json`, one JSON line per change; a line the run's previous one would repeat, as when only
its metrics changed, is left out) until Ctrl-C, which exits 130 quietly. A dropped connection
says "reconnecting…" once and resumes where it stopped; a `reset` (the server forgot changes
this watch had not seen) prints the table again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import typer

from pipeline_service.cli._common import (
    describe_error,
    elapsed_seconds,
    format_duration,
    lost_connection,
    print_error,
    reconnect_notice,
    short_id,
)
from pipeline_service.cli.exit_codes import EXIT_INTERRUPTED, EXIT_LOST
from pipeline_service.cli.resolve import pipeline_names

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient, RunChange

# The widths of a change line's columns (longer values push the line, as kubectl's do).
WIDTHS = (8, 10, 24, 10, 24)


def watch_runs(
    client: PipelineServiceClient,
    url: str,
    fmt: str,
    *,
    status: str | None,
    pipeline_id: str | None,
    selector: str | None,
    print_list: Callable[[], list[str]],
) -> int:
    """Print the list (print_list, which answers the ids it showed), then each change until
    Ctrl-C; the exit status. The stream is filtered like the list: a run shown that stops
    matching (status or labels) gets one `left` line, as it is now, then is forgotten; a
    `left` or `deleted` of a run never shown is not printed under those filters."""
    from pipeline_service.errors import PipelineServiceError

    names: dict[str, str] = {}
    shown: dict[str, str] = {}  # each run shown, its last line (a repeated line is left out)
    changes = client.stream_runs(status, pipeline_id=pipeline_id, label=selector)
    filtered = status is not None or selector is not None
    try:
        with reconnect_notice(url):
            next(iter(changes))  # `sync`: the stream stands at the present
            shown = dict.fromkeys(print_list(), "")
            for change in changes:
                run_id = change.run_id or ""
                if change.kind == "reset":
                    shown = dict.fromkeys(print_list(), "")
                    continue
                if change.kind == "sync":
                    continue
                if change.kind in ("left", "deleted") and run_id not in shown and filtered:
                    continue  # a run this watch never had (the server could not tell)
                if fmt == "json":
                    line = json.dumps(_json_line(change), separators=(",", ":"))
                    typer.echo(line)
                else:
                    line = _line(change, _names(client, names, change), fmt)
                    if shown.get(run_id) != line:
                        typer.echo(line)
                shown[run_id] = line
                if change.kind in ("left", "deleted"):
                    shown.pop(run_id, None)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except PipelineServiceError as error:
        print_error(lost_connection(error, url) or describe_error(error, url))
        return EXIT_LOST
    finally:
        close = getattr(changes, "close", None)
        if close is not None:
            close()
    return EXIT_LOST  # the stream never ends by itself


def _names(client: PipelineServiceClient, names: dict[str, str], change: RunChange) -> str:
    """The pipeline's name (pipelines are read again when one is not known yet)."""
    pipeline_id = change.pipeline_id or ""
    if pipeline_id not in names:
        names.update(pipeline_names(client))
        names.setdefault(pipeline_id, short_id(pipeline_id))
    return names[pipeline_id]


def _line(change: RunChange, pipeline: str, fmt: str) -> str:
    """`EVENT ID PIPELINE STATUS ACTION ELAPSED`, aligned like a table's rows."""
    cells = [change.kind, short_id(change.run_id or "", fmt), pipeline]
    run = change.run
    if run is not None:
        cells += [run["status"], _action(run), _elapsed(run)]
    padded = [cell.ljust(width) for cell, width in zip(cells, WIDTHS, strict=False)]
    return "  ".join(padded + cells[len(WIDTHS) :]).rstrip()


def _action(run: Mapping[str, Any]) -> str:
    """`train (2/3) 40%`, or `-` without a current action."""
    if not run.get("current_action"):
        return "-"
    text = f"{run['current_action']} ({run['current_action_index'] + 1}/{run['actions']})"
    fraction = run.get("action_progress")
    if isinstance(fraction, int | float) and 0 <= fraction <= 1:
        text += f" {fraction:.0%}"
    return text


def _elapsed(run: Mapping[str, Any]) -> str:
    seconds = elapsed_seconds(run.get("started_at"), run.get("completed_at"))
    return format_duration(seconds) if seconds is not None else "-"


def _json_line(change: RunChange) -> dict[str, Any]:
    if change.run is not None:
        return {"type": change.kind, "seq": change.seq, "run": change.run}
    return {
        "type": change.kind,
        "seq": change.seq,
        "run_id": change.run_id,
        "pipeline_id": change.pipeline_id,
    }
