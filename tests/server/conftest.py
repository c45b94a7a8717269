"""Helpers for the server tests: servers on each storage backend, an httpx client on the live
server and object factories."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.postgres_support import fresh_database
from tests.sample import ACTIONS, API
from tests.support.servers import ServerFactory, started_servers


@pytest.fixture
def client(live_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield http


@pytest.fixture
def make_pipeline(client: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(actions: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "test pipeline", "actions": ACTIONS if actions is None else actions}
        body.update(fields)
        response = client.post(f"{API}/pipelines/", json=body)
        assert response.status_code == 201, response.text
        pipeline: dict[str, Any] = response.json()
        return pipeline

    return make


@pytest.fixture
def make_run(
    client: httpx.Client, make_pipeline: Callable[..., dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    def make(pipeline_id: str | None = None, **body: Any) -> dict[str, Any]:
        pipeline_id = pipeline_id or make_pipeline()["id"]
        response = client.post(f"{API}/pipelines/{pipeline_id}/runs/", json=body)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    return make


# Every test here that uses a server runs on each storage backend: SQLite, then PostgreSQL (in
# the full suite only: a cluster and a database per test are not for the fast lane).
Database = Callable[[str], contextlib.AbstractContextManager["Path | str"]]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]


@pytest.fixture(scope="package", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="package")
def new_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Database:
    """`with new_database(name) as db:` a fresh database of the backend (a path or a URL)."""

    @contextlib.contextmanager
    def sqlite(name: str) -> Iterator[Path | str]:
        yield tmp_path_factory.mktemp(name) / f"{name}.db"

    if backend == "sqlite":
        return sqlite
    admin: str = request.getfixturevalue("postgres_admin")

    @contextlib.contextmanager
    def postgresql(name: str) -> Iterator[Path | str]:
        with fresh_database(admin) as dsn:
            yield dsn

    return postgresql


@pytest.fixture(scope="package")
def live_server(
    new_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """A server shared by the package's tests, on the backend under test (with a directory
    artifact store, which a server on PostgreSQL is given explicitly)."""
    artifacts = tmp_path_factory.mktemp("live-server-artifacts")
    with new_database("live-server") as db, EmbeddedServer(db, artifacts=artifacts) as server:
        yield server


@pytest.fixture
def server_factory(new_database: Database, tmp_path: Path) -> Iterator[ServerFactory]:
    """`server_factory(token=None, heartbeat_interval=15.0, max_body_bytes=..., db_path=None,
    **options)` starts a server on the backend under test (a fresh database unless db_path is
    given; a fresh directory artifact store unless `artifacts` is given: None for none on
    PostgreSQL); other options go to EmbeddedServer."""
    with (
        contextlib.ExitStack() as databases,  # dropped once the servers stopped
        started_servers(
            lambda index: databases.enter_context(new_database("server")),
            lambda index: {"artifacts": tmp_path / f"artifacts-{index}"},
        ) as start,
    ):
        yield start
