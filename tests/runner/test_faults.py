"""A real worker behind a fault-injecting proxy, against a real server: a transient error never
makes an action run twice, no log line is lost or stored twice, and a worker that cannot renew
its lease stops its action before another worker starts it. Counts, not times."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from pipeline_service.types import LogRecord
from tests.support.processes import subprocess_env, wait_until

from .fault_proxy import Fault, FaultProxy, Kind
from .helpers import LEASE_SECONDS, Workers, markers, worker_command
from .test_worker import steps, wait_for_end

pytestmark = pytest.mark.slow

PROGRESS = r"/runs/[^/]+/progress$"
CHECKPOINTS = r"/runs/[^/]+/checkpoints/$"
LOGS = r"/runs/[^/]+/logs/$"
LEASE = r"/runs/[^/]+/lease$"


@pytest.fixture
def proxy(service: EmbeddedServer) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(service.url)
    yield fault_proxy
    fault_proxy.close()


# Transient faults must not cost a second execution as long as they are shorter than the
# lease: leases long enough that a loaded machine does not let one expire meanwhile.
LONG_LEASE = 15.0


@pytest.fixture
def behind_proxy(proxy: FaultProxy, tmp_path: Path) -> Iterator[Workers]:
    """Workers that reach the service only through the proxy."""
    pool = Workers(proxy.url, tmp_path / "runs-behind-proxy")
    yield pool
    pool.stop_all()


def starts(marker: Path) -> int:
    return sum(line.startswith("start ") for line in markers(marker))


def test_one_503_on_the_failure_report_runs_the_action_once(
    client: PipelineServiceClient, proxy: FaultProxy, behind_proxy: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("fails", steps("a"))
    params = {"marker": str(marker), "fail_at": "a", "fix_path": str(tmp_path / "never")}
    report = proxy.add(Fault("POST", PROGRESS, body=rb'"status":\s*"failed"', times=1))
    behind_proxy.start(lease_seconds=LONG_LEASE)
    run = wait_for_end(client, client.create_run(pipeline["id"], params=params)["id"])
    assert report.hits == 1
    assert run["status"] == "failed"
    assert run["error"] == f"RuntimeError: input missing: {tmp_path / 'never'}"
    assert starts(marker) == 1
    assert len(client.get_logs(run["id"], level="error")) == 1


def test_checkpoints_refused_for_a_while_each_action_runs_once(
    client: PipelineServiceClient, proxy: FaultProxy, behind_proxy: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("checkpoints", steps("a", "b", "c"))
    refused = proxy.add(Fault("POST", CHECKPOINTS, retry_after="0.2", times=12))
    behind_proxy.start(lease_seconds=LONG_LEASE)
    run = wait_for_end(
        client, client.create_run(pipeline["id"], params={"marker": str(marker)})["id"], 90
    )
    assert refused.hits == 12
    assert run["status"] == "completed", run["error"]
    assert run["result"] == {"order": ["a", "b", "c"]}
    assert starts(marker) == 3
    assert [c["action_name"] for c in client.get_checkpoints(run["id"])] == ["a", "b", "c"]


def lines_of(client: PipelineServiceClient, run_id: str) -> list[str]:
    return [
        r["message"]
        for r in client.get_logs(run_id, limit=10_000)
        if r["message"].startswith("line ")
    ]


def test_logs_refused_for_a_while_are_each_stored_once(
    client: PipelineServiceClient, proxy: FaultProxy, behind_proxy: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline(
        "logs", steps("talk", entrypoint="runner_test_actions.log_slowly")
    )
    params = {"marker": str(marker), "lines": 300, "pause": 0.005}
    # The action's own lines only (the worker's lines are delivered like any outcome write).
    refused = proxy.add(Fault("POST", LOGS, status=503, body=rb'"line ', times=15))
    behind_proxy.start(lease_seconds=LONG_LEASE)
    run = wait_for_end(client, client.create_run(pipeline["id"], params=params)["id"], 90)
    assert refused.hits == 15
    assert run["status"] == "completed", run["error"]
    assert lines_of(client, run["id"]) == [f"line {n}" for n in range(300)]
    assert starts(marker) == 1


def test_a_log_batch_stored_but_unanswered_then_refused_is_stored_once(
    client: PipelineServiceClient, proxy: FaultProxy, behind_proxy: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline(
        "lost", steps("talk", entrypoint="runner_test_actions.log_slowly")
    )
    params = {"marker": str(marker), "lines": 100, "pause": 0.005}
    # Every attempt the client makes on its own is stored (or replayed) and its answer lost;
    # the resends after that are refused for a while.
    lost = proxy.add(Fault("POST", LOGS, kind=Kind.LOSE_ANSWER, body=rb"line 0", times=4))
    refused = proxy.add(Fault("POST", LOGS, status=503, times=4))
    behind_proxy.start(lease_seconds=LONG_LEASE)
    run = wait_for_end(client, client.create_run(pipeline["id"], params=params)["id"], 90)
    assert (lost.hits, refused.hits) == (4, 4)
    assert run["status"] == "completed", run["error"]
    assert lines_of(client, run["id"]) == [f"line {n}" for n in range(100)]


def ticks(path: Path) -> dict[int, list[float]]:
    """The ticker's "<pid> <time>" lines, by process."""
    by_pid: dict[int, list[float]] = {}
    for line in markers(path):
        pid, when = line.split()
        by_pid.setdefault(int(pid), []).append(float(when))
    return by_pid


