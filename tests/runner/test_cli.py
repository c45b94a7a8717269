"""The commands of the runner: `serve` with workers (the documented Complete Example runs on it
end to end), `worker`, and `demo`."""

from __future__ import annotations

import ast
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from tests.support.processes import lines_of, subprocess_env, wait_until

from .helpers import REPO

COMPLETE_EXAMPLE = REPO / "examples" / "documented" / "complete_example.py"


@pytest.mark.slow
def test_complete_example_runs_end_to_end_against_serve(tmp_path: Path) -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", "0",
         "--db", str(tmp_path / "service.db"), "--log-level", "warning"],
        cwd=tmp_path,  # the bundled example plugin is found without help
        env={**subprocess_env(), "TMPDIR": str(tmp_path)},  # work dirs in tmp_path
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        stderr = lines_of(serve.stderr)
        first = stderr.get(timeout=30)
        match = re.search(r"serving on (http://\S+) .* with 1 worker$", first.strip())
        assert match, first
        docs = f"pipeline-service: API docs at {match.group(1)}/docs; Ctrl-C to stop"
        assert stderr.get(timeout=30).strip() == docs
        assert stderr.get(timeout=30).strip() == f"pipeline-service: dashboard at {match.group(1)}/"
        example = subprocess.run(
            [sys.executable, str(COMPLETE_EXAMPLE)],
            env={**os.environ, "PIPELINE_SERVICE_URL": match.group(1)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert example.returncode == 0, example.stderr
        lines = example.stdout.splitlines()
        assert "[running] download" in lines
        assert "  Progress: 50.0/50.0" in lines
        assert lines[-3:-1] == ["[completed] train", "  Progress: 50.0/50.0"]
        assert lines[-1].startswith("Result: {'raw_path': ")
        result = ast.literal_eval(lines[-1].removeprefix("Result: "))
        assert result["r2"] > 0.99
        assert Path(result["model_path"]).is_file()
        assert Path(result["model_path"]).is_relative_to(tmp_path)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(20) == 0
    finally:
        serve.kill()
        serve.wait()


@pytest.mark.slow
def test_demo_runs_the_sample_pipeline_and_exits_0(tmp_path: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "pipeline_service", "demo", "--db", str(tmp_path / "demo.db")],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,  # not a terminal: it ends with the run
        env={**subprocess_env(), "COLUMNS": "120", "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert re.search(r"Run \S+ completed in 0:00:\d\d", out), out
    assert re.search(r"Watch it in the dashboard: http://127\.0\.0\.1:\d+/ui/runs/\S+\n", out)
    assert re.search(r"^Result: .*r2=0\.99\d* .*\(\+\d+ more: `--json`", out, re.MULTILINE), out
    assert '"model_path":' not in out  # a summary, not the whole result
    assert f"kept in {tmp_path / 'demo.db'}" in out
    assert (tmp_path / "pipeline-service" / "runs").is_dir()
    assert (tmp_path / "demo.db").is_file()


def test_worker_with_a_wrong_token_says_so_and_exits(tmp_path: Path) -> None:
    with EmbeddedServer(token="s3cret", log_level="error") as server:
        worker = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "worker", "--url", server.url,
             "--token", "wrong"],
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )  # fmt: skip
    assert worker.returncode == 1
    assert "not authorised" in worker.stderr


def test_worker_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    with EmbeddedServer(log_level="error") as server:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pipeline_service", "worker", "--url", server.url],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            stderr = lines_of(worker.stderr)
            assert "serving" in stderr.get(timeout=30)
            worker.send_signal(signal.SIGINT)
            assert worker.wait(15) == 0
        finally:
            worker.kill()
            worker.wait()


@pytest.mark.slow
def test_serve_with_no_workers_leaves_runs_waiting(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", str(port),
         "--db", str(tmp_path / "service.db"), "--log-level", "warning", "--workers", "0"],
        env=subprocess_env(),
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with PipelineServiceClient(f"http://127.0.0.1:{port}", max_retries=0) as client:
            wait_until(client.health_check, 30, "the server")
            pipeline = client.create_pipeline("idle", [{"name": "a", "entrypoint": "x.y"}])
            run = client.create_run(pipeline["id"])
            time.sleep(1.5)  # a local worker would have claimed (and failed) it by now
            assert client.get_run(run["id"])["status"] == "pending"
    finally:
        serve.kill()
        serve.wait()


@pytest.mark.slow
def test_worker_takes_the_pipeline_by_name(tmp_path: Path) -> None:
    step = [{"name": "only", "entrypoint": "runner_test_actions.step"}]
    with (
        EmbeddedServer(tmp_path / "db.sqlite", log_level="error") as server,
        PipelineServiceClient(server.url) as client,
    ):
        mine = client.create_pipeline("mine", step)
        other = client.create_pipeline("other", step)
        theirs = client.create_run(other["id"])
        ours = client.create_run(mine["id"])
        worker = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "worker", "--url", server.url,
             "--pipeline", "mine", "--max-runs", "1", "--poll-interval", "0.1"],
            cwd=REPO / "tests" / "runner",
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stderr
        assert client.get_run(ours["id"])["status"] == "completed"
        assert client.get_run(theirs["id"])["status"] == "pending"
        unknown = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "worker", "--url", server.url,
             "--pipeline", "nobody"],
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert unknown.returncode == 1
        assert "no pipeline with id, name or id prefix 'nobody' (404)" in unknown.stderr


@pytest.mark.slow
def test_bad_ray_options_are_usage_errors_before_anything_starts(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    cases = [
        (["--ray-address", "auto"], "--ray-address and --ray-runtime-env need --executor ray"),
        (["--executor", "ray", "--ray-runtime-env", "{bad"], "--ray-runtime-env: not valid JSON"),
        (
            ["--executor", "ray", "--ray-runtime-env", str(missing)],
            f"--ray-runtime-env: {str(missing)!r} is neither a JSON object nor a readable file",
        ),
        (
            ["--executor", "ray", "--ray-runtime-env", "[1]"],
            "is neither a JSON object nor a readable file",
        ),
    ]
    for options, message in cases:
        worker = subprocess.run(
            [sys.executable, "-m", "pipeline_service", "worker", "--url", "http://127.0.0.1:9",
             *options],
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert worker.returncode == 2, (options, worker.stderr)
        assert message in worker.stderr, (options, worker.stderr)


@pytest.mark.slow
def test_demo_on_a_terminal_keeps_the_dashboard_up_until_enter(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    demo = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "demo"],
        cwd=tmp_path,
        env={**subprocess_env(), "COLUMNS": "120", "TMPDIR": str(tmp_path), "TERM": "dumb"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = ""
    try:
        deadline = time.monotonic() + 90
        while "press Enter" not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                seen += os.read(controller, 65536).decode(errors="replace")
        match = re.search(r"The dashboard stays up at (http://\S+): press Enter", seen)
        assert match, seen
        assert demo.poll() is None  # the run ended, the service did not
        page = httpx.get(match.group(1), timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        os.write(controller, b"\n")
        assert demo.wait(30) == 0
    finally:
        demo.kill()
        demo.wait()
        os.close(controller)
