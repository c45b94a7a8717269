"""POST/GET /progress: validation, merging, stamping, ranges, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import API

Factory = Callable[..., dict[str, Any]]


def report(client: httpx.Client, run_id: str, **body: Any) -> httpx.Response:
    return client.post(f"{API}/runs/{run_id}/progress", json=body)


def test_status_is_validated(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    response = report(client, run["id"], status="exploded")
    assert response.status_code == 422
    assert "status" in response.json()["detail"]
    assert client.get(f"{API}/runs/{run['id']}").status_code == 200


def test_progress_moves_run_and_stamps_once(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    first = report(client, run["id"], status="running").json()
    assert first["started_at"] is not None
    second = report(client, run["id"], status="running", current_action="convert").json()
    assert second["started_at"] == first["started_at"]
    assert second["current_action"] == "convert"
    done = report(client, run["id"], status="completed").json()
    assert done["completed_at"] is not None
    assert report(client, run["id"], status="failed").status_code == 409
    assert client.get(f"{API}/runs/{run['id']}").json()["completed_at"] == done["completed_at"]


def test_action_progress_merges_by_name_and_index(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    rid = run["id"]
    first = report(
        client,
        rid,
        action_progress={
            "name": "train",
            "status": "running",
            "progress": 10,
            "total": 100,
            "progress_category": "epoch",
            "metrics": {"loss": 1.0},
            "vendor": "x",
        },
    ).json()["progress"][2]
    assert first["status"] == "running"
    assert first["started_at"] is not None
    assert first["progress_step"] == "epoch"
    assert "vendor" not in first
    assert "progress_category" not in first
    merged = report(
        client, rid, current_action_index=2, action_progress={"name": "train", "progress": 50}
    ).json()["progress"][2]
    assert merged["progress"] == 50
    assert merged["total"] == 100
    assert merged["metrics"] == {"loss": 1.0}
    assert merged["progress_step"] == "epoch"
    assert merged["started_at"] == first["started_at"]
    done = report(
        client, rid, action_progress={"name": "train", "status": "completed", "progress": 100}
    ).json()["progress"][2]
    assert done["completed_at"] is not None
    explicit = report(
        client,
        rid,
        action_progress={
            "name": "download",
            "status": "running",
            "started_at": "2026-01-01T12:00:00",
        },
    ).json()["progress"][0]
    assert explicit["started_at"] in ("2026-01-01T12:00:00.000000Z", "2026-01-01T12:00:00Z")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action_progress": {"name": "nope"}}, "action_progress.name"),
        ({"current_action_index": 7, "action_progress": {"name": "train"}}, "current_action_index"),
        ({"current_action_index": 0, "action_progress": {"name": "train"}}, "action_progress.name"),
        ({"action_progress": {"name": "train", "progress": 1.5}}, "progress"),
        ({"action_progress": {"name": "train", "progress": 11, "total": 10}}, "progress"),
        ({"action_progress": {"name": "train", "progress": -1}}, "progress"),
        ({"action_progress": {"name": "train", "total": 0}}, "total"),
        ({"action_progress": {"name": "train", "status": "exploded"}}, "status"),
        ({"action_progress": {"progress": 0.5}}, "name"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_reports_are_422_and_change_nothing(
    client: httpx.Client, make_run: Factory, body: dict[str, Any], field: str
) -> None:
    run = make_run()
    response = client.post(f"{API}/runs/{run['id']}/progress", json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert client.get(f"{API}/runs/{run['id']}").json() == run


def test_total_removed_needs_a_fraction(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    report(client, rid, action_progress={"name": "train", "progress": 50, "total": 100})
    assert report(client, rid, action_progress={"name": "train", "total": None}).status_code == 422
    ok = report(client, rid, action_progress={"name": "train", "total": None, "progress": 0.5})
    assert ok.status_code == 200


def test_get_progress_document(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    report(client, run["id"], status="running", current_action="download")
    progress = client.get(f"{API}/runs/{run['id']}/progress").json()
    assert set(progress) == {
        "run_id",
        "pipeline_id",
        "status",
        "current_action",
        "current_action_index",
        "progress",
        "error",
        "started_at",
        "completed_at",
    }
    assert progress["run_id"] == run["id"]
    assert progress["status"] == "running"
    assert client.get(f"{API}/runs/nope/progress").status_code == 404
    assert client.post(f"{API}/runs/nope/progress", json={}).status_code == 404


def test_eight_threads_lose_no_update(live_server: EmbeddedServer, make_pipeline: Factory) -> None:
    actions = [{"name": f"a{i}", "entrypoint": "m.A"} for i in range(8)]
    pipeline = make_pipeline(actions=actions)
    with httpx.Client(base_url=live_server.url) as http:
        run = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()
    reports_per_thread = 25
    errors: list[str] = []

    def worker(index: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            for step in range(1, reports_per_thread + 1):
                response = http.post(
                    f"{API}/runs/{run['id']}/progress",
                    json={
                        "action_progress": {
                            "name": f"a{index}",
                            "progress": step,
                            "total": reports_per_thread,
                            "metrics": {"step": step},
                        }
                    },
                )
                if response.status_code != 200:
                    errors.append(response.text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with httpx.Client(base_url=live_server.url) as http:
        final = http.get(f"{API}/runs/{run['id']}").json()
    for entry in final["progress"]:
        assert entry["progress"] == reports_per_thread, entry
        assert entry["metrics"] == {"step": reports_per_thread}


def test_concurrent_invalid_reports_fail_alone(
    live_server: EmbeddedServer, make_pipeline: Factory
) -> None:
    """Writes committed together (group commit) still succeed or fail one by one."""
    actions = [{"name": f"a{i}", "entrypoint": "m.A"} for i in range(6)]
    pipeline = make_pipeline(actions=actions)
    with httpx.Client(base_url=live_server.url) as http:
        run = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()
    statuses: list[tuple[bool, int]] = []

    def worker(index: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            for step in range(1, 21):
                valid = step % 2 == 0
                progress = step if valid else step + 1000  # over total: 422
                response = http.post(
                    f"{API}/runs/{run['id']}/progress",
                    json={
                        "action_progress": {"name": f"a{index}", "progress": progress, "total": 20}
                    },
                )
                statuses.append((valid, response.status_code))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [(False, 422), (True, 200)]
    with httpx.Client(base_url=live_server.url) as http:
        final = http.get(f"{API}/runs/{run['id']}").json()
    assert [entry["progress"] for entry in final["progress"]] == [20] * 6
