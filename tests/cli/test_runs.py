"""`pipeline-service runs list | get | create | cancel` against a live server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import ActionProgress, PipelineServiceClient
from pipeline_service.cli.runs import parse_param_value

from .conftest import Cli


def test_create_parses_params_as_json_when_valid(
    cli: Cli, client: PipelineServiceClient, pipeline: Any, tmp_path: Path
) -> None:
    params_file = tmp_path / "params.yaml"
    params_file.write_text("epochs: 1\nlr: 0.01\ndataset: coco\nsince: 2026-01-02\n")
    result = cli(
        "runs", "create", pipeline["id"],
        "--params-file", str(params_file),
        "--param", "epochs=3",
        "-p", "tags=[\"a\", \"b\"]",
        "-p", "name=my run",
        "-p", "resume=false",
        "-p", "empty=",
        "-p", "expr=a=b",
        "--work-dir", "/tmp/work",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Created run ")
    run_id = result.stdout.split()[2]
    assert f"Dashboard: {cli.url}/ui/runs/{run_id}\n" in result.stdout
    stored = client.get_run(run_id)
    assert stored["params"] == {
        "epochs": 3,
        "lr": 0.01,
        "dataset": "coco",
        "since": "2026-01-02",
        "tags": ["a", "b"],
        "name": "my run",
        "resume": False,
        "empty": "",
        "expr": "a=b",
    }
    assert stored["work_dir"] == "/tmp/work"
    assert stored["status"] == "pending"


def test_param_values() -> None:
    assert parse_param_value("3") == 3
    assert parse_param_value("2.5") == 2.5
    assert parse_param_value("null") is None
    assert parse_param_value('{"a": 1}') == {"a": 1}
    assert parse_param_value('"3"') == "3"
    assert parse_param_value("NaN") == "NaN"
    assert parse_param_value("Infinity") == "Infinity"
    assert parse_param_value("abc") == "abc"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "novalue"], "--param expects KEY=VALUE, got 'novalue'"),
        (["--param", "=3"], "--param expects KEY=VALUE, got '=3'"),
        (["--params-file", "/nonexistent/params.yaml"], "cannot read params file"),
        (["-p", "lr=1e400"], "--param 'lr=1e400': 1e400 holds a number too large for JSON"),
        (["-p", "grid=[1, -1e999]"], "--param 'grid=[1, -1e999]': [1, -1e999] holds a number"),
    ],
)
def test_bad_params_are_usage_errors(
    cli: Cli, pipeline: Any, args: list[str], message: str
) -> None:
    result = cli("runs", "create", pipeline["id"], *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "must hold a mapping of parameters"),
        ('{"lr": NaN}', "holds something JSON cannot carry"),
    ],
)
def test_params_file_must_be_a_json_mapping(
    cli: Cli, pipeline: Any, tmp_path: Path, content: str, message: str
) -> None:
    params_file = tmp_path / "params.json"
    params_file.write_text(content)
    result = cli("runs", "create", pipeline["id"], "--params-file", str(params_file))
    assert result.exit_code == 2
    assert message in result.stderr


def test_create_json_and_unknown_pipeline(cli: Cli, pipeline: Any) -> None:
    created = cli("runs", "create", pipeline["id"], "--json")
    assert created.exit_code == 0
    run = json.loads(created.stdout)
    assert run["pipeline_id"] == pipeline["id"]
    assert [a["name"] for a in run["progress"]] == ["download", "convert", "train"]

    missing = cli("runs", "create", "no-such-pipeline")
    assert missing.exit_code == 1
    assert missing.stderr == (
        "error: no pipeline with id, name or id prefix 'no-such-pipeline' (404)\n"
    )


def test_list_filters_by_status_and_pipeline(
    cli: Cli, client: PipelineServiceClient, pipeline: Any
) -> None:
    pending = client.create_run(pipeline["id"])
    running = client.create_run(pipeline["id"])
    client.report_progress(running["id"], status="running", current_action="download",
                           current_action_index=0)  # fmt: skip

    listed = cli("runs", "list", "--status", "running", "--pipeline", pipeline["id"])
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "PIPELINE", "STATUS", "ACTION", "ELAPSED", "CREATED"]
    assert len(lines) == 2
    assert lines[1].split()[:5] == [running["id"][:8], "cli-test", "running", "download", "(1/3)"]

    short = pipeline["id"][:8]
    wide = cli("runs", "list", "--status", "running", "--pipeline", short, "-o", "wide")
    assert wide.exit_code == 0, wide.stderr
    header, row = wide.stdout.splitlines()
    assert header.split()[:4] == ["ID", "PIPELINE", "PIPELINE", "ID"]
    assert row.split()[:4] == [running["id"], "cli-test", pipeline["id"], "running"]

    everything = json.loads(cli("runs", "list", "--pipeline", pipeline["id"], "--json").stdout)
    assert [r["id"] for r in everything] == [running["id"], pending["id"]]  # newest first

    pending_only = json.loads(cli("runs", "list", "--status", "pending", "--json").stdout)
    ids = {r["id"] for r in pending_only}
    assert pending["id"] in ids
    assert running["id"] not in ids
    assert all(r["status"] == "pending" for r in pending_only)


def test_bad_status_is_a_usage_error(cli: Cli) -> None:
    result = cli("runs", "list", "--status", "done")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --status must be one of pending, running, completed, failed, cancelled, not 'done'"
    )


def test_get_says_where_an_action_ran_off_its_worker(
    cli: Cli, client: PipelineServiceClient, run: Any
) -> None:
    ran_on = {"executor": "ray", "node": "5f1c0d3e9b77aa", "task_id": "16310a0f0a45af5c" + "f" * 8}
    client.report_progress(
        run["id"],
        current_action_index=0,
        action_progress={"name": "download", "status": "running", "ran_on": ran_on},
    )
    client.report_progress(
        run["id"],
        current_action_index=1,
        action_progress={"name": "convert", "ran_on": {"executor": "process", "task_id": "42"}},
    )
    out = cli("runs", "get", run["id"]).stdout
    row = next(line for line in out.splitlines() if line.startswith("0 "))
    assert row.split()[-6:] == ["on", "ray", "node", "5f1c0d3e9b77", "task", "16310a0f0a45af5c"]
    row = next(line for line in out.splitlines() if line.startswith("1 "))
    assert "on process" not in row  # where a worker's own child ran is no news


def test_get_shows_state_and_action_progress(
    cli: Cli, client: PipelineServiceClient, run: Any
) -> None:
    client.report_progress(
        run["id"],
        current_action="convert",
        current_action_index=1,
        status="running",
        action_progress=ActionProgress(
            name="convert", status="running", progress=3, total=10, progress_step="images",
            message="converting", metrics={"files": 30, "loss": 0.123456},
        ),
    )  # fmt: skip
    shown = cli("runs", "get", run["id"])
    assert shown.exit_code == 0
    out = shown.stdout
    assert f"id:        {run['id']}" in out
    assert "status:    running" in out
    assert "action:    convert (2/3)" in out
    assert 'params:    {"epochs":3}' in out
    row = next(line for line in out.splitlines() if line.startswith("1 "))
    assert row.split() == [
        "1", "convert", "running", "3/10", "images", "converting", "files=30", "loss=0.1235",
    ]  # fmt: skip

    document = json.loads(cli("runs", "get", run["id"], "--json").stdout)
    assert document == client.get_run(run["id"])

    missing = cli("runs", "get", "no-such-run")
    assert missing.exit_code == 1
    assert missing.stderr == "error: no run with id or id prefix 'no-such-run' (404)\n"


def test_cancel(cli: Cli, client: PipelineServiceClient, pipeline: Any, run: Any) -> None:
    cancelled = cli("runs", "cancel", run["id"])
    assert cancelled.exit_code == 0
    assert cancelled.stdout.strip() == f"Run {run['id']} is cancelled"
    assert client.get_run(run["id"])["status"] == "cancelled"

    done = client.create_run(pipeline["id"])
    client.report_progress(done["id"], status="completed")
    refused = cli("runs", "cancel", done["id"], "--json")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith("error: the server answered 409")

    again = cli("runs", "cancel", run["id"], "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["status"] == "cancelled"


def test_a_cancelled_run_shows_its_action_cancelled_and_the_later_ones_not_run(
    cli: Cli, client: PipelineServiceClient, run: Any
) -> None:
    client.report_progress(
        run["id"],
        status="running",
        current_action="download",
        current_action_index=0,
        action_progress=ActionProgress(name="download", status="running", progress=0.4),
    )
    client.cancel_run(run["id"])
    shown = cli("runs", "get", run["id"])
    assert shown.exit_code == 0
    rows = [line.split() for line in shown.stdout.splitlines() if line[:2] in ("0 ", "1 ", "2 ")]
    assert rows == [
        ["0", "download", "cancelled", "40%"],
        ["1", "convert", "not", "run", "-"],
        ["2", "train", "not", "run", "-"],
    ]
    assert [a["status"] for a in client.get_run(run["id"])["progress"]] == [
        "cancelled", "pending", "pending",
    ]  # fmt: skip


def test_create_resuming_an_earlier_run(
    cli: Cli, client: PipelineServiceClient, pipeline: Any, run: Any
) -> None:
    client.create_checkpoint(run["id"], "download", 0, result={"raw_path": "/data/raw.csv"})
    client.report_progress(run["id"], status="failed", error="convert crashed")
    result = cli("runs", "create", pipeline["id"], "--resume-from", run["id"], "--json")
    assert result.exit_code == 0, result.stderr
    resumed = json.loads(result.stdout)
    assert resumed["params"] == {"epochs": 3}
    assert [c["action_name"] for c in client.get_checkpoints(resumed["id"])] == ["download"]
