"""What the server refuses before anything is stored: bodies that are not JSON sent as JSON, not
UTF-8, numbers beyond a double, nesting past the limit, free-form fields over the field limit."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.models import RunCreate
from pipeline_service.server.storage import open_storage
from pipeline_service.wire import MAX_JSON_DEPTH
from tests.sample import ACTIONS, API
from tests.support.sse import open_stream

from .conftest import Database

Factory = Callable[..., dict[str, Any]]
FIELD_LIMIT = 4096


@pytest.fixture(scope="module")
def small_fields(new_database: Database) -> Iterator[EmbeddedServer]:
    """A server whose free-form fields hold at most FIELD_LIMIT bytes."""
    with new_database("small-fields") as db, EmbeddedServer(db, max_field_bytes=FIELD_LIMIT) as s:
        yield s


def post_raw(
    client: httpx.Client, path: str, data: bytes, content_type: str | None
) -> httpx.Response:
    headers = {} if content_type is None else {"content-type": content_type}
    return client.post(API + path, content=data, headers=headers)


def pipeline_count(client: httpx.Client) -> int:
    return len(client.get(f"{API}/pipelines/", params={"limit": 1000}).json())


PIPELINE = json.dumps({"name": "door", "actions": ACTIONS}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json; charset=utf-16",
    ],
)
def test_a_json_body_sent_as_anything_else_is_415_and_not_stored(
    client: httpx.Client, content_type: str | None
) -> None:
    before = pipeline_count(client)
    response = post_raw(client, "/pipelines/", PIPELINE, content_type)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"] or "UTF-8" in response.json()["detail"]
    assert pipeline_count(client) == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=UTF-8", "application/merge-patch+json"],
)
def test_json_media_types_are_accepted(client: httpx.Client, content_type: str) -> None:
    assert post_raw(client, "/pipelines/", PIPELINE, content_type).status_code == 201


def test_every_json_operation_requires_the_content_type(
    client: httpx.Client, make_run: Factory
) -> None:
    run = make_run()
    rid, pid = run["id"], run["pipeline_id"]
    bodies = {
        f"/pipelines/{pid}/runs/": {"params": {"a": 1}},
        f"/runs/{rid}/progress": {"status": "running"},
        f"/runs/{rid}/checkpoints/": {"action_name": "download", "action_index": 0},
        f"/runs/{rid}/logs/": {"entries": [{"message": "m"}]},
        "/runs/claim": {"worker_id": "door"},
        f"/runs/{rid}/lease": {"worker_id": "door"},
    }
    for path, value in bodies.items():
        response = post_raw(client, path, json.dumps(value).encode(), "text/plain")
        assert response.status_code == 415, (path, response.text)
    for method in ("PATCH", "PUT"):
        path = f"/runs/{rid}" if method == "PATCH" else f"/pipelines/{pid}"
        response = client.request(method, API + path, content=b'{"name": "x"}')
        assert response.status_code == 415, (path, response.text)
    assert client.get(f"{API}/runs/{rid}").json() == run
    assert client.get(f"{API}/runs/{rid}/logs/").json() == []
    assert client.get(f"{API}/runs/{rid}/checkpoints/").json() == []
    # An operation without a body needs no content type.
    assert client.post(f"{API}/runs/{rid}/cancel").status_code == 200


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (PIPELINE.decode().encode("utf-16"), "UTF-8"),
        (PIPELINE.decode().encode("utf-16-le"), "UTF-8"),
        (b"\xef\xbb\xbf" + PIPELINE, "byte-order mark"),
        (PIPELINE.decode().encode("utf-32"), "UTF-8"),
    ],
)
def test_a_body_that_is_not_utf8_is_400(client: httpx.Client, data: bytes, says: str) -> None:
    before = pipeline_count(client)
    response = post_raw(client, "/pipelines/", data, "application/json")
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"]
    assert pipeline_count(client) == before


@pytest.mark.parametrize("digits", [310, 401, 4299])
def test_an_integer_beyond_a_double_is_400(
    client: httpx.Client, make_pipeline: Factory, digits: int
) -> None:
    pid = make_pipeline()["id"]
    for sign in ("", "-"):
        data = f'{{"params": {{"n": {sign}1{"0" * (digits - 1)}}}}}'.encode()
        response = post_raw(client, f"/pipelines/{pid}/runs/", data, "application/json")
        assert response.status_code == 400, response.text
        assert "overflows a double" in response.json()["detail"]
    assert client.get(f"{API}/pipelines/{pid}/runs/").json() == []


def test_the_largest_integer_a_double_holds_is_kept_exactly(
    client: httpx.Client, make_pipeline: Factory
) -> None:
    pid = make_pipeline()["id"]
    big = "1" + "0" * 308  # 1e308, 309 digits
    data = f'{{"params": {{"n": {big}}}}}'.encode()
    response = post_raw(client, f"/pipelines/{pid}/runs/", data, "application/json")
    assert response.status_code == 201, response.text
    assert f'"n":{big}' in client.get(f"{API}/runs/{response.json()['id']}").text


def params_nested(levels: int) -> bytes:
    """A create-run body whose objects and arrays nest `levels` deep (the body is level 1)."""
    arrays = levels - 2  # the body, then params
    return b'{"params": {"x": ' + b"[" * arrays + b"]" * arrays + b"}}"


def test_nesting_up_to_the_limit_is_accepted_and_deeper_is_422(
    client: httpx.Client, make_pipeline: Factory
) -> None:
    pid = make_pipeline()["id"]
    path = f"/pipelines/{pid}/runs/"
    at_limit = post_raw(client, path, params_nested(MAX_JSON_DEPTH), "application/json")
    assert at_limit.status_code == 201, at_limit.text
    for levels in (MAX_JSON_DEPTH + 1, 500, 100_000):
        response = post_raw(client, path, params_nested(levels), "application/json")
        assert response.status_code == 422, (levels, response.text)
        assert f"deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
    assert len(client.get(f"{API}/pipelines/{pid}/runs/").json()) == 1


def test_a_free_form_field_over_the_limit_is_422_naming_it(small_fields: EmbeddedServer) -> None:
    big = {"blob": "x" * FIELD_LIMIT}
    with httpx.Client(base_url=small_fields.url + API) as http:
        pid = http.post("/pipelines/", json={"name": "f", "actions": ACTIONS}).json()["id"]
        within = http.post(f"/pipelines/{pid}/runs/", json={"params": {"blob": "x" * 4000}})
        assert within.status_code == 201, within.text
        rid = within.json()["id"]
        refused = {
            f"/pipelines/{pid}/runs/": ("post", {"params": big}, "params"),
            f"/runs/{rid}": ("patch", {"result": big}, "result"),
            f"/runs/{rid}/progress": (
                "post",
                {"action_progress": {"name": "train", "metrics": big}},
                "action_progress.metrics",
            ),
            f"/runs/{rid}/checkpoints/": (
                "post",
                {"action_name": "train", "action_index": 1, "params_snapshot": big},
                "params_snapshot",
            ),
        }
        for path, (method, value, field) in refused.items():
            response = http.request(method, path, json=value)
            assert response.status_code == 422, (path, response.text)
            detail = response.json()["detail"]
            assert f"'{field}'" in detail
            assert f"limit of {FIELD_LIMIT} bytes" in detail
        error = http.patch(f"/runs/{rid}", json={"error": "é" * (FIELD_LIMIT // 2 + 1)})
        assert error.status_code == 422  # counted in UTF-8 bytes, not characters
        run = http.get(f"/runs/{rid}").json()
        assert run["result"] is None
        assert run["error"] is None
        assert run["progress"][1]["metrics"] == {}
        assert http.get(f"/runs/{rid}/checkpoints/").json() == []
        assert len(http.get(f"/pipelines/{pid}/runs/").json()) == 1


@pytest.mark.slow
def test_a_stored_document_nested_deeper_than_the_limit_cannot_fail_claims_or_lists(
    server_factory: Callable[..., EmbeddedServer], new_database: Database, tmp_path: Path
) -> None:
    """A run written by an older release, whose params nest 900 levels deep: it is claimed,
    listed, reported on and cancelled like any other."""
    with new_database("deep") as db:
        server = server_factory(db_path=db)
        with httpx.Client(base_url=server.url + API, timeout=30) as http:
            pid = http.post("/pipelines/", json={"name": "deep", "actions": ACTIONS}).json()["id"]
            deep: Any = []
            for _ in range(900):
                deep = [deep]
            rid = asyncio.run(_create_run_behind_the_door(db, pid, {"x": deep}))
            claimed = http.post("/runs/claim", json={"worker_id": "w"})
            assert claimed.status_code == 200, claimed.text
            assert claimed.json()["run"]["id"] == rid
            assert [r["id"] for r in http.get("/runs/").json()] == [rid]
            report = {"action_progress": {"name": "download", "status": "running"}}
            assert http.post(f"/runs/{rid}/progress", json=report).status_code == 200
            assert http.get(f"/runs/{rid}/progress").status_code == 200
            with open_stream(f"{server.url}{API}/runs/{rid}/progress/stream") as stream:
                assert stream.next(timeout=10).json()["run_id"] == rid
            assert http.patch(f"/runs/{rid}", json={"result": {"ok": 1}}).status_code == 200
            assert http.get(f"/pipelines/{pid}/runs/").status_code == 200
            assert http.post(f"/runs/{rid}/cancel").json()["status"] == "cancelled"
            other = http.post(f"/pipelines/{pid}/runs/", json={}).json()["id"]
            claimed = http.post("/runs/claim", json={"worker_id": "w"})
            assert claimed.status_code == 200, claimed.text
            assert claimed.json()["run"]["id"] == other


async def _create_run_behind_the_door(db: Path | str, pipeline_id: str, params: Any) -> str:
    storage = open_storage(db)
    await storage.start(lambda change: None)
    try:
        run = await storage.create_run(pipeline_id, RunCreate(params=params), None)
    finally:
        await storage.close()
    return run["id"]


def test_head_on_a_quiet_stream_answers_at_once_and_keeps_the_connection(
    live_server: EmbeddedServer, make_run: Factory
) -> None:
    """HEAD of a log stream with nothing to send (the heartbeat is 15 s away): its head comes
    at once, and a request pipelined behind it on the same connection is answered too."""
    run_id = make_run()["id"]
    host = f"127.0.0.1:{live_server.port}"
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            f"HEAD {API}/runs/{run_id}/logs/stream HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while True:  # within the socket's timeout, far less than the heartbeat interval
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    heads = received.split(b"HTTP/1.1 ")[1:]
    assert heads[0].startswith(b"200"), received
    assert b"text/event-stream" in heads[0]
    assert heads[1].startswith(b"200"), received
    assert b'"status":"healthy"' in heads[1]
