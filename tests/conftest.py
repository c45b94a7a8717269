"""Fixtures shared by every test directory: a reference server on 127.0.0.1 with a temporary
SQLite database (`live_server`, one per session), a factory for servers with their own
settings (`server_factory`, stopped at the end of each test), PostgreSQL (`postgres_admin`:
a server for the session; `postgres_dsn`: a fresh database for one test) and S3 (`s3_server`:
moto's for the session; `s3_bucket`: a fresh bucket, with the AWS variables set for s3fs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_service.server import EmbeddedServer
from tests.moto_support import S3Server, s3_server
from tests.postgres_support import fresh_database, postgres_server
from tests.support.servers import ServerFactory, started_servers

# The plugin users get through its entry point (disabled in pyproject.toml's addopts, so that
# coverage starts before the package is imported).
pytest_plugins = ["pipeline_service.testing.plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """The coverage floor (pyproject.toml) holds for the whole suite only: a run of some files,
    or of some tests (-k, -m), reports coverage without failing on it."""
    cov = config.pluginmanager.get_plugin("_cov")
    whole_suite = (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
    )
    if cov is not None and not whole_suite:
        cov.options.cov_fail_under = None


# Fixtures that make a test slow by themselves: a PostgreSQL cluster and a database of its own.
SLOW_FIXTURES = {"postgres_admin", "postgres_dsn"}


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for PostgreSQL is marked slow (the fast lane runs on SQLite)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A server shared by the whole session; `.url` is its base URL."""
    db_path = tmp_path_factory.mktemp("live-server") / "pipeline-service.db"
    with EmbeddedServer(db_path) as server:
        yield server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """`server_factory(token=None, heartbeat_interval=15.0, max_body_bytes=..., db_path=None,
    **options)` starts a server (its own database unless db_path is given; other options go to
    EmbeddedServer); all are stopped at teardown."""
    with started_servers(lambda index: tmp_path / f"server-{index}.db") as start:
        yield start


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """A PostgreSQL server for the session (skip, or fail under CI, when there is none)."""
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture
def postgres_dsn(postgres_admin: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_database(postgres_admin) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server for the session (skip, or fail under CI, without moto or s3fs)."""
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty bucket's name; the AWS variables point s3fs at the S3 server."""
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3.new_bucket()
