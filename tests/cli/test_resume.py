"""`runs resume`: a failed run continues after its last checkpoint with the fixed params."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.runner.worker import WorkerPool
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS

from .conftest import Cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(tmp_path / "db.sqlite") as server, WorkerPool(server.url, 1):
        yield server.url


@pytest.mark.slow
def test_resume_with_new_params_completes_where_the_old_run_failed(served: str) -> None:
    cli = Cli(served)
    with PipelineServiceClient(served) as client:
        pipeline = client.create_pipeline("resumable", ACTIONS)
        failed = cli("runs", "create", "resumable", "-p", "epochs=0", "-p", "rows=200",
                     "-p", "pace=0", "--watch", env={"COLUMNS": "80"})  # fmt: skip
        assert failed.exit_code == 1
        assert "ValueError: epochs must be at least 1, got 0" in failed.stderr
        failed_id = failed.stdout.split()[2]

        resumed = cli("runs", "resume", failed_id[:8], "--param", "epochs=3", "--watch")
        assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
        first = resumed.stdout.splitlines()[0]
        assert first.startswith("Created run ")
        assert first.endswith(f"resuming run {failed_id}")
        assert "train: completed 3/3 [epoch]" in resumed.stdout
        assert "download: skipped -" in resumed.stdout
        new_id = first.split()[2]
        run = client.get_run(new_id)
        assert run["pipeline_id"] == pipeline["id"]
        assert run["params"] == {"epochs": 3, "rows": 200, "pace": 0}
        assert [a["status"] for a in run["progress"]] == ["skipped", "skipped", "completed"]
        result = run["result"]
        assert result is not None
        assert result["r2"] > 0.5


def test_resume_of_a_missing_run_names_it(served: str) -> None:
    result = Cli(served)("runs", "resume", "nope", "-p", "epochs=1")
    assert result.exit_code == 1
    assert result.stderr == "error: no run with id or id prefix 'nope' (404)\n"
