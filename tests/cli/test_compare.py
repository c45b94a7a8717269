"""`pipeline-service runs compare`: params that differ, final metrics, durations."""

from __future__ import annotations

import json
from typing import Any

from pipeline_service import PipelineServiceClient

from .conftest import Cli

STAMPS = {"started_at": "2026-01-01T12:00:00Z", "completed_at": "2026-01-01T12:00:04Z"}


def finished_run(client: PipelineServiceClient, pipeline: Any, params: dict[str, Any]) -> Any:
    """A run whose `train` logged losses and set an accuracy, and whose actions took 4 s."""
    run = client.create_run(pipeline["id"], params=params)
    client.update_run(run["id"], status="running")
    for action in pipeline["actions"]:
        client.report_progress(
            run["id"],
            action_progress={"name": action["name"], "status": "completed", **STAMPS},
        )
    loss = params["lr"] * 4
    points = [
        {"action_name": "train", "step": s, "values": {"loss": loss / (s + 1)}} for s in range(3)
    ]
    client.append_metrics(run["id"], points)
    client.report_progress(run["id"], action_progress={"name": "train", "metrics": {"acc": loss}})
    return client.update_run(run["id"], status="completed")


def test_compare_shows_what_differs_side_by_side(
    cli: Cli, client: PipelineServiceClient, pipeline: Any
) -> None:
    first = finished_run(client, pipeline, {"lr": 0.25, "epochs": 3, "seed": 1})
    second = finished_run(client, pipeline, {"lr": 0.5, "epochs": 3, "extra": True})

    result = cli("runs", "compare", first["id"][:8], second["id"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["runs"] == [first["id"], second["id"]]
    assert document["params"] == {"extra": [None, True], "lr": [0.25, 0.5], "seed": [1, None]}
    assert document["metrics"] == {"train/acc": [1.0, 2.0], "train/loss": [1 / 3, 2 / 3]}
    assert document["durations"]["actions"] == {
        "download": [4.0, 4.0],
        "convert": [4.0, 4.0],
        "train": [4.0, 4.0],
    }
    assert all(isinstance(d, float) for d in document["durations"]["run"])

    table = cli("runs", "compare", first["id"], second["id"])
    assert table.exit_code == 0, table.stderr
    lines = [line.split() for line in table.stdout.splitlines()]
    assert lines[0] == [first["id"][:8], second["id"][:8]]
    assert ["status", "completed", "completed"] in lines
    assert ["params", "(differing):"] in lines
    assert ["lr", "0.25", "0.5"] in lines
    assert ["seed", "1", "-"] in lines
    assert ["train/loss", "0.3333", "0.6667"] in lines
    assert ["train", "4s", "4s"] in lines
    assert ["epochs", "3", "3"] not in lines  # the same in both


def test_compare_needs_two_to_six_distinct_runs(cli: Cli, run: Any) -> None:
    one = cli("runs", "compare", run["id"])
    assert one.exit_code == 2
    assert "compare takes 2 to 6 runs, not 1" in one.stderr
    twice = cli("runs", "compare", run["id"], run["id"][:8])
    assert twice.exit_code == 2
    assert "each run can be compared only once" in twice.stderr
    missing = cli("runs", "compare", run["id"], "no-such-run")
    assert missing.exit_code != 0
    assert "no-such-run" in missing.stderr
