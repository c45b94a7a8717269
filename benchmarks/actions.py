"""Actions the runner benchmarks execute (entrypoints `benchmarks.actions:<name>`)."""

from __future__ import annotations

import time
from typing import Any

from pipeline_service.runner import ActionContext


def noop(context: ActionContext) -> None:
    """Does nothing: what is left of a run's time is the runner's overhead."""


def hammer(context: ActionContext) -> dict[str, Any]:
    """Calls set_progress `params["count"]` times in a tight loop; returns the loop's time."""
    count = int(context.params["count"])
    started = time.perf_counter()
    for done in range(1, count + 1):
        context.set_progress(done, total=count)
    return {"loop_seconds": time.perf_counter() - started}


def log_hammer(context: ActionContext) -> dict[str, Any]:
    """Calls log_metrics `params["count"]` times in a tight loop; returns the loop's time."""
    count = int(context.params["count"])
    started = time.perf_counter()
    for step in range(count):
        context.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    return {"loop_seconds": time.perf_counter() - started}
