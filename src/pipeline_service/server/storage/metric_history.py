"""Metric history: which progress reports record a point, and how a series stays bounded.

Storage keeps, per (run, action), the points (`metric_points`) and the series' stride k and
counts (`metric_series`). Kept are the first point, the newest, and every point whose seq is
1 + a multiple of k; k doubles whenever the series would grow past the bound (MAX_POINTS by
default), so a series of any length stays evenly spread over its whole action (`thinning`).
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

from pipeline_service.server.models import ProgressUpdate
from pipeline_service.server.storage import documents, metric_steps
from pipeline_service.server.storage.fencing import run_row
from pipeline_service.server.storage.plans import Plan, Query, first
from pipeline_service.server.storage.thinning import is_kept, kept_count
from pipeline_service.wire import MetricPoint, Run, RunMetrics

JSON = dict[str, Any]

MAX_POINTS = 500


def numeric_values(metrics: JSON) -> dict[str, int | float]:
    """The metrics that are finite numbers (booleans are not numbers here)."""
    return {
        name: value
        for name, value in metrics.items()
        if not isinstance(value, bool)
        and (isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)))
    }


def reported_point(run: Run, body: ProgressUpdate, now: str) -> tuple[str, JSON] | None:
    """(action name, point without seq) for a report carrying numeric metrics, else None.

    `run` is the run after the report was applied, so the point holds where the action is.
    """
    if "action_progress" not in body.model_fields_set:
        return None
    update = body.action_progress
    if "metrics" not in update.model_fields_set:
        return None
    values = numeric_values(update.metrics)
    if not values:
        return None
    entry = next(e for e in run["progress"] if e["name"] == update.name)
    point = {
        "t": now,
        "progress": entry["progress"],
        "total": entry["total"],
        "progress_step": entry["progress_step"],
        "values": values,
    }
    return update.name, point


def record(run_id: str, action_name: str, point: JSON, max_points: int) -> Plan[None]:
    """Add point (numbered next) to the action's series, thinning it to max_points. The run's
    row is locked by the report: one writer per series at a time."""
    key = {"run_id": run_id, "action_key": documents.key(action_name)}
    series = first(
        (
            yield Query(
                "SELECT stride, recorded FROM metric_series "
                "WHERE run_id=:run_id AND action_key=:action_key",
                key,
            )
        )
    )
    stride, recorded = (series["stride"], series["recorded"]) if series else (1, 0)
    if recorded and not is_kept(recorded, stride):
        # The previous newest point was kept only for being the newest.
        yield Query(
            "DELETE FROM metric_points WHERE run_id=:run_id AND action_key=:action_key "
            "AND seq=:seq",
            {**key, "seq": recorded},
        )
    recorded += 1
    yield Query(
        "INSERT INTO metric_points (run_id, action_key, seq, point) "
        "VALUES (:run_id, :action_key, :seq, :point)",
        {**key, "seq": recorded, "point": documents.encode(point)},
    )
    if kept_count(recorded, stride) > max_points:
        while kept_count(recorded, stride) > max_points:
            stride *= 2
        yield Query(
            "DELETE FROM metric_points WHERE run_id=:run_id AND action_key=:action_key "
            "AND seq<:seq AND (seq - 1) % :stride <> 0",
            {**key, "seq": recorded, "stride": stride},
        )
    yield Query(
        "INSERT INTO metric_series (run_id, action_key, stride, recorded, kept) "
        "VALUES (:run_id, :action_key, :stride, :recorded, :kept) "
        "ON CONFLICT (run_id, action_key) DO UPDATE SET stride=excluded.stride, "
        "recorded=excluded.recorded, kept=excluded.kept",
        {**key, "stride": stride, "recorded": recorded, "kept": kept_count(recorded, stride)},
    )


def read(run_id: str, max_points: int, max_steps: int) -> Plan[RunMetrics]:
    """The answer of GET /runs/{id}/metrics: one series per action, in the run's order, each
    with the metrics the action logged (metric_steps)."""
    row = yield from run_row(run_id, "id, doc")
    run = documents.run_document(row["doc"])
    series = yield Query(
        "SELECT action_key, recorded FROM metric_series WHERE run_id=:id", {"id": row["id"]}
    )
    recorded = {json.loads(s["action_key"]): s["recorded"] for s in series}
    stored = yield Query(
        "SELECT action_key, seq, point FROM metric_points WHERE run_id=:id "
        "ORDER BY action_key, seq",
        {"id": row["id"]},
    )
    points: dict[str, list[MetricPoint]] = {}
    for p in stored:
        points.setdefault(json.loads(p["action_key"]), []).append(
            cast(MetricPoint, {"seq": p["seq"], **json.loads(p["point"])})
        )
    logged = yield from metric_steps.read(row["id"])
    return {
        "run_id": run["id"],
        "max_points": max_points,
        "max_steps": max_steps,
        "actions": [
            {
                "action_name": entry["name"],
                "recorded": recorded.get(entry["name"], 0),
                "points": points.get(entry["name"], []),
                "logged": logged.get(entry["name"], []),
            }
            for entry in run["progress"]
        ],
    }
