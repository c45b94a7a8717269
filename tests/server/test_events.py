"""GET /runs/{id}/events: a run's history, recorded with the changes themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sample import API

Factory = Callable[..., dict[str, Any]]


def events(client: httpx.Client, run_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/runs/{run_id}/events", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def types(client: httpx.Client, run_id: str) -> list[str]:
    return [e["type"] for e in events(client, run_id)]


def claim(client: httpx.Client, pipeline_id: str, worker: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/runs/claim", json={"worker_id": worker, "pipeline_id": pipeline_id, **body}
    )
    assert response.status_code == 200, response.text
    claimed: dict[str, Any] = response.json()
    return claimed


def progress(client: httpx.Client, run_id: str, token: int | None = None, **body: Any) -> Any:
    headers = {} if token is None else {"Lease-Token": str(token)}
    return client.post(f"{API}/runs/{run_id}/progress", json=body, headers=headers)


def test_a_run_driven_by_a_worker_tells_its_story(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    rid = run["id"]
    assert types(client, rid) == ["created"]
    lease = claim(client, run["pipeline_id"], "host-a:1:w1")
    token = lease["lease_token"]
    for name in ("download", "convert"):
        start = {"name": name, "status": "running"}
        assert progress(client, rid, token, action_progress=start).status_code == 200
        done = {"name": name, "status": "completed"}
        assert progress(client, rid, token, action_progress=done).status_code == 200
    failed = {"name": "train", "status": "failed", "error": "ValueError: loss exploded"}
    response = progress(client, rid, token, action_progress=failed, status="failed")
    assert response.status_code == 200

    found = events(client, rid)
    assert [e["type"] for e in found] == [
        "created",
        "claimed",
        "started",
        "action_started",
        "action_completed",
        "action_started",
        "action_completed",
        "action_failed",
        "failed",
    ]
    ids = [e["id"] for e in found]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(e["run_id"] == rid for e in found)
    claimed = found[1]
    assert claimed["worker_id"] == "host-a:1:w1"
    assert claimed["details"] == {"host": "127.0.0.1", "lease_token": token}
    assert claimed["message"] == f"Claimed by worker host-a:1:w1 on 127.0.0.1 (lease token {token})"
    assert all(e["worker_id"] == "host-a:1:w1" for e in found[1:])
    completed = found[4]
    assert completed["action_name"] == "download"
    assert completed["details"]["duration_seconds"] >= 0
    assert completed["message"].startswith("Action download completed after ")
    assert found[7]["message"].endswith(": ValueError: loss exploded")
    assert found[8]["message"].startswith("Run failed after ")
    times = [e["time"] for e in found]
    assert times == sorted(times)
    assert found[0]["worker_id"] is None


def test_a_refused_write_records_nothing(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    token = claim(client, run["pipeline_id"], "w1")["lease_token"]
    before = events(client, run["id"])
    stale = progress(client, run["id"], token - 1, action_progress={"name": "download"})
    assert stale.status_code == 409
    bad = progress(client, run["id"], action_progress={"name": "nowhere", "status": "running"})
    assert bad.status_code == 422
    assert events(client, run["id"]) == before


def test_cancel_is_requested_then_done_once(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    assert client.post(f"{API}/runs/{rid}/cancel").status_code == 200
    assert client.post(f"{API}/runs/{rid}/cancel").status_code == 200  # already cancelled
    assert types(client, rid) == ["created", "cancel_requested", "cancelled"]
    done = make_run()["id"]
    assert client.patch(f"{API}/runs/{done}", json={"status": "completed"}).status_code == 200
    assert client.post(f"{API}/runs/{done}/cancel").status_code == 409
    assert types(client, done) == ["created", "completed"]


def test_checkpoints_and_resumes_are_events(client: httpx.Client, make_run: Factory) -> None:
    first = make_run()
    rid = first["id"]
    body = {"action_name": "download", "action_index": 0, "step": 3}
    assert client.post(f"{API}/runs/{rid}/checkpoints/", json=body).status_code == 201
    assert client.patch(f"{API}/runs/{rid}", json={"status": "failed"}).status_code == 200
    second = client.post(
        f"{API}/pipelines/{first['pipeline_id']}/runs/", json={"resume_from": rid}
    ).json()
    old = events(client, rid)
    assert [e["type"] for e in old] == ["created", "checkpoint_saved", "failed", "resumed_as"]
    saved = old[1]
    assert (saved["action_name"], saved["details"]["step"]) == ("download", 3)
    assert saved["message"] == "Checkpoint of action download saved at step 3"
    assert old[3]["details"] == {"run_id": second["id"]}
    new = events(client, second["id"])
    assert [e["type"] for e in new] == ["created", "resumed_from"]
    assert new[1]["details"] == {"run_id": rid}


@pytest.mark.slow
def test_a_takeover_names_both_workers_in_order(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    first = claim(client, run["pipeline_id"], "w1", lease_seconds=1)
    deadline = time.monotonic() + 30
    while True:  # the first lease runs out; the second worker takes the run over
        response = client.post(
            f"{API}/runs/claim", json={"worker_id": "w2", "pipeline_id": run["pipeline_id"]}
        )
        if response.status_code == 200:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = response.json()
    found = events(client, run["id"])
    assert [(e["type"], e["worker_id"]) for e in found] == [
        ("created", None),
        ("claimed", "w1"),
        ("started", "w1"),
        ("lease_expired", "w1"),
        ("taken_over", "w2"),
    ]
    assert found[3]["details"] == {"lease_token": first["lease_token"]}
    assert found[4]["details"] == {
        "host": "127.0.0.1",
        "lease_token": second["lease_token"],
        "previous_worker_id": "w1",
    }


def test_paging_by_after_and_limit(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    client.post(f"{API}/runs/{rid}/cancel")
    every = events(client, rid)
    assert events(client, rid, limit=2) == every[:2]
    assert events(client, rid, after=every[0]["id"]) == every[1:]
    assert events(client, rid, after=every[-1]["id"]) == []


@pytest.mark.parametrize(
    ("params", "fragment"), [({"after": -1}, "after"), ({"limit": 0}, "limit")]
)
def test_bad_parameters_are_422(
    client: httpx.Client, make_run: Factory, params: dict[str, Any], fragment: str
) -> None:
    rid = make_run()["id"]
    response = client.get(f"{API}/runs/{rid}/events", params=params)
    assert response.status_code == 422
    assert fragment in response.text


def test_unknown_or_deleted_run_is_404(client: httpx.Client, make_run: Factory) -> None:
    assert client.get(f"{API}/runs/no-such-run/events").status_code == 404
    rid = make_run()["id"]
    assert client.delete(f"{API}/runs/{rid}").status_code == 204
    response = client.get(f"{API}/runs/{rid}/events")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run not found"}
