"""Pipelines over the wire: create, list, get, update, delete (with cascades)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from tests.sample import ACTIONS, API

Factory = Callable[..., dict[str, Any]]


def test_create_returns_every_field_with_utc_timestamps(client: httpx.Client) -> None:
    body = {"name": "yolo", "description": "d", "actions": ACTIONS}
    response = client.post(f"{API}/pipelines/", json=body)
    assert response.status_code == 201
    pipeline = response.json()
    assert set(pipeline) == {
        *("id", "name", "description", "actions", "dedicated_workers", "runtime_env"),
        *("created_at", "updated_at"),
        "labels",
    }
    assert pipeline["dedicated_workers"] is False
    assert pipeline["name"] == "yolo"
    assert pipeline["description"] == "d"
    assert [a["name"] for a in pipeline["actions"]] == ["download", "convert", "train"]
    assert pipeline["actions"][0]["description"] is None
    for key in ("created_at", "updated_at"):
        assert datetime.fromisoformat(pipeline[key]).utcoffset() is not None


def test_unknown_fields_ignored_in_actions_but_rejected_on_pipeline(client: httpx.Client) -> None:
    action = {"name": "a", "entrypoint": "m.A", "retries": 3}
    ok = client.post(f"{API}/pipelines/", json={"name": "p", "actions": [action]})
    assert ok.status_code == 201
    assert ok.json()["actions"] == [{"name": "a", "entrypoint": "m.A", "description": None}]
    bad = client.post(
        f"{API}/pipelines/",
        json={"name": "p", "actions": [{"name": "a", "entrypoint": "m.a"}], "owner": "me"},
    )
    assert bad.status_code == 422
    assert "owner" in bad.json()["detail"]


def test_duplicate_action_names_are_422(client: httpx.Client) -> None:
    actions = [{"name": "a", "entrypoint": "m.A"}, {"name": "a", "entrypoint": "m.B"}]
    response = client.post(f"{API}/pipelines/", json={"name": "p", "actions": actions})
    assert response.status_code == 422
    assert "duplicate" in response.json()["detail"]


def test_missing_required_field_names_it(client: httpx.Client) -> None:
    response = client.post(
        f"{API}/pipelines/", json={"actions": [{"name": "a", "entrypoint": "m.a"}]}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "name" in detail


def test_get_and_404(client: httpx.Client, make_pipeline: Factory) -> None:
    pipeline = make_pipeline()
    assert client.get(f"{API}/pipelines/{pipeline['id']}").json() == pipeline
    missing = client.get(f"{API}/pipelines/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Pipeline not found"}


def test_list_newest_first_with_paging(client: httpx.Client, make_pipeline: Factory) -> None:
    made = [make_pipeline(name=f"page-{i}") for i in range(3)]
    listed = client.get(f"{API}/pipelines/", params={"limit": 3}).json()
    assert [p["id"] for p in listed] == [p["id"] for p in reversed(made)]
    second = client.get(f"{API}/pipelines/", params={"skip": 1, "limit": 1}).json()
    assert [p["id"] for p in second] == [made[1]["id"]]
    for params in ({"limit": 0}, {"limit": 1001}, {"skip": -1}, {"limit": "x"}):
        response = client.get(f"{API}/pipelines/", params=params)
        assert response.status_code == 422, params
        assert isinstance(response.json()["detail"], str)


def test_update_changes_only_fields_sent(client: httpx.Client, make_pipeline: Factory) -> None:
    pipeline = make_pipeline(description="keep me")
    url = f"{API}/pipelines/{pipeline['id']}"
    updated = client.put(url, json={"name": "renamed"})
    assert updated.status_code == 200
    body = updated.json()
    assert body["name"] == "renamed"
    assert body["description"] == "keep me"
    assert body["actions"] == pipeline["actions"]
    assert body["updated_at"] >= pipeline["updated_at"]
    cleared = client.put(url, json={"description": None, "actions": [ACTIONS[0]]}).json()
    assert cleared["description"] is None
    assert [a["name"] for a in cleared["actions"]] == ["download"]
    assert client.put(url, json={"name": None}).status_code == 422
    assert client.put(f"{API}/pipelines/nope", json={}).status_code == 404


def test_delete_cascades_to_runs_checkpoints_logs(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    run = make_run(pipeline["id"])
    client.post(
        f"{API}/runs/{run['id']}/checkpoints/", json={"action_name": "a", "action_index": 0}
    )
    client.post(f"{API}/runs/{run['id']}/logs/", json={"entries": [{"message": "m"}]})
    assert client.delete(f"{API}/pipelines/{pipeline['id']}").status_code == 204
    assert client.get(f"{API}/pipelines/{pipeline['id']}").status_code == 404
    assert client.get(f"{API}/runs/{run['id']}").status_code == 404
    assert client.get(f"{API}/runs/{run['id']}/checkpoints/").status_code == 404
    assert client.get(f"{API}/runs/{run['id']}/logs/").status_code == 404
    assert client.delete(f"{API}/pipelines/{pipeline['id']}").status_code == 404


def test_trailing_slash_variants_answer_directly(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    run = make_run(pipeline["id"])
    pairs = [
        ("GET", f"{API}/pipelines/", f"{API}/pipelines"),
        ("GET", f"{API}/pipelines/{pipeline['id']}", f"{API}/pipelines/{pipeline['id']}/"),
        ("GET", f"{API}/runs/", f"{API}/runs"),
        ("GET", f"{API}/runs/{run['id']}", f"{API}/runs/{run['id']}/"),
        ("GET", f"{API}/runs/{run['id']}/progress", f"{API}/runs/{run['id']}/progress/"),
        ("GET", f"{API}/runs/{run['id']}/checkpoints/", f"{API}/runs/{run['id']}/checkpoints"),
        ("GET", f"{API}/runs/{run['id']}/logs/", f"{API}/runs/{run['id']}/logs"),
        (
            "GET",
            f"{API}/pipelines/{pipeline['id']}/runs/",
            f"{API}/pipelines/{pipeline['id']}/runs",
        ),
        ("GET", "/health", "/health/"),
    ]
    for method, listed, other in pairs:
        first, second = client.request(method, listed), client.request(method, other)
        assert first.status_code == second.status_code == 200, (listed, other)
        assert first.json() == second.json()
    created = client.post(
        f"{API}/pipelines",
        json={"name": "no slash", "actions": [{"name": "a", "entrypoint": "m.a"}]},
    )
    assert created.status_code == 201


def test_a_pipeline_without_actions_is_refused(client: httpx.Client) -> None:
    response = client.post(f"{API}/pipelines/", json={"name": "empty", "actions": []})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "body field 'actions': a pipeline needs at least one action"
    )
    created = client.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
    emptied = client.put(f"{API}/pipelines/{created['id']}", json={"actions": []})
    assert emptied.status_code == 422
    assert client.get(f"{API}/pipelines/{created['id']}").json()["actions"] == created["actions"]


def test_malformed_entrypoints_are_refused_with_the_expected_form(client: httpx.Client) -> None:
    for entrypoint in ("not a dotted path", "module", "m.", ".m.A", "m:A:B", "m::A", "1m.A"):
        action = {"name": "a", "entrypoint": entrypoint}
        response = client.post(f"{API}/pipelines/", json={"name": "p", "actions": [action]})
        assert response.status_code == 422, entrypoint
        assert response.json()["detail"] == (
            f"body field 'actions.0.entrypoint': {entrypoint!r} is not a dotted path; "
            "expected 'package.module.Name' or 'package.module:Name'"
        )
    for entrypoint in ("m.A", "m:A", "pkg.sub.mod:fn", "_p.m_2.Cls"):
        action = {"name": "a", "entrypoint": entrypoint}
        response = client.post(f"{API}/pipelines/", json={"name": "p", "actions": [action]})
        assert response.status_code == 201, entrypoint
