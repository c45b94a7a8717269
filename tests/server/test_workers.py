"""Claims and leases: atomic claims, renewals that carry the status, releases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

ServerFactory = Callable[..., EmbeddedServer]


def setup_runs(http: httpx.Client, count: int) -> tuple[str, list[str]]:
    pipeline = http.post(f"{API}/pipelines/", json={"name": "w", "actions": ACTIONS}).json()
    runs = [
        http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
        for _ in range(count)
    ]
    return pipeline["id"], runs


def test_claim_oldest_then_204(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        pipeline_id, runs = setup_runs(http, 2)
        claim = http.post(f"{API}/runs/claim", json={"worker_id": "w1", "lease_seconds": 30})
        assert claim.status_code == 200
        body = claim.json()
        assert set(body) == {"run", "worker_id", "lease_expires_at", "lease_token"}
        assert body["lease_token"] == 1
        assert body["run"]["id"] == runs[0]
        assert body["run"]["status"] == "running"
        assert body["run"]["started_at"] is not None
        assert "lease" not in str(set(body["run"]))
        assert (
            http.post(f"{API}/runs/claim", json={"worker_id": "w2"}).json()["run"]["id"] == runs[1]
        )
        nothing = http.post(f"{API}/runs/claim", json={"worker_id": "w3"})
        assert nothing.status_code == 204
        assert nothing.content == b""
        filtered = http.post(f"{API}/runs/claim", json={"worker_id": "w", "pipeline_id": "other"})
        assert filtered.status_code == 204
        del pipeline_id


def test_runs_already_driven_by_a_client_are_not_claimed(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        _, (reported, patched, untouched) = setup_runs(http, 3)
        progress = {"action_progress": {"name": ACTIONS[0]["name"], "progress": 0.1}}
        assert http.post(f"{API}/runs/{reported}/progress", json=progress).status_code == 200
        assert (
            http.patch(f"{API}/runs/{patched}", json={"current_action": "download"}).status_code
            == 200
        )
        assert http.get(f"{API}/runs/{reported}").json()["status"] == "pending"
        claim = http.post(f"{API}/runs/claim", json={"worker_id": "w1"})
        assert claim.status_code == 200
        assert claim.json()["run"]["id"] == untouched
        assert http.post(f"{API}/runs/claim", json={"worker_id": "w2"}).status_code == 204


def test_concurrent_claims_never_share_a_run(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        _, runs = setup_runs(http, 12)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while True:
                response = http.post(f"{API}/runs/claim", json={"worker_id": name})
                if response.status_code == 204:
                    return
                with lock:
                    claimed.append(response.json()["run"]["id"])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(runs)


def test_renew_release_and_expired_lease(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        _, (run_id,) = setup_runs(http, 1)
        claim = http.post(f"{API}/runs/claim", json={"worker_id": "w1", "lease_seconds": 1}).json()
        renewed = http.post(
            f"{API}/runs/{run_id}/lease", json={"worker_id": "w1", "lease_seconds": 1}
        )
        assert renewed.status_code == 200
        lease = renewed.json()
        assert lease["status"] == "running"
        assert lease["worker_id"] == "w1"
        assert lease["lease_expires_at"] >= claim["lease_expires_at"]
        other = http.post(f"{API}/runs/{run_id}/lease", json={"worker_id": "w2"})
        assert other.status_code == 409
        assert http.post(f"{API}/runs/claim", json={"worker_id": "w2"}).status_code == 204
        time.sleep(1.2)
        stolen = http.post(f"{API}/runs/claim", json={"worker_id": "w2"})
        assert stolen.status_code == 200
        assert stolen.json()["run"]["started_at"] == claim["run"]["started_at"]
        assert http.post(f"{API}/runs/{run_id}/lease", json={"worker_id": "w1"}).status_code == 409
        http.post(f"{API}/runs/{run_id}/cancel")
        cancelled = http.post(f"{API}/runs/{run_id}/lease", json={"worker_id": "w2"})
        assert cancelled.json()["status"] == "cancelled"
        released = http.delete(f"{API}/runs/{run_id}/lease", params={"worker_id": "w2"})
        assert released.status_code == 204
        assert http.post(f"{API}/runs/{run_id}/lease", json={"worker_id": "w2"}).status_code == 409
        assert http.post(f"{API}/runs/nope/lease", json={"worker_id": "w"}).status_code == 404
        assert http.delete(f"{API}/runs/nope/lease", params={"worker_id": "w"}).status_code == 404
        assert http.delete(f"{API}/runs/{run_id}/lease").status_code == 422


def test_released_running_run_is_claimable_at_once(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        _, (run_id,) = setup_runs(http, 1)
        http.post(f"{API}/runs/claim", json={"worker_id": "w1", "lease_seconds": 600})
        http.delete(f"{API}/runs/{run_id}/lease", params={"worker_id": "w1"})
        again = http.post(f"{API}/runs/claim", json={"worker_id": "w2"})
        assert again.status_code == 200
        assert again.json()["run"]["id"] == run_id


def test_claim_validation(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        for body in (
            {},
            {"worker_id": ""},
            {"worker_id": "w", "lease_seconds": 0},
            {"worker_id": "w", "lease_seconds": 3601},
            {"worker_id": "w", "x": 1},
        ):
            response = http.post(f"{API}/runs/claim", json=body)
            assert response.status_code == 422, body


def test_expired_lease_is_fenced_off_after_another_claim(server_factory: ServerFactory) -> None:
    """Worker A's lease expires and worker B claims the run: every write A makes with its old
    Lease-Token is 409 (mentioning the lease) and changes nothing; B's writes go through."""
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        _, (run_id,) = setup_runs(http, 1)
        a = http.post(f"{API}/runs/claim", json={"worker_id": "A", "lease_seconds": 1}).json()
        old = {"Lease-Token": str(a["lease_token"])}
        action = {"name": ACTIONS[0]["name"], "progress": 0.25}
        assert (
            http.post(
                f"{API}/runs/{run_id}/progress", json={"action_progress": action}, headers=old
            ).status_code
            == 200
        )
        deadline = time.monotonic() + 30
        while (b := http.post(f"{API}/runs/claim", json={"worker_id": "B"})).status_code == 204:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert b.json()["lease_token"] == a["lease_token"] + 1
        new = {"Lease-Token": str(b.json()["lease_token"])}
        before_run = http.get(f"{API}/runs/{run_id}").json()

        late_action = {"action_progress": {**action, "progress": 0.9}}
        checkpoint = {"action_name": ACTIONS[0]["name"], "action_index": 0}
        writes: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", f"/runs/{run_id}/progress", {"json": late_action}),
            ("PATCH", f"/runs/{run_id}", {"json": {"status": "completed", "result": {"x": 1}}}),
            ("POST", f"/runs/{run_id}/checkpoints/", {"json": checkpoint}),
            ("POST", f"/runs/{run_id}/logs/", {"json": {"entries": [{"message": "late"}]}}),
            ("POST", f"/runs/{run_id}/lease", {"json": {"worker_id": "A"}}),
            ("DELETE", f"/runs/{run_id}/lease", {"params": {"worker_id": "B"}}),
        ]
        for method, path, kwargs in writes:
            response = http.request(method, API + path, headers=old, **kwargs)
            assert response.status_code == 409, (method, path, response.text)
            assert "lease" in response.json()["detail"]
        assert http.get(f"{API}/runs/{run_id}").json() == before_run
        assert http.get(f"{API}/runs/{run_id}/checkpoints/").json() == []
        assert http.get(f"{API}/runs/{run_id}/logs/").json() == []

        renewed = http.post(f"{API}/runs/{run_id}/lease", json={"worker_id": "B"}, headers=new)
        assert renewed.status_code == 200
        assert renewed.json()["lease_token"] == b.json()["lease_token"]
        for method, path, kwargs in writes[:4]:
            response = http.request(method, API + path, headers=new, **kwargs)
            assert response.status_code in (200, 201), (method, path, response.text)
        assert http.get(f"{API}/runs/{run_id}").json()["status"] == "completed"
        # Without the header a write is accepted as before; a bad header is a 422.
        logs = {"entries": [{"message": "unfenced"}]}
        assert http.post(f"{API}/runs/{run_id}/logs/", json=logs).status_code == 201
        bad = http.post(f"{API}/runs/{run_id}/logs/", json=logs, headers={"Lease-Token": "x"})
        assert bad.status_code == 422


