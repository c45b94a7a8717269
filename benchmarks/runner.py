"""5. Runner: a no-op pipeline end to end; an action calling set_progress in a loop.

No-op pipeline (10 actions; 3 in the tiny mode): a `Worker` (each action in a child process,
as in production) claims and executes the run; the time from claim to the run being completed,
per action, is the runner's overhead (target: 20 ms, issue 24). Beside it, the CPU those runs
took per action in every process involved (worker, server, fork server and action processes,
from /proc): steadier than wall time on a shared machine. One more run goes through a
counting proxy (not timed) for the requests the worker and its children make. The same
pipeline through a `Runner` executing actions in-process shows how much of that is the child
process.

set_progress: one action calls `context.set_progress` `count` times; it runs in-process over a
client whose httpx hooks count the requests, so the figure is exact. log_metrics: the same with
`context.log_metrics`, every call a point kept (checked: all of them arrive).
"""

from __future__ import annotations

import multiprocessing.forkserver
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import ROOT, Results, median
from pipeline_service import PipelineServiceClient
from pipeline_service.runner import ActionTask, RunControl, Runner, Worker
from pipeline_service.runner.actions import ActionOutcome, run_action
from tests.runner.fault_proxy import FaultProxy

SECTION = "5 runner"
NOOP_ACTION_TARGET_MS = 20.0


def _counting_client(url: str) -> tuple[PipelineServiceClient, Counter[str]]:
    counts: Counter[str] = Counter()

    def count(request: httpx.Request) -> None:
        counts["all"] += 1
        if request.method == "POST" and request.url.path.endswith("/progress"):
            counts["report_progress"] += 1
        if request.method == "POST" and request.url.path.endswith("/metrics"):
            counts["append_metrics"] += 1

    http = httpx.Client(base_url=url, timeout=30, event_hooks={"request": [count]})
    return PipelineServiceClient(url, http_client=http), counts


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of process `pid` and of its children it has waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _cpu_of(pids: list[int]) -> float:
    return sum(_cpu_seconds(pid) for pid in pids)


def _fork_server_pid() -> int | None:
    """The fork server's pid (action processes are its children), once started; None else."""
    pid: int | None = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    return pid


def _in_process_runner(client: PipelineServiceClient, work_root: Path) -> Runner:
    def execute(task: ActionTask, control: RunControl) -> ActionOutcome:
        return run_action(task, client, lambda: control.must_abort)

    return Runner(client, execute, work_root=work_root, import_paths=[str(ROOT)])


