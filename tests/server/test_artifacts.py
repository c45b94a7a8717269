"""Artifacts through the API, on both storage backends: streamed uploads into the store, lists,
downloads, the rules of resending and replacing, fencing, limits, refusals, and deletion."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

ServerFactory = Callable[..., EmbeddedServer]
OCTET = {"Content-Type": "application/octet-stream"}


def artifact_url(run_id: str, path: str) -> str:
    return f"{API}/runs/{run_id}/artifacts/{quote(path, safe='')}"


def put(http: httpx.Client, run_id: str, path: str, data: Any, **headers: str) -> httpx.Response:
    return http.put(artifact_url(run_id, path), content=data, headers={**OCTET, **headers})


def new_run(http: httpx.Client, **body: Any) -> dict[str, Any]:
    pipeline = http.post(f"{API}/pipelines/", json={"name": "a", "actions": ACTIONS}).json()
    run: dict[str, Any] = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json=body).json()
    return run


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def http(live_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def test_upload_list_download_and_head(http: httpx.Client) -> None:
    run = new_run(http)
    data = os.urandom(3 * 1024 * 1024 + 5)
    digest = hashlib.sha256(data).hexdigest()
    created = put(http, run["id"], "train/step-3/model.bin", data, **{"Content-SHA256": digest})
    assert created.status_code == 201, created.text
    artifact = created.json()
    assert artifact == {
        "path": "train/step-3/model.bin",
        "size": len(data),
        "sha256": digest,
        "action_name": None,
        "step": None,
        "checkpoint_id": None,
        "created_at": artifact["created_at"],
    }
    assert http.get(f"{API}/runs/{run['id']}/artifacts").json() == [artifact]
    download = http.get(artifact_url(run["id"], "train/step-3/model.bin"))
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["etag"] == f'"{digest}"'
    assert download.headers["content-sha256"] == digest
    assert "filename*=UTF-8''model.bin" in download.headers["content-disposition"]
    head = http.head(artifact_url(run["id"], "train/step-3/model.bin"))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == f'"{digest}"'
    # A path with real slashes routes to the same artifact.
    raw = http.get(f"{API}/runs/{run['id']}/artifacts/train/step-3/model.bin")
    assert raw.content == data


def test_a_streamed_upload_of_unknown_length_is_stored_whole(http: httpx.Client) -> None:
    run = new_run(http)
    chunks = [os.urandom(100_000) for _ in range(30)]

    def body() -> Iterator[bytes]:
        yield from chunks  # no Content-Length: chunked transfer encoding

    response = put(http, run["id"], "stream.bin", body())
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 3_000_000
    assert http.get(artifact_url(run["id"], "stream.bin")).content == b"".join(chunks)


def test_action_and_step_are_recorded_and_the_list_is_by_path(http: httpx.Client) -> None:
    run = new_run(http)
    url = artifact_url(run["id"], "z.txt")
    first = http.put(url, content=b"z", headers=OCTET, params={"action_name": "train", "step": 7})
    assert first.status_code == 201
    assert (first.json()["action_name"], first.json()["step"]) == ("train", 7)
    assert put(http, run["id"], "a/b.txt", b"b").status_code == 201
    listed = http.get(f"{API}/runs/{run['id']}/artifacts").json()
    assert [a["path"] for a in listed] == ["a/b.txt", "z.txt"]


def test_resending_the_same_bytes_changes_nothing(http: httpx.Client, live_server) -> None:
    run = new_run(http)
    first = put(http, run["id"], "model.bin", b"weights")
    again = put(http, run["id"], "./model.bin", b"weights")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(http.get(f"{API}/runs/{run['id']}/artifacts").json()) == 1
    root = Path(live_server.settings.artifacts_url() or "")
    run_files = [p for p in stored_files(root) if p.parts[len(root.parts)] == run["id"]]
    assert len(run_files) == 1  # the resent bytes were not kept twice


def test_other_bytes_replace_an_artifact_no_checkpoint_lists(
    http: httpx.Client, live_server
) -> None:
    run = new_run(http)
    assert put(http, run["id"], "model.bin", b"old").status_code == 201
    replaced = put(http, run["id"], "model.bin", b"new bytes")
    assert replaced.status_code == 201
    assert replaced.json()["size"] == 9
    assert http.get(artifact_url(run["id"], "model.bin")).content == b"new bytes"
    root = Path(live_server.settings.artifacts_url() or "")
    run_files = [p for p in stored_files(root) if p.parts[len(root.parts)] == run["id"]]
    assert [p.read_bytes() for p in run_files] == [b"new bytes"]  # the old object is gone


def test_an_artifact_a_checkpoint_lists_never_changes(http: httpx.Client) -> None:
    run = new_run(http)
    assert put(http, run["id"], "train/step-1/w.bin", b"w1").status_code == 201
    body = {
        "action_name": "train",
        "action_index": 2,
        "status": "running",
        "step": 1,
        "state": {"epoch": 1, "loss": 0.5},
        "artifacts": ["train/step-1/w.bin"],
    }
    checkpoint = http.post(f"{API}/runs/{run['id']}/checkpoints/", json=body)
    assert checkpoint.status_code == 201, checkpoint.text
    saved = checkpoint.json()
    assert (saved["status"], saved["step"], saved["state"], saved["artifacts"]) == (
        "running", 1, {"epoch": 1, "loss": 0.5}, ["train/step-1/w.bin"]
    )  # fmt: skip
    listed = http.get(f"{API}/runs/{run['id']}/artifacts").json()
    assert listed[0]["checkpoint_id"] == saved["id"]
    refused = put(http, run["id"], "train/step-1/w.bin", b"other")
    assert refused.status_code == 409
    assert "listed by checkpoint" in refused.json()["detail"]
    assert http.get(artifact_url(run["id"], "train/step-1/w.bin")).content == b"w1"
    assert put(http, run["id"], "train/step-1/w.bin", b"w1").status_code == 200  # same bytes
    completed = http.post(
        f"{API}/runs/{run['id']}/checkpoints/", json={"action_name": "download", "action_index": 0}
    ).json()
    assert (completed["step"], completed["state"], completed["artifacts"]) == (None, None, [])


def test_a_checkpoint_naming_an_artifact_the_run_lacks_is_422(http: httpx.Client) -> None:
    run = new_run(http)
    response = http.post(
        f"{API}/runs/{run['id']}/checkpoints/",
        json={"action_name": "train", "action_index": 2, "artifacts": ["nothing/here"]},
    )
    assert response.status_code == 422
    assert "'nothing/here'" in response.json()["detail"]
    assert http.get(f"{API}/runs/{run['id']}/checkpoints/").json() == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../escape", "'..'"),
        ("a/../../escape", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a\x00b", "NUL"),
        ("a\\b", "backslash"),
        ("C:/windows", "drive letter"),
    ],
)
def test_paths_that_escape_are_422_and_nothing_is_kept(
    http: httpx.Client, path: str, reason: str
) -> None:
    run = new_run(http)
    response = put(http, run["id"], path, b"x")
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert http.get(artifact_url(run["id"], path)).status_code == 422
    assert http.get(f"{API}/runs/{run['id']}/artifacts").json() == []


def test_dot_dot_sent_raw_is_refused_too(http: httpx.Client) -> None:
    run = new_run(http)
    url = f"{API}/runs/{run['id']}/artifacts/a/%2E%2E/%2E%2E/x"
    response = http.put(url, content=b"x", headers=OCTET)
    assert response.status_code == 422


def test_bytes_that_do_not_match_their_sha256_are_422(http: httpx.Client) -> None:
    run = new_run(http)
    response = put(http, run["id"], "a.bin", b"abc", **{"Content-SHA256": "0" * 64})
    assert response.status_code == 422
    assert "Content-SHA256" in response.json()["detail"]
    malformed = put(http, run["id"], "a.bin", b"abc", **{"Content-SHA256": "xyz"})
    assert malformed.status_code == 422
    assert http.get(f"{API}/runs/{run['id']}/artifacts").json() == []


def test_a_body_that_is_not_octet_stream_is_415(http: httpx.Client) -> None:
    run = new_run(http)
    url = artifact_url(run["id"], "a.json")
    as_json = http.put(url, json={"a": 1})
    assert as_json.status_code == 415
    assert "application/octet-stream" in as_json.json()["detail"]
    bare = http.put(url, content=b"abc")
    assert bare.status_code == 415
    assert http.get(f"{API}/runs/{run['id']}/artifacts").json() == []


def test_unknown_run_and_artifact_are_404(http: httpx.Client) -> None:
    assert put(http, "no-such-run", "a.bin", b"x").status_code == 404
    assert http.get(f"{API}/runs/no-such-run/artifacts").status_code == 404
    run = new_run(http)
    missing = http.get(artifact_url(run["id"], "nothing.bin"))
    assert missing.status_code == 404
    assert "'nothing.bin'" in missing.json()["detail"]


def test_uploads_over_the_limit_are_413_and_leave_nothing(server_factory: ServerFactory) -> None:
    server = server_factory(max_artifact_bytes=1000, max_body_bytes=600)
    root = Path(server.settings.artifacts_url() or "")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        run = new_run(http)
        # Larger than the JSON body limit, within the artifact limit: fine.
        assert put(http, run["id"], "ok.bin", b"x" * 1000).status_code == 201
        declared = put(http, run["id"], "big.bin", b"x" * 1001)
        assert declared.status_code == 413
        assert "--max-artifact-bytes" in declared.json()["detail"]

        def unsized() -> Iterator[bytes]:
            for _ in range(5):
                yield b"y" * 400

        streamed = put(http, run["id"], "big.bin", unsized())
        assert streamed.status_code == 413
        assert [a["path"] for a in http.get(f"{API}/runs/{run['id']}/artifacts").json()] == [
            "ok.bin"
        ]
    assert len(stored_files(root)) == 1


def test_uploads_are_fenced_by_the_lease(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        run = new_run(http)
        first = http.post(f"{API}/runs/claim", json={"worker_id": "w1", "lease_seconds": 1})
        token = first.json()["lease_token"]
        ok = put(http, run["id"], "a.bin", b"a", **{"Lease-Token": str(token)})
        assert ok.status_code == 201
        # The lease expires and another worker claims the run.
        deadline = time.monotonic() + 30
        while http.post(f"{API}/runs/claim", json={"worker_id": "w2"}).status_code == 204:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        stale = put(http, run["id"], "b.bin", b"b", **{"Lease-Token": str(token)})
        assert stale.status_code == 409
        assert "lease" in stale.json()["detail"]
        paths = [a["path"] for a in http.get(f"{API}/runs/{run['id']}/artifacts").json()]
        assert paths == ["a.bin"]
    root = Path(server.settings.artifacts_url() or "")
    assert len(stored_files(root)) == 1  # the refused upload's bytes are gone


def test_without_a_store_uploads_are_503_saying_how_to_give_one(postgres_dsn: str) -> None:
    """A server on PostgreSQL has no store unless it is given one (SQLite's is next to it)."""
    with (
        EmbeddedServer(postgres_dsn, artifacts=None) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        run = new_run(http)
        response = put(http, run["id"], "a.bin", b"x")
        assert response.status_code == 503
        assert "--artifacts" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
        assert http.get(f"{API}/runs/{run['id']}/artifacts").json() == []


@pytest.mark.slow
def test_a_server_on_an_s3_store(
    server_factory: ServerFactory, s3_bucket: str, request: pytest.FixtureRequest
) -> None:
    s3 = request.getfixturevalue("s3")
    server = server_factory(artifacts=f"s3://{s3_bucket}/runs")
    data = os.urandom(6 * 1024 * 1024)  # more than one S3 multipart part
    with httpx.Client(base_url=server.url, timeout=60) as http:
        run = new_run(http)
        created = put(http, run["id"], "model.bin", data)
        assert created.status_code == 201, created.text
        assert created.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert http.get(artifact_url(run["id"], "model.bin")).content == data
        assert put(http, run["id"], "model.bin", data).status_code == 200
        too_big = put(http, run["id"], "a.bin", b"x" * 10, **{"Content-SHA256": "0" * 64})
        assert too_big.status_code == 422
        keys = s3.keys(s3_bucket)
        assert len(keys) == 1
        assert keys[0].startswith(f"runs/{run['id']}/")
        assert keys[0].endswith("/model.bin")
        assert http.delete(f"{API}/runs/{run['id']}").status_code == 204
    assert s3.keys(s3_bucket) == []
