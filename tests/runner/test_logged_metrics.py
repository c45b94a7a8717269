"""An action's log_metrics through a real worker and server: every call kept, NaN as null."""

from __future__ import annotations

from pathlib import Path

from pipeline_service import PipelineServiceClient

from .helpers import Workers
from .test_worker import wait_for_end


def test_three_hundred_fast_calls_with_a_nan_are_three_hundred_points(
    client: PipelineServiceClient, workers: Workers, tmp_path: Path
) -> None:
    actions = [{"name": "train", "entrypoint": "runner_test_actions.log_losses"}]
    pipeline = client.create_pipeline("log-metrics", actions)
    workers.start()
    run = client.create_run(pipeline["id"], params={"points": 300, "nan_at": 150})
    done = wait_for_end(client, run["id"])
    assert done["status"] == "completed", done["error"]

    (train,) = client.get_metrics(run["id"])["actions"]
    (loss,) = train["logged"]
    assert (loss["name"], loss["recorded"], loss["thinned"]) == ("loss", 300, False)
    assert [p["step"] for p in loss["points"]] == list(range(300))
    values = [p["value"] for p in loss["points"]]
    assert [step for step, value in enumerate(values) if value is None] == [150]
    assert values[:3] == [1.0, 0.5, 1 / 3]
    assert {p["attempt"] for p in loss["points"]} == {1}  # the first claim
    warnings = [r["message"] for r in client.get_logs(run["id"], level="warning")]
    assert len(warnings) == 1
    assert warnings[0].startswith("metric 'loss' is nan at step 150: recorded as null")
