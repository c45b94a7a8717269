"""Checkpoints and logs over the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.sample import API

Factory = Callable[..., dict[str, Any]]
LEVELS = ["debug", "info", "success", "warning", "danger", "error", "critical"]


def checkpoint(client: httpx.Client, run_id: str, **body: Any) -> httpx.Response:
    return client.post(f"{API}/runs/{run_id}/checkpoints/", json=body)


def test_checkpoint_create_and_reads(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    first = checkpoint(client, rid, action_name="train", action_index=2, result={"acc": 0.5})
    assert first.status_code == 201
    body = first.json()
    assert set(body) == {
        "id",
        "run_id",
        "action_name",
        "action_index",
        "status",
        "params_snapshot",
        "result",
        "artifacts_path",
        "created_at",
        "step",
        "state",
        "artifacts",
    }
    assert body["status"] == "completed"
    assert (body["step"], body["state"], body["artifacts"]) == (None, None, [])
    checkpoint(client, rid, action_name="download", action_index=0)
    newer = checkpoint(client, rid, action_name="train", action_index=2, status="failed").json()
    listed = client.get(f"{API}/runs/{rid}/checkpoints/").json()
    assert [(c["action_index"], c["id"]) for c in listed][1:] == [(2, body["id"]), (2, newer["id"])]
    assert listed[0]["action_name"] == "download"
    assert client.get(f"{API}/runs/{rid}/checkpoints/latest").json()["id"] == newer["id"]
    assert client.get(f"{API}/runs/{rid}/checkpoints/train").json()["id"] == newer["id"]
    assert client.get(f"{API}/runs/{rid}/checkpoints/nope").status_code == 404


def test_checkpoint_404s_and_validation(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    assert client.get(f"{API}/runs/{rid}/checkpoints/latest").status_code == 404
    assert client.get(f"{API}/runs/nope/checkpoints/").status_code == 404
    assert client.get(f"{API}/runs/nope/checkpoints/latest").status_code == 404
    assert checkpoint(client, "nope", action_name="a", action_index=0).status_code == 404
    for body in (
        {"action_name": "a"},
        {"action_index": 0},
        {"action_name": "", "action_index": 0},
        {"action_name": "a", "action_index": -1},
        {"action_name": "a", "action_index": 0, "status": "done"},
    ):
        response = checkpoint(client, rid, **body)
        assert response.status_code == 422, body
    assert client.get(f"{API}/runs/{rid}/checkpoints/").json() == []


def test_checkpoint_names_with_slashes_and_percent(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    for name in ("a/b", "50%", "x%2Fy", "über stage", "\n", "line\n"):
        made = checkpoint(client, rid, action_name=name, action_index=0).json()
        got = client.get(f"{API}/runs/{rid}/checkpoints/{quote(name, safe='')}")
        assert got.status_code == 200, name
        assert got.json()["id"] == made["id"]


def test_logs_append_and_filters(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    entries = [
        {"message": f"m{i}", "level": level, "action_name": "train" if i % 2 else None}
        for i, level in enumerate(LEVELS)
    ]
    entries.append({"message": "old", "timestamp": "2020-01-01T00:00:00"})
    created = client.post(f"{API}/runs/{rid}/logs/", json={"entries": entries})
    assert created.status_code == 201
    records = created.json()
    assert [r["seq"] for r in records] == list(range(1, 9))
    assert [r["level"] for r in records[:7]] == LEVELS
    assert records[7]["level"] == "info"
    assert records[7]["timestamp"].startswith("2020-01-01T00:00:00")
    assert records[7]["timestamp"].endswith(("Z", "+00:00"))
    url = f"{API}/runs/{rid}/logs/"
    assert client.get(url).json() == records
    assert [r["seq"] for r in client.get(url, params={"after_seq": 6}).json()] == [7, 8]
    assert [r["message"] for r in client.get(url, params={"level": "danger"}).json()] == ["m4"]
    assert all(
        r["action_name"] == "train" for r in client.get(url, params={"action_name": "train"}).json()
    )
    since = client.get(url, params={"since": "2021-01-01T00:00:00+02:00"}).json()
    assert "old" not in {r["message"] for r in since}
    assert len(since) == 7
    assert [r["seq"] for r in client.get(url, params={"limit": 2}).json()] == [1, 2]
    more = client.post(url, json={"entries": [{"message": "next"}]}).json()
    assert more[0]["seq"] == 9


@pytest.mark.parametrize(
    "params",
    [
        {"level": "fatal"},
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 10001},
        {"after_seq": -1},
        {"since": "2026-01-01"},
    ],
)
def test_log_query_validation(
    client: httpx.Client, make_run: Factory, params: dict[str, Any]
) -> None:
    response = client.get(f"{API}/runs/{make_run()['id']}/logs/", params=params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"]


def test_log_batch_limits(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    url = f"{API}/runs/{rid}/logs/"
    full = client.post(url, json={"entries": [{"message": "x"}] * 10_000})
    assert full.status_code == 201
    assert len(full.json()) == 10_000
    over = client.post(url, json={"entries": [{"message": "x"}] * 10_001})
    assert over.status_code == 413
    assert "10000" in over.json()["detail"] or "10,000" in over.json()["detail"]
    assert (
        client.post(url, json={"entries": [{"message": "x", "level": "fatal"}]}).status_code == 422
    )
    assert client.post(url, json={"entries": [{}]}).status_code == 422
    assert client.post(f"{API}/runs/nope/logs/", json={"entries": []}).status_code == 404
    assert len(client.get(url, params={"limit": 10_000}).json()) == 10_000
