"""POST /runs/{id}/metrics: logged points kept losslessly up to the cap, thinned beyond it,
fenced, replayed by Idempotency-Key, refused when malformed or too many."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline_service.server.models import MetricEntry, PipelineCreate, RunCreate
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.postgres.store import PostgresStorage
from pipeline_service.server.storage.queries import RunWrite
from pipeline_service.server.storage.sqlite import SQLiteStorage
from pipeline_service.wire import MAX_METRIC_BATCH, MAX_STEP_POINTS
from tests.sample import API

from .conftest import Database
from .test_metrics import metrics, spread

Factory = Callable[..., dict[str, Any]]


def log(client: httpx.Client, run_id: str, points: list[dict[str, Any]], **headers: str) -> Any:
    return client.post(f"{API}/runs/{run_id}/metrics", json={"points": points}, headers=headers)


def logged(client: httpx.Client, run_id: str, action: str = "train") -> dict[str, Any]:
    series = {s["action_name"]: s for s in metrics(client, run_id)["actions"]}[action]
    return {m["name"]: m for m in series["logged"]}


def test_every_point_is_kept_with_its_step_in_order(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    batch: list[dict[str, Any]] = [
        {"action_name": "train", "step": i, "values": {"loss": 1 / (i + 1), "lr": 0.1}}
        for i in range(300)
    ]
    batch[150]["values"]["loss"] = None  # a NaN in the action
    response = log(client, rid, batch[:200])
    assert response.status_code == 201, response.text
    assert response.json() == {"run_id": rid, "accepted": 200}
    assert log(client, rid, batch[200:]).status_code == 201

    series = logged(client, rid)
    assert sorted(series) == ["loss", "lr"]
    loss = series["loss"]
    assert (loss["recorded"], loss["thinned"]) == (300, False)
    assert [p["step"] for p in loss["points"]] == list(range(300))
    assert [p["seq"] for p in loss["points"]] == list(range(1, 301))
    values = [p["value"] for p in loss["points"]]
    assert values.count(None) == 1
    assert values[150] is None
    assert values[3] == 0.25
    assert {p["attempt"] for p in loss["points"]} == {0}  # never claimed
    assert logged(client, rid, "download") == {}


def test_same_step_twice_is_two_points(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    same = {"action_name": "train", "step": 7, "values": {"loss": 1}}
    assert log(client, rid, [same, {**same, "values": {"loss": 2}}]).status_code == 201
    assert [p["value"] for p in logged(client, rid)["loss"]["points"]] == [1, 2]


def test_an_integral_float_step_is_an_integer(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    point = {"action_name": "train", "step": 2.0, "values": {"loss": 1}}
    assert log(client, rid, [point]).status_code == 201  # JSON does not tell 2 from 2.0
    assert logged(client, rid)["loss"]["points"][0]["step"] == 2


def test_timestamp_is_kept_else_server_time(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    points = [
        {"action_name": "train", "step": 0, "values": {"x": 1}, "timestamp": "2026-01-01T00:00:00"},
        {"action_name": "train", "step": 1, "values": {"x": 2}},
    ]
    assert log(client, rid, points).status_code == 201
    first, second = logged(client, rid)["x"]["points"]
    assert first["t"].startswith("2026-01-01T00:00:00")
    assert first["t"] != "2026-01-01T00:00:00"
    assert second["t"] > first["t"]


def test_points_carry_the_attempt_of_the_claim(client: httpx.Client, make_run: Factory) -> None:
    pipeline_run = make_run()
    rid = pipeline_run["id"]
    claim = client.post(
        f"{API}/runs/claim",
        json={"worker_id": "w1", "pipeline_id": pipeline_run["pipeline_id"]},
    )
    assert claim.status_code == 200, claim.text
    token = claim.json()["lease_token"]
    point = {"action_name": "train", "step": 0, "values": {"loss": 1}}
    assert log(client, rid, [point], **{"Lease-Token": str(token)}).status_code == 201
    stale = log(client, rid, [point], **{"Lease-Token": str(token - 1)})
    assert stale.status_code == 409
    assert "lease" in stale.json()["detail"]
    assert [p["attempt"] for p in logged(client, rid)["loss"]["points"]] == [token]


def test_idempotency_key_replays_without_storing_twice(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    point = [{"action_name": "train", "step": 0, "values": {"loss": 1}}]
    first = log(client, rid, point, **{"Idempotency-Key": "m-1"})
    again = log(client, rid, point, **{"Idempotency-Key": "m-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert logged(client, rid)["loss"]["recorded"] == 1
    other = log(client, rid, [{**point[0], "step": 1}], **{"Idempotency-Key": "m-1"})
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("point", "fragment"),
    [
        ({"action_name": "train", "step": -1, "values": {"x": 1}}, "step"),
        ({"action_name": "train", "step": 0, "values": {}}, "values"),
        ({"action_name": "train", "step": 0, "values": {"x": "high"}}, "values"),
        ({"action_name": "train", "step": 0, "values": {"x": True}}, "values"),
        ({"action_name": "train", "step": 0, "values": {"": 1}}, "values"),
        ({"action_name": "", "step": 0, "values": {"x": 1}}, "action_name"),
        ({"step": 0, "values": {"x": 1}}, "action_name"),
        ({"action_name": "train", "step": 0.5, "values": {"x": 1}}, "step"),
        ({"action_name": "train", "step": 0, "values": {"x": 1}, "extra": 1}, "extra"),
    ],
)
def test_malformed_points_are_422(
    client: httpx.Client, make_run: Factory, point: dict[str, Any], fragment: str
) -> None:
    rid = make_run()["id"]
    response = log(client, rid, [point])
    assert response.status_code == 422, response.text
    assert fragment in response.text
    assert logged(client, rid) == {}


def test_non_finite_numbers_and_too_many_points_are_refused(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    body = b'{"points": [{"action_name": "train", "step": 0, "values": {"x": NaN}}]}'
    response = client.post(
        f"{API}/runs/{rid}/metrics", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    too_many = [{"action_name": "train", "step": i, "values": {"x": 1}} for i in range(10_001)]
    response = log(client, rid, too_many)
    assert response.status_code == 413
    assert f"at most {MAX_METRIC_BATCH} entries" in response.json()["detail"]
    assert logged(client, rid) == {}


def test_unknown_action_or_run(client: httpx.Client, make_run: Factory) -> None:
    point = {"action_name": "train", "step": 0, "values": {"x": 1}}
    assert log(client, "no-such-run", [point]).status_code == 404
    rid = make_run()["id"]
    # A name the pipeline does not have is stored but not listed (the series follow the run's
    # actions); it is not an error, as for log lines.
    assert log(client, rid, [{**point, "action_name": "elsewhere"}]).status_code == 201
    assert all(s["logged"] == [] for s in metrics(client, rid)["actions"])


@pytest.mark.slow
def test_twenty_thousand_points_are_thinned_as_documented(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    total = 20_000
    for start in range(0, total, MAX_METRIC_BATCH):
        batch = [
            {"action_name": "train", "step": i, "values": {"loss": float(i)}}
            for i in range(start, start + MAX_METRIC_BATCH)
        ]
        assert log(client, rid, batch).status_code == 201
    loss = logged(client, rid)["loss"]
    assert (loss["recorded"], loss["thinned"]) == (total, True)
    seqs = [p["seq"] for p in loss["points"]]
    assert len(seqs) <= MAX_STEP_POINTS
    assert seqs == spread(total, MAX_STEP_POINTS)
    assert seqs[0] == 1
    assert seqs[-1] == total
    assert all(p["step"] == p["seq"] - 1 == p["value"] for p in loss["points"])


def kept_steps(db: Any, cap: int, batches: list[int]) -> tuple[list[int], int, bool]:
    """The seqs kept after logging batches of the given sizes on a store capped at cap."""

    async def scenario() -> tuple[list[int], int, bool]:
        store: Storage = (
            PostgresStorage(db, max_step_points=cap)
            if isinstance(db, str)
            else SQLiteStorage(db, max_step_points=cap)
        )
        await store.start(lambda change: None)
        try:
            actions = [{"name": "a", "entrypoint": "m.A"}]
            pipeline = await store.create_pipeline(
                PipelineCreate.model_validate({"name": "p", "actions": actions}), None
            )
            run = await store.create_run(pipeline["id"], RunCreate(), None)
            step = 0
            for size in batches:
                entries = []
                for _ in range(size):
                    entries.append(
                        MetricEntry.model_validate(
                            {"action_name": "a", "step": step, "values": {"x": step}}
                        )
                    )
                    step += 1
                await store.append_metrics(RunWrite(run["id"]), entries)
            series = (await store.get_metrics(run["id"]))["actions"][0]["logged"][0]
            return [p["seq"] for p in series["points"]], series["recorded"], series["thinned"]
        finally:
            await store.close()

    return asyncio.run(scenario())


@pytest.mark.parametrize("cap", [2, 3, 8])
def test_batches_thin_like_single_points(cap: int, new_database: Database) -> None:
    for batches in ([1], [cap], [cap + 1], [1] * (3 * cap + 2), [2 * cap, 1, cap, 5]):
        with new_database("steps") as db:
            seqs, recorded, thinned = kept_steps(db, cap, batches)
        total = sum(batches)
        assert recorded == total
        assert seqs == spread(total, cap), batches
        assert thinned == (total > cap)
