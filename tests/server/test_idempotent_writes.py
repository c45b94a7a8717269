"""PATCH /runs/{id} and POST /runs/{id}/progress with an Idempotency-Key: a resend answers the
first response and changes nothing again; another body with the key is 409 (each backend)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from pipeline_service.server import EmbeddedServer
from tests.sample import API, unique

Factory = Callable[..., dict[str, Any]]


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": unique(name)}


def recorded(client: httpx.Client, run_id: str, action: str) -> int:
    series = client.get(f"{API}/runs/{run_id}/metrics").json()["actions"]
    return int(next(s["recorded"] for s in series if s["action_name"] == action))


def test_a_resent_patch_replays_its_answer_and_changes_nothing(
    client: httpx.Client, make_run: Factory
) -> None:
    run_id = make_run()["id"]
    headers = key("patch")
    first = client.patch(f"{API}/runs/{run_id}", json={"status": "running"}, headers=headers)
    assert first.status_code == 200, first.text
    later = client.patch(f"{API}/runs/{run_id}", json={"current_action": "convert"})
    assert later.status_code == 200
    again = client.patch(f"{API}/runs/{run_id}", json={"status": "running"}, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()  # the first answer, not the run as it is now
    assert client.get(f"{API}/runs/{run_id}").json() == later.json()  # nothing applied again

    other = client.patch(f"{API}/runs/{run_id}", json={"status": "failed"}, headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert client.get(f"{API}/runs/{run_id}").json()["status"] == "running"


def test_a_resent_progress_report_is_applied_and_recorded_once(
    client: httpx.Client, make_run: Factory
) -> None:
    run_id = make_run()["id"]
    body = {"action_progress": {"name": "train", "progress": 0.5, "metrics": {"loss": 1.5}}}
    headers = key("progress")
    first = client.post(f"{API}/runs/{run_id}/progress", json=body, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post(f"{API}/runs/{run_id}/progress", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert recorded(client, run_id, "train") == 1

    changed = {"action_progress": {**body["action_progress"], "progress": 0.75}}
    other = client.post(f"{API}/runs/{run_id}/progress", json=changed, headers=headers)
    assert other.status_code == 409
    assert recorded(client, run_id, "train") == 1


def test_a_resent_log_batch_replays_its_records_and_stores_them_once(
    client: httpx.Client, make_run: Factory
) -> None:
    """The replayed answer is the first one, value for value (plain and non-ASCII texts, one
    record without an action), and the records are stored once."""
    run_id = make_run()["id"]
    entries = [
        {"message": "plain", "action_name": "train"},
        {"message": 'naïve ☃ \u0000 "quoted"', "level": "warning", "action_name": "train"},
        {"message": "no action"},
    ]
    headers = key("logs")
    first = client.post(f"{API}/runs/{run_id}/logs/", json={"entries": entries}, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/runs/{run_id}/logs/", json={"entries": entries}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert [r["message"] for r in first.json()] == [e["message"] for e in entries]
    stored = client.get(f"{API}/runs/{run_id}/logs/").json()
    assert [r["seq"] for r in stored] == [1, 2, 3]


def test_a_key_names_one_request_on_one_endpoint(
    client: httpx.Client, make_run: Factory, make_pipeline: Factory
) -> None:
    pipeline_id = make_pipeline()["id"]
    one, two = make_run(pipeline_id), make_run(pipeline_id)
    headers = key("shared")
    body = {"action_progress": {"name": "train", "progress": 0.25, "metrics": {"loss": 2}}}
    for run in (one, two):  # the same key on another run's endpoint is another request
        response = client.post(f"{API}/runs/{run['id']}/progress", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert recorded(client, run["id"], "train") == 1
    patched = client.patch(f"{API}/runs/{one['id']}", json={"error": "e"}, headers=headers)
    assert patched.status_code == 200  # and so is the same key on another method
    assert patched.json()["error"] == "e"


def test_a_replay_is_answered_before_the_lease_check(
    client: httpx.Client, make_run: Factory
) -> None:
    run = make_run()
    worker = unique("worker")
    claim = client.post(
        f"{API}/runs/claim", json={"worker_id": worker, "pipeline_id": run["pipeline_id"]}
    ).json()
    token = {"Lease-Token": str(claim["lease_token"])}
    headers = {**key("fenced"), **token}
    body = {"action_progress": {"name": "download", "status": "completed", "progress": 1}}
    first = client.post(f"{API}/runs/{run['id']}/progress", json=body, headers=headers)
    assert first.status_code == 200, first.text
    # The lease goes to another worker: the first worker's token is outdated.
    released = client.delete(
        f"{API}/runs/{run['id']}/lease", params={"worker_id": worker}, headers=token
    )
    assert released.status_code == 204
    taken = client.post(
        f"{API}/runs/claim", json={"worker_id": unique("other"), "pipeline_id": run["pipeline_id"]}
    ).json()
    assert taken["lease_token"] == claim["lease_token"] + 1
    # The resend of a write that was applied learns that it was; a new write is fenced off.
    again = client.post(f"{API}/runs/{run['id']}/progress", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    fenced = client.patch(
        f"{API}/runs/{run['id']}", json={"error": "late"}, headers={**key("late"), **token}
    )
    assert fenced.status_code == 409
    assert "lease" in fenced.json()["detail"]


def test_deleting_the_run_forgets_its_keys(client: httpx.Client, make_run: Factory) -> None:
    run_id = make_run()["id"]
    headers = key("deleted")
    body = {"status": "running"}
    assert client.patch(f"{API}/runs/{run_id}", json=body, headers=headers).status_code == 200
    assert client.delete(f"{API}/runs/{run_id}").status_code == 204
    again = client.patch(f"{API}/runs/{run_id}", json=body, headers=headers)
    assert again.status_code == 404  # not a replay of a run that no longer exists


def test_concurrent_resends_apply_once(
    client: httpx.Client, live_server: EmbeddedServer, make_run: Factory
) -> None:
    run_id = make_run()["id"]
    headers = key("race")
    body = {"action_progress": {"name": "convert", "progress": 0.5, "metrics": {"rows": 10}}}
    answers: list[dict[str, Any]] = []

    def post() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            response = http.post(f"{API}/runs/{run_id}/progress", json=body, headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json())

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6
    assert all(answer == answers[0] for answer in answers)
    assert recorded(client, run_id, "convert") == 1
