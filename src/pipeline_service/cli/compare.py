"""`pipeline-service runs compare A B [C…]`: the params that differ, final metrics, durations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline_service.cli._common import (
    compact_json,
    elapsed_seconds,
    format_number,
    print_document,
    print_table,
    short_id,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.completion import complete_run_id
from pipeline_service.cli.resolve import resolve_run

if TYPE_CHECKING:
    from pipeline_service.types import Run, RunMetrics

MIN_RUNS, MAX_RUNS = 2, 6

RunRefsArgument = Annotated[
    list[str],
    typer.Argument(
        metavar="RUN_ID...",
        help=f"{MIN_RUNS} to {MAX_RUNS} runs: ids or unique prefixes.",
        autocompletion=complete_run_id,
    ),
]


@client_command(output=True)
def compare_runs(
    session: Session,
    run_refs: RunRefsArgument,
) -> None:
    """Compare runs side by side: the params that differ, each metric's final value (the last
    point an action logged, else the value it last set), and how long each run and action took."""
    fmt = session.fmt
    if not MIN_RUNS <= len(run_refs) <= MAX_RUNS:
        usage_error(f"compare takes {MIN_RUNS} to {MAX_RUNS} runs, not {len(run_refs)}")
    with session.client() as client:
        runs = [resolve_run(client, ref) for ref in run_refs]
        metrics = [client.get_metrics(run["id"]) for run in runs]
    if len({run["id"] for run in runs}) < len(runs):
        usage_error("each run can be compared only once")
    document = comparison(runs, metrics)
    if print_document(document, fmt):
        return
    headers = ["", *(short_id(run["id"], fmt) for run in runs)]
    rows: list[list[str]] = [
        ["status", *(run["status"] for run in runs)],
        ["duration", *(_seconds(s) for s in document["durations"]["run"])],
    ]
    rows += _section("params (differing)", document["params"], compact_json)
    rows += _section("metrics (final)", document["metrics"], _value)
    rows += _section("action durations", document["durations"]["actions"], _seconds)
    print_table(stdout_console(), headers, rows)


def comparison(runs: Sequence[Run], metrics: Sequence[RunMetrics]) -> dict[str, Any]:
    """What `compare -o json` prints: per run (in the order given) the params that differ
    between them, the final value of each metric (`action/metric`), and durations in seconds
    (null where not over or not started)."""
    params = [run["params"] or {} for run in runs]
    keys = sorted({key for p in params for key in p})
    differing = {
        key: [p.get(key) for p in params]
        for key in keys
        if any(p.get(key) != params[0].get(key) or key not in p for p in params)
    }
    finals = [final_metrics(run, m) for run, m in zip(runs, metrics, strict=True)]
    names = sorted({name for final in finals for name in final})
    actions = list(dict.fromkeys(a["name"] for run in runs for a in run["progress"]))
    return {
        "runs": [run["id"] for run in runs],
        "params": differing,
        "metrics": {name: [final.get(name) for final in finals] for name in names},
        "durations": {
            "run": [_duration(run) for run in runs],
            "actions": {
                name: [
                    next((_duration(a) for a in run["progress"] if a["name"] == name), None)
                    for run in runs
                ]
                for name in actions
            },
        },
    }


def final_metrics(run: Run, metrics: RunMetrics) -> dict[str, Any]:
    """`action/metric` → the last value logged (log_metrics), else the value last set
    (set_metrics, numbers only)."""
    final: dict[str, Any] = {}
    for action in run["progress"]:
        for name, value in (action.get("metrics") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                final[f"{action['name']}/{name}"] = value
    for series in metrics["actions"]:
        for logged in series.get("logged", []):
            if logged["points"]:
                final[f"{series['action_name']}/{logged['name']}"] = logged["points"][-1]["value"]
    return final


def _duration(item: Mapping[str, Any]) -> float | None:
    if not item.get("completed_at"):
        return None
    return elapsed_seconds(item.get("started_at"), item.get("completed_at"))


def _section(title: str, values: Mapping[str, list[Any]], show: Any) -> list[list[str]]:
    if not values:
        return []
    return [[f"{title}:", *([""] * len(next(iter(values.values()))))]] + [
        [f"  {name}", *(show(v) for v in row)] for name, row in values.items()
    ]


def _value(value: Any) -> str:
    return "-" if value is None else format_number(value)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}s"
