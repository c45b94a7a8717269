"""The pytest plugin (entry point `pytest11`): fixtures with a real Pipeline Service.

Nothing heavy is imported until a fixture is used, so the plugin costs nothing to suites that
do not use it, and works without the server extra until then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pipeline_service.async_client import AsyncPipelineServiceClient
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.server.embedded import EmbeddedServer


def _start(default_db: Path, options: dict[str, Any]) -> EmbeddedServer:
    try:
        from pipeline_service.server.embedded import EmbeddedServer
    except ImportError as exc:  # the server extra is missing
        raise pytest.UsageError(
            f"the pipeline_service_server fixture needs the server extra: pip install "
            f'"pipeline-service[server]" ({exc})'
        ) from exc
    options = dict(options)
    return EmbeddedServer(options.pop("db_path", default_db), **options).start()


@pytest.fixture
def pipeline_service_server_options() -> dict[str, Any]:
    """Keyword arguments of the test server (EmbeddedServer): override to set `token`,
    `heartbeat_interval`, `max_body_bytes`, or `db_path` (another database, e.g. PostgreSQL)."""
    return {}


@pytest.fixture
def pipeline_service_server(
    tmp_path: Path, pipeline_service_server_options: dict[str, Any]
) -> Iterator[EmbeddedServer]:
    """The reference server for one test: a free port on 127.0.0.1, a fresh SQLite database.
    `.url` is its base URL."""
    server = _start(tmp_path / "pipeline-service.db", pipeline_service_server_options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pipeline_service_session_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmbeddedServer]:
    """One reference server for the whole session (faster; tests share its database)."""
    db_path = tmp_path_factory.mktemp("pipeline-service") / "pipeline-service.db"
    server = _start(db_path, {})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pipeline_service_client(
    pipeline_service_server: EmbeddedServer,
) -> Iterator[PipelineServiceClient]:
    """A PipelineServiceClient bound to `pipeline_service_server` (its token included)."""
    from pipeline_service.client import PipelineServiceClient

    with PipelineServiceClient(
        pipeline_service_server.url, token=pipeline_service_server.settings.token
    ) as client:
        yield client


def _async_client_fixture() -> Callable[..., Any]:
    async def async_pipeline_service_client(
        pipeline_service_server: EmbeddedServer,
    ) -> AsyncIterator[AsyncPipelineServiceClient]:
        """An AsyncPipelineServiceClient bound to `pipeline_service_server` (needs
        pytest-asyncio)."""
        from pipeline_service.async_client import AsyncPipelineServiceClient

        async with AsyncPipelineServiceClient(
            pipeline_service_server.url, token=pipeline_service_server.settings.token
        ) as client:
            yield client

    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name="async_pipeline_service_client")
        def missing(pipeline_service_server: EmbeddedServer) -> None:
            raise pytest.UsageError(
                "async_pipeline_service_client needs pytest-asyncio: pip install pytest-asyncio"
            )

        return missing
    fixture: Callable[..., Any] = pytest_asyncio.fixture(async_pipeline_service_client)
    return fixture


async_pipeline_service_client = _async_client_fixture()


@pytest.fixture
def run_worker() -> Callable[..., Any]:
    """`run_worker(client, run_id, *, work_root=None, import_paths=())`: execute the run's
    actions in this process and return the final run (see pipeline_service.testing)."""
    from pipeline_service.testing.run_worker import run_worker

    return run_worker
