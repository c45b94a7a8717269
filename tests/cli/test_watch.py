"""`runs watch` and `runs create --watch`: live progress and the exit status of the run's outcome.

The watcher runs as a real process (stdout is a pipe, so plain text); the test drives the run
with the client and waits for each expected line before the next step, so no state is skipped.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from typing import Any

import pytest

from pipeline_service import ActionProgress, PipelineServiceClient

from .conftest import Cli, CuttingProxy


def start(
    client: PipelineServiceClient, run_id: str, action: str, index: int, **fields: Any
) -> None:
    client.report_progress(
        run_id,
        current_action=action,
        current_action_index=index,
        status="running",
        action_progress=ActionProgress(name=action, status="running", **fields),
    )


def finish(client: PipelineServiceClient, run_id: str, action: str, index: int) -> None:
    client.report_progress(
        run_id,
        current_action=action,
        current_action_index=index,
        action_progress=ActionProgress(name=action, status="completed", progress=1.0),
    )


@pytest.mark.slow
def test_watch_a_run_that_completes(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    watcher = start_cli("runs", "watch", run_id, url=server_url)
    watcher.wait_for_line(lambda line: line == f"[-:--:--] run {run_id}: pending")

    start(client, run_id, "download", 0, progress=0.5, progress_step="fetch",
          message="fetching", metrics={"mb": 12})  # fmt: skip
    watcher.wait_for_line(lambda line: line.endswith(f"run {run_id}: running"))
    watcher.wait_for_line(
        lambda line: line.endswith("download: running 50% [fetch] fetching mb=12")
    )

    finish(client, run_id, "download", 0)
    watcher.wait_for_line(lambda line: "download: completed 100% [fetch] fetching" in line)
    start(client, run_id, "convert", 1, progress=3, total=10, message="shard 3")
    watcher.wait_for_line(lambda line: line.endswith("convert: running 3/10 shard 3"))
    finish(client, run_id, "convert", 1)
    start(client, run_id, "train", 2, progress=0.9, metrics={"loss": 0.25, "acc": 0.9})
    watcher.wait_for_line(lambda line: line.endswith("train: running 90% loss=0.25 acc=0.9"))
    finish(client, run_id, "train", 2)
    client.report_progress(run_id, status="completed")

    code, stdout, stderr = watcher.finish()
    assert code == 0, stderr
    assert stdout[-1].startswith(f"Run {run_id} completed in 0:00:")
    assert f"run {run_id}: completed" in stdout[-2]
    assert stderr == ""


@pytest.mark.slow
def test_watch_a_run_that_fails(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    watcher = start_cli("runs", "watch", run_id, url=server_url)
    watcher.wait_for_line(lambda line: line.endswith(f"run {run_id}: pending"))
    start(client, run_id, "download", 0, progress=0.2)
    watcher.wait_for_line(lambda line: "download: running 20%" in line)
    client.report_progress(
        run_id,
        status="failed",
        error="CUDA out of memory",
        current_action="download",
        current_action_index=0,
        action_progress=ActionProgress(name="download", status="failed", error="OOM"),
    )
    code, stdout, stderr = watcher.finish()
    assert code == 1
    assert stdout[-1].endswith(f"run {run_id}: failed")
    assert stdout[-2].endswith("download: failed 20% error: OOM")
    assert stderr.strip().startswith(f"error: run {run_id} failed in action 'download' after 0:00:")
    assert stderr.strip().endswith(": CUDA out of memory")


def test_watch_a_run_that_is_cancelled(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    watcher = start_cli("runs", "watch", run_id, url=server_url)
    watcher.wait_for_line(lambda line: line.endswith(f"run {run_id}: pending"))
    start(client, run_id, "download", 0)
    watcher.wait_for_line(lambda line: "download: running" in line)
    client.cancel_run(run_id)
    code, stdout, stderr = watcher.finish()
    assert code == 4, stderr
    assert stdout[-1].startswith(f"Run {run_id} cancelled after 0:00:")
    assert stderr == ""


@pytest.mark.slow
def test_ctrl_c_stops_watching_and_leaves_the_run_alone(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    watcher = start_cli("runs", "watch", run["id"], url=server_url)
    watcher.wait_for_line(lambda line: line.endswith("pending"))
    watcher.process.send_signal(signal.SIGINT)
    code, _, stderr = watcher.finish()
    assert code == 130
    assert stderr.strip() == f"Stopped watching run {run['id']} (it is pending and left as it is)."
    assert client.get_run(run["id"])["status"] == "pending"


@pytest.mark.slow
def test_watch_survives_a_dropped_connection(
    start_cli: Any, client: PipelineServiceClient, run: Any, proxy: CuttingProxy
) -> None:
    run_id = run["id"]
    watcher = start_cli("runs", "watch", run_id, url=proxy.url)
    watcher.wait_for_line(lambda line: line.endswith("pending"))
    proxy.cut()
    start(client, run_id, "download", 0, progress=0.5)
    watcher.wait_for_line(lambda line: line.endswith("download: running 50%"))
    proxy.cut()
    client.report_progress(run_id, status="completed")
    code, stdout, stderr = watcher.finish()
    assert code == 0, stderr
    assert stdout[-1].startswith(f"Run {run_id} completed in")
    assert proxy.connections >= 3


def test_watch_of_a_finished_run_answers_at_once(
    cli: Cli, client: PipelineServiceClient, run: Any
) -> None:
    start(client, run["id"], "download", 0, progress=4, total=8, progress_step="step")
    client.report_progress(run["id"], status="completed")
    result = cli("runs", "watch", run["id"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "[0:00:00] download: running 4/8 [step]",
        f"[0:00:00] run {run['id']}: completed",
        f"Run {run['id']} completed in 0:00:00",
    ]


def test_live_view_on_a_terminal(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    start(client, run["id"], "download", 0, progress=0.25, message="halfway-ish")
    client.report_progress(run["id"], status="failed", error="disk full")
    result = cli("runs", "watch", run["id"], env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1"})
    assert result.exit_code == 1
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.stdout)
    assert f"Run {run['id']}" in screen
    assert "elapsed 0:00:0" in screen
    assert "━" in screen  # the bars
    for name in ("download", "convert", "train"):
        assert name in screen
    assert "25%" in screen
    assert "halfway-ish" in screen
    assert "disk full" in result.stderr


def test_create_with_watch_and_json(cli: Cli, client: PipelineServiceClient, pipeline: Any) -> None:
    def drive() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = client.list_pipeline_runs(pipeline["id"])
            if runs:
                run_id = runs[0]["id"]
                time.sleep(0.3)
                start(client, run_id, "download", 0, progress=0.5)
                finish(client, run_id, "download", 0)
                client.report_progress(run_id, status="completed")
                return
            time.sleep(0.05)

    driver = threading.Thread(target=drive)
    driver.start()
    result = cli("runs", "create", pipeline["id"], "--watch", "--json", "-p", "epochs=2")
    driver.join()
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["status"] in ("pending", "running")
    assert events[-1]["status"] == "completed"
    assert [a["name"] for a in events[-1]["actions"]] == ["download", "convert", "train"]
    versions = [e["version"] for e in events]
    assert versions == sorted(set(versions))


def test_watch_timeout_and_missing_run(cli: Cli, run: Any) -> None:
    lost = cli("runs", "watch", run["id"], "--timeout", "1")
    assert lost.exit_code == 3
    assert lost.stderr.startswith(
        f"error: lost run {run['id']} while it was pending: stopped watching after 1 s; "
        f"no worker has claimed run {run['id']} yet: start one with "
        f"`pipeline-service worker --url {cli.url}`"
    )
    missing = cli("runs", "watch", "no-such-run")
    assert missing.exit_code == 1
    assert missing.stderr == "error: no run with id or id prefix 'no-such-run' (404)\n"


@pytest.mark.slow
def test_run_deleted_while_watching_is_lost(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    watcher = start_cli("runs", "watch", run["id"], url=server_url)
    watcher.wait_for_line(lambda line: line.endswith("pending"))
    client.delete_run(run["id"])
    code, _, stderr = watcher.finish()
    assert code == 3
    assert stderr.startswith(f"error: lost run {run['id']} while it was pending: not found (404)")
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_the_server_going_away_is_a_reconnecting_line_then_one_short_error_and_exit_3(
    start_cli: Any, client: PipelineServiceClient, run: Any, proxy: CuttingProxy
) -> None:
    run_id = run["id"]
    start(client, run_id, "download", 0, progress=0.5)
    watcher = start_cli("runs", "watch", run_id, url=proxy.url)
    watcher.wait_for_line(lambda line: line.endswith("download: running 50%"))
    proxy.close()  # nothing listens there any more
    code, _, stderr = watcher.finish(timeout=60)
    assert code == 3
    assert stderr.splitlines() == [
        f"connection to {proxy.url} lost; reconnecting…",
        f"error: lost run {run_id} while it was running: the connection to {proxy.url} was "
        "lost and did not come back",
    ]
