"""GET /runs/{id}/metrics: points recorded from progress reports, ordered, bounded, 404."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server.models import PipelineCreate, ProgressUpdate, RunCreate
from pipeline_service.server.storage.documents import pending_action
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.metric_history import MAX_POINTS
from pipeline_service.server.storage.postgres.store import PostgresStorage
from pipeline_service.server.storage.queries import RunWrite
from pipeline_service.server.storage.sqlite import SQLiteStorage
from pipeline_service.server.storage.sqlite.schema import MIGRATIONS
from pipeline_service.wire import MAX_STEP_POINTS, RunMetrics
from tests.sample import API

from .conftest import Database

Factory = Callable[..., dict[str, Any]]


def report(client: httpx.Client, run_id: str, **action: Any) -> None:
    response = client.post(f"{API}/runs/{run_id}/progress", json={"action_progress": action})
    assert response.status_code == 200, response.text


def metrics(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/runs/{run_id}/metrics")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_unknown_run_is_404(client: httpx.Client) -> None:
    response = client.get(f"{API}/runs/no-such-run/metrics")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run not found"}


def test_a_new_run_has_an_empty_series_per_action(client: httpx.Client, make_run: Factory) -> None:
    run = make_run()
    body = metrics(client, run["id"])
    assert body == {
        "run_id": run["id"],
        "max_points": MAX_POINTS,
        "max_steps": MAX_STEP_POINTS,
        "actions": [
            {"action_name": name, "recorded": 0, "points": [], "logged": []}
            for name in ("download", "convert", "train")
        ],
    }
    assert client.get(f"{API}/runs/{run['id']}/metrics/").status_code == 200


def test_reports_with_numeric_metrics_record_points(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    report(client, rid, name="train", status="running", progress=0, total=3)  # no metrics
    report(client, rid, name="train", metrics={"phase": "warm-up", "ok": True})  # none numeric
    report(client, rid, name="train", progress=1, progress_step="epoch", metrics={"loss": 0.9})
    report(client, rid, name="train", progress=2, metrics={"loss": 0.5, "note": "x", "lr": 1})
    report(client, rid, name="convert", progress=0.5, metrics={"rows_per_second": 1200.5})
    report(
        client, rid, name="train", progress=3, metrics={"loss": 0.25, "flag": False, "n": 10**30}
    )

    by_action = {s["action_name"]: s for s in metrics(client, rid)["actions"]}
    assert [p["values"] for p in by_action["train"]["points"]] == [
        {"loss": 0.9},
        {"loss": 0.5, "lr": 1},
        {"loss": 0.25, "n": 10**30},
    ]
    train = by_action["train"]["points"]
    assert [(p["seq"], p["progress"], p["total"], p["progress_step"]) for p in train] == [
        (1, 1, 3, "epoch"),
        (2, 2, 3, "epoch"),
        (3, 3, 3, "epoch"),
    ]
    times = [datetime.fromisoformat(p["t"]) for p in train]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times)
    assert by_action["train"]["recorded"] == 3
    convert = by_action["convert"]["points"]
    assert [(p["progress"], p["total"], p["values"]) for p in convert] == [
        (0.5, None, {"rows_per_second": 1200.5})
    ]
    assert by_action["download"] == {
        "action_name": "download",
        "recorded": 0,
        "points": [],
        "logged": [],
    }


@pytest.mark.slow
def test_each_answer_is_one_snapshot_under_concurrent_reports(
    client: httpx.Client, make_run: Factory
) -> None:
    """While reports record points, every answer's `recorded` agrees with its points (the
    newest point is always kept): all read in one read-only transaction."""
    rid = make_run()["id"]
    reports = 300
    done = threading.Event()

    def reporter() -> None:
        try:
            for step in range(1, reports + 1):
                report(client, rid, name="train", progress=step / reports, metrics={"loss": step})
        finally:
            done.set()

    thread = threading.Thread(target=reporter)
    thread.start()
    disagreements, reads = [], 0
    while not done.is_set() or reads == 0:
        train = metrics(client, rid)["actions"][2]
        newest = train["points"][-1]["seq"] if train["points"] else 0
        if train["recorded"] != newest:
            disagreements.append((train["recorded"], newest))
        reads += 1
    thread.join()
    assert disagreements == [], f"{len(disagreements)} of {reads} answers disagree"
    assert metrics(client, rid)["actions"][2]["recorded"] == reports


def test_refused_report_records_nothing(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    response = client.post(
        f"{API}/runs/{rid}/progress",
        json={"action_progress": {"name": "train", "progress": 5, "metrics": {"loss": 1}}},
    )
    assert response.status_code == 422  # a fraction above 1 without total
    assert metrics(client, rid)["actions"][2]["recorded"] == 0


def test_deleting_the_run_deletes_its_metrics(client: httpx.Client, make_run: Factory) -> None:
    rid = make_run()["id"]
    report(client, rid, name="train", metrics={"loss": 1})
    assert client.delete(f"{API}/runs/{rid}").status_code == 204
    assert client.get(f"{API}/runs/{rid}/metrics").status_code == 404


@pytest.mark.slow
def test_a_long_series_over_the_wire_is_bounded_and_spread(
    client: httpx.Client, make_run: Factory
) -> None:
    rid = make_run()["id"]
    reports = MAX_POINTS + 100
    for i in range(1, reports + 1):
        report(client, rid, name="train", progress=i, total=reports, metrics={"step": i})
    series = metrics(client, rid)["actions"][2]
    assert series["recorded"] == reports
    seqs = [p["seq"] for p in series["points"]]
    assert len(seqs) <= MAX_POINTS
    assert seqs == sorted(seqs)
    assert seqs[0] == 1
    assert seqs[-1] == reports  # the newest is always there
    assert seqs[:-1] == list(range(1, reports, 2))  # every 2nd once the bound was reached
    assert all(p["values"] == {"step": p["seq"]} for p in series["points"])


def kept_seqs(db: Path | str, max_points: int, reports: int) -> tuple[list[int], int]:
    """The seqs kept after `reports` reports on a store bounded to max_points, and `recorded`
    (db: a SQLite file or a PostgreSQL URL)."""

    async def scenario() -> tuple[list[int], int]:
        store: Storage = (
            PostgresStorage(db, max_metric_points=max_points)
            if isinstance(db, str)
            else SQLiteStorage(db, max_metric_points=max_points)
        )
        await store.start(lambda change: None)
        try:
            actions = [{"name": "a", "entrypoint": "m.A"}]
            pipeline = await store.create_pipeline(
                PipelineCreate.model_validate({"name": "p", "actions": actions}), None
            )
            run = await store.create_run(pipeline["id"], RunCreate(), None)
            for i in range(reports):
                update = ProgressUpdate.model_validate(
                    {"action_progress": {"name": "a", "metrics": {"x": i}}}
                )
                await store.report_progress(RunWrite(run["id"]), update)
            series = (await store.get_metrics(run["id"]))["actions"][0]
            return [p["seq"] for p in series["points"]], series["recorded"]
        finally:
            await store.close()

    return asyncio.run(scenario())


@pytest.mark.parametrize("max_points", [2, 3, 8, 10])
def test_thinning_keeps_first_newest_and_every_kth(max_points: int, new_database: Database) -> None:
    for reports in (1, 2, max_points, max_points + 1, 3 * max_points + 2, 9 * max_points):
        with new_database("thinning") as db:
            seqs, recorded = kept_seqs(db, max_points, reports)
        assert recorded == reports
        assert len(seqs) <= max_points, (reports, seqs)
        assert seqs == spread(reports, max_points), reports


def spread(reports: int, max_points: int) -> list[int]:
    """What the spec promises: the first, the newest and every k-th, for the smallest k of
    1, 2, 4… that keeps the series within max_points."""
    stride = 1
    while True:
        kept = sorted(set(range(1, reports + 1, stride)) | {reports})
        if len(kept) <= max_points:
            return kept
        stride *= 2


def test_bound_below_two_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        SQLiteStorage(tmp_path / "x.db", max_metric_points=1)
    with pytest.raises(ValueError, match="at least 2"):
        PostgresStorage("postgresql://nobody@127.0.0.1/none", max_metric_points=1)


def test_a_database_from_before_the_history_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    progress = json.dumps([pending_action("a")])
    with sqlite3.connect(path) as conn:
        for migration in MIGRATIONS[:2]:
            assert isinstance(migration, str)
            conn.executescript(migration)
        conn.execute(
            "INSERT INTO pipelines (id, name, description, actions, created_at, updated_at) "
            "VALUES ('p', 'old', NULL, '[]', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
        conn.execute(
            "INSERT INTO runs (id, pipeline_id, status, progress, created_at) "
            "VALUES ('r', 'p', 'running', ?, '2026-01-01T00:00:00Z')",
            (progress,),
        )
        conn.execute("PRAGMA user_version=2")

    async def scenario() -> RunMetrics:
        store = SQLiteStorage(path)
        await store.start(lambda change: None)
        try:
            update = {"action_progress": {"name": "a", "progress": 0.5, "metrics": {"loss": 2}}}
            await store.report_progress(RunWrite("r"), ProgressUpdate.model_validate(update))
            return await store.get_metrics("r")
        finally:
            await store.close()

    series = asyncio.run(scenario())["actions"]
    assert [(s["action_name"], [p["values"] for p in s["points"]]) for s in series] == [
        ("a", [{"loss": 2}])
    ]
