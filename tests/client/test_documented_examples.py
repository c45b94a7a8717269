"""The documented examples (examples/documented) run against a live server with real ids."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import PipelineServiceClient, RunStatus
from pipeline_service.errors import NotFoundError
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, unique

from .helpers import drive_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documented"


def test_every_example_is_tested() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    assert scripts == set(CHECKS) | {"complete_example"}


class Example:
    """Runs one example script in-process, as `python script.py ARGS` would."""

    def __init__(
        self,
        server: EmbeddedServer,
        client: PipelineServiceClient,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.server = server
        self.client = client
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PIPELINE_SERVICE_URL", server.url)

    def run(self, name: str, *args: str, printed: threading.Event | None = None) -> str:
        """The script's output; `printed` is set once it has printed its first line."""
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", [str(EXAMPLES / f"{name}.py"), *args])
        overrides: dict[str, Any] = {}
        if printed is not None:

            def print_and_tell(*values: Any, **options: Any) -> None:
                print(*values, **options)
                printed.set()

            overrides["print"] = print_and_tell
        script = runpy.run_path(
            str(EXAMPLES / f"{name}.py"), init_globals=overrides, run_name="__main__"
        )
        # The documented examples leave their client open, as the documentation does.
        for value in script.values():
            if isinstance(value, PipelineServiceClient):
                value.close()
        return self.capsys.readouterr().out

    def new_run(self) -> str:
        pipeline = self.client.create_pipeline(unique("p"), ACTIONS)
        return self.client.create_run(pipeline["id"])["id"]


def check_no_server_needed(ex: Example) -> None:
    assert ex.run("overview") == ""
    assert ex.run("initialization") == ""


def check_context_manager(ex: Example) -> None:
    out = ex.run("context_manager")
    run_id = out.removeprefix("Run ID: ").strip()
    assert ex.client.get_run(run_id)["status"] == "pending"


def check_create_pipeline(ex: Example) -> None:
    out = ex.run("create_pipeline")
    pipeline_id = out.removeprefix("Created pipeline: ").strip()
    pipeline = ex.client.get_pipeline(pipeline_id)
    assert pipeline["description"] == "End-to-end YOLO training pipeline"
    assert [a["name"] for a in pipeline["actions"]] == ["download", "convert", "train"]


def check_get_pipeline(ex: Example) -> None:
    name = unique("shown")
    pipeline = ex.client.create_pipeline(name, ACTIONS)
    assert ex.run("get_pipeline", pipeline["id"]).strip() == name


def check_list_pipelines(ex: Example) -> None:
    pipeline = ex.client.create_pipeline(unique("listed"), ACTIONS)
    assert f"{pipeline['id']}: {pipeline['name']}" in ex.run("list_pipelines")


def check_delete_pipeline(ex: Example) -> None:
    pipeline = ex.client.create_pipeline(unique("doomed"), ACTIONS)
    ex.run("delete_pipeline", pipeline["id"])
    with pytest.raises(NotFoundError):
        ex.client.get_pipeline(pipeline["id"])


def check_create_run(ex: Example) -> None:
    pipeline = ex.client.create_pipeline(unique("p"), ACTIONS)
    out = ex.run("create_run", pipeline["id"])
    assert "Status: pending" in out
    run = ex.client.list_pipeline_runs(pipeline["id"])[0]
    assert f"Run ID: {run['id']}" in out
    assert run["params"] == {"dataset": 456, "epochs": 100}
    assert run["work_dir"] == "/workspace/run-001"


def check_get_run(ex: Example) -> None:
    out = ex.run("get_run", ex.new_run())
    assert "Status: pending" in out
    assert "Progress: [{'name': 'download'" in out


def check_list_runs(ex: Example) -> None:
    counts = [int(n) for n in ex.run("list_runs").split()]
    assert counts == [
        len(ex.client.list_runs()),
        len(ex.client.list_runs(status="running")),
        len(ex.client.list_runs(status="completed")),
    ]


def check_update_run(ex: Example) -> None:
    completed, failed = ex.new_run(), ex.new_run()
    ex.run("update_run", completed, failed)
    assert ex.client.get_run(completed)["result"] == {
        "accuracy": 0.95,
        "model_path": "/models/best.pt",
    }
    assert ex.client.get_run(failed)["error"] == "Out of memory during training"


def check_delete_run(ex: Example) -> None:
    run_id = ex.new_run()
    ex.run("delete_run", run_id)
    with pytest.raises(NotFoundError):
        ex.client.get_run(run_id)


def check_report_progress(ex: Example) -> None:
    run_id = ex.new_run()
    ex.run("report_progress", run_id)
    progress = ex.client.get_progress(run_id)
    assert progress.status == RunStatus.RUNNING
    assert (progress.current_action, progress.current_action_index) == ("train", 2)
    train = progress.actions[2]
    assert (train.progress, train.total, train.metrics) == (
        50,
        100,
        {"loss": 0.25, "accuracy": 0.87},
    )


