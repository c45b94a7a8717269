"""PostgreSQL for the tests: a throwaway cluster per session (or PIPELINE_SERVICE_TEST_POSTGRES_DSN)
and a fresh database per user. Without PostgreSQL the tests that need it skip with the reason,
unless CI is set: there they fail."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

ENV_TEST_DSN = "PIPELINE_SERVICE_TEST_POSTGRES_DSN"


def unavailable(reason: str) -> None:
    """Skip (developer machine) or fail (CI) a test that needs a missing component."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required because CI is set)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a database to create test databases from."""
    dsn = os.environ.get(ENV_TEST_DSN)
    if dsn:
        yield dsn
        return
    try:
        import psycopg  # noqa: F401

        from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster

        cluster = ThrowawayCluster().start()
    except (ImportError, OSError, RuntimeError) as exc:
        unavailable(f"PostgreSQL unavailable: {exc}")
        raise AssertionError("unreachable") from exc
    try:
        yield cluster.dsn()
    finally:
        cluster.stop()


def with_dbname(dsn: str, dbname: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{dbname}").geturl()


@contextlib.contextmanager
def fresh_database(admin_dsn: str) -> Iterator[str]:
    """A new empty database on the server of admin_dsn (dropped afterwards): its URL."""
    import psycopg

    name = f"pipeline_service_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_dbname(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
