"""Two `serve` processes on one SQLite file: a follower on either sees every line and every
change written through the other, in order, with no gap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sample import API
from tests.support.sse import open_stream

from .test_durability import ServerProcess

pytestmark = pytest.mark.slow

LINES = 40
ACTIONS = [{"name": "a", "entrypoint": "m.a"}]


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    db = tmp_path / "shared.db"
    first = ServerProcess(db)
    try:
        second = ServerProcess(db)
        try:
            yield first, second
        finally:
            stop(second)
    finally:
        stop(first)


def stop(server: ServerProcess) -> None:
    server.kill()
    if server.process.stderr is not None:
        server.process.stderr.close()


def test_a_follower_sees_every_line_written_through_either_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """Lines written alternately through the other process and this one: a local append right
    after a foreign one must not move the follower past the foreign line it has not seen."""
    here, there = two_servers
    with httpx.Client(base_url=here.url + API, headers=here.headers, timeout=30) as http:
        pipeline = http.post("/pipelines/", json={"name": "two", "actions": ACTIONS})
        assert pipeline.status_code == 201, pipeline.text
        run_id = http.post(f"/pipelines/{pipeline.json()['id']}/runs/", json={}).json()["id"]
        with (
            httpx.Client(base_url=there.url + API, headers=there.headers, timeout=30) as other,
            open_stream(f"{here.url}{API}/runs/{run_id}/logs/stream", headers=here.headers) as logs,
        ):
            for line in range(1, LINES + 1):
                through = other if line % 2 else http
                entries = {"entries": [{"message": f"line {line}"}]}
                assert through.post(f"/runs/{run_id}/logs/", json=entries).status_code == 201
            ended = http.patch(f"/runs/{run_id}", json={"status": "completed"})
            assert ended.status_code == 200, ended.text
            frames = []
            while True:
                frame = logs.next(timeout=30)
                if frame.event == "end":
                    break
                frames.append(frame)
    assert [frame.json()["message"] for frame in frames] == [
        f"line {line}" for line in range(1, LINES + 1)
    ]
    assert [frame.id for frame in frames] == [str(seq) for seq in range(1, LINES + 1)]


def test_a_progress_follower_sees_each_change_made_through_the_other_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    here, there = two_servers
    with httpx.Client(base_url=here.url + API, headers=here.headers, timeout=30) as http:
        pipeline = http.post("/pipelines/", json={"name": "two", "actions": ACTIONS})
        run_id = http.post(f"/pipelines/{pipeline.json()['id']}/runs/", json={}).json()["id"]
        with (
            httpx.Client(base_url=there.url + API, headers=there.headers, timeout=30) as other,
            open_stream(
                f"{here.url}{API}/runs/{run_id}/progress/stream", headers=here.headers
            ) as s,
        ):
            assert s.next(timeout=10).id == "1"
            body = {"action_progress": {"name": "a", "status": "running", "progress": 0.5}}
            assert other.post(f"/runs/{run_id}/progress", json=body).status_code == 200
            frame = s.next(timeout=10)
            assert frame.json()["progress"][0]["progress"] == 0.5
            assert other.patch(f"/runs/{run_id}", json={"status": "completed"}).status_code == 200
            last = s.next(timeout=10)
            assert last.event == "completed"


def test_a_runs_stream_sees_runs_created_through_the_other_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """Runs created alternately through either process reach a runs stream on one of them,
    each once, in the order the file numbered them."""
    here, there = two_servers
    with (
        httpx.Client(base_url=here.url + API, headers=here.headers, timeout=30) as http,
        httpx.Client(base_url=there.url + API, headers=there.headers, timeout=30) as other,
    ):
        pipeline = http.post("/pipelines/", json={"name": "two", "actions": ACTIONS})
        assert pipeline.status_code == 201, pipeline.text
        pipeline_id = pipeline.json()["id"]
        url = f"{here.url}{API}/runs/stream?pipeline_id={pipeline_id}"
        with open_stream(url, headers=here.headers) as reader:
            assert reader.next(10).event == "sync"
            made = []
            for index in range(10):
                through = other if index % 2 == 0 else http
                made.append(through.post(f"/pipelines/{pipeline_id}/runs/", json={}).json()["id"])
            frames = [reader.next_event(10) for _ in made]
            assert [(f.event, f.json()["id"]) for f in frames] == [("created", i) for i in made]
            ids = [int(f.id or "") for f in frames]
            assert ids == sorted(set(ids))
            assert other.delete(f"/runs/{made[0]}").status_code == 204
            deleted = reader.next_event(10)
            assert (deleted.event, deleted.json()["id"]) == ("deleted", made[0])
