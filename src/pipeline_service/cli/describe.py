"""`pipeline-service runs describe`: a run and its events, as `kubectl describe` shows objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pipeline_service.cli._common import (
    compact_json,
    elapsed_seconds,
    format_duration,
    format_time,
    print_document,
    print_table,
    stdout_console,
)
from pipeline_service.cli.arguments import RunIdArgument
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.resolve import resolve_run
from pipeline_service.cli.runs import format_labels
from pipeline_service.vocabulary import MAX_LOG_PAGE_ITEMS

if TYPE_CHECKING:
    from pipeline_service.types import RunEvent

_LABEL_WIDTH = 15

# The events that hand a run to a worker.
_CLAIMS = ("claimed", "taken_over")


@client_command(output=True)
def describe_run(
    session: Session,
    run_ref: RunIdArgument,
) -> None:
    """Show a run in detail with its events: who claimed it, takeovers, each action's start and
    end with its duration, checkpoints, cancel, resumes."""
    from pipeline_service.errors import NotFoundError

    fmt = session.fmt
    with session.client() as client:
        run = resolve_run(client, run_ref)
        events = client.list_run_events(run["id"], limit=MAX_LOG_PAGE_ITEMS)
        try:
            pipeline = client.get_pipeline(run["pipeline_id"])["name"]
        except NotFoundError:
            pipeline = "?"
    if print_document({"run": run, "events": events}, fmt):
        return
    console = stdout_console()
    lines = describe_lines(run, pipeline, last_worker(events))
    console.print("\n".join(lines), markup=False)
    console.print("Actions:", markup=False)
    print_table(console, ["#", "ACTION", "STATUS", "DURATION", "DETAIL"], action_rows(run))
    console.print("Events:", markup=False)
    if not events:
        console.print("  <none>", markup=False)
        return
    print_table(console, ["TIME", "EVENT", "FROM", "MESSAGE"], event_rows(events))


def describe_lines(run: Mapping[str, Any], pipeline: str, worker: str | None) -> list[str]:
    """The run's fields, labels aligned."""
    fields = [
        ("Name", run["id"]),
        ("Pipeline", f"{pipeline} ({run['pipeline_id']})"),
        ("Status", run["status"]),
        ("Labels", format_labels(run.get("labels"))),
        ("Params", compact_json(run["params"])),
        ("Created", format_time(run["created_at"])),
        ("Started", format_time(run["started_at"])),
        ("Completed", format_time(run["completed_at"])),
    ]
    seconds = elapsed_seconds(run.get("started_at"), run.get("completed_at"))
    fields.append(("Elapsed", "-" if seconds is None else format_duration(seconds)))
    fields.append(("Worker", worker or "-"))
    if run.get("resumed_from"):
        fields.append(("Resumed from", run["resumed_from"]))
    if run.get("error"):
        fields.append(("Error", run["error"]))
    return [f"{label + ':':<{_LABEL_WIDTH}}{value}" for label, value in fields]


def action_rows(run: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for index, action in enumerate(run["progress"]):
        seconds = elapsed_seconds(action.get("started_at"), action.get("completed_at"))
        took = "-" if seconds is None or not action.get("completed_at") else f"{seconds:.3g}s"
        rows.append([str(index), action["name"], action["status"], took, action.get("error") or ""])
    return rows


def event_rows(events: Sequence[RunEvent]) -> list[list[str]]:
    return [
        [format_time(e["time"], millis=True), e["type"], e["worker_id"] or "-", e["message"]]
        for e in events
    ]


def last_worker(events: Sequence[RunEvent]) -> str | None:
    """The worker that claimed the run last (None if no worker ever did)."""
    claims = [e["worker_id"] for e in events if e["type"] in _CLAIMS]
    return claims[-1] if claims else None
