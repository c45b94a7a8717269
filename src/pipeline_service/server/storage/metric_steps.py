"""Logged metrics: every point an action logs, one bounded series per (run, action, metric).

An action's `log_metrics` calls arrive in batches (POST /runs/{id}/metrics). Each value is a
point of its series (`metric_steps`, with the series' stride k and counts in
`metric_step_series`), numbered by `seq` in the order logged and stored with its `step`, its
value (null for a non-finite one) and the run's lease token as its `attempt`. A series keeps
every point up to its bound; past it, the same thinning as `metric_history` (`thinning`: the
first point, the newest, and an even spread between). A batch is thinned once, not point by
point: only the points that stay are inserted.
"""

from __future__ import annotations

import json
from typing import Any, cast

from pipeline_service.server.models import MetricEntry
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.fencing import check_fence, run_row
from pipeline_service.server.storage.plans import Plan, Query, Tx
from pipeline_service.server.storage.thinning import is_kept, kept_count
from pipeline_service.wire import LoggedMetric, StepPoint

JSON = dict[str, Any]


def append(
    tx: Tx, run_id: str, entries: list[MetricEntry], lease_token: int | None, max_steps: int
) -> Plan[tuple[JSON, str]]:
    """Store the batch's points (fenced by lease_token), thinning each series to max_steps."""
    # The run's row lock makes this the only writer of its series until commit.
    row = yield from run_row(run_id, "id, lease_token", "{lock}")
    check_fence(run_id, lease_token, row)
    series: dict[tuple[str, str], list[JSON]] = {}
    for entry in entries:
        for name, value in entry.values.items():
            series.setdefault((entry.action_name, name), []).append(
                {
                    "step": entry.step,
                    "value": value,
                    "attempt": row["lease_token"],
                    "t": entry.timestamp or tx.now,
                }
            )
    for (action_name, name), points in series.items():
        yield from _record(row["id"], action_name, name, points, max_steps)
    return {"run_id": row["id"], "accepted": len(entries)}, row["id"]


def _record(
    run_id: str, action_name: str, name: str, points: list[JSON], max_steps: int
) -> Plan[None]:
    key = {"run_id": run_id, "action_key": documents.key(action_name), "name": documents.key(name)}
    where = "run_id=:run_id AND action_key=:action_key AND name=:name"
    found = yield Query(f"SELECT stride, recorded FROM metric_step_series WHERE {where}", key)
    stride, recorded = (found[0]["stride"], found[0]["recorded"]) if found else (1, 0)
    if recorded and not is_kept(recorded, stride):
        # The previous newest point was kept only for being the newest.
        yield Query(
            f"DELETE FROM metric_steps WHERE {where} AND seq=:seq", {**key, "seq": recorded}
        )
    last = recorded + len(points)
    old_stride = stride
    while kept_count(last, stride) > max_steps:
        stride *= 2
    if stride != old_stride:
        yield Query(
            f"DELETE FROM metric_steps WHERE {where} AND (seq - 1) % :stride <> 0",
            {**key, "stride": stride},
        )
    kept = [
        {**key, "seq": seq, "point": documents.encode(point)}
        for seq, point in enumerate(points, start=recorded + 1)
        if seq == last or is_kept(seq, stride)
    ]
    yield Query(
        "INSERT INTO metric_steps (run_id, action_key, name, seq, point) "
        "VALUES (:run_id, :action_key, :name, :seq, :point)",
        many=kept,
    )
    yield Query(
        "INSERT INTO metric_step_series (run_id, action_key, name, stride, recorded) "
        "VALUES (:run_id, :action_key, :name, :stride, :recorded) "
        "ON CONFLICT (run_id, action_key, name) DO UPDATE SET stride=excluded.stride, "
        "recorded=excluded.recorded",
        {**key, "stride": stride, "recorded": last},
    )


def read(run_id: str) -> Plan[dict[str, list[LoggedMetric]]]:
    """The logged series of the run (by id, as stored), by action name, each by metric name."""
    series = yield Query(
        "SELECT action_key, name, stride, recorded FROM metric_step_series WHERE run_id=:id",
        {"id": run_id},
    )
    stored = yield Query(
        "SELECT action_key, name, seq, point FROM metric_steps WHERE run_id=:id "
        "ORDER BY action_key, name, seq",
        {"id": run_id},
    )
    points: dict[tuple[str, str], list[StepPoint]] = {}
    for p in stored:
        points.setdefault((p["action_key"], p["name"]), []).append(
            cast(StepPoint, {"seq": p["seq"], **json.loads(p["point"])})
        )
    logged: dict[str, list[LoggedMetric]] = {}
    for s in sorted(series, key=lambda s: json.loads(s["name"])):
        action, name = json.loads(s["action_key"]), json.loads(s["name"])
        logged.setdefault(action, []).append(
            {
                "name": name,
                "recorded": s["recorded"],
                "thinned": s["stride"] > 1,
                "points": points.get((s["action_key"], s["name"]), []),
            }
        )
    return logged
