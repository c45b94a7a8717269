"""Labels on runs and pipelines, and `GET /runs/?label=` selectors (kubectl's syntax)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline_service.server.errors import Unprocessable
from pipeline_service.server.labels import matches, parse_selector
from pipeline_service.wire import MAX_LABELS
from tests.sample import ACTIONS, API

Factory = Callable[..., dict[str, Any]]


def selected(client: httpx.Client, pipeline_id: str, selector: str) -> list[str]:
    """The label `name` of the runs of pipeline_id that the selector picks, newest first."""
    response = client.get(f"{API}/runs/", params={"label": selector, "limit": 1000})
    assert response.status_code == 200, response.text
    return [r["labels"]["name"] for r in response.json() if r["pipeline_id"] == pipeline_id]


def test_runs_are_labelled_at_create_and_relabelled_by_patch(
    client: httpx.Client, make_run: Factory
) -> None:
    run = make_run(labels={"team": "nlp", "stage": "dev"})
    assert run["labels"] == {"team": "nlp", "stage": "dev"}
    assert client.get(f"{API}/runs/{run['id']}").json()["labels"] == run["labels"]
    patched = client.patch(f"{API}/runs/{run['id']}", json={"labels": {"team": "vision"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["labels"] == {"team": "vision"}
    assert make_run()["labels"] == {}
    unchanged = client.patch(f"{API}/runs/{run['id']}", json={"result": {"ok": True}})
    assert unchanged.json()["labels"] == {"team": "vision"}


def test_pipelines_carry_labels(client: httpx.Client, make_pipeline: Factory) -> None:
    pipeline = make_pipeline(labels={"owner": "ml-platform"})
    assert pipeline["labels"] == {"owner": "ml-platform"}
    assert make_pipeline()["labels"] == {}
    put = client.put(f"{API}/pipelines/{pipeline['id']}", json={"labels": {"owner": "infra"}})
    assert put.status_code == 200, put.text
    assert client.get(f"{API}/pipelines/{pipeline['id']}").json()["labels"] == {"owner": "infra"}


def test_selectors_pick_runs_in_the_database(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pid = make_pipeline()["id"]
    for name, labels in [
        ("a", {"team": "nlp", "stage": "dev"}),
        ("b", {"team": "nlp", "stage": "prod"}),
        ("c", {"team": "vision", "stage": "dev", "experimental": ""}),
        ("d", {}),
    ]:
        make_run(pid, labels={"name": name, **labels})
    assert selected(client, pid, "team=nlp") == ["b", "a"]
    assert selected(client, pid, "team==nlp,stage!=dev") == ["b"]
    assert selected(client, pid, "stage!=dev") == ["d", "b"]  # without the key too
    assert selected(client, pid, "stage in (dev, prod),team notin (nlp)") == ["c"]
    assert selected(client, pid, "experimental") == ["c"]
    assert selected(client, pid, "!experimental,!team") == ["d"]
    assert selected(client, pid, "experimental=") == ["c"]
    assert selected(client, pid, " team = vision ") == ["c"]
    assert selected(client, pid, "team=nobody") == []
    status = client.get(f"{API}/runs/", params={"label": "team=nlp", "status_filter": "failed"})
    assert [r for r in status.json() if r["pipeline_id"] == pid] == []


def test_relabelled_runs_are_found_by_their_new_labels(
    client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pid = make_pipeline()["id"]
    run = make_run(pid, labels={"name": "x", "stage": "dev"})
    client.patch(f"{API}/runs/{run['id']}", json={"labels": {"name": "x", "stage": "prod"}})
    assert selected(client, pid, "stage=prod") == ["x"]
    assert selected(client, pid, "stage=dev") == []


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"-team": "nlp"}, "label key '-team'"),
        ({"team": "n l p"}, "label team='n l p'"),
        ({"a" * 64: "x"}, "label key"),
        ({"team": "x" * 64}, "label team="),
        ({"team": 3}, "labels.team"),
        ({"": "x"}, "label key ''"),
        ({f"k{i}": "v" for i in range(MAX_LABELS + 1)}, f"at most {MAX_LABELS} labels"),
    ],
)
def test_invalid_labels_are_422_naming_them(
    client: httpx.Client, make_pipeline: Factory, labels: dict[str, Any], fragment: str
) -> None:
    pid = make_pipeline()["id"]
    response = client.post(f"{API}/pipelines/{pid}/runs/", json={"labels": labels})
    assert response.status_code == 422
    assert fragment in response.text
    body = {"name": "p", "actions": ACTIONS, "labels": labels}
    response = client.post(f"{API}/pipelines/", json=body)
    assert response.status_code == 422
    assert fragment in response.text


def test_labels_cannot_be_null(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    response = client.patch(f"{API}/runs/{run['id']}", json={"labels": None})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        ("", "a requirement is missing"),
        ("team=nlp,", "a requirement is missing"),
        ("team in nlp", "a set of values is written in parentheses"),
        ("team in ()", "')' where a value belongs"),
        ("team in (a", "closed with ')'"),
        ("team=a=b", "expected a comma between requirements"),
        ("=nlp", "'=' is not a label key"),
        ("team>3", "'>' has no meaning in a selector"),
        ("team=a\tb", "'\\t' has no meaning in a selector"),
        ("team=a b", "expected a comma between requirements, not 'b'"),
        (",".join(f"k{i}" for i in range(21)), "at most 20 requirements"),
        (f"k in ({','.join(str(i) for i in range(33))})", "at most 32 values"),
    ],
)
def test_unreadable_selectors_are_422_naming_the_problem(
    client: httpx.Client, selector: str, fragment: str
) -> None:
    response = client.get(f"{API}/runs/", params={"label": selector})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith(f"label selector {selector[:200]!r}: ")
    assert fragment in detail


def test_matching_documents_agrees_with_the_database_rules() -> None:
    labels = {"team": "nlp", "stage": "dev"}
    assert matches(parse_selector("team=nlp,stage in (dev,test)"), labels)
    assert matches(parse_selector("other!=x,!other,team notin (vision)"), labels)
    assert not matches(parse_selector("team,other"), labels)
    assert not matches(parse_selector("stage!=dev"), labels)
    with pytest.raises(Unprocessable):
        parse_selector("team in (")
