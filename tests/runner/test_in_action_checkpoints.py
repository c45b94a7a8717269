"""In-action checkpoints with real workers against a live server: a worker SIGKILLed mid-action
is replaced by one with another work root, which continues after the last saved step with its
state and files; the same through a resume after a failure."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from pipeline_service.testing.run_worker import run_worker
from tests.support.processes import subprocess_env, wait_until

from .helpers import HERE, Workers, markers, worker_command

pytestmark = pytest.mark.slow

EPOCHS = "runner_test_actions.epochs"
SAVE = "runner_test_actions.save_despite_the_store"
BAD_STATE = "runner_test_actions.bad_state"
TERMINAL = ("completed", "failed", "cancelled")


def wait_for_end(client: PipelineServiceClient, run_id: str, timeout: float = 60) -> Any:
    return wait_until(
        lambda: (run := client.get_run(run_id))["status"] in TERMINAL and run,
        timeout,
        f"run {run_id} to end",
    )


def in_action(client: PipelineServiceClient, run_id: str) -> list[Any]:
    return [c for c in client.get_checkpoints(run_id) if c["status"] == "running"]


def test_a_sigkilled_workers_action_continues_elsewhere_after_its_last_step(
    service: EmbeddedServer, client: PipelineServiceClient, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("train", [{"name": "train", "entrypoint": EPOCHS}])
    run = client.create_run(
        pipeline["id"], params={"marker": str(marker), "epochs": 6, "hang_after": 3}
    )
    first_root, second_root = tmp_path / "machine-a", tmp_path / "machine-b"
    doomed = subprocess.Popen(
        worker_command(service.url, "--work-root", str(first_root)),
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(in_action(client, run["id"])) == 3, 30, "three checkpoints")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    finally:
        doomed.kill()
        doomed.wait()
    workers = Workers(service.url, second_root)
    try:
        workers.start()
        done = wait_for_end(client, run["id"])
    finally:
        workers.stop_all()
    assert done["status"] == "completed", done["error"]
    checkpoint_dir = Path(done["result"]["checkpoint_dir"])
    assert done["result"]["resumed_at"] == 3
    assert checkpoint_dir.is_relative_to(second_root)  # fetched from the store, not machine A
    assert (checkpoint_dir / "weights.txt").read_text() == "weights after epoch 3"
    counts = Counter(markers(marker))
    assert [counts[f"epoch {n} {run['id']} train"] for n in range(1, 7)] == [1, 1, 1, 1, 1, 1]
    saved = in_action(client, run["id"])
    assert [c["step"] for c in saved] == [1, 2, 3, 4, 5, 6]
    assert saved[-1]["state"] == {"epoch": 6, "loss": 1 / 6}
    assert saved[-1]["artifacts"] == ["train/step-1/config.json", "train/step-6/weights.txt"]
    artifacts = client.list_artifacts(run["id"])
    assert sorted(a["path"] for a in artifacts) == [
        "train/step-1/config.json",  # uploaded once: its bytes never changed
        *[f"train/step-{n}/weights.txt" for n in range(1, 7)],
    ]
    assert all(a["checkpoint_id"] is not None for a in artifacts)


def test_a_failed_run_resumed_continues_its_action_after_the_last_step(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pipeline = client.create_pipeline("train", [{"name": "train", "entrypoint": EPOCHS}])
    workers.start()
    first = client.create_run(
        pipeline["id"], params={"marker": str(marker), "epochs": 5, "fail_after": 2}
    )
    failed = wait_for_end(client, first["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "RuntimeError: failed after epoch 2"
    second = client.resume_run(first["id"])
    assert second["resumed_from"] == first["id"]
    done = wait_for_end(client, second["id"])
    assert done["status"] == "completed", done["error"]
    assert done["result"]["resumed_at"] == 2
    assert Path(done["result"]["checkpoint_dir"]).is_relative_to(workers.work_root / second["id"])
    assert Counter(markers(marker)) == Counter(
        [f"epoch {n} {first['id']} train" for n in (1, 2)]
        + [f"epoch {n} {second['id']} train" for n in (3, 4, 5)]
    )
    # Resuming the completed run needs an action to run again; from it, it starts afresh.
    third = client.resume_run(second["id"], params={"fail_after": None}, from_action="train")
    assert third["from_action"] == "train"
    done = wait_for_end(client, third["id"])
    assert done["status"] == "completed", done["error"]
    assert "resumed_at" not in done["result"]
    assert [c["step"] for c in in_action(client, third["id"])] == [1, 2, 3, 4, 5]


def test_a_store_that_cannot_take_the_files_is_a_clear_error_in_the_action(
    server_factory: Any, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    server = server_factory(artifacts=store)
    store.rmdir()
    store.write_text("the store's disk is gone")
    with PipelineServiceClient(server.url) as client:
        pipeline = client.create_pipeline("p", [{"name": "save", "entrypoint": SAVE}])
        run = client.create_run(pipeline["id"])
        done = run_worker(client, run["id"], import_paths=[str(HERE)])
        assert done["status"] == "completed", done["error"]
        result: Any = done["result"]
        assert result["saved"] is False
        assert result["error"].startswith("checkpoint not saved: ")
        assert "the artifact store cannot be used" in result["error"]
        assert result["last"] is None
        assert in_action(client, run["id"]) == []
        assert client.list_artifacts(run["id"]) == []


def test_a_state_that_is_not_json_or_a_missing_file_is_refused_before_sending(
    client: PipelineServiceClient,
) -> None:
    pipeline = client.create_pipeline("p", [{"name": "bad", "entrypoint": BAD_STATE}])
    run = client.create_run(pipeline["id"])
    done = run_worker(client, run["id"], import_paths=[str(HERE)])
    assert done["status"] == "completed", done["error"]
    result: Any = done["result"]
    problems = result["problems"]
    assert problems[0].startswith("ValueError: checkpoint state must be JSON with finite numbers")
    assert problems[1].startswith("ValueError: checkpoint state must be JSON")
    assert problems[2] == "FileNotFoundError: no checkpoint file or directory at 'nope'"
    assert in_action(client, run["id"]) == []
