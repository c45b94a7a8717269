"""Workers executing runs against a live server: resume, crashes, cancellation, exclusivity."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from tests.support.processes import subprocess_env, wait_until

from .helpers import (
    LEASE_SECONDS,
    PartitionProxy,
    Workers,
    markers,
    worker_command,
)

STEP = "runner_test_actions.step"
TERMINAL = ("completed", "failed", "cancelled")


def steps(*names: str, entrypoint: str = STEP) -> list[dict[str, Any]]:
    return [{"name": name, "entrypoint": entrypoint} for name in names]


def wait_for_end(client: PipelineServiceClient, run_id: str, timeout: float = 30) -> Any:
    return wait_until(
        lambda: (run := client.get_run(run_id))["status"] in TERMINAL and run,
        timeout,
        f"run {run_id} to end",
    )


def test_resumed_with_new_params_completes_where_the_old_run_failed(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("resume-params", steps("a", "b", "c"))
    params = {"marker": str(marker), "fail_at": "b", "fix_path": str(tmp_path / "never")}
    workers.start()
    first = client.create_run(pipeline["id"], params=params)
    assert wait_for_end(client, first["id"])["status"] == "failed"
    second = client.resume_run(first["id"], params={"fail_at": "nowhere"})
    done = wait_for_end(client, second["id"])
    assert done["status"] == "completed", done["error"]
    assert done["params"] == {**params, "fail_at": "nowhere"}
    assert [a["status"] for a in done["progress"]] == ["skipped", "completed", "completed"]
    assert markers(marker)[-4:] == [
        f"start {second['id']} b",
        f"done {second['id']} b",
        f"start {second['id']} c",
        f"done {second['id']} c",
    ]


def test_failed_run_resumed_after_the_fix_skips_completed_actions(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker, fix = tmp_path / "marker", tmp_path / "input.csv"
    pipeline = client.create_pipeline("resume", steps("a", "b", "c"))
    params = {"marker": str(marker), "fail_at": "b", "fix_path": str(fix)}
    workers.start()

    first = client.create_run(pipeline["id"], params=params)
    failed = wait_for_end(client, first["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == f"RuntimeError: input missing: {fix}"
    assert [a["status"] for a in failed["progress"]] == ["completed", "failed", "pending"]
    assert failed["progress"][1]["error"] == failed["error"]
    errors = client.get_logs(first["id"], level="error")
    assert len(errors) == 1
    assert errors[0]["action_name"] == "b"
    assert "Traceback (most recent call last)" in errors[0]["message"]
    assert "raise RuntimeError" in errors[0]["message"]
    [checkpoint] = client.get_checkpoints(first["id"])
    assert checkpoint["action_name"] == "a"
    assert checkpoint["result"] == {"order": ["a"]}

    fix.write_text("fixed")
    second = client.create_run(pipeline["id"], resume_from=first["id"])
    done = wait_for_end(client, second["id"])
    assert done["status"] == "completed", done["error"]
    assert done["result"] == {"order": ["a", "b", "c"]}  # a's result came from its checkpoint
    assert [a["status"] for a in done["progress"]] == ["skipped", "completed", "completed"]
    for action in done["progress"][1:]:
        assert action["started_at"] is not None
        assert action["completed_at"] is not None
        assert action["started_at"] <= action["completed_at"]
    assert done["progress"][2]["metrics"] == {"index": 2}
    resumed = client.get_checkpoints(second["id"])
    assert [c["action_name"] for c in resumed] == ["a", "b", "c"]  # a's copied from the first
    assert resumed[0]["artifacts_path"] == checkpoint["artifacts_path"]
    # The resumed run works in a directory of its own.
    assert {c["artifacts_path"] for c in resumed[1:]} == {str(workers.work_root / second["id"])}
    assert markers(marker) == [
        f"start {first['id']} a",
        f"done {first['id']} a",
        f"start {first['id']} b",
        f"start {second['id']} b",
        f"done {second['id']} b",
        f"start {second['id']} c",
        f"done {second['id']} c",
    ]


@pytest.mark.slow
def test_sigkilled_worker_is_replaced_and_completed_actions_never_rerun(
    service: EmbeddedServer, client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("crash", steps("a", "b", "c"))
    run = client.create_run(pipeline["id"], params={"marker": str(marker), "sleep": {"b": 2.5}})
    doomed = subprocess.Popen(
        worker_command(service.url, "--work-root", str(tmp_path / "runs")),
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: f"start {run['id']} b" in markers(marker), 20, "action b to start")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    finally:
        doomed.kill()
        doomed.wait()
    successor = workers.start()
    done = wait_for_end(client, run["id"], timeout=30)
    assert done["status"] == "completed", done["error"]
    assert done["result"] == {"order": ["a", "b", "c"]}
    # The run's events name both workers, in order: the killed one, then its successor.
    events = [
        (e["type"], e["worker_id"], e["action_name"]) for e in client.list_run_events(run["id"])
    ]
    dead = next(str(worker) for kind, worker, _ in events if kind == "claimed")
    assert dead.startswith(f"{socket.gethostname()}:{doomed.pid}:")
    assert events == [
        ("created", None, None),
        ("claimed", dead, None),
        ("started", dead, None),
        ("action_started", dead, "a"),
        ("action_completed", dead, "a"),
        ("checkpoint_saved", dead, "a"),
        ("action_started", dead, "b"),
        ("lease_expired", dead, "b"),
        ("taken_over", successor.worker_id, None),
        ("action_completed", successor.worker_id, "b"),
        ("checkpoint_saved", successor.worker_id, "b"),
        ("action_started", successor.worker_id, "c"),
        ("action_completed", successor.worker_id, "c"),
        ("checkpoint_saved", successor.worker_id, "c"),
        ("completed", successor.worker_id, None),
    ]
    time.sleep(0.5)  # the dead worker's child would have finished b by now, had it survived
    counts = Counter(markers(marker))
    assert counts[f"start {run['id']} a"] == 1
    assert counts[f"done {run['id']} a"] == 1
    assert counts[f"start {run['id']} b"] == 2  # interrupted once, then resumed
    assert counts[f"done {run['id']} b"] == 1
    assert counts[f"done {run['id']} c"] == 1
    assert [c["action_name"] for c in client.get_checkpoints(run["id"])] == ["a", "b", "c"]


def test_cancelling_a_running_run_frees_the_worker_for_the_next(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("cancel", steps("long", "after"))
    slow = client.create_run(pipeline["id"], params={"marker": str(marker), "sleep": {"long": 60}})
    nxt = client.create_run(pipeline["id"], params={"marker": str(marker)})
    workers.start()
    wait_until(lambda: f"start {slow['id']} long" in markers(marker), 20, "the long action")

    asked = time.monotonic()
    client.cancel_run(slow["id"])
    wait_until(lambda: client.get_run(slow["id"])["status"] == "cancelled", 2, "cancelled")
    assert time.monotonic() - asked < 2

    done = wait_for_end(client, nxt["id"], timeout=15)
    assert done["status"] == "completed"
    assert f"cancelled {slow['id']} long" in markers(marker)  # context.cancelled turned true
    cancelled = client.get_run(slow["id"])
    assert cancelled["status"] == "cancelled"
    assert [a["status"] for a in cancelled["progress"]] == ["cancelled", "pending"]
    assert f"start {slow['id']} after" not in markers(marker)
    assert client.get_checkpoints(slow["id"]) == []


def test_deleting_a_running_run_stops_it_and_removes_its_work_dir(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("delete-running", steps("long", "after"))
    doomed = client.create_run(
        pipeline["id"], params={"marker": str(marker), "sleep": {"long": 60}}
    )
    nxt = client.create_run(pipeline["id"], params={"marker": str(marker)})
    workers.start()
    wait_until(lambda: f"start {doomed['id']} long" in markers(marker), 20, "the long action")
    work_dir = workers.work_root / doomed["id"]
    assert work_dir.is_dir()
    client.delete_run(doomed["id"])
    assert wait_for_end(client, nxt["id"], timeout=30)["status"] == "completed"
    wait_until(lambda: not work_dir.exists(), 10, "the deleted run's work dir to go")
    assert (workers.work_root / nxt["id"]).is_dir()  # a run that still exists keeps its own


def test_an_action_ignoring_cancellation_is_stopped(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    stubborn = client.create_pipeline(
        "stubborn", steps("x", entrypoint="runner_test_actions.ignore_cancel")
    )
    quick = client.create_pipeline("quick", steps("y"))
    slow = client.create_run(stubborn["id"], params={"marker": str(marker), "sleep": 60})
    nxt = client.create_run(quick["id"], params={"marker": str(marker)})
    workers.start()
    wait_until(lambda: f"start {slow['id']} x" in markers(marker), 20, "the stubborn action")
    client.cancel_run(slow["id"])
    done = wait_for_end(client, nxt["id"], timeout=10)
    assert done["status"] == "completed"
    assert f"done {slow['id']} x" not in markers(marker)


@pytest.mark.slow
def test_two_workers_twenty_runs_each_executed_exactly_once(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("many", steps("first", "second"))
    runs = [
        client.create_run(pipeline["id"], params={"marker": str(marker), "n": n}) for n in range(20)
    ]
    # Leases long enough that a loaded machine never lets one expire: this is about claims.
    one, two = workers.start(lease_seconds=15), workers.start(lease_seconds=15)
    assert one.worker_id != two.worker_id
    for run in runs:
        done = wait_for_end(client, run["id"], timeout=60)
        assert done["status"] == "completed", done["error"]
        assert done["result"] == {"order": ["first", "second"]}
    counts = Counter(markers(marker))
    assert len(counts) == 20 * 4
    assert set(counts.values()) == {1}
    for run in runs:
        assert [c["action_name"] for c in client.get_checkpoints(run["id"])] == [
            "first",
            "second",
        ]


@pytest.mark.slow
def test_broken_actions_fail_their_runs_clearly_and_the_worker_carries_on(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    cases = {
        "no_such_module_xyz.Action": "Bad entrypoint 'no_such_module_xyz.Action': cannot import "
        "module 'no_such_module_xyz' (No module named 'no_such_module_xyz'). Looked in the "
        "directory ",
        "runner_test_actions:missing": "Bad entrypoint 'runner_test_actions:missing': module "
        "'runner_test_actions' has no attribute 'missing'",
        "runner_test_actions.boom": "ValueError: boom",
        "runner_test_actions.returns_list": "Action 'broken' returned list; an action must "
        "return a dict or None",
        "runner_test_actions.crash": "Action 'broken' crashed: its process was killed by SIGKILL",
    }
    runs = {}
    for entrypoint in cases:
        pipeline = client.create_pipeline(entrypoint, [
            {"name": "fine", "entrypoint": STEP},
            {"name": "broken", "entrypoint": entrypoint},
        ])  # fmt: skip
        runs[entrypoint] = client.create_run(pipeline["id"], params={"marker": str(marker)})
    healthy = client.create_pipeline("healthy", steps("fine"))
    last = client.create_run(healthy["id"], params={"marker": str(marker)})
    workers.start()

    assert wait_for_end(client, last["id"])["status"] == "completed"
    for entrypoint, expected in cases.items():
        run = wait_for_end(client, runs[entrypoint]["id"])
        assert run["status"] == "failed"
        assert run["error"].startswith(expected), run["error"]
        assert run["current_action"] == "broken"
        # A module that is not there is found out before the first action runs.
        first = "pending" if entrypoint.startswith("no_such_module") else "completed"
        assert [a["status"] for a in run["progress"]] == [first, "failed"]
        [log] = client.get_logs(run["id"], level="error")
        assert log["message"].startswith(f"Action 'broken' failed: {run['error']}")


def test_a_million_progress_updates_arrive_as_the_last_value(
    client: PipelineServiceClient, workers: Workers
) -> None:
    pipeline = client.create_pipeline(
        "flood", steps("flood", entrypoint="runner_test_actions.progress_flood")
    )
    run = client.create_run(pipeline["id"])
    workers.start()
    done = wait_for_end(client, run["id"], timeout=60)
    assert done["status"] == "completed", done["error"]
    [action] = done["progress"]
    assert action["progress"] == action["total"] == 1_000_000
    assert action["progress_step"] == "items"


def test_stopping_a_worker_finishes_the_action_and_hands_the_run_over(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("handover", steps("a", "b"))
    run = client.create_run(pipeline["id"], params={"marker": str(marker), "sleep": {"a": 1}})
    first = workers.start()
    wait_until(lambda: f"start {run['id']} a" in markers(marker), 20, "action a")
    workers.stop(first)
    assert markers(marker)[-1] == f"done {run['id']} a"  # finished, not killed
    claim = client.claim_run("probe", lease_seconds=30)  # handed back: no lease to wait out
    assert claim is not None
    assert claim["run"]["id"] == run["id"]
    client.release_lease(run["id"], "probe")
    workers.start()
    done = wait_for_end(client, run["id"])
    assert done["status"] == "completed"
    assert done["result"] == {"order": ["a", "b"]}
    assert Counter(markers(marker))[f"done {run['id']} a"] == 1


def test_a_worker_can_be_limited_to_one_pipeline(
    client: PipelineServiceClient, workers: Workers
) -> None:
    mine = client.create_pipeline("mine", steps("a"))
    other = client.create_pipeline("other", steps("a"))
    waiting = client.create_run(other["id"])
    wanted = client.create_run(mine["id"])
    workers.start(pipeline_id=mine["id"])
    assert wait_for_end(client, wanted["id"])["status"] == "completed"
    assert client.get_run(waiting["id"])["status"] == "pending"


def test_actions_report_with_the_workers_token(tmp_path: Path) -> None:
    with (
        EmbeddedServer(token="s3cret", log_level="error") as server,
        PipelineServiceClient(server.url, token="s3cret") as client,
    ):
        pool = Workers(server.url, tmp_path / "runs")
        try:
            pipeline = client.create_pipeline("private", steps("a"))
            run = client.create_run(pipeline["id"])
            pool.start(token="s3cret")
            done = wait_for_end(client, run["id"])
        finally:
            pool.stop_all()
        assert done["status"] == "completed"
        assert done["progress"][0]["metrics"] == {"index": 0}
        messages = [record["message"] for record in client.get_logs(run["id"])]
        assert "a ran with order=[]" in messages  # sent by the action's own process


def test_a_worker_cut_off_for_a_lease_period_stops_and_is_fenced_off(
    service: EmbeddedServer, client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    """Worker A loses the network mid-action: it kills the action once less than the lease's
    safety margin is left without a renewal; worker B claims the run; when A's network comes
    back, nothing A still tries to write lands."""
    ticks = tmp_path / "ticks"
    pipeline = client.create_pipeline(
        "split", steps("long", entrypoint="runner_test_actions.ticker")
    )
    run = client.create_run(pipeline["id"], params={"ticks": str(ticks), "seconds": 120})
    proxy = PartitionProxy(service.url)
    try:
        a = Workers(proxy.url, tmp_path / "runs-a")
        a.start()
        wait_until(lambda: markers(ticks), 20, "A's action")
        action_pid = int(markers(ticks)[0].split()[0])
        proxy.partition()
        cut_at = time.monotonic()
        claim = wait_until(
            lambda: client.claim_run("B", lease_seconds=600, pipeline_id=pipeline["id"]),
            LEASE_SECONDS * 10,
            "the lease of A to expire",
        )
        assert claim["lease_token"] == 2
        taken_over = client.get_run(run["id"])
        logs = client.get_logs(run["id"])
        wait_until(lambda: process_gone(action_pid), LEASE_SECONDS * 10, "A to stop its action")
        assert time.monotonic() - cut_at < LEASE_SECONDS * 10
        proxy.heal()
        a.stop_all()  # waits for A's run to end, its child's last writes included
        assert client.get_run(run["id"]) == taken_over
        assert client.get_checkpoints(run["id"]) == []
        assert client.get_logs(run["id"]) == logs
    finally:
        proxy.close()


def process_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    return fields[0] == "Z"


def test_cancelling_an_action_ends_the_processes_it_started(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker, pid_file = tmp_path / "marker", tmp_path / "sleeper.pid"
    pipeline = client.create_pipeline(
        "sleeper", steps("spawn", entrypoint="runner_test_actions.start_sleeper")
    )
    run = client.create_run(
        pipeline["id"], params={"marker": str(marker), "pid_file": str(pid_file)}
    )
    workers.start()
    wait_until(lambda: f"start {run['id']} spawn" in markers(marker), 20, "the action")
    sleeper = int(pid_file.read_text())
    try:
        assert not process_gone(sleeper)
        client.cancel_run(run["id"])
        wait_until(lambda: f"cancelled {run['id']} spawn" in markers(marker), 20, "the cancel")
        wait_until(lambda: process_gone(sleeper), 20, "the action's `sleep 600` to end")
    finally:
        if not process_gone(sleeper):
            os.kill(sleeper, signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_worker_takes_the_processes_of_its_action_along(
    service: EmbeddedServer, client: PipelineServiceClient, tmp_path: Path
) -> None:
    marker, pid_file = tmp_path / "marker", tmp_path / "sleeper.pid"
    pipeline = client.create_pipeline(
        "orphans", steps("spawn", entrypoint="runner_test_actions.start_sleeper")
    )
    run = client.create_run(
        pipeline["id"], params={"marker": str(marker), "pid_file": str(pid_file)}
    )
    doomed = subprocess.Popen(
        worker_command(service.url, "--work-root", str(tmp_path / "runs")),
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sleeper = None
    try:
        wait_until(lambda: f"start {run['id']} spawn" in markers(marker), 20, "the action")
        sleeper = int(pid_file.read_text())
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        wait_until(lambda: process_gone(sleeper), 20, "the action's `sleep 600` to end")
    finally:
        doomed.kill()
        doomed.wait()
        if sleeper is not None and not process_gone(sleeper):
            os.kill(sleeper, signal.SIGKILL)


@pytest.mark.slow
def test_the_process_executor_says_once_that_resources_need_ray_and_reports_where_it_ran(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    actions = steps("a", "b")
    actions[0]["resources"] = {"gpus": 1}
    actions[1]["resources"] = {"custom": {"licence": 1}}
    pipeline = client.create_pipeline("resources", actions)
    run = client.create_run(pipeline["id"], params={"marker": str(tmp_path / "marker")})
    workers.start()
    done = wait_for_end(client, run["id"])
    assert done["status"] == "completed", done["error"]
    notes = [
        log
        for log in client.get_logs(run["id"])
        if "honoured by the Ray executor only" in log["message"]
    ]
    assert len(notes) == 1
    assert notes[0]["level"] == "warning"
    assert "'a' {\"gpus\": 1}" in notes[0]["message"]
    for entry in done["progress"]:
        assert entry["ran_on"]["executor"] == "process"
        assert entry["ran_on"]["node"] == socket.gethostname()
        assert int(entry["ran_on"]["task_id"]) != os.getpid()
