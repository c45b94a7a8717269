"""Fixtures of the client tests: a live reference server, sync and async clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from pipeline_service.types import Pipeline, Run
from tests.sample import ACTIONS, unique

from .helpers import SyncView


@pytest.fixture(scope="session")
def server(live_server: EmbeddedServer) -> EmbeddedServer:
    """The session's reference server on 127.0.0.1 (SQLite in a temp dir)."""
    return live_server


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[PipelineServiceClient]:
    with PipelineServiceClient(server.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread, to drive the async client from plain tests."""
    with start_blocking_portal() as p:
        yield p


@pytest.fixture(params=["sync", "async"])
def api(
    request: pytest.FixtureRequest, server: EmbeddedServer, portal: BlockingPortal
) -> Iterator[Any]:
    """The sync client, or the async client behind a SyncView: same tests for both."""
    if request.param == "sync":
        with PipelineServiceClient(server.url, timeout=10) as c:
            yield c
    else:
        aclient = AsyncPipelineServiceClient(server.url, timeout=10)
        yield SyncView(aclient, portal)
        portal.call(aclient.aclose)


@pytest.fixture
def pipeline(client: PipelineServiceClient) -> Pipeline:
    return client.create_pipeline(unique("pipeline"), ACTIONS, description="for tests")


@pytest.fixture
def run(client: PipelineServiceClient, pipeline: Pipeline) -> Run:
    return client.create_run(pipeline["id"], params={"epochs": 3})
