"""Lineage on the command line: which run a run resumed, which runs resumed it, and the
refusal to resume a run that has nothing left to run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pipeline_service.cli._common import short_id, usage_error

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient
    from pipeline_service.errors import ConflictError

NOTHING_LEFT = "nothing left to run"


def lineage_fields(
    run: Mapping[str, Any], resumed_by: Sequence[Mapping[str, Any]], fmt: str
) -> list[tuple[str, str]]:
    """The `runs get` lines of a run's lineage (none when it has none): the run it resumed
    (and from which action), and the runs that resumed it, newest first."""
    fields: list[tuple[str, str]] = []
    earlier = run.get("resumed_from")
    if earlier:
        since = f" (again from action {run['from_action']!r})" if run.get("from_action") else ""
        fields.append(("resumed from", f"{earlier}{since}"))
    if resumed_by:
        fields.append(("resumed by", ", ".join(r["id"] for r in resumed_by)))
    return fields


def lineage_columns(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """`runs list -o wide`'s RESUMED FROM and RESUMED BY cells of each run (the latter among
    the runs listed), by run id."""
    by: dict[str, list[str]] = {}
    for run in runs:
        if run.get("resumed_from"):
            by.setdefault(run["resumed_from"], []).append(run["id"])
    return {
        run["id"]: [
            short_id(run["resumed_from"]) if run.get("resumed_from") else "-",
            ", ".join(short_id(other) for other in by.get(run["id"], [])) or "-",
        ]
        for run in runs
    }


def refuse_finished_resume(
    client: PipelineServiceClient, earlier: Mapping[str, Any], error: ConflictError
) -> None:
    """A resume the service refused because every action of `earlier` completed is bad input
    (exit 2), with the hint to name the action to run again; other conflicts are left alone."""
    if NOTHING_LEFT not in str(error.detail):
        return
    _refuse(client, earlier)


def _refuse(client: PipelineServiceClient, earlier: Mapping[str, Any]) -> NoReturn:
    actions = [a["name"] for a in client.get_pipeline(earlier["pipeline_id"])["actions"]]
    usage_error(
        f"run {earlier['id']} has nothing left to run: every action completed; run one again "
        f"with --from ACTION (one of {', '.join(actions)})"
    )
