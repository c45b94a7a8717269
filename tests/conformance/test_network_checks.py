"""The kit's network checks against the reference server without a token (as `serve` starts by
default), on both backends: each holds, and nothing but the kit's data is left."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pipeline_service.conformance import Options, Outcome, all_checks, run_checks
from pipeline_service.server import EmbeddedServer

pytestmark = pytest.mark.slow

NETWORK = tuple(sorted(c.id for c in all_checks() if c.area == "network"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        dsn: str = request.getfixturevalue("postgres_dsn")
        return dsn
    return str(tmp_path / "network.db")


def test_the_network_checks_hold_without_a_token(database: str) -> None:
    with EmbeddedServer(database) as server:
        report = run_checks(Options(base_url=server.url, only=NETWORK))
        assert sorted((r.check_id, r.outcome) for r in report.results) == [
            (check_id, Outcome.PASSED) for check_id in NETWORK
        ], [(r.check_id, r.message, r.reproduce) for r in report.results if not r.holds]
        assert report.cleanup_problems == []
        assert httpx.get(f"{server.url}/api/v1/pipelines/").json() == []


def test_with_a_token_the_host_check_does_not_apply(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "token.db", token="t") as server:
        report = run_checks(Options(base_url=server.url, token="t", only=("network.host",)))
    (result,) = report.results
    assert result.outcome is Outcome.SKIPPED
    assert "--token given" in result.message
