"""Helpers for the server tests: an httpx client on the live server and object factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API


@pytest.fixture
def client(live_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield http


@pytest.fixture
def make_pipeline(client: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(actions: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "test pipeline", "actions": ACTIONS if actions is None else actions}
        body.update(fields)
        response = client.post(f"{API}/pipelines/", json=body)
        assert response.status_code == 201, response.text
        pipeline: dict[str, Any] = response.json()
        return pipeline

    return make


@pytest.fixture
def make_run(
    client: httpx.Client, make_pipeline: Callable[..., dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    def make(pipeline_id: str | None = None, **body: Any) -> dict[str, Any]:
        pipeline_id = pipeline_id or make_pipeline()["id"]
        response = client.post(f"{API}/pipelines/{pipeline_id}/runs/", json=body)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    return make
