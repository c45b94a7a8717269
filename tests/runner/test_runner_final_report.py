"""The report that closes an action is correct on its own and survives a transient failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_service import PipelineServiceClient
from pipeline_service.errors import APIConnectionError
from pipeline_service.runner.actions import ActionOutcome, ActionTask
from pipeline_service.runner.runner import RunControl, RunEnd, Runner


def counted_units_without_any_report(task: ActionTask, control: RunControl) -> ActionOutcome:
    """An action that counted 10 units, none of whose progress reports reached the service."""
    return ActionOutcome(result={"n": 10}, total=10.0)


class DroppingFirstCompletion:
    """The real client, except that the first "completed" report is lost on the way."""

    def __init__(self, client: PipelineServiceClient) -> None:
        self._client = client
        self.dropped = 0

    def report_progress(self, run_id: str, **kwargs: Any) -> Any:
        if kwargs["action_progress"].get("status") == "completed" and not self.dropped:
            self.dropped += 1
            raise APIConnectionError("connection reset")
        return self._client.report_progress(run_id, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_final_report_counts_units_alone_and_is_retried(
    client: PipelineServiceClient, tmp_path: Path
) -> None:
    pipeline = client.create_pipeline("units", [{"name": "count", "entrypoint": "x.y"}])
    client.create_run(pipeline["id"])
    claim = client.claim_run("w", pipeline_id=pipeline["id"])
    assert claim is not None
    flaky = DroppingFirstCompletion(client)
    runner = Runner(flaky, counted_units_without_any_report, work_root=tmp_path)  # type: ignore[arg-type]
    end = runner.run(claim["run"], RunControl(claim["lease_token"]))
    assert end is RunEnd.COMPLETED
    assert flaky.dropped == 1
    run = client.get_run(claim["run"]["id"])
    assert run["status"] == "completed"
    assert run["result"] == {"n": 10}
    [action] = run["progress"]
    assert (action["status"], action["progress"], action["total"]) == ("completed", 10, 10)
    assert [c["action_name"] for c in client.get_checkpoints(run["id"])] == ["count"]