def ticker_run(client: PipelineServiceClient, tmp_path: Path, seconds: float) -> tuple[str, Path]:
    path = tmp_path / "ticks"
    pipeline = client.create_pipeline(
        "ticker", steps("tick", entrypoint="runner_test_actions.ticker")
    )
    run = client.create_run(pipeline["id"], params={"ticks": str(path), "seconds": seconds})
    return run["id"], path


def assert_one_after_the_other(path: Path) -> None:
    """At least two executions, each over before the next began (times from inside them). (A
    loaded machine may make a worker miss a renewal and lose a lease: then there are more.)"""
    executions = sorted(ticks(path).values(), key=min)
    assert len(executions) >= 2
    for before, after in itertools.pairwise(executions):
        assert max(before) < min(after), f"overlap: {max(before) - min(after):.3f} s"


def test_renewals_black_holed_the_old_action_stops_before_the_new_owner_starts(
    client: PipelineServiceClient,
    proxy: FaultProxy,
    behind_proxy: Workers,
    workers: Workers,
    tmp_path: Path,
) -> None:
    run_id, path = ticker_run(client, tmp_path, seconds=LEASE_SECONDS * 3)
    behind_proxy.start()
    wait_until(lambda: ticks(path), 30, "the first worker's action to tick")
    silenced = proxy.add(Fault("POST", LEASE, kind=Kind.BLACK_HOLE))
    workers.start()  # straight to the service: it takes the run once the lease has expired
    wait_until(lambda: len(ticks(path)) >= 2, 60, "the second worker to start the action")
    run = wait_for_end(client, run_id, 60)
    assert silenced.hits >= 1
    assert run["status"] == "completed", run["error"]
    assert_one_after_the_other(path)


def test_a_frozen_worker_s_action_stops_itself_when_the_lease_ends(
    service: EmbeddedServer, client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    """The worker is SIGSTOPped mid-action: its action (which ignores cancellation) ends itself
    by the lease's end, before another worker takes the run over."""
    run_id, path = ticker_run(client, tmp_path, seconds=LEASE_SECONDS * 3)
    frozen = subprocess.Popen(
        worker_command(service.url),
        env=subprocess_env(),
        start_new_session=True,
    )
    try:
        wait_until(lambda: ticks(path), 60, "the worker's action to tick")
        os.kill(frozen.pid, signal.SIGSTOP)
        [action_pid] = ticks(path)
        workers.start()
        wait_until(lambda: len(ticks(path)) >= 2, 60, "another worker to start the action")
        run = wait_for_end(client, run_id, 60)
        assert run["status"] == "completed", run["error"]
        assert_one_after_the_other(path)
        assert not Path(f"/proc/{action_pid}").exists() or _zombie(action_pid)
    finally:
        os.killpg(frozen.pid, signal.SIGKILL)
        frozen.wait(30)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_cancelled_action_s_closing_line_reaches_log_followers(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    """The worst case: an action that ignores cancellation, stopped only after a kill grace
    longer than the server's log grace. The worker's closing line goes out first."""
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline(
        "cancel", steps("stuck", entrypoint="runner_test_actions.ignore_cancel")
    )
    run = client.create_run(pipeline["id"], params={"marker": str(marker), "sleep": 30})
    workers.start(grace_period=6.0)
    wait_until(lambda: starts(marker), 30, "the action to start")
    followed: list[LogRecord] = []
    follower = threading.Thread(
        target=lambda: followed.extend(client.follow_logs(run["id"], timeout=60))
    )
    follower.start()
    client.cancel_run(run["id"])
    follower.join(60)
    assert not follower.is_alive()
    closing = [r for r in followed if r["message"] == "Run cancelled during action 'stuck'"]
    assert len(closing) == 1
    assert closing[0]["level"] == "warning"


def test_a_429_on_reading_the_pipeline_gives_the_run_back_instead_of_failing_it(
    client: PipelineServiceClient, proxy: FaultProxy, behind_proxy: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("busy", steps("a"))
    # More than the client's own retries of one read: the worker sees the 429 itself.
    busy = proxy.add(Fault("GET", r"/pipelines/[^/]+$", status=429, retry_after="0", times=3))
    behind_proxy.start(lease_seconds=LONG_LEASE)
    run = wait_for_end(
        client, client.create_run(pipeline["id"], params={"marker": str(marker)})["id"]
    )
    assert busy.hits == 3
    assert run["status"] == "completed", run["error"]
    assert starts(marker) == 1
