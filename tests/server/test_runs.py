"""Runs over the wire: create (incl. resume_from), list, get, update, cancel, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sample import API

Factory = Callable[..., dict[str, Any]]

RUN_KEYS = {
    "id",
    "pipeline_id",
    "status",
    "params",
    "current_action",
    "current_action_index",
    "progress",
    "result",
    "error",
    "work_dir",
    "started_at",
    "completed_at",
    "created_at",
    "resumed_from",
    "from_action",
    "labels",
}


def test_new_run_is_pending_with_one_entry_per_action(make_run: Factory) -> None:
    run = make_run(params={"epochs": 3}, work_dir="/w")
    assert set(run) == RUN_KEYS
    assert run["status"] == "pending"
    assert run["params"] == {"epochs": 3}
    assert run["work_dir"] == "/w"
    assert run["started_at"] is None
    assert run["completed_at"] is None
    assert [e["name"] for e in run["progress"]] == ["download", "convert", "train"]
    entry = run["progress"][0]
    assert entry == {
        "name": "download",
        "status": "pending",
        "progress": 0,
        "total": None,
        "progress_step": None,
        "message": None,
        "metrics": {},
        "started_at": None,
        "completed_at": None,
        "error": None,
    }


def test_empty_body_is_valid_and_unknown_pipeline_404(
    client: httpx.Client, make_run: Factory
) -> None:
    assert make_run()["params"] is None
    response = client.post(f"{API}/pipelines/nope/runs/", json={})
    assert response.status_code == 404
    assert client.post(f"{API}/pipelines/nope/runs/", json={"x": 1}).status_code == 422


def test_resumed_params_are_the_earlier_ones_updated_with_those_sent(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    first = make_run(pipeline["id"], params={"epochs": 0, "lr": 0.1})
    second = make_run(pipeline["id"], resume_from=first["id"], params={"epochs": 5})
    assert second["params"] == {"epochs": 5, "lr": 0.1}
    third = make_run(pipeline["id"], resume_from=first["id"], params=None)
    assert third["params"] == {"epochs": 0, "lr": 0.1}


def test_resume_from_copies_checkpoints_and_params(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    first = make_run(pipeline["id"], params={"lr": 0.1})
    for index, name in enumerate(["download", "convert"]):
        client.post(
            f"{API}/runs/{first['id']}/checkpoints/",
            json={"action_name": name, "action_index": index, "result": {"i": index}},
        )
    second = make_run(pipeline["id"], resume_from=first["id"])
    assert second["params"] == {"lr": 0.1}
    copied = client.get(f"{API}/runs/{second['id']}/checkpoints/").json()
    assert [(c["action_name"], c["result"]) for c in copied] == [
        ("download", {"i": 0}),
        ("convert", {"i": 1}),
    ]
    assert all(c["run_id"] == second["id"] for c in copied)
    third = make_run(pipeline["id"], resume_from=first["id"], params={"lr": 0.2, "epochs": 5})
    assert third["params"] == {"lr": 0.2, "epochs": 5}
    assert len(client.get(f"{API}/runs/{first['id']}/checkpoints/").json()) == 2
    other = make_run()
    for bad in ("nope", other["id"]):
        response = client.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={"resume_from": bad})
        assert response.status_code == 422
        assert "resume_from" in response.json()["detail"]


def test_lists_newest_first_and_status_filter(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    runs = [make_run(pipeline["id"]) for _ in range(3)]
    listed = client.get(f"{API}/pipelines/{pipeline['id']}/runs/").json()
    assert [r["id"] for r in listed] == [r["id"] for r in reversed(runs)]
    paged = client.get(f"{API}/pipelines/{pipeline['id']}/runs/", params={"skip": 2}).json()
    assert [r["id"] for r in paged] == [runs[0]["id"]]
    assert client.get(f"{API}/pipelines/nope/runs/").status_code == 404
    client.patch(f"{API}/runs/{runs[1]['id']}", json={"status": "failed"})
    failed = client.get(f"{API}/runs/", params={"status_filter": "failed", "limit": 1000}).json()
    assert runs[1]["id"] in {r["id"] for r in failed}
    assert all(r["status"] == "failed" for r in failed)
    bad = client.get(f"{API}/runs/", params={"status_filter": "exploded"})
    assert bad.status_code == 422
    assert "status_filter" in bad.json()["detail"]


def test_patch_changes_only_fields_sent_and_stamps_once(
    client: httpx.Client, make_run: Factory
) -> None:
    run = make_run()
    url = f"{API}/runs/{run['id']}"
    running = client.patch(url, json={"status": "running", "current_action": "download"}).json()
    assert running["status"] == "running"
    assert running["started_at"] is not None
    assert running["current_action"] == "download"
    again = client.patch(url, json={"status": "running", "current_action_index": 1}).json()
    assert again["started_at"] == running["started_at"]
    assert again["current_action"] == "download"
    assert again["current_action_index"] == 1
    done = client.patch(url, json={"status": "completed", "result": {"acc": 0.9}}).json()
    assert done["completed_at"] is not None
    assert done["result"] == {"acc": 0.9}
    same = client.patch(url, json={"status": "completed"})
    assert same.status_code == 200
    assert same.json()["completed_at"] == done["completed_at"]


@pytest.mark.parametrize("terminal", ["completed", "failed", "cancelled"])
def test_leaving_a_terminal_status_is_409(
    client: httpx.Client, make_run: Factory, terminal: str
) -> None:
    run = make_run()
    url = f"{API}/runs/{run['id']}"
    assert client.patch(url, json={"status": terminal}).status_code == 200
    for status in ("pending", "running", *({"completed", "failed", "cancelled"} - {terminal})):
        response = client.patch(url, json={"status": status})
        assert response.status_code == 409, status
        assert terminal in response.json()["detail"]
        progress = client.post(f"{url}/progress", json={"status": status})
        assert progress.status_code == 409
    assert client.get(url).json()["status"] == terminal


def test_running_cannot_go_back_to_pending(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    url = f"{API}/runs/{run['id']}"
    client.patch(url, json={"status": "running"})
    assert client.patch(url, json={"status": "pending"}).status_code == 409


def test_patch_validation(client: httpx.Client, make_run: Factory) -> None:
    url = f"{API}/runs/{make_run()['id']}"
    for body in (
        {"status": "bogus"},
        {"status": None},
        {"current_action_index": -1},
        {"current_action_index": "1"},
        {"result": [1]},
        {"unknown": 1},
    ):
        response = client.patch(url, json=body)
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], str)
    assert client.patch(f"{API}/runs/nope", json={}).status_code == 404


def test_cancel(client: httpx.Client, make_run: Factory) -> None:
    pending = make_run()
    cancelled = client.post(f"{API}/runs/{pending['id']}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["completed_at"] is not None
    again = client.post(f"{API}/runs/{pending['id']}/cancel")
    assert again.status_code == 200
    assert again.json() == body
    running = make_run()
    client.patch(f"{API}/runs/{running['id']}", json={"status": "running"})
    assert client.post(f"{API}/runs/{running['id']}/cancel").json()["status"] == "cancelled"
    for terminal in ("completed", "failed"):
        run = make_run()
        client.patch(f"{API}/runs/{run['id']}", json={"status": terminal})
        response = client.post(f"{API}/runs/{run['id']}/cancel")
        assert response.status_code == 409
        assert client.get(f"{API}/runs/{run['id']}").json()["status"] == terminal
    assert client.post(f"{API}/runs/nope/cancel").status_code == 404


def test_cancel_cancels_the_running_action_and_leaves_the_later_ones_pending(
    client: httpx.Client, make_run: Factory
) -> None:
    run = make_run()
    url = f"{API}/runs/{run['id']}"
    first, second = (entry["name"] for entry in run["progress"][:2])
    client.post(f"{url}/progress", json={"status": "running"})
    client.post(f"{url}/progress", json={"action_progress": {"name": first, "status": "completed"}})
    reported = client.post(
        f"{url}/progress",
        json={"current_action_index": 1, "action_progress": {"name": second, "status": "running"}},
    )
    assert reported.status_code == 200, reported.text
    cancelled = client.post(f"{url}/cancel").json()
    statuses = [entry["status"] for entry in cancelled["progress"]]
    assert statuses == ["completed", "cancelled"] + ["pending"] * (len(statuses) - 2)
    assert cancelled["progress"][1]["completed_at"] is not None
    # A late report of the worker does not bring the action back.
    late = client.post(
        f"{url}/progress",
        json={"action_progress": {"name": second, "status": "running", "progress": 0.5}},
    )
    assert late.status_code == 200, late.text
    assert late.json()["progress"][1]["status"] == "cancelled"
    assert late.json()["progress"][1]["progress"] == 0.5


def test_delete_run_cascades(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    url = f"{API}/runs/{run['id']}"
    client.post(f"{url}/checkpoints/", json={"action_name": "a", "action_index": 0})
    client.post(f"{url}/logs/", json={"entries": [{"message": "m"}]})
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/logs/").status_code == 404
    assert client.delete(url).status_code == 404
