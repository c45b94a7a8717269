"""Metric history: which progress reports record a point, and how a series stays bounded.

A backend stores, per (run, action), the points and a stride k. Kept are the first point, the
newest, and every point whose seq is 1 + a multiple of k; k doubles whenever the series would
grow past MAX_POINTS, so a series of any length stays evenly spread over its whole action.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, cast

from pipeline_service.server.models import ProgressUpdate
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


def is_kept(seq: int, stride: int) -> bool:
    """Whether the point numbered seq stays once it is no longer the newest."""
    return (seq - 1) % stride == 0


def run_metrics(
    run: Run,
    recorded: dict[str, int],
    stored: Iterable[tuple[str, int, str]],
    max_points: int,
) -> RunMetrics:
    """The answer of GET /runs/{id}/metrics: one series per action, in pipeline order, from the
    stored (action name, seq, point as JSON text) rows ordered by action and seq."""
    points: dict[str, list[MetricPoint]] = {}
    for action_name, seq, point in stored:
        points.setdefault(action_name, []).append(
            cast(MetricPoint, {"seq": seq, **json.loads(point)})
        )
    return {
        "run_id": run["id"],
        "max_points": max_points,
        "actions": [
            {
                "action_name": entry["name"],
                "recorded": recorded.get(entry["name"], 0),
                "points": points.get(entry["name"], []),
            }
            for entry in run["progress"]
        ],
    }
