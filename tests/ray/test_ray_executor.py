"""The Ray executor against a real Ray head (one per session, in a loopback-only network
namespace) and a real service: actions as Ray tasks, resources, cancellation, a dead worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_service.client import PipelineServiceClient
from tests.ray.conftest import RayWorkers
from tests.ray.ray_support import RAY_ENV
from tests.runner.test_worker import process_gone
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow
MODULE = "ray_test_actions"
REPO = Path(__file__).resolve().parents[2]


def _end(client: PipelineServiceClient, run_id: str, timeout: float = 120) -> Any:
    return wait_until(
        lambda: (
            (run := client.get_run(run_id))["status"] in ("completed", "failed", "cancelled")
            and run
        ),
        timeout,
        f"run {run_id} to end",
    )


def test_three_actions_run_as_ray_tasks_with_prints_and_progress_in_the_run(
    client: PipelineServiceClient, ray_workers: RayWorkers
) -> None:
    actions = [{"name": n, "entrypoint": f"{MODULE}.report"} for n in ("a", "b", "c")]
    pipeline = client.create_pipeline("ray three", actions)
    ray_workers.start(pipeline["id"])
    run = client.create_run(pipeline["id"])
    done = _end(client, run["id"])
    assert done["status"] == "completed", done["error"]
    tasks = [done["result"][f"{name}_task"] for name in ("a", "b", "c")]
    assert len(set(tasks)) == 3  # one Ray task each, and the action saw its id
    assert len({done["result"][f"{name}_pid"] for name in ("a", "b", "c")} - {os.getpid()}) >= 1
    for entry, task_id in zip(done["progress"], tasks, strict=True):
        assert entry["status"] == "completed"
        assert entry["progress"] == 3
        assert entry["total"] == 3
        assert entry["progress_step"] == "part"
        assert entry["ran_on"]["executor"] == "ray"
        assert entry["ran_on"]["task_id"] == task_id
        assert entry["ran_on"]["node"]
    messages = [(log["action_name"], log["message"]) for log in client.get_logs(run["id"])]
    for name, task_id in zip(("a", "b", "c"), tasks, strict=True):
        assert (name, f"print from {name} in Ray task {task_id}") in messages
        assert (name, f"logging from {name}") in messages
    assert not any("honoured by the Ray executor only" in m for _, m in messages)


def test_two_runs_needing_the_one_licence_never_overlap(
    client: PipelineServiceClient, ray_workers: RayWorkers
) -> None:
    action = {
        "name": "hold",
        "entrypoint": f"{MODULE}.hold_licence",
        "resources": {"cpus": 0.5, "custom": {"licence": 1}},
    }
    pipeline = client.create_pipeline("ray licence", [action])
    ray_workers.start(pipeline["id"])
    ray_workers.start(pipeline["id"])
    runs = [client.create_run(pipeline["id"], params={"hold": 2}) for _ in range(2)]
    ends = [_end(client, run["id"]) for run in runs]
    for end in ends:
        assert end["status"] == "completed", end["error"]
        assert end["progress"][0]["ran_on"]["executor"] == "ray"
    first, second = sorted((end["result"] for end in ends), key=lambda r: r["held_from"])
    # Both were handed to Ray while the first held the licence (each worker had claimed its
    # run and reported it running), yet Ray ran the second only once the first let go.
    started = sorted(end["progress"][0]["started_at"] for end in ends)
    assert all(ts for ts in started)
    assert second["held_from"] >= first["held_until"]


def test_cancel_stops_a_ray_task_that_ignores_cancellation(
    client: PipelineServiceClient, ray_workers: RayWorkers, tmp_path: Path
) -> None:
    pid_file, saw_cancel = tmp_path / "pid", tmp_path / "saw-cancel"
    action = {"name": "stubborn", "entrypoint": f"{MODULE}.ignore_cancellation"}
    pipeline = client.create_pipeline("ray stubborn", [action])
    ray_workers.start(pipeline["id"])
    params = {"pid_file": str(pid_file), "saw_cancel": str(saw_cancel)}
    run = client.create_run(pipeline["id"], params=params)
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 120, "the action"))
    assert pid != os.getpid()
    try:
        client.cancel_run(run["id"])
        wait_until(lambda: process_gone(pid), 60, "the Ray task's process to be killed")
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
    assert saw_cancel.read_text() == "yes"  # it was told (context.cancelled), then forced
    assert client.get_run(run["id"])["status"] == "cancelled"
    wait_until(
        lambda: any(
            "Run cancelled during action 'stubborn'" in log["message"]
            for log in client.get_logs(run["id"])
        ),
        30,
        "the worker's closing line",
    )
    assert ray_workers.processes[0].poll() is None  # the worker carries on


def test_a_sigkilled_worker_leaves_no_task_and_another_resumes_the_run(
    client: PipelineServiceClient, ray_workers: RayWorkers, tmp_path: Path
) -> None:
    attempts, ran = tmp_path / "attempts", tmp_path / "ran"
    actions = [
        {"name": "first", "entrypoint": f"{MODULE}.count"},
        {"name": "second", "entrypoint": f"{MODULE}.block_first_time"},
    ]
    pipeline = client.create_pipeline("ray takeover", actions)
    doomed = ray_workers.start(pipeline["id"])
    run = client.create_run(pipeline["id"], params={"attempts": str(attempts), "ran": str(ran)})
    pid = int(wait_until(lambda: attempts.exists() and attempts.read_text(), 120, "second"))
    try:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(30)
        wait_until(lambda: process_gone(pid), 60, "Ray to end the dead worker's task")
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
    ray_workers.start(pipeline["id"])
    done = _end(client, run["id"])
    assert done["status"] == "completed", done["error"]
    assert done["result"] == {"attempt": 2}
    assert ran.read_text().splitlines() == ["first"]  # resumed after its checkpoint
    messages = [log["message"] for log in client.get_logs(run["id"])]
    assert "Resuming from checkpoint: skipping 'first'" in messages


def test_code_shipped_with_runtime_env_and_an_import_error_says_what_was_shipped(
    client: PipelineServiceClient, ray_workers: RayWorkers, tmp_path: Path
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "shipped_actions.py").write_text(
        "import os\n\n"
        "def hello(context):\n"
        "    return {'pipeline_var': os.environ['PIPELINE_VAR'],\n"
        "            'worker_var': os.environ['WORKER_VAR']}\n"
    )
    actions = [
        {"name": "shipped", "entrypoint": "shipped_actions.hello"},
        {"name": "missing", "entrypoint": "not_shipped_anywhere.act"},
    ]
    runtime_env = {"working_dir": str(shipped), "env_vars": {"PIPELINE_VAR": "p"}}
    pipeline = client.create_pipeline("ray shipped", actions, runtime_env=runtime_env)
    worker_env = '{"env_vars": {"WORKER_VAR": "w", "PIPELINE_VAR": "overridden"}}'
    ray_workers.start(pipeline["id"], "--ray-runtime-env", worker_env)
    done = _end(client, client.create_run(pipeline["id"])["id"])
    assert done["status"] == "failed"
    assert done["progress"][0]["status"] == "completed", done["error"]
    [checkpoint] = client.get_checkpoints(done["id"])
    assert checkpoint["result"] == {"pipeline_var": "p", "worker_var": "w"}
    error = done["error"]
    assert "cannot import module 'not_shipped_anywhere'" in error
    assert f"shipped with the task: working_dir={str(shipped)!r}" in error
    assert "looked for it on Ray node" in error
    assert "sys.path" in error


def test_the_demo_runs_its_actions_as_ray_tasks(ray_address: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    command = [sys.executable, "-m", "pipeline_service", "demo", "--executor", "ray"]
    done = subprocess.run(
        [*command, "--ray-address", ray_address, "--db", str(tmp_path / "demo.db")],
        env={**env, **RAY_ENV, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "with 1 worker (actions as Ray tasks)" in done.stdout
    assert "train: completed 40/40 [epoch]" in done.stdout
    assert " completed in " in done.stdout


def test_the_ray_benchmark_measures_both_executors(ray_address: str, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "ray", "--json", str(out)],
        cwd=REPO,
        env={**os.environ, **RAY_ENV, "RAY_ADDRESS": ray_address},  # the session's head
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    figures = {f["name"]: f["value"] for f in json.loads(out.read_text())["figures"]}
    assert figures["per action, process executor"] > 0
    assert figures["per action, ray executor"] > 0
    assert figures["ray / process per-action time"] > 0


def test_a_worker_stopping_now_cancels_its_ray_task_and_hands_the_run_back(
    client: PipelineServiceClient, ray_workers: RayWorkers, tmp_path: Path
) -> None:
    pid_file, saw_cancel = tmp_path / "pid", tmp_path / "saw-cancel"
    action = {"name": "stubborn", "entrypoint": f"{MODULE}.ignore_cancellation"}
    pipeline = client.create_pipeline("ray shutdown", [action])
    worker = ray_workers.start(pipeline["id"])
    params = {"pid_file": str(pid_file), "saw_cancel": str(saw_cancel)}
    run = client.create_run(pipeline["id"], params=params)
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 120, "the action"))
    try:
        worker.send_signal(signal.SIGTERM)  # finish the action first…
        wait_until(lambda: "again to stop now" in ray_workers.log(0), 30, "the first signal")
        worker.send_signal(signal.SIGTERM)  # …no: stop now
        assert worker.wait(60) == 0, ray_workers.log(0)
        wait_until(lambda: process_gone(pid), 60, "the Ray task's process to be killed")
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
    assert saw_cancel.read_text() == "yes"
    claim = client.claim_run("probe", lease_seconds=5, pipeline_id=pipeline["id"])
    assert claim is not None  # handed back: the next worker takes it at once
    assert claim["run"]["id"] == run["id"]