def _run_in_process(
    client: PipelineServiceClient, runner: Runner, pipeline_id: str, params: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    run_id = client.create_run(pipeline_id, params=params)["id"]
    started = time.perf_counter()
    claim = client.claim_run("bench-in-process", lease_seconds=600, pipeline_id=pipeline_id)
    if claim is None or claim["run"]["id"] != run_id:
        raise RuntimeError("could not claim the benchmark's run")
    end = runner.run(claim["run"], RunControl(claim.get("lease_token")))
    client.release_lease(run_id, "bench-in-process")
    elapsed = time.perf_counter() - started
    run = client.get_run(run_id)
    if end.value != "completed" or run["status"] != "completed":
        raise RuntimeError(f"the benchmark's run ended {end.value}: {run['error']}")
    return elapsed, run


def noop_pipeline(
    results: Results, url: str, *, actions_count: int, repeats: int, server_pid: int | None = None
) -> None:
    print(f"[{SECTION}] {actions_count}-action no-op pipeline × {repeats}", flush=True)
    actions = [
        {"name": f"noop{i}", "entrypoint": "benchmarks.actions:noop"} for i in range(actions_count)
    ]
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-work-") as work:
        client, counts = _counting_client(url)
        with client:
            pipeline_id = client.create_pipeline("bench-noop", actions)["id"]
            worker = Worker(
                url,
                pipeline_id=pipeline_id,
                work_root=Path(work),
                import_paths=[str(ROOT)],
                poll_interval=0.05,
            )
            proxy = FaultProxy(url)  # counts what passes by; injects nothing
            try:
                with Worker(
                    proxy.url,
                    pipeline_id=pipeline_id,
                    work_root=Path(work),
                    import_paths=[str(ROOT)],
                    poll_interval=0.05,
                    renew_interval=60,  # renewals go by time, not by action: none counted
                ) as counted:
                    client.create_run(pipeline_id)
                    if not counted.run_once():
                        raise RuntimeError("the worker found no run to claim")
                worker_requests = sum(proxy.requests.values())
            finally:
                proxy.close()
            with worker:
                times = []
                cpu = 0.0
                # The first run also starts the fork server: not timed, unless it is the only one.
                warm_up = 1 if repeats > 1 else 0
                for attempt in range(repeats + warm_up):
                    run_id = client.create_run(pipeline_id)["id"]
                    fork_server = _fork_server_pid()
                    pids = [os.getpid(), *filter(None, [server_pid, fork_server])]
                    cpu_before = _cpu_of(pids)
                    started = time.perf_counter()
                    if not worker.run_once():
                        raise RuntimeError("the worker found no run to claim")
                    elapsed = time.perf_counter() - started
                    run_cpu = _cpu_of(pids) - cpu_before
                    status = client.get_run(run_id)["status"]
                    if status != "completed":
                        raise RuntimeError(f"the no-op run ended {status}")
                    if attempt >= warm_up:
                        times.append(elapsed)
                        cpu += run_cpu
            results.add(
                SECTION,
                f"{actions_count}-action no-op run, worker (child processes)",
                median(times) * 1000,
                "ms",
            )
            results.add(
                SECTION,
                "no-op action in a worker, ms per action",
                median(times) / actions_count * 1000,
                "ms",
                at_most=NOOP_ACTION_TARGET_MS,
            )
            if server_pid is not None:
                results.add(
                    SECTION,
                    "no-op action in a worker: CPU per action (all processes)",
                    cpu / len(times) / actions_count * 1000,
                    "ms",
                )
            results.add(
                SECTION,
                f"requests per {actions_count}-action run, worker (incl. claim, release)",
                worker_requests,
                "req",
            )
            runner = _in_process_runner(client, Path(work))
            in_process = []
            for _ in range(repeats):
                counts.clear()
                elapsed, _ = _run_in_process(client, runner, pipeline_id, {})
                in_process.append(elapsed)
            requests = counts["all"]
            results.add(
                SECTION,
                f"{actions_count}-action no-op run, in-process runner",
                median(in_process) * 1000,
                "ms",
            )
            results.add(
                SECTION,
                "per action, in-process runner",
                median(in_process) / actions_count * 1000,
                "ms",
            )
            results.add(
                SECTION, "requests per no-op run (in-process, incl. claim)", requests, "req"
            )


def set_progress_loop(results: Results, url: str, *, count: int) -> None:
    print(f"[{SECTION}] set_progress × {count:,}", flush=True)
    actions = [{"name": "hammer", "entrypoint": "benchmarks.actions:hammer"}]
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-work-") as work:
        client, counts = _counting_client(url)
        with client:
            pipeline_id = client.create_pipeline("bench-hammer", actions)["id"]
            runner = _in_process_runner(client, Path(work))
            counts.clear()
            elapsed, run = _run_in_process(client, runner, pipeline_id, {"count": count})
            loop_seconds = run["result"]["loop_seconds"]
            final = run["progress"][0]
            if final["progress"] != count or final["total"] != count:
                raise RuntimeError(f"the last progress value did not arrive: {final}")
            label = f"set_progress × {count:,}"
            results.add(SECTION, f"{label}: action time", loop_seconds, "s")
            results.add(SECTION, f"{label}: µs per call", loop_seconds / count * 1e6, "µs")
            results.add(SECTION, f"{label}: whole run", elapsed, "s")
            results.add(
                SECTION, f"{label}: report_progress requests sent", counts["report_progress"], "req"
            )
            results.add(SECTION, f"{label}: all requests of the run", counts["all"], "req")


def log_metrics_loop(results: Results, url: str, *, count: int) -> None:
    print(f"[{SECTION}] log_metrics × {count:,}", flush=True)
    actions = [{"name": "logger", "entrypoint": "benchmarks.actions:log_hammer"}]
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-work-") as work:
        client, counts = _counting_client(url)
        with client:
            pipeline_id = client.create_pipeline("bench-log-metrics", actions)["id"]
            runner = _in_process_runner(client, Path(work))
            counts.clear()
            elapsed, run = _run_in_process(client, runner, pipeline_id, {"count": count})
            loop_seconds = run["result"]["loop_seconds"]
            (loss,) = client.get_metrics(run["id"])["actions"][0]["logged"]
            if loss["recorded"] != count:
                raise RuntimeError(f"{loss['recorded']} of {count} logged points arrived")
            label = f"log_metrics × {count:,}"
            results.add(SECTION, f"{label}: action time", loop_seconds, "s")
            results.add(SECTION, f"{label}: µs per call", loop_seconds / count * 1e6, "µs")
            results.add(SECTION, f"{label}: whole run (every point stored)", elapsed, "s")
            results.add(
                SECTION, f"{label}: append_metrics requests sent", counts["append_metrics"], "req"
            )
