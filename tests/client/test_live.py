"""Every client method against the live reference server, once per client (sync and async)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal

from pipeline_service import (
    ActionProgress,
    ActionStatus,
    AsyncPipelineServiceClient,
    LogEntry,
    LogLevel,
    PipelineProgress,
    PipelineServiceClient,
    RunStatus,
)
from pipeline_service.errors import (
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, unique

from .helpers import drive_run


def test_health_check(api: Any) -> None:
    assert api.health_check() is True


def test_pipeline_lifecycle(api: Any) -> None:
    name = unique("yolo")
    created = api.create_pipeline(name, ACTIONS, description="End-to-end")
    assert created["name"] == name
    assert created["description"] == "End-to-end"
    assert [a["name"] for a in created["actions"]] == ["download", "convert", "train"]

    assert api.get_pipeline(created["id"]) == created
    assert created["id"] in [p["id"] for p in api.list_pipelines(skip=0, limit=1000)]
    assert created["id"] in [p["id"] for p in api.iter_pipelines(page_size=2)]

    renamed = api.update_pipeline(created["id"], name=name + "-v2")
    assert renamed["name"] == name + "-v2"
    assert renamed["description"] == "End-to-end"  # not sent, so unchanged
    cleared = api.update_pipeline(created["id"], description=None, actions=ACTIONS[:1])
    assert cleared["description"] is None
    assert [a["name"] for a in cleared["actions"]] == ["download"]
    assert cleared["dedicated_workers"] is False
    dedicated = api.update_pipeline(created["id"], dedicated_workers=True)
    assert dedicated["dedicated_workers"] is True
    assert dedicated["actions"] == cleared["actions"]

    api.delete_pipeline(created["id"])
    with pytest.raises(NotFoundError) as info:
        api.get_pipeline(created["id"])
    assert info.value.status_code == 404
    assert "not found" in str(info.value).lower()


def test_pipeline_with_dedicated_workers(api: Any) -> None:
    """Created with dedicated_workers (which claims skip is tested in tests/server), its runs
    are claimed by naming the pipeline."""
    pipeline = api.create_pipeline(unique("gpu"), ACTIONS, dedicated_workers=True)
    assert pipeline["dedicated_workers"] is True
    assert api.get_pipeline(pipeline["id"]) == pipeline
    run = api.create_run(pipeline["id"])
    claim = api.claim_run("gpu-1", lease_seconds=600, pipeline_id=pipeline["id"])
    assert claim is not None
    assert claim["run"]["id"] == run["id"]


def test_ids_are_percent_encoded(api: Any) -> None:
    with pytest.raises(NotFoundError):
        api.get_run("a/b?c#d e")
    with pytest.raises(NotFoundError):
        api.get_pipeline("../pipelines")


def test_run_lifecycle(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"], params={"dataset": 456}, work_dir="/workspace/run-001")
    assert run["status"] == "pending"
    assert run["params"] == {"dataset": 456}
    assert run["work_dir"] == "/workspace/run-001"
    assert [p["name"] for p in run["progress"]] == ["download", "convert", "train"]
    assert all(p["status"] == "pending" for p in run["progress"])

    assert api.get_run(run["id"])["id"] == run["id"]
    assert run["id"] in [r["id"] for r in api.list_runs(status="pending", limit=1000)]
    assert run["id"] in [r["id"] for r in api.list_pipeline_runs(pipeline["id"])]
    second = api.create_run(pipeline["id"])
    paged = [r["id"] for r in api.iter_pipeline_runs(pipeline["id"], page_size=1)]
    assert paged == [second["id"], run["id"]]  # newest first, each once
    assert run["id"] in [r["id"] for r in api.iter_runs(status="pending", page_size=50)]

    running = api.update_run(
        run["id"], status="running", current_action="download", current_action_index=0
    )
    assert running["status"] == "running"
    assert running["started_at"] is not None
    assert running["current_action"] == "download"
    done = api.update_run(run["id"], status="completed", result={"accuracy": 0.95})
    assert done["status"] == "completed"
    assert done["result"] == {"accuracy": 0.95}
    assert done["completed_at"] is not None
    assert run["id"] in [r["id"] for r in api.list_runs(status="completed", limit=1000)]

    with pytest.raises(ConflictError):
        api.update_run(run["id"], status="running")
    with pytest.raises(ConflictError):
        api.cancel_run(run["id"])

    failed = api.update_run(second["id"], status="failed", error="Out of memory")
    assert failed["error"] == "Out of memory"

    api.delete_run(run["id"])
    with pytest.raises(NotFoundError):
        api.get_run(run["id"])


def test_cancel_run(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    cancelled = api.cancel_run(run["id"])
    assert cancelled["status"] == "cancelled"
    assert api.cancel_run(run["id"])["status"] == "cancelled"  # idempotent


def test_bad_input_is_a_clear_error(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    with pytest.raises(ValueError, match="unknown run status 'finished'"):
        api.update_run(run["id"], status="finished")
    with pytest.raises(ValueError, match="entrypoint"):
        api.create_pipeline("x", [{"name": "only-a-name"}])
    with pytest.raises(UnprocessableEntityError) as info:
        api.report_progress(run["id"], action_progress={"name": "no-such-action"})
    assert info.value.status_code == 422
    assert "no-such-action" in str(info.value)
    with pytest.raises(NotFoundError):
        api.create_run("no-such-pipeline")


def test_get_metrics(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    for epoch, loss in enumerate((0.9, 0.4), start=1):
        api.report_progress(
            run["id"],
            action_progress=ActionProgress(
                name="train", progress=epoch, total=2, metrics={"loss": loss, "note": "x"}
            ),
        )
    history = api.get_metrics(run["id"])
    assert history["run_id"] == run["id"]
    assert [s["action_name"] for s in history["actions"]] == ["download", "convert", "train"]
    train = history["actions"][2]
    assert [(p["seq"], p["progress"], p["values"]) for p in train["points"]] == [
        (1, 1, {"loss": 0.9}),
        (2, 2, {"loss": 0.4}),
    ]
    with pytest.raises(NotFoundError):
        api.get_metrics("no-such-run")


def test_append_metrics_keeps_every_point(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    points = [
        {"action_name": "train", "step": step, "values": {"loss": loss}}
        for step, loss in enumerate((0.9, float("nan"), 0.4, 0.4))
    ]
    assert api.append_metrics(run["id"], points, idempotency_key=unique("k")) == 4
    (loss,) = api.get_metrics(run["id"])["actions"][2]["logged"]
    assert [(p["step"], p["value"]) for p in loss["points"]] == [
        (0, 0.9),
        (1, None),
        (2, 0.4),
        (3, 0.4),
    ]
    with pytest.raises(NotFoundError):
        api.append_metrics("no-such-run", points)
    with pytest.raises(TypeError, match="list of dicts"):
        api.append_metrics(run["id"], "loss=1")


def test_labels_and_selectors(api: Any) -> None:
    team = unique("t")
    pipeline = api.create_pipeline(unique("p"), ACTIONS, labels={"owner": "ml"})
    assert pipeline["labels"] == {"owner": "ml"}
    assert api.update_pipeline(pipeline["id"], labels={})["labels"] == {}
    first = api.create_run(pipeline["id"], labels={"team": team, "stage": "dev"})
    second = api.create_run(pipeline["id"], labels={"team": team})
    assert api.update_run(second["id"], labels={"team": team, "stage": "prod"})["labels"] == {
        "team": team,
        "stage": "prod",
    }
    assert [r["id"] for r in api.list_runs(label=f"team={team},stage=dev")] == [first["id"]]
    found = [r["id"] for r in api.iter_runs(label=f"team={team}", page_size=1)]
    assert found == [second["id"], first["id"]]
    with pytest.raises(UnprocessableEntityError, match="label selector"):
        api.list_runs(label="team in nlp")


def test_stream_runs_sees_the_list_change_and_resumes(
    api: Any, client: PipelineServiceClient
) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    with contextlib.closing(
        api.stream_runs(pipeline_id=pipeline["id"], label="team=nlp", timeout=30)
    ) as changes:
        sync = next(changes)
        assert sync.kind == "sync"
        assert sync.seq is not None
        client.create_run(pipeline["id"])  # no label: filtered out
        run = client.create_run(pipeline["id"], labels={"team": "nlp"})
        created = next(changes)
        assert (created.kind, created.run_id) == ("created", run["id"])
        assert created.run["labels"] == {"team": "nlp"}
        client.report_progress(run["id"], status="running")
        changed = next(changes)
        assert (changed.kind, changed.run["status"]) == ("changed", "running")
        assert changed.seq > created.seq > sync.seq
    client.delete_run(run["id"])
    # Resumed after the change seen: the deletion, then caught up.
    with contextlib.closing(
        api.stream_runs(pipeline_id=pipeline["id"], last_event_id=str(changed.seq), timeout=30)
    ) as resumed:
        deleted = next(resumed)
        assert (deleted.kind, deleted.run_id, deleted.pipeline_id) == (
            "deleted",
            run["id"],
            pipeline["id"],
        )
        assert next(resumed).kind == "sync"
    with (
        pytest.raises(UnprocessableEntityError, match="label selector"),
        contextlib.closing(api.stream_runs(label="team in nlp", timeout=30)) as refused,
    ):
        next(refused)


def test_list_run_events(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    api.cancel_run(run["id"])
    found = api.list_run_events(run["id"])
    assert [e["type"] for e in found] == ["created", "cancel_requested", "cancelled"]
    assert api.list_run_events(run["id"], after=found[0]["id"], limit=1) == found[1:2]
    with pytest.raises(NotFoundError):
        api.list_run_events("no-such-run")


def test_report_and_get_progress(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    api.report_progress(run["id"], current_action="train", current_action_index=2, status="running")
    updated = api.report_progress(
        run["id"],
        current_action="train",
        action_progress=ActionProgress(
            name="train",
            status="running",
            progress=50,
            total=100,
            metrics={"loss": 0.25, "accuracy": 0.87},
        ),
    )
    train = updated["progress"][2]
    assert (train["progress"], train["total"], train["metrics"]) == (
        50,
        100,
        {"loss": 0.25, "accuracy": 0.87},
    )
    assert train["started_at"] is not None  # stamped by the server, kept by the merge

    # Only the fields set are sent: a later update keeps metrics and total.
    api.report_progress(run["id"], action_progress=ActionProgress(name="train", progress=60))
    progress = api.get_progress(run["id"])
    assert isinstance(progress, PipelineProgress)
    assert progress.status == RunStatus.RUNNING
    assert progress.status in ("running", "pending")
    assert progress.current_action == "train"
    assert progress.current_action_index == 2
    action = progress.actions[2]
    assert (action.name, action.status, action.progress, action.total) == (
        "train",
        ActionStatus.RUNNING,
        60,
        100,
    )
    assert action.metrics == {"loss": 0.25, "accuracy": 0.87}
    assert action.fraction == pytest.approx(0.6)
    assert progress.started_at is not None
    assert progress.started_at.tzinfo is not None
    assert not progress.is_terminal
    assert 0 < progress.fraction < 1


def test_stream_progress_until_terminal(api: Any, server: EmbeddedServer) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    worker = drive_run(server.url, run["id"])
    seen = list(api.stream_progress(run["id"], timeout=30))
    worker.join(10)
    assert seen[-1].status == "completed"
    assert seen[-1].is_terminal
    versions = [p.version for p in seen]
    assert all(v is not None for v in versions)
    assert versions == sorted(set(versions))  # each state once, never an older one
    assert all(not p.is_terminal for p in seen[:-1])
    final = api.wait_for_completion(run["id"], timeout=10)
    assert final["status"] == "completed"
    assert final["result"] == {"accuracy": 0.95}


def test_stream_progress_resumes_from_last_event_id(
    api: Any, client: PipelineServiceClient, run: dict[str, Any]
) -> None:
    first = next(iter(client.stream_progress(run["id"], timeout=10)))
    client.report_progress(run["id"], status="running")
    client.update_run(run["id"], status="cancelled")
    resumed = list(api.stream_progress(run["id"], timeout=10, last_event_id=str(first.version)))
    assert resumed[-1].status == "cancelled"
    assert all(
        p.version is not None and first.version is not None and p.version > first.version
        for p in resumed
    )


def test_wait_for_completion_deadline(api: Any, run: dict[str, Any]) -> None:
    from pipeline_service.errors import APITimeoutError

    with pytest.raises(APITimeoutError):
        api.wait_for_completion(run["id"], timeout=0.5)
    with pytest.raises(APITimeoutError):
        list(api.stream_progress(run["id"], timeout=0.5))


def test_stream_of_missing_run_is_not_found(api: Any) -> None:
    with pytest.raises(NotFoundError):
        list(api.stream_progress("no-such-run", timeout=5))
    with pytest.raises(NotFoundError):
        list(api.follow_logs("no-such-run", timeout=5))


def test_checkpoints(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    assert api.get_checkpoints(run["id"]) == []
    assert api.get_latest_checkpoint(run["id"]) is None
    assert api.get_checkpoint_by_action(run["id"], "train") is None

    download = api.create_checkpoint(run["id"], "download", 0, result={"files": 3})
    assert download["status"] == "completed"
    train = api.create_checkpoint(
        run["id"],
        action_name="train",
        action_index=2,
        status="completed",
        params_snapshot={"epochs": 100, "batch_size": 16},
        result={"best_accuracy": 0.95},
        artifacts_path="/workspace/checkpoints/epoch_50",
    )
    assert train["params_snapshot"] == {"epochs": 100, "batch_size": 16}
    assert [c["action_name"] for c in api.get_checkpoints(run["id"])] == ["download", "train"]
    latest = api.get_latest_checkpoint(run["id"])
    assert latest is not None
    assert latest["id"] == train["id"]
    by_action = api.get_checkpoint_by_action(run["id"], "train")
    assert by_action is not None
    assert by_action["artifacts_path"] == "/workspace/checkpoints/epoch_50"

    # An action named "latest" is reachable, and never confused with the latest checkpoint.
    named_latest = api.create_checkpoint(run["id"], "latest", 1)
    found = api.get_checkpoint_by_action(run["id"], "latest")
    assert found is not None
    assert found["id"] == named_latest["id"]
    latest = api.get_latest_checkpoint(run["id"])
    assert latest is not None
    assert latest["id"] == train["id"]
    # Names that need percent-encoding.
    odd = api.create_checkpoint(run["id"], "a/b c?", 1)
    found = api.get_checkpoint_by_action(run["id"], "a/b c?")
    assert found is not None
    assert found["id"] == odd["id"]

    with pytest.raises(NotFoundError):
        api.get_latest_checkpoint("no-such-run")
    with pytest.raises(NotFoundError):
        api.get_checkpoint_by_action("no-such-run", "train")


def test_resume_from(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    first = api.create_run(pipeline["id"], params={"epochs": 5})
    api.create_checkpoint(first["id"], "download", 0)
    api.update_run(first["id"], status="failed", error="boom")
    second = api.create_run(pipeline["id"], resume_from=first["id"])
    assert second["params"] == {"epochs": 5}
    assert [c["action_name"] for c in api.get_checkpoints(second["id"])] == ["download"]


def test_resume_run_takes_the_pipeline_from_the_run_and_new_params_win(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    first = api.create_run(pipeline["id"], params={"epochs": 0, "lr": 0.1})
    api.create_checkpoint(first["id"], "download", 0, params_snapshot={"epochs": 0, "lr": 0.1})
    api.update_run(first["id"], status="failed", error="epochs must be at least 1")
    second = api.resume_run(first["id"], params={"epochs": 5})
    assert second["pipeline_id"] == pipeline["id"]
    assert second["params"] == {"epochs": 5, "lr": 0.1}
    assert [c["action_name"] for c in api.get_checkpoints(second["id"])] == ["download"]
    assert api.resume_run(first["id"])["params"] == {"epochs": 0, "lr": 0.1}
    with pytest.raises(NotFoundError):
        api.resume_run("no-such-run")


def test_logs(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    stored = api.append_logs(
        run["id"],
        [
            LogEntry(message="Starting training", level=LogLevel.INFO, action_name="train"),
            LogEntry(message="Loaded dataset", level=LogLevel.INFO, action_name="train"),
            {"message": "disk almost full", "level": "danger"},
            LogEntry(
                message="naive time", level=LogLevel.ERROR, timestamp=datetime(2020, 1, 1, 12, 0)
            ),
        ],
    )
    assert [r["message"] for r in stored] == [
        "Starting training",
        "Loaded dataset",
        "disk almost full",
        "naive time",
    ]
    assert stored[3]["timestamp"].startswith("2020-01-01T12:00:00")  # naive was sent as UTC
    seqs = [r.get("seq") for r in stored]
    assert seqs == sorted(seqs)

    assert len(api.get_logs(run["id"])) == 4
    assert [r["message"] for r in api.get_logs(run["id"], action_name="train")] == [
        "Starting training",
        "Loaded dataset",
    ]
    assert [r["message"] for r in api.get_logs(run["id"], level="danger")] == ["disk almost full"]
    assert [r["message"] for r in api.get_logs(run["id"], level="error")] == ["naive time"]
    recent = api.get_logs(run["id"], since=datetime.now() - timedelta(hours=1))
    assert "naive time" not in [r["message"] for r in recent]
    assert len(recent) == 3
    assert len(api.get_logs(run["id"], since="2019-12-31T00:00:00")) == 4
    assert len(api.get_logs(run["id"], since=datetime.now(UTC) + timedelta(hours=1))) == 0
    assert len(api.get_logs(run["id"], limit=2)) == 2
    after = api.get_logs(run["id"], after_seq=stored[1]["seq"])
    assert [r["message"] for r in after] == ["disk almost full", "naive time"]
    with pytest.raises(ValueError, match="unknown log level"):
        api.get_logs(run["id"], level="verbose")


def test_iter_logs_reads_every_page(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    entries = [{"message": str(i), "action_name": "train" if i % 2 else None} for i in range(7)]
    api.append_logs(run["id"], entries)
    messages = [r["message"] for r in api.iter_logs(run["id"], page_size=2)]
    assert messages == [str(i) for i in range(7)]
    trained = api.iter_logs(run["id"], action_name="train", page_size=2)
    assert [r["message"] for r in trained] == ["1", "3", "5"]
    third = api.get_logs(run["id"], limit=3)[-1]
    after = api.iter_logs(run["id"], after_seq=third["seq"], page_size=3)
    assert [r["message"] for r in after] == ["3", "4", "5", "6"]
    with pytest.raises(ValueError, match="page_size must be >= 1"):
        list(api.iter_logs(run["id"], page_size=0))


@pytest.mark.slow
def test_follow_logs(api: Any, server: EmbeddedServer) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    api.append_logs(run["id"], [{"message": "before"}])
    worker = drive_run(server.url, run["id"], steps=1)
    records = list(api.follow_logs(run["id"], timeout=30))
    worker.join(10)
    assert [r["message"] for r in records] == ["before", "done"]
    assert [r["seq"] for r in records] == [1, 2]
    # From a cursor, with a filter: the stream still ends (the run is over).
    assert [r["message"] for r in api.follow_logs(run["id"], after_seq=1, timeout=10)] == ["done"]
    assert list(api.follow_logs(run["id"], level="debug", timeout=10)) == []


def test_workers_claim_renew_release(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run = api.create_run(pipeline["id"])
    claim = api.claim_run("worker-a", lease_seconds=30, pipeline_id=pipeline["id"])
    assert claim is not None
    assert claim["run"]["id"] == run["id"]
    assert claim["run"]["status"] == "running"
    assert claim["worker_id"] == "worker-a"
    assert api.claim_run("worker-b", pipeline_id=pipeline["id"]) is None
    lease = api.renew_lease(run["id"], "worker-a", lease_seconds=60)
    assert lease["status"] == "running"
    with pytest.raises(ConflictError):
        api.renew_lease(run["id"], "worker-b")
    api.release_lease(run["id"], "worker-a")
    again = api.claim_run("worker-b", pipeline_id=pipeline["id"])
    assert again is not None
    assert again["run"]["id"] == run["id"]


def test_writes_with_an_outdated_lease_token_are_conflicts(api: Any) -> None:
    pipeline = api.create_pipeline(unique("p"), ACTIONS)
    run_id = api.create_run(pipeline["id"])["id"]
    first = api.claim_run("worker-a", pipeline_id=pipeline["id"])
    api.release_lease(run_id, "worker-a", lease_token=first["lease_token"])
    second = api.claim_run("worker-b", pipeline_id=pipeline["id"])
    assert second["lease_token"] == first["lease_token"] + 1
    old, new = first["lease_token"], second["lease_token"]
    progress = {"name": "download", "progress": 0.5}
    fenced: list[Callable[[int], object]] = [
        lambda token: api.report_progress(run_id, action_progress=progress, lease_token=token),
        lambda token: api.create_checkpoint(run_id, "download", 0, lease_token=token),
        lambda token: api.append_logs(run_id, [{"message": "m"}], lease_token=token),
        lambda token: api.renew_lease(run_id, "worker-b", lease_token=token),
        lambda token: api.update_run(run_id, status="completed", lease_token=token),
        lambda token: api.release_lease(run_id, "worker-b", lease_token=token),
    ]
    for write in fenced:
        with pytest.raises(ConflictError, match="lease"):
            write(old)
    assert api.get_run(run_id)["status"] == "running"
    assert api.renew_lease(run_id, "worker-b", lease_token=new)["lease_token"] == new
    for write in fenced:
        write(new)
    assert api.get_run(run_id)["status"] == "completed"


def test_sync_client_stream_progress_async(
    server: EmbeddedServer, client: PipelineServiceClient, run: dict[str, Any]
) -> None:
    import anyio

    worker = drive_run(server.url, run["id"], steps=1)

    async def main() -> list[PipelineProgress]:
        seen = []
        async for progress in client.stream_progress_async(run["id"], timeout=30):
            seen.append(progress)
            if progress.status in ("completed", "failed"):
                break
        return seen

    seen = anyio.run(main)
    worker.join(10)
    assert seen[-1].status == "completed"


def test_token_is_sent(tmp_path: Any) -> None:
    from pipeline_service.errors import AuthenticationError

    with EmbeddedServer(tmp_path / "db.sqlite", token="s3cret") as secured:
        with PipelineServiceClient(secured.url, token="s3cret") as good:
            assert good.list_pipelines() == []
            assert good.health_check()
        with PipelineServiceClient(secured.url, token="wrong") as bad:
            with pytest.raises(AuthenticationError):
                bad.list_pipelines()
            assert bad.health_check()  # /health stays open


def test_async_client_stream_progress_async(
    server: EmbeddedServer, portal: BlockingPortal, run: dict[str, Any]
) -> None:
    first = threading.Event()  # the worker starts once the stream has shown the run pending
    worker = drive_run(server.url, run["id"], steps=1, after=first)

    async def main() -> list[PipelineProgress]:
        seen = []
        async with AsyncPipelineServiceClient(server.url) as aclient:
            async for progress in aclient.stream_progress_async(run["id"], timeout=30):
                seen.append(progress)
                first.set()
                if progress.status in ("completed", "failed"):
                    break
        return seen

    seen = portal.call(main)
    worker.join(10)
    assert seen[0].status == "pending"
    assert seen[-1].status == "completed"


def test_resources_and_runtime_env_round_trip_and_unknown_keys_are_refused(api: Any) -> None:
    resources = {"cpus": 2, "gpus": 0.5, "custom": {"licence": 1}}
    actions = [{**ACTIONS[0], "resources": resources}, *ACTIONS[1:]]
    env = {"working_dir": "./src", "env_vars": {"A": "1"}}
    pipeline = api.create_pipeline(unique("ray"), actions, runtime_env=env)
    assert pipeline["actions"][0]["resources"] == resources
    assert pipeline["runtime_env"] == env
    changed = api.update_pipeline(pipeline["id"], runtime_env={"py_modules": ["/opt/m"]})
    assert changed["runtime_env"] == {"py_modules": ["/opt/m"]}
    assert api.update_pipeline(pipeline["id"], runtime_env=None)["runtime_env"] is None
    # The generated models would drop an unknown key without a word: refused before sending.
    bad_action = [{"name": "a", "entrypoint": "m.A", "resources": {"tpus": 1}}]
    with pytest.raises(ValueError, match=r"actions\[0\]\.resources: unknown key\(s\) 'tpus'"):
        api.create_pipeline(unique("ray"), bad_action)
    with pytest.raises(ValueError, match=r"runtime_env: unknown key\(s\) 'pip'"):
        api.update_pipeline(pipeline["id"], runtime_env={"pip": ["torch"]})


@pytest.mark.parametrize("client_class", [PipelineServiceClient, AsyncPipelineServiceClient])
def test_base_url_as_the_cli_takes_it(
    client_class: Any, server: EmbeddedServer, portal: BlockingPortal
) -> None:
    bare = server.url.removeprefix("http://")
    for given in (bare, f"{server.url}/api/v1", f"{server.url}/api/v1/", f"{server.url}/"):
        client = client_class(given, timeout=10)
        assert client.base_url == server.url, given
        if isinstance(client, PipelineServiceClient):
            with client:
                assert client.health_check()
        else:
            assert portal.call(client.health_check)
            portal.call(client.aclose)
    for bad, message in (
        (
            "ftp://example.com",
            "base_url must be an http:// or https:// URL, not 'ftp://example.com'",
        ),
        ("http://", "base_url 'http://' has no host"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            client_class(bad)
