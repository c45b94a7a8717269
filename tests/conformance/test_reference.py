"""The kit against the reference server: everything holds, and nothing but its own data changes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline_service.conformance import Depth, Options, Outcome, all_checks, run_checks
from pipeline_service.conformance.runner import TargetRefused, check_target, is_loopback
from pipeline_service.server import EmbeddedServer

from .observers import RecordPipelineNames

TOKEN = "conformance-s3cret"


def _seed_foreign_data(http: httpx.Client) -> tuple[dict[str, object], dict[str, object]]:
    """A pipeline and a run that are not the kit's, to prove it leaves them alone."""
    pipeline = http.post(
        "/api/v1/pipelines/",
        json={"name": "someone else's", "actions": [{"name": "a", "entrypoint": "x.y.Z"}]},
    ).json()
    run = http.post(f"/api/v1/pipelines/{pipeline['id']}/runs/", json={"params": {"k": 1}}).json()
    http.post(f"/api/v1/runs/{run['id']}/logs/", json={"entries": [{"message": "mine"}]})
    return pipeline, http.get(f"/api/v1/runs/{run['id']}").json()


@pytest.mark.slow
def test_everything_holds_and_only_the_kits_data_is_touched(database: str, tmp_path: Path) -> None:
    """Every quick check holds; on PostgreSQL all but the schema fuzzing, which
    tests/server/test_schemathesis.py already runs on both backends."""
    quick = {c.id for c in all_checks() if c.depth is Depth.QUICK}
    if database.startswith("postgres"):
        quick = {check_id for check_id in quick if not check_id.startswith("schema.")}
    quick.discard("network.host")  # for servers without a token: test_network_checks.py
    names: list[str] = []
    reference = EmbeddedServer(
        database, token=TOKEN, heartbeat_interval=0.2, artifacts=tmp_path / "artifacts"
    )
    reference.app.add_middleware(RecordPipelineNames, names=names)
    with (
        reference as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as http,
    ):
        pipeline, run = _seed_foreign_data(http)
        report = run_checks(
            Options(
                base_url=server.url,
                token=TOKEN,
                depth=Depth.QUICK,
                seed=3,
                heartbeat_timeout=5,
                max_body_bytes=32 * 1024 * 1024,
                only=tuple(sorted(quick)),
            )
        )
        failures = [(r.check_id, r.message, r.reproduce) for r in report.results if not r.holds]
        assert report.ok, failures
        assert all(r.outcome is Outcome.PASSED for r in report.results)  # none skipped
        assert {r.check_id for r in report.results} == quick
        assert report.cleanup_problems == []
        assert http.get(f"/api/v1/pipelines/{pipeline['id']}").json() == pipeline
        assert http.get(f"/api/v1/runs/{run['id']}").json() == run
        logs = http.get(f"/api/v1/runs/{run['id']}/logs/").json()
        assert [record["message"] for record in logs] == ["mine"]
        remaining = http.get("/api/v1/pipelines/", params={"limit": 1000}).json()
        assert [p["id"] for p in remaining] == [pipeline["id"]]
    # every pipeline the kit created or renamed (the fuzzer's too) carries its prefix once
    kits = [name for name in names if name != "someone else's"]
    assert len(kits) >= 10
    namespace = kits[0][: len("conformance-kit-12345678-")]
    assert [name for name in kits if not name.startswith(namespace)] == []
    assert [name for name in kits if name.count("conformance-kit-") != 1] == []


def test_core_only_selects_core_checks(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "core.db", heartbeat_interval=0.2) as server:
        report = run_checks(Options(base_url=server.url, core_only=True, only=("runs.", "logs.")))
    assert report.ok, [(r.check_id, r.message) for r in report.results if not r.holds]
    assert {r.tier for r in report.results} == {"core"}
    assert "runs.cancel" not in {r.check_id for r in report.results}  # an extension


def test_unreachable_target_fails() -> None:
    report = run_checks(Options(base_url="http://127.0.0.1:9", only=("runs.transitions",)))
    assert not report.ok
    assert report.unreachable is not None
    assert "cannot reach" in report.unreachable


def test_loopback_only_unless_a_test_deployment() -> None:
    assert is_loopback("http://127.0.0.1:8100")
    assert is_loopback("http://localhost:8100")
    assert is_loopback("http://[::1]:8100")
    assert not is_loopback("http://10.1.2.3:8100")
    with pytest.raises(TargetRefused, match="--test-deployment"):
        check_target("http://10.1.2.3:8100", allow_remote=False)
    check_target("http://10.1.2.3:8100", allow_remote=True)
    with pytest.raises(TargetRefused, match="not an http"):
        check_target("ftp://127.0.0.1/", allow_remote=True)


def test_command_line_refuses_a_remote_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline_service", "conformance", "http://10.1.2.3:8100"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
    assert "--test-deployment" in result.stderr


def test_command_line_lists_checks_with_their_tier() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline_service.conformance", "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(all_checks())
    assert any(line.split()[:2] == ["progress.concurrent", "core"] for line in lines)
    assert any(line.split()[:2] == ["idempotency.replay", "extension"] for line in lines)


def test_stopped_run_still_cleans_up(tmp_path: Path) -> None:
    """SIGTERM in the middle of a check: the kit deletes what it created, exits 130."""
    with EmbeddedServer(tmp_path / "stop.db", heartbeat_interval=600) as server:
        with subprocess.Popen(
            [
                sys.executable, "-m", "pipeline_service.conformance", server.url,
                "--check", "stream.heartbeat", "--heartbeat-timeout", "300",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as kit:  # fmt: skip
            try:
                deadline = time.monotonic() + 60
                while not httpx.get(f"{server.url}/api/v1/pipelines/").json():
                    assert time.monotonic() < deadline, "the kit created nothing"
                    time.sleep(0.05)
                kit.send_signal(signal.SIGTERM)
                _, stderr = kit.communicate(timeout=60)
            finally:
                kit.kill()  # a no-op once it has exited; the with block closes its pipes
        assert kit.returncode == 130, stderr
        assert httpx.get(f"{server.url}/api/v1/pipelines/").json() == []


def test_body_limit_is_checked_against_the_given_size(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "limit.db", max_body_bytes=64 * 1024) as server:
        held = run_checks(Options(base_url=server.url, only=("limits.",), max_body_bytes=64 * 1024))
        assert held.ok, [(r.check_id, r.message) for r in held.results]
        # told the limit is smaller than it is, the kit sees a body over it accepted
        report = run_checks(
            Options(base_url=server.url, only=("limits.body-size",), max_body_bytes=1024)
        )
        assert httpx.get(f"{server.url}/api/v1/pipelines/").json() == []  # deleted all the same
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "a body over 1024 bytes got 201, not 413" in result.message
    (line,) = result.reproduce
    assert line.startswith("python3 -c ")
    assert f"curl -sS -X POST {server.url}/api/v1/pipelines/" in line
