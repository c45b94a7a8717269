"""`runs list --watch`: the table, then one line per run created, changed or deleted.

The watcher runs as a real process (stdout is a pipe, so plain text); the test changes runs
with the client and waits for each expected line.
"""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from pipeline_service import ActionProgress, PipelineServiceClient
from tests.sample import unique

from .conftest import Cli, CuttingProxy

pytestmark = pytest.mark.slow


def test_watch_prints_the_table_then_each_change_until_ctrl_c(
    start_cli: Any, client: PipelineServiceClient, pipeline: Any, server_url: str
) -> None:
    team = unique("team")
    listed = client.create_run(pipeline["id"], labels={"team": team})
    watcher = start_cli("runs", "list", "--watch", "-l", f"team={team}", url=server_url)
    watcher.wait_for_line(lambda line: line.startswith("ID "))
    watcher.wait_for_line(lambda line: line.startswith(listed["id"][:8]))
    client.create_run(pipeline["id"])  # no label: not shown
    run = client.create_run(pipeline["id"], labels={"team": team})
    short = run["id"][:8]
    created = watcher.wait_for_line(lambda line: line.startswith("created"))
    assert created.split() == ["created", short, pipeline["name"], "pending", "-", "-"]
    client.report_progress(
        run["id"],
        status="running",
        current_action="convert",
        current_action_index=1,
        action_progress=ActionProgress(name="convert", status="running", progress=2, total=5),
    )
    changed = watcher.wait_for_line(lambda line: line.startswith("changed"))
    assert changed.split()[:7] == [
        "changed",
        short,
        pipeline["name"],
        "running",
        "convert",
        "(2/3)",
        "40%",
    ]
    client.delete_run(run["id"])
    deleted = watcher.wait_for_line(lambda line: line.startswith("deleted"))
    assert deleted.split() == ["deleted", short, pipeline["name"]]
    watcher.process.send_signal(signal.SIGINT)
    code, _, stderr = watcher.finish()
    assert code == 130
    assert stderr == ""


def test_watch_as_json_lines(
    start_cli: Any, client: PipelineServiceClient, pipeline: Any, server_url: str
) -> None:
    watcher = start_cli(
        "runs", "list", "-w", "--pipeline", pipeline["id"], "--status", "running", "-o", "json",
        url=server_url,
    )  # fmt: skip
    watcher.wait_for_line(lambda line: line == "[]")
    run = client.create_run(pipeline["id"])  # pending: not shown
    client.report_progress(run["id"], status="running")
    line = json.loads(watcher.wait_for_line(lambda line: line.startswith("{")))
    assert line["type"] == "changed"
    assert line["run"]["id"] == run["id"]
    assert line["run"]["status"] == "running"
    assert isinstance(line["seq"], int)
    # Leaving the status: one `left` line (the run as it is now), then nothing of that run.
    client.cancel_run(run["id"])
    left = json.loads(watcher.wait_for_line(lambda line: line.startswith("{")))
    assert left["type"] == "left"
    assert (left["run"]["id"], left["run"]["status"]) == (run["id"], "cancelled")
    client.delete_run(run["id"])
    other = client.create_run(pipeline["id"])
    client.report_progress(other["id"], status="running")
    after = json.loads(watcher.wait_for_line(lambda line: line.startswith("{")))
    assert after["run"]["id"] == other["id"]  # the deletion of the run that left was not shown
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.finish()[0] == 130


def test_watch_prints_a_run_leaving_the_label_selector_once(
    start_cli: Any, client: PipelineServiceClient, pipeline: Any, server_url: str
) -> None:
    team = unique("team")
    watcher = start_cli("runs", "list", "--watch", "-l", f"team={team}", url=server_url)
    watcher.wait_for_line(lambda line: line.startswith("No runs match"))
    run = client.create_run(pipeline["id"], labels={"team": team})
    watcher.wait_for_line(lambda line: line.startswith(f"created   {run['id'][:8]}"))
    client.update_run(run["id"], labels={"team": "elsewhere"})
    watcher.wait_for_line(lambda line: line.startswith(f"left      {run['id'][:8]}"))
    client.update_run(run["id"], labels={"team": "elsewhere", "stage": "dev"})  # not shown
    other = client.create_run(pipeline["id"], labels={"team": team})
    after = watcher.wait_for_line(lambda line: not line.startswith("left"))
    assert after.startswith(f"created   {other['id'][:8]}")
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.finish()[0] == 130


def test_watch_survives_a_dropped_connection(
    start_cli: Any, client: PipelineServiceClient, pipeline: Any, proxy: CuttingProxy
) -> None:
    team = unique("team")
    watcher = start_cli("runs", "list", "--watch", "-l", f"team={team}", url=proxy.url)
    watcher.wait_for_line(lambda line: line.startswith("No runs match"))
    proxy.cut()
    run = client.create_run(pipeline["id"], labels={"team": team})  # while disconnected
    watcher.wait_for_line(lambda line: line.startswith(f"created   {run['id'][:8]}"))
    watcher.process.send_signal(signal.SIGINT)
    code, _, stderr = watcher.finish()
    assert code == 130
    assert stderr.strip() == f"connection to {proxy.url} lost; reconnecting…"
    assert proxy.connections >= 2


def test_watch_needs_a_line_format(cli: Cli) -> None:
    result = cli("runs", "list", "--watch", "-o", "yaml")
    assert result.exit_code == 2
    assert "--watch prints tables or JSON lines, not yaml" in result.stderr
