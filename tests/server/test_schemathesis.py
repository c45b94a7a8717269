"""schemathesis against the app in-process: every operation, then stateful sequences via links."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from pipeline_service.server import EmbeddedServer, Settings, create_app
from pipeline_service.spec import spec_path

# Cross-field rules JSON Schema cannot express, so schema-valid data can be rightly refused (422):
# - create_pipeline / update_pipeline: action names must be unique within a pipeline;
# - create_run: `resume_from` must name an earlier run of the same pipeline;
# - report_progress: `action_progress` must name an action of the run, and `progress` must be
#   in [0, 1] without `total`, or in 0..total with it.
# A log batch over 10,000 entries is 413 by contract (a size limit, not a validation error).
CONFIG = SchemathesisConfig.from_str(
    """
[[operations]]
include-operation-id = ["create_pipeline", "update_pipeline", "create_run", "report_progress"]
checks.positive_data_acceptance.enabled = false

[[operations]]
include-operation-id = "append_logs"
checks.negative_data_rejection.expected-statuses = [400, 401, 404, 409, 413, 422]

[[operations]]
include-operation-id = ["stream_progress", "stream_logs"]
request-timeout = 2.0
"""
)

_DB_DIR = tempfile.TemporaryDirectory(prefix="pipeline-service-schemathesis-")
DB_PATH = Path(_DB_DIR.name) / "fuzz.db"
APP = create_app(Settings(db_path=DB_PATH, heartbeat_interval=0.2))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)

# Modest by default so the suite stays fast; raise for a deeper local run.
EXAMPLES = int(os.environ.get("PIPELINE_SERVICE_FUZZ_EXAMPLES", "25"))

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.mark.slow
@schema.parametrize()
@FUZZ_SETTINGS
def test_each_operation(case: schemathesis.Case) -> None:
    case.call_and_validate()


StatefulMachine = schema.as_state_machine()


@pytest.mark.slow
class TestStateful(StatefulMachine.TestCase):  # type: ignore[name-defined,misc]
    """Sequences through the spec's links: create a pipeline, run it, report, checkpoint, log…"""

    settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )

    def setup(self) -> None:
        """Each scenario starts from an empty database, so a replayed scenario sees the same
        responses (hypothesis requires generation not to depend on earlier scenarios)."""
        with sqlite3.connect(DB_PATH) as conn:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("DELETE FROM pipelines")
            conn.execute("DELETE FROM idempotency")


live_schema = schemathesis.openapi.from_path(spec_path(), config=CONFIG)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """The same checks over the wire: a real uvicorn on 127.0.0.1 with its own database."""
    db = tmp_path_factory.mktemp("schemathesis-live") / "live.db"
    with EmbeddedServer(db, heartbeat_interval=0.2) as server:
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
