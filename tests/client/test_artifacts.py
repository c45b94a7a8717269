"""The client's artifact methods and lineage arguments: against the live server with both
clients, and against scripted answers for the faults a real server does not produce."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient
from pipeline_service.errors import (
    APIResponseValidationError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from tests.sample import ACTIONS, unique

NOW = {"Retry-After": "0"}
ARTIFACT: dict[str, Any] = {
    "path": "a.bin",
    "size": 3,
    "sha256": hashlib.sha256(b"abc").hexdigest(),
    "action_name": None,
    "step": None,
    "checkpoint_id": None,
    "created_at": "2026-01-01T12:00:00Z",
}


def test_upload_list_and_download(api: Any, tmp_path: Path) -> None:
    run = api.create_run(api.create_pipeline(unique("artifacts"), ACTIONS)["id"])
    data = os.urandom(2 * 1024 * 1024 + 3)
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    from_file = api.upload_artifact(
        run["id"], "train/model.bin", source, action_name="train", step=4
    )
    assert from_file["size"] == len(data)
    assert from_file["sha256"] == hashlib.sha256(data).hexdigest()
    assert (from_file["action_name"], from_file["step"]) == ("train", 4)
    from_bytes = api.upload_artifact(run["id"], "notes.txt", b"hello")
    assert from_bytes["size"] == 5
    assert [a["path"] for a in api.list_artifacts(run["id"])] == ["notes.txt", "train/model.bin"]
    target = api.download_artifact(run["id"], "train/model.bin", tmp_path / "out" / "m.bin")
    assert target == tmp_path / "out" / "m.bin"
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["m.bin"]  # no partial file left
    with pytest.raises(NotFoundError):
        api.download_artifact(run["id"], "nothing.bin", tmp_path / "nothing.bin")
    assert not (tmp_path / "nothing.bin").exists()
    with pytest.raises(UnprocessableEntityError, match=r"'\.\.'"):
        api.upload_artifact(run["id"], "../escape", b"x")
    with pytest.raises(FileNotFoundError):
        api.upload_artifact(run["id"], "missing.bin", tmp_path / "missing.bin")


def test_in_action_checkpoints_and_lineage(api: Any) -> None:
    pipeline = api.create_pipeline(unique("lineage"), ACTIONS)
    earlier = api.create_run(pipeline["id"], params={"epochs": 3})
    assert earlier["resumed_from"] is None
    api.upload_artifact(earlier["id"], "train/step-2/w.bin", b"w")
    saved = api.create_checkpoint(
        earlier["id"], "train", 2, status="running", step=2, state={"epoch": 2},
        artifacts=["train/step-2/w.bin"],
    )  # fmt: skip
    assert (saved["step"], saved["state"], saved["artifacts"]) == (
        2, {"epoch": 2}, ["train/step-2/w.bin"]
    )  # fmt: skip
    resumed = api.resume_run(earlier["id"], params={"epochs": 5})
    assert resumed["resumed_from"] == earlier["id"]
    again = api.create_run(pipeline["id"], resume_from=earlier["id"], from_action="download")
    assert again["from_action"] == "download"
    assert [r["id"] for r in api.list_runs(resumed_from=earlier["id"])] == [
        again["id"], resumed["id"]
    ]  # fmt: skip
    assert [r["id"] for r in api.iter_runs(resumed_from=earlier["id"], page_size=1)] == [
        again["id"], resumed["id"]
    ]  # fmt: skip
    assert api.list_runs("failed", resumed_from=earlier["id"]) == []
    with pytest.raises(UnprocessableEntityError, match="'deploy'"):
        api.resume_run(earlier["id"], from_action="deploy")


def test_resuming_a_finished_run_needs_from_action(api: Any) -> None:
    pipeline = api.create_pipeline(unique("finished"), ACTIONS)
    done = api.create_run(pipeline["id"])
    for index, action in enumerate(ACTIONS):
        api.create_checkpoint(done["id"], action["name"], index)
    with pytest.raises(ConflictError, match="nothing left to run"):
        api.resume_run(done["id"])
    assert api.resume_run(done["id"], from_action="train")["from_action"] == "train"


# --- scripted answers ------------------------------------------------------------------------


class Recorder:
    """Answers from a list (the last repeats) and keeps each request with its body."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.bodies: list[bytes] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.content)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def sync_client(handler: Recorder) -> PipelineServiceClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return PipelineServiceClient("http://test", http_client=http)


def test_a_file_upload_is_resent_whole_after_a_503(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    rec = Recorder(httpx.Response(503, headers=NOW), httpx.Response(201, json=ARTIFACT))
    sync_client(rec).upload_artifact("r1", "dir/big.bin", source, lease_token=7)
    assert rec.bodies == [data, data]
    sent = rec.requests[0]
    assert sent.method == "PUT"
    assert sent.url.raw_path == b"/api/v1/runs/r1/artifacts/dir%2Fbig.bin"
    assert sent.headers["Content-Type"] == "application/octet-stream"
    assert sent.headers["Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert sent.headers["Lease-Token"] == "7"


async def test_the_async_client_streams_a_file_and_resends_it(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    rec = Recorder(httpx.ConnectError("reset"), httpx.Response(201, json=ARTIFACT))
    http = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    async with AsyncPipelineServiceClient("http://test", http_client=http) as client:
        await client.upload_artifact("r1", "big.bin", source, step=3)
    assert rec.bodies == [data, data]
    assert rec.requests[0].url.params["step"] == "3"


def test_a_download_whose_bytes_do_not_match_is_refused_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    damaged = httpx.Response(
        200, content=b"abd", headers={"Content-SHA256": str(ARTIFACT["sha256"])}
    )
    with pytest.raises(APIResponseValidationError, match="nothing was written"):
        sync_client(Recorder(damaged)).download_artifact("r1", "a.bin", tmp_path / "a.bin")
    assert list(tmp_path.iterdir()) == []


def test_a_download_is_retried_after_a_503_and_a_broken_connection(tmp_path: Path) -> None:
    good = httpx.Response(200, content=b"abc", headers={"Content-SHA256": str(ARTIFACT["sha256"])})
    rec = Recorder(httpx.Response(503, headers=NOW), httpx.ReadError("cut"), good)
    target = sync_client(rec).download_artifact("r1", "a.bin", tmp_path / "a.bin")
    assert target.read_bytes() == b"abc"
    assert len(rec.requests) == 3
