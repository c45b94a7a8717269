"""schemathesis against the app in-process: every operation, then stateful sequences via links."""

from __future__ import annotations

import contextlib
import inspect
import os
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from pipeline_service.conformance.checks.schema import RULES_TOML
from pipeline_service.server import EmbeddedServer, Settings, create_app
from pipeline_service.spec import spec_path

from .conftest import Database

# The spec's cross-field rules, as the conformance kit's fuzzer takes them into account.
CONFIG_TOML = RULES_TOML
CONFIG = SchemathesisConfig.from_str(CONFIG_TOML)

_DB_DIR = tempfile.TemporaryDirectory(prefix="pipeline-service-schemathesis-")
DB_PATH = Path(_DB_DIR.name) / "fuzz.db"
# Served in-process, where requests name the host `testserver`.
APP = create_app(Settings(db_path=DB_PATH, heartbeat_interval=0.2, allowed_hosts=("testserver",)))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)

# Modest by default so the suite stays fast; raise for a deeper local run.
EXAMPLES = int(os.environ.get("PIPELINE_SERVICE_FUZZ_EXAMPLES", "25"))

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def test_the_fuzzer_takes_a_413_for_every_batch_over_its_limit() -> None:
    """A batch over its limit is 413 (errors.check_batch_size), not the 422 that schemathesis
    expects of a body breaking `maxItems`: the rules tell it so for each route that checks one
    (append_metrics was missing, and a stateful run then failed on a batch of 10,001 points)."""
    batch_routes = {
        route.operation_id
        for route in APP.routes
        if isinstance(route, APIRoute)
        and route.include_in_schema
        and "check_batch_size(" in inspect.getsource(route.endpoint)
    }
    assert {"append_logs", "append_metrics"} <= batch_routes  # the source test finds them
    rules = tomllib.loads(RULES_TOML)["operations"]
    for operation in batch_routes:
        expected = [
            rule.get("checks", {}).get("negative_data_rejection", {}).get("expected-statuses", [])
            for rule in rules
            if operation in rule["include-operation-id"]
        ]
        assert any(413 in statuses for statuses in expected), operation


@pytest.mark.slow
@schema.parametrize()
@FUZZ_SETTINGS
def test_each_operation(case: schemathesis.Case) -> None:
    case.call_and_validate()


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences through the spec's links: create a pipeline, run it, report, checkpoint, log…"""

    failures: ClassVar[list[str]] = []

    def setup(self) -> None:
        """Each scenario starts from an empty database, so replays see the same answers."""
        with sqlite3.connect(DB_PATH) as conn:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("DELETE FROM pipelines")
            conn.execute("DELETE FROM idempotency")

    def validate_response(
        self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
    ) -> None:
        try:
            super().validate_response(response, case, *args, **kwargs)
        except FailureGroup as failure:
            Workflow.failures.append(f"{case.operation.label}: {failure}")
            raise


@pytest.mark.slow
def test_stateful_links() -> None:
    Workflow.failures.clear()
    # Generation feeds on the server's answers (fresh ids, schemathesis's pool of seen values),
    # so hypothesis may find a replayed scenario inconsistent (Flaky). Like schemathesis's own
    # runner, that alone is no failure; every check failure is recorded by validate_response.
    with contextlib.suppress(Flaky):
        Workflow.run(
            settings=settings(
                max_examples=2 * EXAMPLES,
                stateful_step_count=8,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
        )
    assert Workflow.failures == []


live_schema = schemathesis.openapi.from_path(spec_path(), config=CONFIG)


@pytest.fixture(scope="module")
def fuzzed_server(
    new_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """The same checks over the wire: a real uvicorn on 127.0.0.1 with its own database, on
    each storage backend (SQLite, then PostgreSQL), and its own artifact store."""
    artifacts = tmp_path_factory.mktemp("schemathesis-artifacts")
    with (
        new_database("schemathesis-live") as db,
        EmbeddedServer(db, heartbeat_interval=0.2, artifacts=artifacts) as server,
    ):
        yield server


@pytest.mark.slow
@live_schema.parametrize()
@settings(
    max_examples=max(5, EXAMPLES // 2),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_each_operation_live(case: schemathesis.Case, fuzzed_server: EmbeddedServer) -> None:
    case.call_and_validate(base_url=fuzzed_server.url)


@pytest.mark.slow
def test_cli_run_against_live_server(fuzzed_server: EmbeddedServer, tmp_path: Path) -> None:
    """The schemathesis command line too: its stateful phase drives longer link sequences."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG_TOML)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(config),
        "run", str(spec_path()),
        "--url", fuzzed_server.url,
        "--phases", "stateful",
        "--max-examples", str(EXAMPLES),
        "--seed", "1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
