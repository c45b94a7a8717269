"""Crash durability: SIGKILL the server mid-write; every acknowledged write survives the restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sample import API
from tests.support.processes import free_port

# `--workers 0`: the API alone, no local worker claiming the test's runs.
SERVE = [
    sys.executable,
    "-m",
    "pipeline_service",
    "serve",
    "--log-level",
    "warning",
    "--workers",
    "0",
]


class ServerProcess:
    """`pipeline-service serve` in a subprocess. It requires a token, so that no stray client on
    this machine (a worker retrying a port that was reused) can touch the test's data."""

    def __init__(self, db: Path, token: str = "durability-test-token") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.process = subprocess.Popen(
            [*SERVE, "--db", str(db), "--port", str(self.port), "--token", token],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.started = time.monotonic()
        deadline = self.started + 20
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    self.ready_after = time.monotonic() - self.started
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"server did not start: {stderr}")
            time.sleep(0.02)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=20)


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        if server.process.stderr:
            server.process.stderr.close()


@pytest.mark.slow
def test_every_acknowledged_write_survives_sigkill(
    tmp_path: Path, processes: list[ServerProcess]
) -> None:
    db = tmp_path / "crash.db"
    server = ServerProcess(db)
    processes.append(server)
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=5) as http:
        pipeline = http.post(
            f"{API}/pipelines/",
            json={"name": "crash", "actions": [{"name": "a", "entrypoint": "m.A"}]},
        ).json()
        run = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()
    acknowledged_runs: list[str] = []
    acknowledged_logs: list[int] = []
    acknowledged_progress: list[float] = []
    stop = threading.Event()

    def write_loop() -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=5) as http:
            step = 0
            while not stop.is_set():
                step += 1
                try:
                    created = http.post(
                        f"{API}/pipelines/{pipeline['id']}/runs/", json={"params": {"step": step}}
                    )
                    if created.status_code == 201:
                        acknowledged_runs.append(created.json()["id"])
                    logged = http.post(
                        f"{API}/runs/{run['id']}/logs/",
                        json={"entries": [{"message": f"step {step}"}]},
                    )
                    if logged.status_code == 201:
                        acknowledged_logs.append(logged.json()[0]["seq"])
                    value = step / 1_000_000
                    reported = http.post(
                        f"{API}/runs/{run['id']}/progress",
                        json={"action_progress": {"name": "a", "progress": value}},
                    )
                    if reported.status_code == 200:
                        acknowledged_progress.append(value)
                except httpx.TransportError:
                    return

    writer = threading.Thread(target=write_loop)
    writer.start()
    deadline = time.monotonic() + 30
    while len(acknowledged_runs) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill(signal.SIGKILL)  # mid-way: the writer is still writing
    stop.set()
    writer.join(timeout=20)
    assert len(acknowledged_runs) > 10

    restarted = ServerProcess(db)
    processes.append(restarted)
    with httpx.Client(base_url=restarted.url, headers=restarted.headers, timeout=10) as http:
        stored = {
            r["id"]
            for r in http.get(
                f"{API}/pipelines/{pipeline['id']}/runs/", params={"limit": 1000}
            ).json()
        }
        while len(stored) < len(acknowledged_runs) + 1:
            page = http.get(
                f"{API}/pipelines/{pipeline['id']}/runs/",
                params={"limit": 1000, "skip": len(stored)},
            ).json()
            if not page:
                break
            stored |= {r["id"] for r in page}
        assert set(acknowledged_runs) <= stored
        seqs = [
            r["seq"]
            for r in http.get(f"{API}/runs/{run['id']}/logs/", params={"limit": 10000}).json()
        ]
        assert set(acknowledged_logs) <= set(seqs)
        assert seqs == list(range(1, len(seqs) + 1))
        entry = http.get(f"{API}/runs/{run['id']}").json()["progress"][0]
        if acknowledged_progress:
            assert entry["progress"] >= acknowledged_progress[-1], (
                entry,
                acknowledged_progress[-5:],
                len(acknowledged_runs),
                len(acknowledged_logs),
            )
    restarted.kill(signal.SIGTERM)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_with_an_open_stream(
    tmp_path: Path, processes: list[ServerProcess], sig: int
) -> None:
    server = ServerProcess(tmp_path / "serve.db")
    processes.append(server)
    # Startup time (< 2 s) is measured by hand / in benchmarks: shared CI machines are noisy.
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as http:
        assert httpx.get(f"{server.url}{API}/pipelines/").status_code == 401
        pipeline = http.post(
            f"{API}/pipelines/", json={"name": "s", "actions": [{"name": "a", "entrypoint": "m.a"}]}
        ).json()
        run = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()
        with http.stream("GET", f"{API}/runs/{run['id']}/progress/stream") as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("id:")
            started = time.monotonic()
            # uvicorn shuts down, then re-raises the signal so a supervisor sees how it ended.
            assert server.kill(sig) in (0, -sig, 128 + sig)
            assert time.monotonic() - started < 10
            rest = list(lines)  # the server closed the stream: iteration ends
            assert all(not line.startswith("event: error") for line in rest)


@pytest.mark.slow
def test_env_configures_db_and_token(tmp_path: Path) -> None:
    env_db = tmp_path / "from-env.db"
    env = {**os.environ, "PIPELINE_SERVICE_DB": str(env_db), "PIPELINE_SERVICE_TOKEN": "envtoken"}
    port = free_port()
    command = [*SERVE, "--port", str(port), "--max-body-bytes", "1000"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}{API}/pipelines/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 401
        assert env_db.exists()
        auth = {"Authorization": "Bearer envtoken"}
        big = {
            "name": "big",
            "description": "x" * 2000,
            "actions": [{"name": "a", "entrypoint": "m.a"}],
        }
        assert httpx.post(url, json=big, headers=auth).status_code == 413
        assert (
            httpx.post(
                url,
                json={"name": "s", "actions": [{"name": "a", "entrypoint": "m.a"}]},
                headers=auth,
            ).status_code
            == 201
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
