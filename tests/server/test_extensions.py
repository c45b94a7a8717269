"""Idempotency keys, bearer tokens, size limits, the served spec, docs and health."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

import pipeline_service
from pipeline_service.server import EmbeddedServer
from pipeline_service.spec import load_spec, spec_text
from tests.postgres_support import with_dbname
from tests.sample import ACTIONS, API

ServerFactory = Callable[..., EmbeddedServer]
Factory = Callable[..., dict[str, Any]]


def test_idempotent_replay_creates_one_object(client: httpx.Client) -> None:
    body = {"name": "idem", "actions": ACTIONS}
    key = {"Idempotency-Key": "create-idem-1"}
    first = client.post(f"{API}/pipelines/", json=body, headers=key)
    again = client.post(f"{API}/pipelines/", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    same_meaning = client.post(
        f"{API}/pipelines",
        content=b'{"actions": %s, "name": "idem"}' % _actions_json(),
        headers={**key, "content-type": "application/json"},
    )
    assert same_meaning.json()["id"] == first.json()["id"]
    named = [
        p
        for p in client.get(f"{API}/pipelines/", params={"limit": 1000}).json()
        if p["id"] == first.json()["id"]
    ]
    assert len(named) == 1
    different = client.post(f"{API}/pipelines/", json={**body, "name": "other"}, headers=key)
    assert different.status_code == 409
    assert "Idempotency-Key" in different.json()["detail"]


def _actions_json() -> bytes:
    import json

    return json.dumps(ACTIONS).encode()


def test_idempotency_on_every_creating_post(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    pipeline_id = run["pipeline_id"]
    cases = [
        (f"{API}/pipelines/{pipeline_id}/runs/", {"params": {"a": 1}}),
        (f"{API}/runs/{run['id']}/checkpoints/", {"action_name": "a", "action_index": 0}),
        (f"{API}/runs/{run['id']}/logs/", {"entries": [{"message": "once"}]}),
    ]
    for url, body in cases:
        headers = {"Idempotency-Key": f"key-{url}"}
        first = client.post(url, json=body, headers=headers)
        second = client.post(url, json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
    assert len(client.get(f"{API}/pipelines/{pipeline_id}/runs/").json()) == 2
    assert len(client.get(f"{API}/runs/{run['id']}/checkpoints/").json()) == 1
    assert len(client.get(f"{API}/runs/{run['id']}/logs/").json()) == 1
    # The same key on another endpoint is another request.
    other = client.post(
        f"{API}/pipelines/",
        json={"name": "x", "actions": [{"name": "a", "entrypoint": "m.a"}]},
        headers={"Idempotency-Key": f"key-{cases[0][0]}"},
    )
    assert other.status_code == 201
    bad = client.post(
        f"{API}/pipelines/",
        json={"name": "x", "actions": [{"name": "a", "entrypoint": "m.a"}]},
        headers={"Idempotency-Key": "has space"},
    )
    assert bad.status_code == 422


def test_concurrent_retries_with_one_key_create_one_object(
    client: httpx.Client, live_server: EmbeddedServer
) -> None:
    body = {"name": "race", "actions": [{"name": "a", "entrypoint": "m.a"}]}
    ids: list[str] = []

    def post() -> None:
        with httpx.Client(base_url=live_server.url) as http:
            response = http.post(
                f"{API}/pipelines/", json=body, headers={"Idempotency-Key": "race-key"}
            )
            ids.append(response.json()["id"])

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1


def test_bearer_token(server_factory: ServerFactory) -> None:
    server = server_factory(token="s3cret")
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/health").status_code == 200
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "s3cret"},
            {"Authorization": "Basic czNjcmV0"},
        ):
            response = http.get(f"{API}/pipelines/", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["content-type"] == "application/json"
            assert isinstance(response.json()["detail"], str)
            assert response.headers["www-authenticate"] == "Bearer"
        ok = http.post(
            f"{API}/pipelines/",
            json={"name": "a", "actions": [{"name": "a", "entrypoint": "m.a"}]},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert ok.status_code == 201
        assert http.get("/openapi.json").status_code == 200
        for scheme in ("bearer", "BEARER", "bEaReR"):  # the scheme name is case-insensitive
            response = http.get(f"{API}/pipelines/", headers={"Authorization": f"{scheme} s3cret"})
            assert response.status_code == 200, scheme
        lower_wrong = http.get(f"{API}/pipelines/", headers={"Authorization": "bearer s3cre"})
        assert lower_wrong.status_code == 401


def test_head_is_answered_wherever_get_is(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "h", "actions": ACTIONS}).json()
        run_id = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
        for path in (
            "/health",
            f"{API}/pipelines/",
            f"{API}/pipelines/{pipeline['id']}",
            f"{API}/runs/{run_id}",
            f"{API}/runs/{run_id}/progress",
            f"{API}/runs/{run_id}/progress/stream",
            f"{API}/runs/{run_id}/logs/",
            f"{API}/runs/{run_id}/logs/stream",
            "/openapi.json",
        ):
            get = http.get(path) if "stream" not in path else None
            head = http.head(path)
            assert head.status_code == 200, path
            assert head.content == b"", path
            if get is not None:
                assert head.headers["content-type"] == get.headers["content-type"], path
        assert http.head(f"{API}/runs/missing").status_code == 404


def test_body_size_limit(server_factory: ServerFactory) -> None:
    server = server_factory(max_body_bytes=2048)
    with httpx.Client(base_url=server.url) as http:
        big = {
            "name": "big",
            "description": "x" * 4096,
            "actions": [{"name": "a", "entrypoint": "m.a"}],
        }
        response = http.post(f"{API}/pipelines/", json=big)
        assert response.status_code == 413
        assert "2048" in response.json()["detail"]

        def chunks() -> Any:
            yield b'{"name": "chunked", "description": "'
            yield b"y" * 4096
            yield b'", "actions": [{"name": "a", "entrypoint": "m.a"}]}'

        chunked = http.post(
            f"{API}/pipelines/", content=chunks(), headers={"content-type": "application/json"}
        )
        assert chunked.status_code == 413
        assert http.get(f"{API}/pipelines/").json() == []
        small = http.post(
            f"{API}/pipelines/",
            json={"name": "ok", "actions": [{"name": "a", "entrypoint": "m.a"}]},
        )
        assert small.status_code == 201


def test_serves_the_committed_spec_and_docs(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/openapi.json").json() == load_spec()
        as_yaml = http.get("/openapi.yaml")
        assert as_yaml.text == spec_text()
        assert yaml.safe_load(as_yaml.text) == load_spec()
        docs = http.get("/docs")
        assert docs.status_code == 200
        assert "/ui/docs/swagger-init.js" in docs.text  # which loads /openapi.json


def test_health(live_server: EmbeddedServer, server_factory: ServerFactory, backend: str) -> None:
    expected_storage = {
        "sqlite": {"database": "sqlite"},
        "postgresql": {"database": "postgresql", "listener": "listening"},
    }
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/health").json() == {
            "status": "healthy",
            "service": "pipeline-service",
            "version": pipeline_service.__version__,
            **expected_storage[backend],
        }
    broken = server_factory()
    if isinstance(broken.db_path, Path):
        broken.db_path.unlink()
    else:  # PostgreSQL: the database goes away under the server
        import psycopg

        with psycopg.connect(with_dbname(broken.db_path, "postgres"), autocommit=True) as conn:
            dbname = urlsplit(broken.db_path).path.lstrip("/")
            conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
    with httpx.Client(base_url=broken.url) as http:
        response = http.get("/health")
        assert response.status_code == 503
        assert "database" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"  # every 503 says when to try again


def test_unknown_paths_and_methods_are_json(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        missing = http.get(f"{API}/nothing-here")
        assert missing.status_code == 404
        assert isinstance(missing.json()["detail"], str)
        wrong = http.put(f"{API}/pipelines/some-id/runs/")
        assert wrong.status_code == 405
        assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
        pipeline_methods = http.post(f"{API}/pipelines/some-id")
        assert set(pipeline_methods.headers["allow"].split(", ")) == {
            "GET",
            "HEAD",
            "PUT",
            "DELETE",
        }


def test_one_log_line_per_request(
    server_factory: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = server_factory()
    with (
        caplog.at_level(logging.INFO, logger="pipeline_service.server"),
        httpx.Client(base_url=server.url) as http,
    ):
        http.get("/health")
        http.get(f"{API}/runs/nope")
        http.post(
            f"{API}/pipelines/",
            json={"name": "logged", "actions": [{"name": "a", "entrypoint": "m.a"}]},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline_service.server"]
    assert len(lines) == 3
    assert '"GET /health" 200' in lines[0]
    assert '"GET /api/v1/runs/nope" 404' in lines[1]
    assert '"POST /api/v1/pipelines/" 201' in lines[2]


def test_unhandled_errors_are_json_500(server_factory: ServerFactory) -> None:
    """Only a server bug can get here (a fault injected into storage): still a JSON body."""
    server = server_factory()

    async def broken(pipeline_id: str) -> Any:
        raise RuntimeError("injected fault")

    server.app.state.storage.get_pipeline = broken
    with httpx.Client(base_url=server.url) as http:
        response = http.get(f"{API}/pipelines/any")
        assert response.status_code == 500
        assert response.json() == {"detail": "internal server error"}
        assert http.get("/health").status_code == 200


def test_deleting_what_a_key_created_forgets_the_key(client: httpx.Client) -> None:
    body = {"name": "forget me", "actions": [{"name": "a", "entrypoint": "m.a"}]}
    key = {"Idempotency-Key": "forgotten-after-delete"}
    first = client.post(f"{API}/pipelines/", json=body, headers=key).json()
    run_key = {"Idempotency-Key": "run-forgotten-after-delete"}
    run = client.post(f"{API}/pipelines/{first['id']}/runs/", json={}, headers=run_key).json()
    assert client.delete(f"{API}/pipelines/{first['id']}").status_code == 204
    second = client.post(f"{API}/pipelines/", json=body, headers=key)
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]
    assert client.get(f"{API}/pipelines/{second.json()['id']}").status_code == 200
    again = client.post(f"{API}/pipelines/{second.json()['id']}/runs/", json={}, headers=run_key)
    assert again.status_code == 201
    assert again.json()["id"] != run["id"]