def check_get_progress(ex: Example) -> None:
    run_id = ex.new_run()
    ex.client.report_progress(run_id, current_action="download", status="running")
    out = ex.run("get_progress", run_id)
    assert "Status: running" in out
    assert "Current action: download" in out
    assert "  train: 0/None" in out


def check_stream_progress(ex: Example) -> None:
    for script in ("stream_progress", "stream_progress_async"):
        run_id = ex.new_run()
        # The worker starts once the script has shown the run pending.
        printed = threading.Event()
        worker = drive_run(ex.server.url, run_id, steps=1, after=printed)
        out = ex.run(script, run_id, printed=printed)
        worker.join(10)
        statuses = [line for line in out.splitlines() if line.startswith("Status: ")]
        assert statuses[0] == "Status: pending"
        assert statuses[-1] == "Status: completed"
        assert "Status: running" in statuses


def check_checkpoints(ex: Example) -> None:
    run_id = ex.new_run()
    assert ex.run("get_latest_checkpoint", run_id) == ""
    assert ex.run("get_checkpoint_by_action", run_id) == ""
    checkpoint_id = ex.run("create_checkpoint", run_id).strip()
    assert ex.client.get_checkpoints(run_id)[0]["id"] == checkpoint_id
    assert ex.run("get_checkpoints", run_id) == "train: completed\n"
    assert ex.run("get_latest_checkpoint", run_id) == "Resume from: train\n"
    out = ex.run("get_checkpoint_by_action", run_id)
    assert out == "Train checkpoint: /workspace/checkpoints/epoch_50\n"


def check_logs(ex: Example) -> None:
    run_id = ex.new_run()
    ex.run("append_logs", run_id)
    logs = ex.client.get_logs(run_id)
    assert [(r["message"], r["level"], r["action_name"]) for r in logs] == [
        ("Starting training", "info", "train"),
        ("Loaded dataset", "info", "train"),
    ]
    ex.client.append_logs(run_id, [{"message": "boom", "level": "error"}])
    assert ex.run("get_logs", run_id).split() == ["3", "2", "1", "3"]


def check_health_check(ex: Example) -> None:
    assert ex.run("health_check") == "Pipeline service is healthy\n"


CHECKS: dict[str, Callable[[Example], None]] = {
    "overview": check_no_server_needed,
    "initialization": check_no_server_needed,
    "context_manager": check_context_manager,
    "create_pipeline": check_create_pipeline,
    "get_pipeline": check_get_pipeline,
    "list_pipelines": check_list_pipelines,
    "delete_pipeline": check_delete_pipeline,
    "create_run": check_create_run,
    "get_run": check_get_run,
    "list_runs": check_list_runs,
    "update_run": check_update_run,
    "delete_run": check_delete_run,
    "report_progress": check_report_progress,
    "get_progress": check_get_progress,
    "stream_progress": check_stream_progress,
    "stream_progress_async": check_stream_progress,
    "create_checkpoint": check_checkpoints,
    "get_checkpoints": check_checkpoints,
    "get_latest_checkpoint": check_checkpoints,
    "get_checkpoint_by_action": check_checkpoints,
    "append_logs": check_logs,
    "get_logs": check_logs,
    "health_check": check_health_check,
}


def check_name(check: object) -> str:
    return str(getattr(check, "__name__", check))


@pytest.mark.parametrize("check", sorted(set(CHECKS.values()), key=check_name), ids=check_name)
def test_documented_example(
    check: Callable[[Example], None],
    server: EmbeddedServer,
    client: PipelineServiceClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check(Example(server, client, capsys, monkeypatch))


@pytest.mark.slow
def test_complete_example_as_a_script(tmp_path: Path) -> None:
    """The "Complete Example", run as a real script; a background worker drives its run."""
    with (
        EmbeddedServer(tmp_path / "db.sqlite", heartbeat_interval=0.5) as server,
        PipelineServiceClient(server.url) as client,
    ):
        env = {**os.environ, "PIPELINE_SERVICE_URL": server.url, "PYTHONUNBUFFERED": "1"}
        script = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "complete_example.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not (runs := client.list_runs()):
                assert script.poll() is None, script.communicate()
                assert time.monotonic() < deadline, "the example started no run"
                time.sleep(0.05)
            # Its first line (the run pending) arrives before the worker starts.
            assert script.stdout is not None
            first = script.stdout.readline()
            worker = drive_run(server.url, runs[0]["id"], steps=2)
            rest, err = script.communicate(timeout=60)
            out = first + rest
            worker.join(10)
        finally:
            script.kill()
    assert script.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "[pending] None"
    assert "[running] train" in lines
    # The reference server stores numbers as floats: 2 may come back as 2.0.
    assert any(re.fullmatch(r"  Progress: 2(\.0)?/2(\.0)?", line) for line in lines)
    assert "[completed] train" in lines[-3:]
    assert lines[-1] == "Result: {'accuracy': 0.95}"


@pytest.mark.slow
def test_examples_are_strictly_typed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=EXAMPLES.parents[1],
    )
    assert result.returncode == 0, result.stdout + result.stderr
