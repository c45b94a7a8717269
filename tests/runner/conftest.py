"""Fixtures of the runner tests: a live service, workers, a recording stand-in client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer

from .helpers import RecordingClient, Workers


@pytest.fixture
def recording_client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def service() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(log_level="error") as server:
        yield server


@pytest.fixture
def client(service: EmbeddedServer) -> Iterator[PipelineServiceClient]:
    with PipelineServiceClient(service.url) as service_client:
        yield service_client


@pytest.fixture
def workers(service: EmbeddedServer, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(service.url, tmp_path / "runs")
    yield pool
    pool.stop_all()
