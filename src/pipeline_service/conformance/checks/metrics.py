"""Metric history (an extension): GET /runs/{id}/metrics, one ordered series per action."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Tier, check

LOSSES = (1.0, 0.5, 0.25)


@check("metrics.history", area="metrics", tier=Tier.EXTENSION)
def history(ctx: CheckContext) -> None:
    """Each report with numeric metrics records a point; series come in order, per action.

    An unknown run is 404. A fresh run has one empty series per action, in the pipeline's
    order. After three reports carrying `loss` (and a text metric, which is left out), one
    without metrics and one whose only metric is text, the action's series holds three points,
    `seq` 1, 2, 3 in order with the losses reported, times never going back, `progress` as the
    action stood; the other action's series stays empty.
    """
    ctx.expect_status(
        ctx.session.get(ctx.run_path(str(uuid.uuid4()), "/metrics")), 404, "an unknown run"
    )
    run = ctx.new_run("metrics", actions=("train", "evaluate"))
    path = ctx.run_path(run["id"], "/metrics")
    fresh = ctx.expect_status(ctx.session.get(path), 200, "the metrics of a fresh run")
    ctx.expect(
        _series_shape(fresh) == [("train", 0, 0), ("evaluate", 0, 0)],
        f"a fresh run's series are {_series_shape(fresh)}, not one empty series per action "
        "in the pipeline's order",
    )
    report = ctx.run_path(run["id"], "/progress")
    sent = []
    for step, loss in enumerate(LOSSES, start=1):
        progress = {"name": "train", "status": "running", "progress": step / 10}
        body = {"action_progress": {**progress, "metrics": {"loss": loss, "phase": "fit"}}}
        ctx.expect_status(ctx.session.post(report, body), 200, f"report {step} with metrics")
        sent.append(ctx.last())
    quiet = {"action_progress": {"name": "train", "progress": 0.5}}
    ctx.expect_status(ctx.session.post(report, quiet), 200, "a report without metrics")
    sent.append(ctx.last())
    text_only = {"action_progress": {"name": "train", "metrics": {"phase": "done"}}}
    ctx.expect_status(ctx.session.post(report, text_only), 200, "a report with a text metric")
    sent.append(ctx.last())
    metrics = ctx.expect_status(ctx.session.get(path), 200, "the metrics after the reports")
    read = ctx.last()
    ctx.expect(metrics.get("run_id") == run["id"], f"run_id is {metrics.get('run_id')!r}", read)
    ctx.expect(
        _series_shape(metrics) == [("train", 3, 3), ("evaluate", 0, 0)],
        f"series (action, recorded, points) are {_series_shape(metrics)}, not "
        "[('train', 3, 3), ('evaluate', 0, 0)]",
        *sent,
        read,
    )
    points: list[Any] = metrics["actions"][0]["points"]
    ctx.expect(
        [p.get("seq") for p in points] == [1, 2, 3],
        f"points are numbered {[p.get('seq') for p in points]}, not [1, 2, 3]",
        read,
    )
    ctx.expect(
        [p.get("values") for p in points] == [{"loss": loss} for loss in LOSSES],
        f"point values are {[p.get('values') for p in points]}, not the losses reported in "
        "order without the text metric",
        read,
    )
    ctx.expect(
        [p.get("progress") for p in points] == [0.1, 0.2, 0.3],
        f"points hold progress {[p.get('progress') for p in points]}, not where the action "
        "stood after each report (0.1, 0.2, 0.3)",
        read,
    )
    times = [_instant(p.get("t")) for p in points]
    instants = [t for t in times if t is not None]
    ctx.expect(
        len(instants) == len(points) and instants == sorted(instants),
        f"point times are not date-times that never go back: {[p.get('t') for p in points]}",
        read,
    )


def _instant(text: Any) -> datetime | None:
    """An RFC 3339 date-time (with its offset), else None."""
    try:
        instant = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return instant if instant.tzinfo is not None else None


def _series_shape(metrics: Any) -> list[tuple[Any, Any, int]]:
    """(action_name, recorded, number of points) of each series, in the document's order."""
    if not isinstance(metrics, dict) or not isinstance(metrics.get("actions"), list):
        return []
    return [
        (s.get("action_name"), s.get("recorded"), len(s.get("points") or []))
        for s in metrics["actions"]
        if isinstance(s, dict)
    ]
