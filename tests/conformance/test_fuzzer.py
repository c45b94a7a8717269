"""The kit's schemathesis phase: it finds a server error, and it keeps off other people's data."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import schemathesis

from pipeline_service.conformance import Depth, Options, Outcome, run_checks
from pipeline_service.conformance.checks.schema import Guard
from pipeline_service.conformance.context import CheckContext
from pipeline_service.server import EmbeddedServer
from pipeline_service.spec import spec_path

from .faults import broken_server


@pytest.mark.slow
def test_fuzzer_reports_a_server_error_with_a_curl_line(tmp_path: Path) -> None:
    with broken_server("500-on-bad-body", tmp_path / "fuzz.db") as server:
        report = run_checks(
            Options(base_url=server.url, depth=Depth.QUICK, seed=5, only=("schema.stateless",))
        )
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "Server error" in result.message
    assert result.reproduce
    assert all(line.startswith("curl ") and server.url in line for line in result.reproduce)


def test_guard_sends_writes_on_foreign_data_elsewhere(tmp_path: Path) -> None:
    with (
        EmbeddedServer(tmp_path / "guard.db") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        foreign = http.post(
            "/api/v1/pipelines/",
            json={"name": "not the kit's", "actions": [{"name": "a", "entrypoint": "m.f"}]},
        ).json()
        foreign_run = http.post(f"/api/v1/pipelines/{foreign['id']}/runs/", json={}).json()
        ctx = CheckContext(Options(base_url=server.url))
        home = ctx.create_pipeline("home")
        guard = Guard(ctx, home["id"])
        schema = schemathesis.openapi.from_path(spec_path())
        try:
            delete = schema["/api/v1/runs/{run_id}"]["DELETE"].Case(
                path_parameters={"run_id": foreign_run["id"]}
            )
            guard.before_call(delete)
            assert delete.path_parameters["run_id"] != foreign_run["id"]
            mine = schema["/api/v1/pipelines/{pipeline_id}"]["DELETE"].Case(
                path_parameters={"pipeline_id": home["id"]}
            )
            guard.before_call(mine)
            assert mine.path_parameters["pipeline_id"] == home["id"]
            read = schema["/api/v1/runs/{run_id}"]["GET"].Case(
                path_parameters={"run_id": foreign_run["id"]}
            )
            guard.before_call(read)
            assert read.path_parameters["run_id"] == foreign_run["id"]
            claim = schema["/api/v1/runs/claim"]["POST"].Case(body={"worker_id": "fuzz"})
            guard.before_call(claim)
            assert claim.body == {"worker_id": "fuzz", "pipeline_id": home["id"]}
        finally:
            guard.close()
            ctx.cleanup()
            ctx.close()
        assert http.get(f"/api/v1/runs/{foreign_run['id']}").status_code == 200
