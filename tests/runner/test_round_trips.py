"""The requests a worker makes for a run of no-op actions, counted by a proxy between a real
worker and a real server (counts, not times), and its warm child process: each action still
in a process of its own, and no process left once the worker is gone."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.runner import ActionTask, RunControl, Worker
from pipeline_service.runner.process import ChildProcessExecutor
from pipeline_service.server import EmbeddedServer
from tests.support.processes import subprocess_env, wait_until

from .fault_proxy import FaultProxy
from .helpers import HERE, MarkingSettings, worker_command
from .test_worker import process_gone, steps, wait_for_end

pytestmark = pytest.mark.slow

NOOP = "runner_test_actions:noop"
ACTIONS = 10


@pytest.fixture
def proxy(service: EmbeddedServer) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(service.url)
    yield fault_proxy
    fault_proxy.close()


def test_a_no_op_action_costs_three_requests(
    client: PipelineServiceClient, proxy: FaultProxy, tmp_path: Path
) -> None:
    names = [f"noop{i}" for i in range(ACTIONS)]
    pipeline = client.create_pipeline("no-ops", steps(*names, entrypoint=NOOP))
    run_id = client.create_run(pipeline["id"])["id"]
    with Worker(
        proxy.url,
        pipeline_id=pipeline["id"],
        work_root=tmp_path / "runs",
        import_paths=[str(HERE)],
        lease_seconds=60,  # no renewal is due while this runs, however loaded the machine
        renew_interval=60,
        flush_interval=30,  # nor a flush of the lines an action is given, however slow it is
    ) as worker:
        assert worker.run_once()
    run = wait_for_end(client, run_id)
    assert run["status"] == "completed", run["error"]

    # Per action: started, completed (progress); its checkpoint. The log lines of actions this
    # short wait for the run's end: one log request.
    assert proxy.count("POST", r"/progress$") == 2 * ACTIONS
    assert proxy.count("POST", r"/checkpoints/$") == ACTIONS
    assert proxy.count("POST", r"/logs/$") == 1
    # Around them: claim; read the pipeline and the checkpoints; the lines; complete; release.
    assert sum(proxy.requests.values()) == 3 * ACTIONS + 6

    # Nothing lost by sending less: where each action ran (each in a process of its own),
    # every line once, in order, each with the time it was written.
    pids = [entry["ran_on"]["task_id"] for entry in run["progress"]]
    assert all(entry["ran_on"]["executor"] == "process" for entry in run["progress"])
    assert len(set(pids)) == ACTIONS
    assert str(os.getpid()) not in pids
    logs = client.get_logs(run_id)
    expected = []
    for name in names:
        expected += [f"Action {name!r} started ({NOOP})", f"Action {name!r} completed in"]
    assert [log["message"][: len(line)] for log, line in zip(logs, expected, strict=True)] == (
        expected
    )
    stamps = [log["timestamp"] for log in logs]
    assert stamps == sorted(stamps)


def _messages(client: PipelineServiceClient, run_id: str) -> list[str]:
    return [log["message"].split(" (")[0].split(" in ")[0] for log in client.get_logs(run_id)]


def test_an_action_s_own_lines_come_after_the_lines_before_it(
    client: PipelineServiceClient, proxy: FaultProxy, tmp_path: Path
) -> None:
    actions = [*steps("a", entrypoint=NOOP), *steps("b"), *steps("c", entrypoint=NOOP)]
    pipeline = client.create_pipeline("talks", actions)
    run_id = client.create_run(pipeline["id"])["id"]
    with Worker(
        proxy.url,
        pipeline_id=pipeline["id"],
        work_root=tmp_path,
        import_paths=[str(HERE)],
        flush_interval=30,  # a and c end before their first flush, however slow the machine
    ) as worker:
        assert worker.run_once()
    assert wait_for_end(client, run_id)["status"] == "completed"
    assert _messages(client, run_id) == [
        "Action 'a' started",
        "Action 'a' completed",
        "Action 'b' started",
        "b ran with order=[]",  # b's own line, sent by its process after the lines before it
        "Action 'b' completed",
        "Action 'c' started",
        "Action 'c' completed",
    ]
    assert proxy.count("POST", r"/logs/$") == 3  # a's and b's started lines, b's; the rest


def test_the_lines_given_to_an_action_that_dies_arrive_once(
    client: PipelineServiceClient, tmp_path: Path, service: EmbeddedServer
) -> None:
    """The process killed itself before sending the lines it was given: the worker sends them,
    under their key (stored once even had the process sent them)."""
    actions = [*steps("a", entrypoint=NOOP), *steps("b", entrypoint="runner_test_actions:crash")]
    pipeline = client.create_pipeline("dies", actions)
    run_id = client.create_run(pipeline["id"])["id"]
    with Worker(
        service.url, pipeline_id=pipeline["id"], work_root=tmp_path, import_paths=[str(HERE)]
    ) as worker:
        assert worker.run_once()
    assert wait_for_end(client, run_id)["status"] == "failed"
    messages = _messages(client, run_id)
    assert messages[:3] == ["Action 'a' started", "Action 'a' completed", "Action 'b' started"]
    assert [m.split(":")[0] for m in messages[3:]] == ["Action 'b' failed"]


@contextmanager
def _held(
    client: PipelineServiceClient,
    service: EmbeddedServer,
    tmp_path: Path,
    actions: list[dict[str, Any]],
    flush_interval: float,
) -> Iterator[tuple[str, Path]]:
    """A run of actions in a worker (in a thread) whose `wait_for_release` action has started
    and runs until the block ends: (the run's id, the file holding that action's pid)."""
    pid_file, release = tmp_path / "pid", tmp_path / "release"
    pipeline = client.create_pipeline("held", actions)
    params = {"pid_file": str(pid_file), "release": str(release)}
    run_id = client.create_run(pipeline["id"], params=params)["id"]
    with Worker(
        service.url,
        pipeline_id=pipeline["id"],
        work_root=tmp_path / "runs",
        import_paths=[str(HERE)],
        flush_interval=flush_interval,
    ) as worker:
        working = threading.Thread(target=worker.run_once)
        working.start()
        try:
            wait_until(pid_file.exists, 30, "the held action to start")
            yield run_id, pid_file
        finally:
            release.touch()
            working.join(30)


def test_a_quiet_action_s_start_is_in_the_log_while_it_runs(
    client: PipelineServiceClient, service: EmbeddedServer, tmp_path: Path
) -> None:
    actions = [
        *steps("a", entrypoint=NOOP),
        *steps("b", entrypoint="runner_test_actions:wait_for_release"),
    ]
    with _held(client, service, tmp_path, actions, flush_interval=0.2) as (run_id, _):
        # b's process sends the lines it was given at its first flush, though b says nothing.
        wait_until(
            lambda: (
                _messages(client, run_id)
                == ["Action 'a' started", "Action 'a' completed", "Action 'b' started"]
            ),
            30,
            "the lines before b's end",
        )
    assert wait_for_end(client, run_id)["status"] == "completed"
    assert _messages(client, run_id)[3:] == ["Action 'b' completed"]


def test_a_failing_action_reports_where_it_ran(
    client: PipelineServiceClient, tmp_path: Path, service: EmbeddedServer
) -> None:
    """The failure report says where the action ran (it ended before any progress report)."""
    pipeline = client.create_pipeline("fails", steps("a", entrypoint="runner_test_actions:boom"))
    run_id = client.create_run(pipeline["id"])["id"]
    with Worker(
        service.url,
        pipeline_id=pipeline["id"],
        work_root=tmp_path / "runs",
        import_paths=[str(HERE)],
        lease_seconds=60,
    ) as worker:
        assert worker.run_once()
    run = wait_for_end(client, run_id)
    assert run["status"] == "failed"
    [entry] = run["progress"]
    assert entry["status"] == "failed"
    assert entry["ran_on"]["executor"] == "process"
    assert entry["ran_on"]["task_id"] != str(os.getpid())


def test_an_action_start_says_where_it_runs(
    client: PipelineServiceClient, service: EmbeddedServer, tmp_path: Path
) -> None:
    """The worker's "started" report names the process that runs the action (the warm child
    it hands the action to): known before the action reports anything."""
    actions = steps("a", entrypoint="runner_test_actions:wait_for_release")
    # flush_interval: the action's own reports would come far too late for this test.
    with _held(client, service, tmp_path, actions, flush_interval=600) as (run_id, pid_file):
        [entry] = client.get_run(run_id)["progress"]
        assert entry["status"] == "running"
        assert entry["ran_on"] == {
            "executor": "process",
            "node": socket.gethostname(),
            "task_id": pid_file.read_text(),
        }
    assert wait_for_end(client, run_id)["progress"][0]["ran_on"]["task_id"] == pid_file.read_text()


def test_a_warm_child_builds_its_client_while_it_waits_for_its_action(
    client: PipelineServiceClient, service: EmbeddedServer, tmp_path: Path
) -> None:
    markers = tmp_path / "clients"
    markers.mkdir()
    pipeline = client.create_pipeline("one", steps("a", entrypoint=NOOP))
    run_id = client.create_run(pipeline["id"])["id"]
    task = ActionTask(
        run_id=run_id,
        action_name="a",
        action_index=0,
        entrypoint=NOOP,
        params={},
        work_dir=str(tmp_path / "work"),
        import_paths=(str(HERE),),
    )
    executor = ChildProcessExecutor(MarkingSettings(service.url, marker_dir=str(markers)))
    try:
        outcome = executor(task, RunControl())
        assert outcome.ok, outcome.error
        assert outcome.ran_on is not None
        ran = outcome.ran_on["task_id"]
        # The child started for the next action (not given one) has its client already.
        waiting = wait_until(
            lambda: {p.name for p in markers.iterdir()} - {ran}, 30, "the warm child's client"
        )
        assert len(waiting) == 1
    finally:
        executor.close()


def test_closing_the_worker_ends_its_warm_child(
    client: PipelineServiceClient, service: EmbeddedServer, tmp_path: Path
) -> None:
    pipeline = client.create_pipeline("one", steps("a", entrypoint=NOOP))
    client.create_run(pipeline["id"])
    before = set(multiprocessing.active_children())
    worker = Worker(
        service.url, pipeline_id=pipeline["id"], work_root=tmp_path, import_paths=[str(HERE)]
    )
    with worker:
        assert worker.run_once()
        # The action's own child was killed when it ended (reaped later): the one left is
        # the warm child, ready for the next action.
        [warm] = wait_until(
            lambda: (
                len(started := set(multiprocessing.active_children()) - before) == 1 and started
            ),
            30,
            "the action's child to be gone",
        )
        assert warm.pid is not None
        pid = warm.pid
    assert warm not in multiprocessing.active_children()
    assert process_gone(pid)


def _marked_processes(marker: str) -> dict[int, int]:
    """The live processes whose environment holds `marker` (a worker and all it started), each
    with its session's id."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    found[int(proc.name)] = int(fields[3])
        except OSError:
            continue
    return found


def test_a_killed_worker_leaves_no_warm_child_behind(
    client: PipelineServiceClient, service: EmbeddedServer, tmp_path: Path
) -> None:
    pipeline = client.create_pipeline("one", steps("a", entrypoint=NOOP))
    run_id = client.create_run(pipeline["id"])["id"]
    marker = f"NOOP_TEST_MARKER={uuid.uuid4().hex}"
    env = {**subprocess_env(), marker.split("=")[0]: marker.split("=")[1]}
    worker = subprocess.Popen(
        worker_command(service.url, "--pipeline", pipeline["id"]),
        env=env,
        cwd=HERE,
        start_new_session=True,
    )
    try:
        assert wait_for_end(client, run_id, 60)["status"] == "completed"
        # The warm child waiting for the next action leads a session of its own.
        wait_until(
            lambda: [
                pid
                for pid, session in _marked_processes(marker).items()
                if pid == session != worker.pid
            ],
            30,
            "the warm child",
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    wait_until(lambda: not _marked_processes(marker), 30, "every process of the worker to end")