def test_runs_of_a_pipeline_with_dedicated_workers_go_only_to_claims_naming_it(
    server_factory: ServerFactory,
) -> None:
    """A claim without `pipeline_id` skips a dedicated pipeline's runs, pending or with an
    expired lease, and takes the older run of an ordinary pipeline after them; a claim naming
    the pipeline takes them. Turning the flag off makes its runs everybody's again."""
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        body = {"name": "gpu", "actions": ACTIONS, "dedicated_workers": True}
        dedicated = http.post(f"{API}/pipelines/", json=body).json()
        assert dedicated["dedicated_workers"] is True
        assert http.get(f"{API}/pipelines/{dedicated['id']}").json()["dedicated_workers"] is True
        first = http.post(f"{API}/pipelines/{dedicated['id']}/runs/", json={}).json()
        _, (ordinary,) = setup_runs(http, 1)
        anyone = {"worker_id": "any", "lease_seconds": 600}
        taken = http.post(f"{API}/runs/claim", json=anyone)
        assert taken.json()["run"]["id"] == ordinary
        assert http.post(f"{API}/runs/claim", json=anyone).status_code == 204
        named = {"worker_id": "gpu-1", "lease_seconds": 1, "pipeline_id": dedicated["id"]}
        claim = http.post(f"{API}/runs/claim", json=named)
        assert claim.json()["run"]["id"] == first["id"]
        # its lease expires: still only a claim naming the pipeline takes it over
        deadline = time.monotonic() + 30
        while (again := http.post(f"{API}/runs/claim", json=named)).status_code == 204:
            assert http.post(f"{API}/runs/claim", json=anyone).status_code == 204
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert again.json()["run"]["id"] == first["id"]
        assert again.json()["lease_token"] == claim.json()["lease_token"] + 1

        second = http.post(f"{API}/pipelines/{dedicated['id']}/runs/", json={}).json()
        opened = http.put(f"{API}/pipelines/{dedicated['id']}", json={"dedicated_workers": False})
        assert opened.status_code == 200
        assert opened.json()["dedicated_workers"] is False
        assert http.post(f"{API}/runs/claim", json=anyone).json()["run"]["id"] == second["id"]
        listed = http.get(f"{API}/pipelines/").json()
        assert {p["id"]: p["dedicated_workers"] for p in listed} == {
            dedicated["id"]: False,
            taken.json()["run"]["pipeline_id"]: False,
        }


def test_dedicated_workers_must_be_a_boolean(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        for value in ("yes", 1, None):
            body = {"name": "p", "actions": ACTIONS, "dedicated_workers": value}
            response = http.post(f"{API}/pipelines/", json=body)
            assert response.status_code == 422, value
            assert "dedicated_workers" in str(response.json()["detail"])
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
        response = http.put(f"{API}/pipelines/{pipeline['id']}", json={"dedicated_workers": None})
        assert response.status_code == 422
