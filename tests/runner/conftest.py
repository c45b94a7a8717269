"""Fixtures of the runner tests: a live service, workers, a recording stand-in client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer

from .helpers import RecordingClient, Workers


@pytest.fixture
def recording_client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def service(server_factory: Callable[..., EmbeddedServer]) -> EmbeddedServer:
    """A server of this test's own: its workers must not claim other tests' runs."""
    return server_factory()


@pytest.fixture
def client(service: EmbeddedServer) -> Iterator[PipelineServiceClient]:
    with PipelineServiceClient(service.url) as service_client:
        yield service_client


@pytest.fixture
def workers(service: EmbeddedServer, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(service.url, tmp_path / "runs")
    yield pool
    pool.stop_all()
