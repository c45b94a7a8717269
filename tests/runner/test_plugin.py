"""The example plugin (download → convert → train) does real work on generated data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline_service.runner.actions import ActionTask, bundled_examples_path, run_action

from .helpers import REPO, RecordingClient

EXAMPLES = str(REPO / "examples")


def run_pipeline(
    names: list[str], tmp_path: Path, client: RecordingClient, **params: Any
) -> dict[str, Any]:
    for index, name in enumerate(names):
        task = ActionTask(
            run_id="run-1",
            action_name=name,
            action_index=index,
            entrypoint=f"plugin.{name}.{name.title()}Action",
            params=params,
            work_dir=str(tmp_path),
            import_paths=(EXAMPLES,),
        )
        outcome = run_action(task, client, lambda: False)  # type: ignore[arg-type]
        assert outcome.ok, f"{name}: {outcome.error}\n{outcome.traceback}"
        params = {**params, **(outcome.result or {})}
    return params


def test_the_examples_are_found_from_the_installed_package() -> None:
    assert bundled_examples_path() == REPO / "examples"


def test_three_actions_write_transform_and_fit(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    result = run_pipeline(
        ["download", "convert", "train"], tmp_path, recording_client, dataset=7, epochs=30
    )
    from plugin.download import true_relation  # importable now: run_action added its path

    raw = Path(result["raw_path"])
    assert raw.is_file()
    assert len(raw.read_text().splitlines()) == 2001
    train_lines = Path(result["train_path"]).read_text().splitlines()
    assert len(train_lines) == result["train_rows"] == 1600
    assert result["validation_rows"] == 400
    model = json.loads(Path(result["model_path"]).read_text())
    weights, bias = true_relation(7)
    assert model["weights"] == pytest.approx(weights, abs=0.05)
    assert model["bias"] == pytest.approx(bias, abs=0.1)
    assert result["r2"] > 0.99
    final = [
        call["action_progress"]
        for call in recording_client.progress
        if call["current_action"] == "train"
    ][-1]
    assert final["progress"] == final["total"] == 30
    assert final["progress_step"] == "epoch"
    assert set(final["metrics"]) == {"loss", "val_loss", "r2"}
    assert any(message.startswith("Model saved to") for message in recording_client.messages())


def test_train_works_straight_after_download(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    """The documented Complete Example's pipeline has no convert step."""
    result = run_pipeline(["download", "train"], tmp_path, recording_client, dataset=123, epochs=50)
    assert result["r2"] > 0.99
    assert Path(result["model_path"]).is_file()


def test_convert_refuses_a_corrupted_download(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    result = run_pipeline(["download"], tmp_path, recording_client, dataset=1)
    Path(result["raw_path"]).write_text("x1,x2,x3,y\n1,2,3,4\n")
    task = ActionTask("run-1", "convert", 1, "plugin.convert.ConvertAction", result, str(tmp_path))
    outcome = run_action(task, recording_client, lambda: False)  # type: ignore[arg-type]
    assert outcome.error is not None
    assert "is corrupt: sha256" in outcome.error


def test_train_stops_early_when_cancelled(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    result = run_pipeline(["download"], tmp_path, recording_client, dataset=2)
    task = ActionTask("run-1", "train", 1, "plugin.train.TrainAction", result, str(tmp_path))
    outcome = run_action(task, recording_client, lambda: True)  # type: ignore[arg-type]
    assert outcome.ok
    assert outcome.result is None
    assert not (tmp_path / "model").exists()
