"""Fixtures of the Ray tests: the loopback-only network namespace (entered when this file is
collected), one Ray head for the session, workers running actions on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_service.client import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from tests.postgres_support import unavailable
from tests.ray.ray_support import RAY_ENV, enter_loopback_namespace, ray_head, ray_missing
from tests.support.processes import wait_until

HERE = Path(__file__).resolve().parent
_NOT_HERE = enter_loopback_namespace()


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of the session's Ray head (with a custom resource `licence` of amount 1)."""
    reason = _NOT_HERE or ray_missing()
    if reason:
        unavailable(reason)
    with ray_head(tmp_path_factory.mktemp("ray-head")) as address:
        yield address


@pytest.fixture
def client(live_server: EmbeddedServer) -> Iterator[PipelineServiceClient]:
    with PipelineServiceClient(live_server.url) as api:
        yield api


class RayWorkers:
    """`pipeline-service worker --executor ray` processes (actions imported from this
    directory), each killed at teardown; `start()` returns once it serves."""

    def __init__(self, url: str, address: str, tmp_path: Path) -> None:
        self.url, self.address, self.tmp_path = url, address, tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, pipeline_id: str, *extra: str) -> subprocess.Popen[bytes]:
        index = len(self.processes)
        log = self.tmp_path / f"worker-{index}.log"
        command = [
            sys.executable, "-m", "pipeline_service", "worker", "--url", self.url,
            "--executor", "ray", "--ray-address", self.address, "--pipeline", pipeline_id,
            "--lease-seconds", "3", "--poll-interval", "0.1",
            "--work-root", str(self.tmp_path / "runs"), *extra,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=HERE, env={**env, **RAY_ENV}, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        wait_until(
            lambda: "serving" in log.read_text(errors="replace") or process.poll() is not None,
            120,
            "the worker to connect to Ray",
        )
        assert process.poll() is None, log.read_text()
        return process

    def log(self, index: int) -> str:
        return (self.tmp_path / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(30)


@pytest.fixture
def ray_workers(
    live_server: EmbeddedServer, ray_address: str, tmp_path: Path
) -> Iterator[RayWorkers]:
    workers = RayWorkers(live_server.url, ray_address, tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()
