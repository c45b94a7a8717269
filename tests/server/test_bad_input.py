"""A corpus of bad input: each gets a 4xx with a JSON `detail`, never a 5xx, and nothing changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

from .conftest import Database

MAX_BODY = 64 * 1024
JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(new_database: Database) -> Iterator[EmbeddedServer]:
    with new_database("bad-input") as db, EmbeddedServer(db, max_body_bytes=MAX_BODY) as running:
        yield running


@pytest.fixture(scope="module")
def ids(server: EmbeddedServer) -> dict[str, str]:
    with httpx.Client(base_url=server.url) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
        run = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()
        http.post(f"{API}/runs/{run['id']}/progress", json={"status": "running"})
        http.post(
            f"{API}/runs/{run['id']}/checkpoints/",
            json={"action_name": "download", "action_index": 0},
        )
        http.post(f"{API}/runs/{run['id']}/logs/", json={"entries": [{"message": "hello"}]})
        return {"pipeline": pipeline["id"], "run": run["id"]}


def snapshot(http: httpx.Client) -> Any:
    state: dict[str, Any] = {"pipelines": http.get(f"{API}/pipelines/").json()}
    runs = http.get(f"{API}/runs/").json()
    state["runs"] = runs
    for run in runs:
        state[run["id"]] = (
            http.get(f"{API}/runs/{run['id']}/checkpoints/").json(),
            http.get(f"{API}/runs/{run['id']}/logs/").json(),
        )
    return state


def body(value: Any) -> dict[str, Any]:
    return {"content": json.dumps(value).encode(), "headers": JSON_TYPE}


def raw(data: bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    return {"content": data, "headers": {"content-type": content_type} if content_type else {}}


def nested(depth: int) -> bytes:
    return (
        b'{"name": "deep", "actions": [{"name": "a", "entrypoint": "m.a"}], "description": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


P, R = "{pipeline}", "{run}"
CORPUS: list[tuple[str, str, str, dict[str, Any]]] = [
    # malformed JSON
    ("truncated", "POST", "/pipelines/", raw(b'{"name": "x", "actions": [')),
    ("garbage", "POST", "/pipelines/", raw(b"not json at all")),
    ("trailing data", "POST", "/pipelines/", raw(b'{"name":"x","actions":[]} trailing')),
    ("empty body", "POST", "/pipelines/", raw(b"")),
    (
        "NaN",
        "POST",
        f"/runs/{R}/progress",
        raw(b'{"action_progress": {"name": "train", "progress": NaN}}'),
    ),
    (
        "Infinity",
        "POST",
        f"/runs/{R}/checkpoints/",
        raw(b'{"action_name":"a","action_index":Infinity}'),
    ),
    # numbers that overflow a double, and the non-finite literals, anywhere in a body
    ("params 1e400", "POST", f"/pipelines/{P}/runs/", raw(b'{"params": {"x": 1e400}}')),
    ("params -1E999", "POST", f"/pipelines/{P}/runs/", raw(b'{"params": {"x": [-1E999]}}')),
    ("params NaN", "POST", f"/pipelines/{P}/runs/", raw(b'{"params": {"x": NaN}}')),
    ("params -Infinity", "POST", f"/pipelines/{P}/runs/", raw(b'{"params": {"x": -Infinity}}')),
    ("result 1e400", "PATCH", f"/runs/{R}", raw(b'{"result": {"loss": 1e400}}')),
    (
        "metrics 1e400",
        "POST",
        f"/runs/{R}/progress",
        raw(b'{"action_progress": {"name": "train", "metrics": {"loss": 1e400}}}'),
    ),
    (
        "progress 1e400",
        "POST",
        f"/runs/{R}/progress",
        raw(b'{"action_progress": {"name": "train", "progress": 0.5, "total": 1e400}}'),
    ),
    (
        "params_snapshot 1e400",
        "POST",
        f"/runs/{R}/checkpoints/",
        raw(b'{"action_name": "a", "action_index": 0, "params_snapshot": {"x": {"y": 1e400}}}'),
    ),
    (
        "checkpoint result NaN",
        "POST",
        f"/runs/{R}/checkpoints/",
        raw(b'{"action_name": "a", "action_index": 0, "result": {"x": NaN}}'),
    ),
    ("lease 1e400", "POST", "/runs/claim", raw(b'{"worker_id": "w", "lease_seconds": 1e400}')),
    (
        "invalid utf-8",
        "POST",
        "/pipelines/",
        raw(b'{"name": "\xff\xfe", "actions": [{"name": "a", "entrypoint": "m.a"}]}'),
    ),
    ("no content type", "PATCH", f"/runs/{R}", raw(b"{'status': 'failed'}", None)),
    # wrong top-level shapes and types
    ("array body", "POST", "/pipelines/", body([])),
    ("string body", "PATCH", f"/runs/{R}", body("failed")),
    ("null body", "POST", f"/runs/{R}/logs/", body(None)),
    (
        "name number",
        "POST",
        "/pipelines/",
        body({"name": 1, "actions": [{"name": "a", "entrypoint": "m.a"}]}),
    ),
    ("actions object", "POST", "/pipelines/", body({"name": "x", "actions": {}})),
    ("action number", "POST", "/pipelines/", body({"name": "x", "actions": [1]})),
    ("params list", "POST", f"/pipelines/{P}/runs/", body({"params": [1, 2]})),
    (
        "progress string",
        "POST",
        f"/runs/{R}/progress",
        body({"action_progress": {"name": "train", "progress": "0.5"}}),
    ),
    (
        "progress bool",
        "POST",
        f"/runs/{R}/progress",
        body({"action_progress": {"name": "train", "progress": True}}),
    ),
    (
        "index float",
        "POST",
        f"/runs/{R}/checkpoints/",
        body({"action_name": "a", "action_index": 1.5}),
    ),
    (
        "index bool",
        "POST",
        f"/runs/{R}/checkpoints/",
        body({"action_name": "a", "action_index": True}),
    ),
    ("index huge", "PATCH", f"/runs/{R}", body({"current_action_index": 2**70})),
    ("lease string", "POST", "/runs/claim", body({"worker_id": "w", "lease_seconds": "30"})),
    ("message number", "POST", f"/runs/{R}/logs/", body({"entries": [{"message": 5}]})),
    # nulls
    (
        "name null",
        "POST",
        "/pipelines/",
        body({"name": None, "actions": [{"name": "a", "entrypoint": "m.a"}]}),
    ),
    ("actions null", "PUT", f"/pipelines/{P}", body({"actions": None})),
    ("entries null", "POST", f"/runs/{R}/logs/", body({"entries": None})),
    ("entry null", "POST", f"/runs/{R}/logs/", body({"entries": [None]})),
    ("status null", "PATCH", f"/runs/{R}", body({"status": None})),
    ("action_progress null", "POST", f"/runs/{R}/progress", body({"action_progress": None})),
    ("worker null", "POST", "/runs/claim", body({"worker_id": None})),
    # huge bodies and batches
    (
        "over size limit",
        "POST",
        "/pipelines/",
        body(
            {
                "name": "x",
                "actions": [{"name": "a", "entrypoint": "m.a"}],
                "description": "d" * MAX_BODY,
            }
        ),
    ),
    ("deep nesting", "POST", "/pipelines/", raw(nested(100_000))),
    (
        "name too long",
        "POST",
        "/pipelines/",
        body({"name": "n" * 256, "actions": [{"name": "a", "entrypoint": "m.a"}]}),
    ),
    # odd unicode
    (
        "lone surrogate",
        "POST",
        "/pipelines/",
        raw(b'{"name": "\\ud800", "actions": [{"name": "a", "entrypoint": "m.a"}]}'),
    ),
    (
        "lone low surrogate",
        "POST",
        f"/runs/{R}/logs/",
        raw(b'{"entries": [{"message": "\\udc00x"}]}'),
    ),
    # paging
    ("negative skip", "GET", "/pipelines/?skip=-1", {}),
    ("zero limit", "GET", "/runs/?limit=0", {}),
    ("limit over max", "GET", "/runs/?limit=1001", {}),
    ("huge limit", "GET", "/pipelines/?limit=99999999999999999999999", {}),
    ("word skip", "GET", "/pipelines/?skip=abc", {}),
    ("float limit", "GET", f"/pipelines/{P}/runs/?limit=1.5", {}),
    ("log limit over max", "GET", f"/runs/{R}/logs/?limit=10001", {}),
    ("negative after_seq", "GET", f"/runs/{R}/logs/?after_seq=-5", {}),
    # dates
    ("since words", "GET", f"/runs/{R}/logs/?since=yesterday", {}),
    ("since month 13", "GET", f"/runs/{R}/logs/?since=2026-13-01T00:00:00Z", {}),
    ("since hour 25", "GET", f"/runs/{R}/logs/?since=2026-01-01T25:00:00", {}),
    ("since date only", "GET", f"/runs/{R}/logs/?since=2026-01-01", {}),
    (
        "timestamp words",
        "POST",
        f"/runs/{R}/logs/",
        body({"entries": [{"message": "m", "timestamp": "noon"}]}),
    ),
    (
        "timestamp number",
        "POST",
        f"/runs/{R}/logs/",
        body({"entries": [{"message": "m", "timestamp": 1700000000}]}),
    ),
    (
        "feb 30",
        "POST",
        f"/runs/{R}/progress",
        body({"action_progress": {"name": "train", "started_at": "2026-02-30T00:00:00"}}),
    ),
    # unknown enum values
    ("status_filter", "GET", "/runs/?status_filter=exploded", {}),
    ("log level query", "GET", f"/runs/{R}/logs/?level=fatal", {}),
    ("run status", "PATCH", f"/runs/{R}", body({"status": "done"})),
    ("progress status", "POST", f"/runs/{R}/progress", body({"status": "RUNNING"})),
    (
        "action status",
        "POST",
        f"/runs/{R}/progress",
        body({"action_progress": {"name": "train", "status": "finished"}}),
    ),
    (
        "checkpoint status",
        "POST",
        f"/runs/{R}/checkpoints/",
        body({"action_name": "a", "action_index": 0, "status": "ok"}),
    ),
    (
        "log level",
        "POST",
        f"/runs/{R}/logs/",
        body({"entries": [{"message": "m", "level": "fatal"}]}),
    ),
    # IDs with slashes and percent-encoding
    ("encoded slash run", "GET", "/runs/a%2Fb", {}),
    ("encoded slash progress", "POST", "/runs/a%2Fb/progress", body({})),
    ("traversal", "GET", "/runs/..%2F..%2Fhealth", {}),
    ("encoded percent", "DELETE", "/pipelines/%25", {}),
    ("double encoded", "GET", "/pipelines/%252F", {}),
    ("slash in pipeline id", "POST", "/pipelines/a%2Fb/runs/", body({})),
    ("id too long", "GET", f"/runs/{'r' * 256}", {}),
    ("encoded slash logs", "POST", "/runs/x%2F..%2Fy/logs/", body({"entries": []})),
    ("encoded newline id", "GET", "/pipelines/%0A", {}),
    ("encoded newline action", "GET", f"/runs/{R}/checkpoints/%0A", {}),
    ("encoded newline run", "DELETE", f"/runs/{R}%0A", {}),
    # wrong content types
    ("text/plain", "POST", "/pipelines/", raw(b'{"name":"x","actions":[]}', "text/plain")),
    ("form", "POST", "/pipelines/", raw(b"name=x&actions=", "application/x-www-form-urlencoded")),
    ("xml", "PATCH", f"/runs/{R}", raw(b"<status>failed</status>", "application/xml")),
    (
        "multipart",
        "POST",
        "/runs/claim",
        raw(b"--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
    ),
    # unknown fields where they are not allowed, bad headers
    ("unknown run field", "PATCH", f"/runs/{R}", body({"colour": "red"})),
    ("unknown log field", "POST", f"/runs/{R}/logs/", body({"entries": [], "extra": 1})),
    (
        "idempotency key with space",
        "POST",
        "/pipelines/",
        {
            **body({"name": "x", "actions": [{"name": "a", "entrypoint": "m.a"}]}),
            "headers": {**JSON_TYPE, "Idempotency-Key": "a b"},
        },
    ),
    ("release without worker", "DELETE", f"/runs/{R}/lease", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [pytest.param(m, p, k, id=name) for name, m, p, k in CORPUS],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    server: EmbeddedServer, ids: dict[str, str], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        before = snapshot(http)
        url = API + path.replace(P, ids["pipeline"]).replace(R, ids["run"])
        response = http.request(method, url, **kwargs)
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert detail
        assert snapshot(http) == before


WRITES = [
    ("POST", "/pipelines/{id}/runs/"),
    ("PATCH", "/runs/{id}"),
    ("POST", "/runs/{id}/progress"),
    ("POST", "/runs/{id}/checkpoints/"),
    ("POST", "/runs/{id}/logs/"),
    ("POST", "/runs/{id}/metrics"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_write_with_several_faults_names_path_then_headers_then_body(
    server: EmbeddedServer, method: str, path: str
) -> None:
    """The writes read their Idempotency-Key and Lease-Token through a shared dependency
    (deps.RunWriteDep, deps.IdempotencyDep); the 422 still lists the faults in request order."""
    headers = {"Idempotency-Key": "a b", "Lease-Token": "-1", **JSON_TYPE}
    with httpx.Client(base_url=server.url) as http:
        response = http.request(
            method, API + path.format(id="x" * 256), content=b"[]", headers=headers
        )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    faults = ["path parameter", "header parameter 'Idempotency-Key'", "request body"]
    if path != "/pipelines/{id}/runs/":  # creating a run takes no lease
        faults.insert(2, "header parameter 'Lease-Token'")
    where = [detail.find(fault) for fault in faults]
    assert -1 not in where, detail
    assert where == sorted(where), detail
