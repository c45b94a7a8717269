"""`pipeline-service checkpoints RUN_ID` against a live server."""

from __future__ import annotations

import json
from typing import Any

from pipeline_service import PipelineServiceClient

from .conftest import Cli


def test_lists_checkpoints_by_action(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    empty = cli("checkpoints", run["id"])
    assert empty.exit_code == 0
    assert empty.stdout.strip() == f"Run {run['id']} has no checkpoints."

    client.create_checkpoint(run["id"], "train", 2, result={"accuracy": 0.95},
                             artifacts_path="/ckpt/train")  # fmt: skip
    client.create_checkpoint(run["id"], "download", 0, params_snapshot={"epochs": 3})
    result = cli("checkpoints", run["id"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "#", "ACTION", "STATUS", "STEP", "CREATED", "ARTIFACTS", "RESULT"
    ]  # fmt: skip
    first, second = (line.split() for line in lines[1:])
    assert first[:4] == ["0", "download", "completed", "-"]
    assert first[-2:] == ["-", "-"]
    assert second[:4] == ["2", "train", "completed", "-"]
    assert second[-2:] == ["/ckpt/train", '{"accuracy":0.95}']

    document = json.loads(cli("checkpoints", run["id"], "--json").stdout)
    assert document == client.get_checkpoints(run["id"])
    assert [c["action_name"] for c in document] == ["download", "train"]


def test_missing_run(cli: Cli) -> None:
    result = cli("checkpoints", "no-such-run", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: no run with id or id prefix 'no-such-run' (404)\n"
