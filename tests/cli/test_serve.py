"""`pipeline-service serve`: quiet by default, says where it listens and where the docs are, and
refuses a database it cannot use in one clear line."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline_service import PipelineServiceClient
from tests.support.processes import lines_of, wait_until


def start_serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", "0",
         "--db", str(tmp_path / "service.db"), *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    return process, lines_of(process.stderr)  # the pipe is closed at its end


def stderr_read(process: subprocess.Popen[str]) -> None:
    """Wait until every line of the process's stderr is in its queue (the pipe is closed)."""
    wait_until(lambda: process.stderr is None or process.stderr.closed, 30, "stderr's end")


def end(process: subprocess.Popen[str]) -> None:
    """Kill `process` (if still running) and wait until its stderr is read."""
    process.kill()
    process.wait()
    stderr_read(process)


def stop(process: subprocess.Popen[str], lines: queue.Queue[str]) -> list[str]:
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    stderr_read(process)
    rest = []
    while not lines.empty():
        rest.append(lines.get_nowait())
    return rest


@pytest.mark.slow
def test_serve_prints_the_real_port_and_the_docs_and_no_request_lines(tmp_path: Path) -> None:
    process, lines = start_serve(tmp_path)
    try:
        first = lines.get(timeout=30)
        match = re.fullmatch(
            r"pipeline-service: serving on (http://127\.0\.0\.1:(\d+)) \(database .*\) "
            r"with 1 worker",
            first,
        )
        assert match, first
        url, port = match.group(1), int(match.group(2))
        assert port != 0
        assert lines.get(timeout=5) == f"pipeline-service: API docs at {url}/docs; Ctrl-C to stop"
        assert httpx.get(f"{url}/docs", timeout=10).status_code == 200
        with PipelineServiceClient(url) as client:
            pipeline = client.create_pipeline(
                "quiet", [{"name": "download", "entrypoint": "plugin.download.DownloadAction"}]
            )
            run = client.create_run(pipeline["id"], {"rows": 50, "pace": 0})
            final = client.wait_for_completion(run["id"], timeout=60)
            assert final["status"] == "completed", final["error"]
        time.sleep(1.5)  # the worker keeps polling meanwhile
        rest = stop(process, lines)
    finally:
        end(process)
    assert not [line for line in rest if "/api/v1" in line or '"GET' in line], rest
    stores = [line for line in rest if line.startswith("pipeline-service: artifacts in ")]
    assert len(stores) == 1, rest
    assert stores[0].endswith("-artifacts"), stores  # next to the SQLite database
    # dashboard, artifacts, claimed, completed, stopping: no line per poll or renewal
    assert len(rest) <= 5, rest


@pytest.mark.slow
def test_log_level_debug_shows_requests_and_bad_levels_are_refused(tmp_path: Path) -> None:
    process, lines = start_serve(tmp_path, "--log-level", "debug", "--workers", "0")
    try:
        first = lines.get(timeout=30)
        while "serving on" not in first:
            first = lines.get(timeout=30)
        url = first.split("serving on ")[1].split()[0]
        httpx.get(f"{url}/api/v1/runs/", timeout=10)
        rest = stop(process, lines)
    finally:
        end(process)
    assert any('"GET /api/v1/runs/" 200' in line for line in rest), rest
    stamped = next(line for line in rest if '"GET /api/v1/runs/"' in line)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ INFO ", stamped), stamped

    refused = subprocess.run(
        [sys.executable, "-m", "pipeline_service", "serve", "--log-level", "loud"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2
    assert "'loud' is not one of" in refused.stderr
    assert "debug" in refused.stderr


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "1"])
def test_an_unusable_database_is_one_clear_line(tmp_path: Path, workers: str) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    command = [sys.executable, "-m", "pipeline_service", "serve", "--port", "0"]
    result = subprocess.run(
        [*command, "--workers", workers, "--db", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"pipeline-service: cannot use the database {directory}: ")
    assert "unable to open database file" in line


@pytest.mark.slow
def test_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
        result = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "serve", "--port", str(port),
             "--db", str(tmp_path / "service.db")],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port PORT, "
        "or --port 0 for any free one\n"
    )
    assert list(tmp_path.iterdir()) == []
