"""Lineage, on both storage backends: `resumed_from` and `from_action` on runs, the runs that
resumed a run, what a resume copies, and the resumes refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def http(live_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def new_pipeline(http: httpx.Client) -> str:
    response = http.post(f"{API}/pipelines/", json={"name": "lineage", "actions": ACTIONS})
    pipeline_id: str = response.json()["id"]
    return pipeline_id


def create_run(http: httpx.Client, pipeline_id: str, **body: Any) -> httpx.Response:
    return http.post(f"{API}/pipelines/{pipeline_id}/runs/", json=body)


def checkpoint(http: httpx.Client, run_id: str, index: int, **fields: Any) -> dict[str, Any]:
    body = {"action_name": ACTIONS[index]["name"], "action_index": index, **fields}
    response = http.post(f"{API}/runs/{run_id}/checkpoints/", json=body)
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def upload(http: httpx.Client, run_id: str, path: str, data: bytes) -> None:
    url = f"{API}/runs/{run_id}/artifacts/{quote(path, safe='')}"
    assert http.put(url, content=data, headers=OCTET).status_code == 201


def test_a_fresh_run_has_no_lineage(http: httpx.Client) -> None:
    run = create_run(http, new_pipeline(http)).json()
    assert (run["resumed_from"], run["from_action"]) == (None, None)
    assert http.get(f"{API}/runs/{run['id']}").json()["resumed_from"] is None
    listed = http.get(f"{API}/runs/", params={"resumed_from": run["id"]}).json()
    assert listed == []


def test_both_directions_of_a_resume(http: httpx.Client) -> None:
    pipeline_id = new_pipeline(http)
    earlier = create_run(http, pipeline_id, params={"epochs": 3}).json()
    checkpoint(http, earlier["id"], 0, result={"raw": "r.csv"})
    first = create_run(http, pipeline_id, resume_from=earlier["id"]).json()
    second = create_run(http, pipeline_id, resume_from=earlier["id"], from_action="convert")
    assert second.status_code == 201, second.text
    assert (first["resumed_from"], first["from_action"]) == (earlier["id"], None)
    assert (second.json()["resumed_from"], second.json()["from_action"]) == (
        earlier["id"], "convert"
    )  # fmt: skip
    read = http.get(f"{API}/runs/{second.json()['id']}").json()
    assert (read["resumed_from"], read["from_action"]) == (earlier["id"], "convert")
    resumed_by = http.get(f"{API}/runs/", params={"resumed_from": earlier["id"]}).json()
    assert [r["id"] for r in resumed_by] == [second.json()["id"], first["id"]]  # newest first
    with_status = http.get(
        f"{API}/runs/", params={"resumed_from": earlier["id"], "status_filter": "running"}
    ).json()
    assert with_status == []
    in_pipeline = http.get(f"{API}/pipelines/{pipeline_id}/runs/").json()
    assert {r["id"]: r["resumed_from"] for r in in_pipeline} == {
        earlier["id"]: None, first["id"]: earlier["id"], second.json()["id"]: earlier["id"]
    }  # fmt: skip


def test_from_action_copies_only_the_checkpoints_before_it(http: httpx.Client) -> None:
    pipeline_id = new_pipeline(http)
    earlier = create_run(http, pipeline_id).json()
    checkpoint(http, earlier["id"], 0, result={"raw": "r.csv"})
    checkpoint(http, earlier["id"], 1, result={"data": "d.json"})
    checkpoint(http, earlier["id"], 2, status="running", step=4, state={"epoch": 4})
    everything = create_run(http, pipeline_id, resume_from=earlier["id"]).json()
    copied = http.get(f"{API}/runs/{everything['id']}/checkpoints/").json()
    assert [(c["action_name"], c["status"], c["step"]) for c in copied] == [
        ("download", "completed", None), ("convert", "completed", None), ("train", "running", 4)
    ]  # fmt: skip
    assert {c["run_id"] for c in copied} == {everything["id"]}
    again = create_run(http, pipeline_id, resume_from=earlier["id"], from_action="convert")
    assert again.status_code == 201
    copied = http.get(f"{API}/runs/{again.json()['id']}/checkpoints/").json()
    assert [c["action_name"] for c in copied] == ["download"]


def test_a_resume_shares_the_artifacts_its_checkpoints_list(
    http: httpx.Client, live_server: EmbeddedServer
) -> None:
    pipeline_id = new_pipeline(http)
    earlier = create_run(http, pipeline_id).json()
    upload(http, earlier["id"], "train/step-2/model.bin", b"model at epoch 2")
    upload(http, earlier["id"], "loose.txt", b"listed by no checkpoint")
    saved = checkpoint(
        http, earlier["id"], 2, status="running", step=2, artifacts=["train/step-2/model.bin"]
    )
    later = create_run(http, pipeline_id, resume_from=earlier["id"]).json()
    artifacts = http.get(f"{API}/runs/{later['id']}/artifacts").json()
    copied_checkpoint = http.get(f"{API}/runs/{later['id']}/checkpoints/").json()[0]
    assert copied_checkpoint["id"] != saved["id"]
    assert [(a["path"], a["checkpoint_id"]) for a in artifacts] == [
        ("train/step-2/model.bin", copied_checkpoint["id"])
    ]
    url = f"{API}/runs/{later['id']}/artifacts/train%2Fstep-2%2Fmodel.bin"
    assert http.get(url).content == b"model at epoch 2"
    # Deleting the earlier run keeps what the later one still lists; deleting both removes all.
    root = Path(live_server.settings.artifacts_url() or "")
    assert http.delete(f"{API}/runs/{earlier['id']}").status_code == 204
    assert http.get(url).content == b"model at epoch 2"
    assert http.get(f"{API}/runs/{earlier['id']}/artifacts").status_code == 404
    stored = [p for p in root.rglob("*") if p.is_file() and earlier["id"] in p.parts]
    assert [p.read_bytes() for p in stored] == [b"model at epoch 2"]  # loose.txt is gone
    assert http.delete(f"{API}/runs/{later['id']}").status_code == 204
    assert [p for p in root.rglob("*") if p.is_file() and earlier["id"] in p.parts] == []


def test_deleting_a_pipeline_deletes_its_runs_artifacts(
    http: httpx.Client, live_server: EmbeddedServer
) -> None:
    pipeline_id = new_pipeline(http)
    run = create_run(http, pipeline_id).json()
    upload(http, run["id"], "a.bin", b"a")
    root = Path(live_server.settings.artifacts_url() or "")
    assert [p for p in root.rglob("*") if p.is_file() and run["id"] in p.parts]
    assert http.delete(f"{API}/pipelines/{pipeline_id}").status_code == 204
    assert [p for p in root.rglob("*") if p.is_file() and run["id"] in p.parts] == []


def test_resuming_a_run_with_every_action_completed_needs_from_action(
    http: httpx.Client,
) -> None:
    pipeline_id = new_pipeline(http)
    done = create_run(http, pipeline_id).json()
    for index in range(len(ACTIONS)):
        checkpoint(http, done["id"], index)
    refused = create_run(http, pipeline_id, resume_from=done["id"])
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "nothing left to run" in detail
    assert "from_action" in detail
    assert http.get(f"{API}/runs/", params={"resumed_from": done["id"]}).json() == []
    again = create_run(http, pipeline_id, resume_from=done["id"], from_action="train")
    assert again.status_code == 201


def test_from_action_needs_completed_checkpoints_before_it(http: httpx.Client) -> None:
    pipeline_id = new_pipeline(http)
    earlier = create_run(http, pipeline_id).json()
    checkpoint(http, earlier["id"], 0)
    refused = create_run(http, pipeline_id, resume_from=earlier["id"], from_action="train")
    assert refused.status_code == 409
    assert "'convert'" in refused.json()["detail"]
    assert create_run(
        http, pipeline_id, resume_from=earlier["id"], from_action="convert"
    ).status_code == 201  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"from_action": "convert"}, "resume_from"),
        ({"resume_from": "EARLIER", "from_action": "deploy"}, "'deploy'"),
        ({"resume_from": "EARLIER", "from_action": ""}, "from_action"),
    ],
)
def test_bad_from_action_is_422(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    pipeline_id = new_pipeline(http)
    earlier = create_run(http, pipeline_id).json()
    sent = {k: earlier["id"] if v == "EARLIER" else v for k, v in body.items()}
    response = create_run(http, pipeline_id, **sent)
    assert response.status_code == 422
    assert message in response.json()["detail"]
