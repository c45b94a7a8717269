"""What the terminal shows: the live view at 80 columns, overall progress, times, help, hints."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from pipeline_service import ActionProgress, LogEntry, PipelineProgress, PipelineServiceClient
from pipeline_service.cli import app as full_app
from pipeline_service.cli import watch as watch_module
from pipeline_service.cli.completion import complete_pipeline, complete_run_id
from pipeline_service.cli.watch import LiveView, overall_fraction

from .conftest import Cli

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def progress_of(*actions: ActionProgress, status: str = "running") -> PipelineProgress:
    return PipelineProgress.model_validate(
        {
            "run_id": "0b53d409-f256-4e5e-a556-7d29bd489357",
            "pipeline_id": "3cc620bc-02e8-43ee-86a6-b90a7f9d1a94",
            "status": status,
            "current_action": "train",
            "current_action_index": 2,
            "progress": [a.model_dump(mode="json") for a in actions],
            "started_at": (NOW - timedelta(seconds=30)).isoformat(),
        }
    )


def action(name: str, status: str, started: float | None, took: float | None, **fields: Any) -> Any:
    return ActionProgress(
        name=name,
        status=status,
        started_at=NOW - timedelta(seconds=started) if started is not None else None,
        completed_at=(
            NOW - timedelta(seconds=started) + timedelta(seconds=took)
            if started is not None and took is not None
            else None
        ),
        **fields,
    )


SAMPLE = progress_of(
    action("download", "completed", 30, 10, progress=2000, total=2000, progress_step="rows",
           metrics={"rows": 2000, "bytes": 79281}),
    action("convert", "completed", 20, 10, progress=2000, total=2000, progress_step="samples",
           metrics={"train_rows": 1600, "validation_rows": 400}),
    action("train", "running", 10, None, progress=10, total=40, progress_step="epoch",
           metrics={"loss": 0.2557, "val_loss": 0.2717, "learning_rate": 0.001,
                    "gradient_norm": 12.5, "note": "a long metric that cannot fit"}),
)  # fmt: skip


def test_live_view_fits_80_columns_with_elapsed_time_and_eta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watch_module, "datetime", _FrozenDatetime)
    console = Console(width=80, record=True, force_terminal=True, color_system=None)
    view = LiveView(console)
    view._progress = SAMPLE
    console.print(view.render())
    lines = console.export_text().splitlines()
    assert len(lines) == 4  # the header and one line per action: nothing wrapped
    assert all(len(line) <= 80 for line in lines)
    assert lines[0] == f"Run {SAMPLE.run_id}  running  50%  elapsed 0:00:30"
    train = lines[3]
    assert "10/40" in train
    assert "0:00:10" in train  # its elapsed time
    assert "ETA 0:00:30" in train  # 10 epochs in 10 s, 30 to go
    assert train.endswith("…")  # metrics cut, not wrapped
    assert "0:00:10" in lines[1]  # a finished action keeps its duration


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return NOW if tz is not None else NOW.replace(tzinfo=None)


def test_overall_progress_weighs_actions_by_their_duration() -> None:
    # download took 10 s, convert 10 s; train is a quarter through after 10 s (40 s in all):
    # 20 s done of 60 s expected, plus a quarter of train's 40 s -> 30/60.
    assert overall_fraction(SAMPLE, NOW) == pytest.approx(0.5)
    nothing_known = progress_of(
        action("a", "completed", None, None, progress=1),
        action("b", "running", None, None, progress=0.5),
        action("c", "pending", None, None),
    )
    assert overall_fraction(nothing_known, NOW) == pytest.approx(0.5)  # the plain mean
    # A fast first action does not count as a third of the run once the slow one is timed.
    fast_then_slow = progress_of(
        action("fast", "completed", 100, 1, progress=1),
        action("slow", "running", 99, None, progress=10, total=100),
    )
    assert overall_fraction(fast_then_slow, NOW) == pytest.approx((1 + 99) / (1 + 990))
    assert overall_fraction(progress_of(status="completed"), NOW) == 1.0


def test_times_are_local_with_the_zone_and_json_keeps_utc(
    cli: Cli, client: PipelineServiceClient, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.append_logs(run["id"], [LogEntry(message="hello", timestamp=NOW)])
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    shown = cli("logs", run["id"])
    assert shown.stdout.splitlines() == ["2026-01-01 13:00:00.000 CET INFO     hello"]
    document = cli("logs", run["id"], "--json")
    assert '"timestamp": "2026-01-01T12:00:00' in document.stdout
    listed = cli("runs", "get", run["id"])
    created = re.search(r"created:\s+(.*)", listed.stdout)
    assert created
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CET", created.group(1))


def test_runs_get_pretty_prints_the_result(
    cli: Cli, client: PipelineServiceClient, run: Any
) -> None:
    client.update_run(run["id"], status="running")
    client.update_run(run["id"], status="completed", result={"model": "m.json", "r2": 0.99})
    shown = cli("runs", "get", run["id"])
    assert shown.exit_code == 0
    assert shown.stdout.rstrip().endswith('result:\n{\n  "model": "m.json",\n  "r2": 0.99\n}')


def test_watch_says_when_no_worker_claimed_the_run(
    cli: Cli, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "PENDING_HINT_AFTER", 0.2)
    result = cli("runs", "watch", run["id"], "--timeout", "2")
    assert result.exit_code == 3
    hint = (
        f"no worker has claimed run {run['id']} yet: start one with "
        f"`pipeline-service worker --url {cli.url}`"
    )
    assert f"note: {hint}" in result.stderr
    assert result.stderr.count(hint) == 2  # the note, then the reason the watch gave up


@pytest.mark.slow
def test_every_command_has_examples_in_its_help() -> None:
    runner = CliRunner()
    commands = [
        ["serve"], ["worker"], ["demo"], ["logs"], ["checkpoints"],
        *(["pipelines", c] for c in ("list", "get", "create", "apply", "validate", "delete")),
        *(["runs", c] for c in ("list", "get", "create", "resume", "cancel", "delete", "watch")),
    ]  # fmt: skip
    for command in commands:
        result = runner.invoke(full_app, [*command, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, command
        assert "Examples:" in result.stdout, command
        assert "pipeline-service " in result.stdout.split("Examples:")[1], command
    top = runner.invoke(full_app, ["--help"], env={"COLUMNS": "120"})
    assert "4 the run was cancelled" in top.stdout
    version = runner.invoke(full_app, ["--version"])
    assert version.exit_code == 0
    assert re.fullmatch(r"pipeline-service \d+\.\d+\.\d+\S*\n", version.stdout)


def test_completion_offers_names_and_recent_ids_and_nothing_when_unreachable(
    server_url: str, client: PipelineServiceClient, pipeline: Any, run: Any
) -> None:
    context = typer.Context(typer.main.get_command(full_app))
    context.params = {"url": server_url}
    assert (run["id"], "pending") in complete_run_id(context, run["id"][:6])
    assert ("cli-test", pipeline["id"]) in complete_pipeline(context, "cli-")
    assert (pipeline["id"], "cli-test") in complete_pipeline(context, pipeline["id"][:8])
    context.params = {"url": "http://127.0.0.1:9"}
    assert complete_run_id(context, "") == []
    assert complete_pipeline(context, "") == []


def test_output_formats(cli: Cli, run: Any) -> None:
    as_yaml = cli("runs", "get", run["id"], "-o", "yaml")
    assert as_yaml.exit_code == 0
    assert f"id: {run['id']}" in as_yaml.stdout
    bad = cli("runs", "list", "-o", "xml")
    assert bad.exit_code == 2
    assert bad.stderr == "error: -o/--output must be one of table, wide, json, yaml, not 'xml'\n"
