"""7. Ray executor: the per-action overhead of a Ray task against a child process.

The same no-op pipeline (10 actions; 3 in the tiny mode) is claimed and executed by a `Worker`
with each executor in turn, side by side in one run: `process` (a child process from the fork
server per action) and `ray` (a Ray task per action, on a local Ray this benchmark starts, or on
the cluster `RAY_ADDRESS` names; connecting is not timed). The first run of each warms up (fork
server, Ray's worker processes) and is not timed unless it is the only one. Without Ray
installed the section says so and skips.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks._harness import ROOT, Results, median
from pipeline_service import PipelineServiceClient
from pipeline_service.runner import Worker

SECTION = "8 ray"


def _per_action(url: str, executor: str, *, actions_count: int, repeats: int) -> float:
    actions = [
        {"name": f"noop{i}", "entrypoint": "benchmarks.actions:noop"} for i in range(actions_count)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="pipeline-bench-work-") as work,
        PipelineServiceClient(url) as client,
    ):
        pipeline_id = client.create_pipeline(f"bench-{executor}", actions)["id"]
        worker = Worker(
            url,
            pipeline_id=pipeline_id,
            work_root=Path(work),
            import_paths=[str(ROOT)],
            poll_interval=0.05,
            executor=executor,
        )
        with worker:
            times = []
            warm_up = 1 if repeats > 1 else 0
            for attempt in range(repeats + warm_up):
                run_id = client.create_run(pipeline_id)["id"]
                started = time.perf_counter()
                if not worker.run_once():
                    raise RuntimeError("the worker found no run to claim")
                elapsed = time.perf_counter() - started
                run = client.get_run(run_id)
                if run["status"] != "completed":
                    raise RuntimeError(f"the no-op run on {executor} ended {run['status']}")
                if attempt >= warm_up:
                    times.append(elapsed)
        return median(times) / actions_count


def run(results: Results, url: str, *, actions_count: int, repeats: int) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print(f"[{SECTION}] skipped: Ray is not installed (pip install -e '.[ray]')", flush=True)
        return
    print(f"[{SECTION}] {actions_count}-action no-op pipeline × {repeats}, per executor")
    process = _per_action(url, "process", actions_count=actions_count, repeats=repeats)
    on_ray = _per_action(url, "ray", actions_count=actions_count, repeats=repeats)
    results.add(SECTION, "per action, process executor", process * 1000, "ms")
    results.add(SECTION, "per action, ray executor", on_ray * 1000, "ms")
    results.add(SECTION, "ray / process per-action time", on_ray / process, "x")
