"""Action `resources`, pipeline `runtime_env` and action progress `ran_on`: stored as sent,
refused with a 422 that names the field when malformed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sample import API

RESOURCES = {"cpus": 0.5, "gpus": 1, "memory": 2_000_000, "custom": {"licence": 1}}
RUNTIME_ENV = {"working_dir": "./actions", "env_vars": {"A": "1"}, "py_modules": ["/opt/mods"]}


def _create(client: httpx.Client, **fields: Any) -> httpx.Response:
    actions = fields.pop("actions", [{"name": "a", "entrypoint": "m.A"}])
    return client.post(f"{API}/pipelines/", json={"name": "p", "actions": actions, **fields})


def test_resources_and_runtime_env_are_stored_as_sent(client: httpx.Client) -> None:
    actions = [
        {"name": "a", "entrypoint": "m.A", "resources": RESOURCES},
        {"name": "b", "entrypoint": "m.B", "resources": {"custom": {"x": 2}}},
        {"name": "c", "entrypoint": "m.C"},
    ]
    created = _create(client, actions=actions, runtime_env=RUNTIME_ENV)
    assert created.status_code == 201, created.text
    pipeline = client.get(f"{API}/pipelines/{created.json()['id']}").json()
    assert pipeline["actions"][0]["resources"] == RESOURCES
    assert pipeline["actions"][1]["resources"] == {"custom": {"x": 2}}
    assert "resources" not in pipeline["actions"][2]
    assert pipeline["runtime_env"] == RUNTIME_ENV


def test_runtime_env_defaults_to_null_and_put_changes_it(client: httpx.Client) -> None:
    pipeline = _create(client).json()
    assert pipeline["runtime_env"] is None
    url = f"{API}/pipelines/{pipeline['id']}"
    changed = client.put(url, json={"runtime_env": {"env_vars": {"K": "v"}}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["runtime_env"] == {"env_vars": {"K": "v"}}
    assert client.put(url, json={"name": "renamed"}).json()["runtime_env"] == {
        "env_vars": {"K": "v"}
    }
    assert client.put(url, json={"runtime_env": None}).json()["runtime_env"] is None


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        ({"cpus": -1}, "cpus"),
        ({"gpus": -0.5}, "gpus"),
        ({"memory": -1}, "memory"),
        ({"custom": {"licence": -1}}, "licence"),
        ({"tpus": 1}, "tpus"),
        ({"cpus": "two"}, "cpus"),
        ({"custom": {"": 1}}, "custom"),
        ({"memory": 1.5}, "memory"),
        ({"cpus": None}, "cpus"),
    ],
)
def test_bad_resources_are_422_naming_the_field(
    client: httpx.Client, resources: dict[str, Any], field: str
) -> None:
    response = _create(client, actions=[{"name": "a", "entrypoint": "m.A", "resources": resources}])
    assert response.status_code == 422, response.text
    assert "resources" in response.json()["detail"]
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("runtime_env", "field"),
    [
        ({"pip": ["torch"]}, "pip"),
        ({"env_vars": {"A": 1}}, "env_vars"),
        ({"py_modules": "/opt/mods"}, "py_modules"),
        ("./actions", "runtime_env"),
    ],
)
def test_bad_runtime_env_is_422_naming_the_field(
    client: httpx.Client, runtime_env: Any, field: str
) -> None:
    response = _create(client, runtime_env=runtime_env)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_ran_on_is_merged_into_the_action_progress(
    client: httpx.Client, make_run: Callable[..., dict[str, Any]]
) -> None:
    run = make_run()
    name = run["progress"][0]["name"]
    assert "ran_on" not in run["progress"][0]
    url = f"{API}/runs/{run['id']}/progress"
    ran_on = {"executor": "ray", "node": "n1", "task_id": "t1"}
    sent = {"name": name, "status": "running", "ran_on": ran_on}
    response = client.post(url, json={"current_action_index": 0, "action_progress": sent})
    assert response.status_code == 200, response.text
    later = {"name": name, "progress": 0.5}
    client.post(url, json={"current_action_index": 0, "action_progress": later})
    assert client.get(f"{API}/runs/{run['id']}").json()["progress"][0]["ran_on"] == ran_on
    bad = {"name": name, "ran_on": {"executor": "ray", "host": "x"}}
    refused = client.post(url, json={"current_action_index": 0, "action_progress": bad})
    assert refused.status_code == 422
    assert "ran_on" in refused.json()["detail"]
