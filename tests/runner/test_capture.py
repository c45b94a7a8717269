"""What actions print and log reaches the run's logs (and the worker's output), batched."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.runner.actions import ActionTask, run_action
from pipeline_service.runner.capture import capture_output, service_level
from pipeline_service.server import EmbeddedServer
from tests.support.processes import subprocess_env, wait_until

from .helpers import HERE, RecordingClient, Workers


def test_print_stderr_and_logging_land_in_the_run_logs_with_levels(
    client: PipelineServiceClient, workers: Workers
) -> None:
    pipeline = client.create_pipeline(
        "chatty", [{"name": "talk", "entrypoint": "runner_test_actions.chatty"}]
    )
    workers.start()
    run = client.create_run(pipeline["id"], params={"lines": 200})
    wait_until(
        lambda: client.get_run(run["id"])["status"] == "completed", 30, "the run to complete"
    )
    records = [r for r in client.get_logs(run["id"], limit=1000) if r["action_name"] == "talk"]
    lines = [(r["level"], r["message"]) for r in records]
    printed = [("info", f"printed {index}") for index in range(200)]
    assert [line for line in lines if line[1].startswith("printed ")] == printed
    assert ("warning", "to stderr") in lines
    assert ("info", "logged info") in lines
    assert ("warning", "logged warning") in lines
    assert ("info", "no newline at the end") in lines
    assert not any("too detailed" in message for _, message in lines)
    [error] = [message for level, message in lines if level == "error"]
    assert error.startswith("logged error\nTraceback (most recent call last):")
    assert "KeyError: 'boom'" in error


@pytest.mark.slow
def test_captured_lines_are_sent_in_batches_and_echoed_by_the_worker(tmp_path: Path) -> None:
    with (
        EmbeddedServer(tmp_path / "db.sqlite") as server,
        PipelineServiceClient(server.url) as client,
    ):
        pipeline = client.create_pipeline(
            "chatty", [{"name": "talk", "entrypoint": "runner_test_actions.chatty"}]
        )
        run = client.create_run(pipeline["id"], params={"lines": 300})
        worker = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "worker", "--max-runs", "1"],
            env={**subprocess_env(), "PIPELINE_SERVICE_URL": server.url},
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr
        # Not a terminal: each line says whose it is, each event is one line (never wrapped).
        prefix = f"[{run['id'][:8]} talk] "
        assert f"{prefix}printed 299\n" in worker.stdout
        assert f"{prefix}to stderr\n" in worker.stderr
        assert f"{prefix}WARNING chatty: logged warning\n" in worker.stderr
        claimed = [line for line in worker.stderr.splitlines() if "claimed run" in line]
        assert len(claimed) == 1
        assert claimed[0].endswith(f"claimed run {run['id']}")
        records = client.get_logs(run["id"], limit=1000)
        assert sum(r["message"].startswith("printed ") for r in records) == 300


def test_captured_lines_travel_in_batches(tmp_path: Path) -> None:
    recording = RecordingClient()
    task = ActionTask(
        run_id="run-1",
        action_name="talk",
        action_index=0,
        entrypoint="runner_test_actions.chatty",
        params={"lines": 1000},
        work_dir=str(tmp_path / "work"),
        import_paths=(str(HERE),),
    )
    outcome = run_action(task, recording, lambda: False, capture=True)  # type: ignore[arg-type]
    assert outcome.ok, outcome.error
    assert sum(m.startswith("printed ") for m in recording.messages()) == 1000
    assert recording.log_batches <= 5
    assert {entry["action_name"] for entry in recording.logs} == {"talk"}


def test_levels_of_logging_map_to_the_service_levels() -> None:
    assert [service_level(n) for n in (5, 10, 20, 25, 30, 40, 50, 60)] == [
        "debug",
        "debug",
        "info",
        "info",
        "warning",
        "error",
        "critical",
        "critical",
    ]


def test_the_reporting_machinery_is_echoed_but_never_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    sent: list[tuple[str, str]] = []
    with capture_output(lambda message, level: sent.append((message, level))):
        logging.getLogger("pipeline_service.runner.reporter").warning("logs not sent, will retry")
        logging.getLogger("httpx").info("HTTP Request: POST /logs")
        logging.getLogger("mine").info("mine")
        print("partial", end="")
    assert sent == [("mine", "info"), ("partial", "info")]
    assert "WARNING pipeline_service.runner.reporter: logs not sent, will retry" in err.getvalue()
    assert "HTTP Request" not in err.getvalue()
    assert out.getvalue() == "partial"
    assert sys.stdout is out
    assert logging.getLogger().level == logging.WARNING
