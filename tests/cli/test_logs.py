"""`pipeline-service logs RUN_ID [--follow] [--level L] [--action A] [--since T]`, live."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline_service import LogEntry, LogLevel, PipelineServiceClient
from pipeline_service.cli import logs as logs_module

from .conftest import Cli, CuttingProxy

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def entries(count: int, start: int = 0, **fields: Any) -> list[LogEntry]:
    return [LogEntry(message=f"line {i}", **fields) for i in range(start, start + count)]


@pytest.mark.slow
def test_print_filter_and_json(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    client.append_logs(run["id"], [
        LogEntry(message="fetching", action_name="download", timestamp=T0),
        LogEntry(message="slow mirror", level=LogLevel.WARNING, action_name="download",
                 timestamp=T0 + timedelta(seconds=1)),
        LogEntry(message="epoch 1", action_name="train", timestamp=T0 + timedelta(seconds=2)),
        LogEntry(message="diverged", level=LogLevel.ERROR, action_name="train",
                 timestamp=T0 + timedelta(seconds=3, milliseconds=250)),
        LogEntry(message="no action", level=LogLevel.DEBUG, timestamp=T0 + timedelta(seconds=4)),
    ])  # fmt: skip

    result = cli("logs", run["id"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2026-01-01 12:00:00.000 UTC INFO     [download] fetching",
        "2026-01-01 12:00:01.000 UTC WARNING  [download] slow mirror",
        "2026-01-01 12:00:02.000 UTC INFO     [train] epoch 1",
        "2026-01-01 12:00:03.250 UTC ERROR    [train] diverged",
        "2026-01-01 12:00:04.000 UTC DEBUG    no action",
    ]

    errors = cli("logs", run["id"], "--level", "error")
    assert errors.stdout.splitlines() == ["2026-01-01 12:00:03.250 UTC ERROR    [train] diverged"]
    warnings = cli("logs", run["id"], "--level", "warning")
    assert [line.split()[3] for line in warnings.stdout.splitlines()] == ["WARNING", "ERROR"]
    last = cli("logs", run["id"], "--tail", "2")
    assert [line.split()[-1] for line in last.stdout.splitlines()] == ["diverged", "action"]
    last_info = cli("logs", run["id"], "--tail", "2", "--level", "info")
    assert [line.split()[-1] for line in last_info.stdout.splitlines()] == ["1", "diverged"]
    train = cli("logs", run["id"], "--action", "train")
    assert [line.split("] ")[1] for line in train.stdout.splitlines()] == ["epoch 1", "diverged"]
    since = cli("logs", run["id"], "--since", "2026-01-01T12:00:02Z")
    assert [line.split()[-1] for line in since.stdout.splitlines()] == ["diverged", "action"]
    naive = cli("logs", run["id"], "--since", "2026-01-01T12:00:03")
    assert len(naive.stdout.splitlines()) == 2
    recent = cli("logs", run["id"], "--since", "10m")  # the records are from 2026-01-01
    assert recent.stdout == ""

    document = json.loads(cli("logs", run["id"], "--json").stdout)
    assert [r["message"] for r in document] == [
        "fetching", "slow mirror", "epoch 1", "diverged", "no action",
    ]  # fmt: skip
    assert document == client.get_logs(run["id"])


def test_pages_through_every_record(
    cli: Cli, client: PipelineServiceClient, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.append_logs(run["id"], entries(7))
    monkeypatch.setattr(logs_module, "PAGE_SIZE", 3)
    result = cli("logs", run["id"], "--json")
    assert [r["message"] for r in json.loads(result.stdout)] == [f"line {i}" for i in range(7)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "loud"], "error: --level must be one of debug, info, success, warning, "
                              "danger, error, critical, not 'loud'"),
        (["--since", "yesterday"], "error: --since must be a timestamp like"),
    ],
)  # fmt: skip
def test_bad_filters_are_usage_errors(cli: Cli, run: Any, args: list[str], message: str) -> None:
    result = cli("logs", run["id"], *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_run(cli: Cli) -> None:
    result = cli("logs", "no-such-run")
    assert result.exit_code == 1
    assert result.stderr == "error: no run with id or id prefix 'no-such-run' (404)\n"


def test_colour_by_level_on_a_terminal(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    client.append_logs(run["id"], [
        LogEntry(message="careful", level=LogLevel.WARNING),
        LogEntry(message="broken", level=LogLevel.ERROR),
    ])  # fmt: skip
    result = cli("logs", run["id"], env={"TTY_COMPATIBLE": "1", "FORCE_COLOR": "1"})
    lines = result.stdout.splitlines()
    assert "\x1b[33m" in lines[0]  # yellow
    assert "careful" in lines[0]
    assert "\x1b[31m" in lines[1]  # red
    assert "broken" in lines[1]


@pytest.mark.slow
def test_follow_until_the_run_ends(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    client.append_logs(run_id, entries(2))
    follower = start_cli("logs", run_id, "--follow", url=server_url)
    follower.wait_for_line(lambda line: line.endswith("line 1"))
    client.append_logs(run_id, entries(2, start=2, level=LogLevel.WARNING))
    follower.wait_for_line(lambda line: line.endswith("line 3"))
    client.report_progress(run_id, status="completed")
    code, stdout, stderr = follower.finish()
    assert code == 0, stderr
    assert [" ".join(line.split()[-2:]) for line in stdout] == [f"line {i}" for i in range(4)]
    assert "WARNING" in stdout[2]
    assert stderr.strip() == f"-- run {run_id} completed --"


@pytest.mark.slow
def test_follow_across_server_side_disconnects_has_no_gap_or_duplicate(
    start_cli: Any, client: PipelineServiceClient, run: Any, proxy: CuttingProxy
) -> None:
    run_id = run["id"]
    follower = start_cli("logs", run_id, "--follow", "--json", url=proxy.url)
    client.append_logs(run_id, entries(50))
    follower.wait_for_line(lambda line: json.loads(line)["message"] == "line 49")
    proxy.cut()  # while idle; the next records are stored while the client reconnects
    client.append_logs(run_id, entries(50, start=50))
    follower.wait_for_line(lambda line: json.loads(line)["message"] == "line 99")
    proxy.cut_after(20_000)  # in the middle of the next burst
    client.append_logs(run_id, entries(500, start=100))
    follower.wait_for_line(lambda line: json.loads(line)["message"] == "line 599")
    client.report_progress(run_id, status="failed", error="late failure")
    code, stdout, stderr = follower.finish()
    assert code == 0, stderr
    records = [json.loads(line) for line in stdout]
    assert [r["message"] for r in records] == [f"line {i}" for i in range(600)]
    assert [r["seq"] for r in records] == list(range(1, 601))
    assert proxy.connections >= 3


@pytest.mark.slow
def test_follow_filters_by_level_and_since(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    client.append_logs(run_id, [
        LogEntry(message="old error", level=LogLevel.ERROR, timestamp=T0),
        LogEntry(message="new info", timestamp=T0 + timedelta(hours=1)),
        LogEntry(message="new error", level=LogLevel.ERROR, timestamp=T0 + timedelta(hours=1)),
    ])  # fmt: skip
    follower = start_cli(
        "logs", run_id, "-f", "--level", "error", "--since", "2026-01-01T12:30:00Z", "--json",
        url=server_url,
    )  # fmt: skip
    follower.wait_for_line(lambda line: "new error" in line)
    client.cancel_run(run_id)
    code, stdout, _ = follower.finish()
    assert code == 0
    assert [json.loads(line)["message"] for line in stdout] == ["new error"]


@pytest.mark.slow
def test_follow_with_tail_starts_from_the_last_lines(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    run_id = run["id"]
    client.append_logs(run_id, entries(5))
    client.append_logs(run_id, entries(1, start=5, level=LogLevel.DEBUG))
    follower = start_cli(
        "logs", run_id[:8], "-f", "--tail", "2", "--level", "info", url=server_url
    )  # fmt: skip
    follower.wait_for_line(lambda line: line.endswith("line 4"))
    client.append_logs(run_id, entries(1, start=6, level=LogLevel.CRITICAL))
    client.append_logs(run_id, entries(1, start=7, level=LogLevel.DEBUG))
    follower.wait_for_line(lambda line: line.endswith("line 6"))
    client.cancel_run(run_id)
    code, stdout, stderr = follower.finish()
    assert code == 0, stderr
    assert [" ".join(line.split()[-2:]) for line in stdout] == ["line 3", "line 4", "line 6"]
    assert stderr.strip() == f"-- run {run_id} cancelled --"


@pytest.mark.slow
def test_ctrl_c_stops_following(
    start_cli: Any, client: PipelineServiceClient, run: Any, server_url: str
) -> None:
    client.append_logs(run["id"], entries(1))
    follower = start_cli("logs", run["id"], "--follow", url=server_url)
    follower.wait_for_line(lambda line: line.endswith("line 0"))
    follower.process.send_signal(signal.SIGINT)
    code, _, stderr = follower.finish()
    assert code == 130
    assert stderr.strip() == (
        f"Stopped following the logs of run {run['id']} (it is pending and left as it is)."
    )
    assert client.get_run(run["id"])["status"] == "pending"


@pytest.mark.slow
def test_follow_when_the_server_goes_away_says_so_shortly_and_exits_3(
    start_cli: Any, client: PipelineServiceClient, run: Any, proxy: CuttingProxy
) -> None:
    run_id = run["id"]
    client.append_logs(run_id, [LogEntry(message="before")])
    follower = start_cli("logs", run_id, "--follow", "--json", url=proxy.url)
    follower.wait_for_line(lambda line: '"before"' in line)
    proxy.close()
    code, _, stderr = follower.finish(timeout=60)
    assert code == 3
    assert stderr.splitlines() == [
        f"connection to {proxy.url} lost; reconnecting…",
        f"error: lost the logs of run {run_id} before it ended: the connection to {proxy.url} "
        "was lost and did not come back",
    ]
