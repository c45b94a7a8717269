"""/health on a full disk: a server process whose files may not grow (RLIMIT_FSIZE) answers 503
once real writes fail, whether a stream is open or not, and 200 again once a write succeeds."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sample import ACTIONS, API
from tests.support.sse import open_stream

from .test_durability import ServerProcess

pytestmark = pytest.mark.slow

MARGIN = 64 * 1024  # room for one-row writes (a health probe), not for a batch of lines
LINES = [{"message": "x" * 20_000} for _ in range(100)]  # 2 MB: more than the margin


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "full.db")
    try:
        yield process
    finally:
        process.kill()
        if process.process.stderr is not None:
            process.process.stderr.close()


def file_size_limit(pid: int, db: Path, margin: int | None) -> None:
    """Let the process's files grow by at most margin bytes past the largest now (None: no
    limit). The soft limit only: raising a hard limit back takes a privilege."""
    if margin is None:
        limit = resource.RLIM_INFINITY
    else:
        files = [db, db.with_name(db.name + "-wal")]
        limit = max(path.stat().st_size for path in files if path.exists()) + margin
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


@pytest.mark.parametrize("stream_open", [False, True], ids=["no stream", "stream open"])
def test_health_is_503_while_real_writes_fail_on_a_full_disk(
    server: ServerProcess, tmp_path: Path, stream_open: bool
) -> None:
    db = tmp_path / "full.db"
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "full", "actions": ACTIONS})
        run_id = http.post(f"{API}/pipelines/{pipeline.json()['id']}/runs/", json={}).json()["id"]
        logs = f"{API}/runs/{run_id}/logs/"
        follower = (
            open_stream(f"{server.url}{logs}stream", headers=server.headers)
            if stream_open
            else None
        )
        try:
            assert http.get("/health").status_code == 200
            file_size_limit(server.process.pid, db, MARGIN)
            refused = http.post(logs, json={"entries": LINES})
            assert refused.status_code == 503, refused.text
            for _ in range(3):  # each probe alone would pass: the margin holds one row
                health = http.get("/health")
                assert health.status_code == 503, health.text
                assert "the latest writes failed" in health.json()["detail"]
            file_size_limit(server.process.pid, db, None)
            assert http.post(logs, json={"entries": LINES}).status_code == 201
            assert http.get("/health").status_code == 200
        finally:
            if follower is not None:
                follower.close()
