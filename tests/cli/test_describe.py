"""`pipeline-service runs describe`: the run, its actions and its events."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pipeline_service import PipelineServiceClient
from tests.sample import API

from .conftest import Cli


def test_describe_shows_who_ran_what_in_order(
    cli: Cli, client: PipelineServiceClient, pipeline: Any
) -> None:
    run = client.create_run(pipeline["id"], params={"epochs": 3})
    with httpx.Client(base_url=cli.url) as http:
        claim = http.post(
            f"{API}/runs/claim", json={"worker_id": "host-a:7:w1", "pipeline_id": pipeline["id"]}
        ).json()
    token = claim["lease_token"]
    for name in ("download", "convert", "train"):
        for status in ("running", "completed"):
            client.report_progress(
                run["id"], action_progress={"name": name, "status": status}, lease_token=token
            )
    client.update_run(run["id"], status="completed", lease_token=token)

    result = cli("runs", "describe", run["id"][:8])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Name:          {run['id']}"
    assert f"Pipeline:      {pipeline['name']} ({pipeline['id']})" in lines
    assert "Status:        completed" in lines
    assert 'Params:        {"epochs":3}' in lines
    assert "Worker:        host-a:7:w1" in lines
    events = lines[lines.index("Events:") + 1 :]
    assert events[0].split() == ["TIME", "EVENT", "FROM", "MESSAGE"]
    kinds = [line.split()[3] for line in events[1:]]  # date, time, zone, event
    assert kinds == [
        "created",
        "claimed",
        "started",
        *["action_started", "action_completed"] * 3,
        "completed",
    ]
    claimed = events[2]
    assert "host-a:7:w1" in claimed
    assert f"Claimed by worker host-a:7:w1 on 127.0.0.1 (lease token {token})" in claimed
    actions = lines[lines.index("Actions:") + 1 : lines.index("Events:")]
    assert actions[0].split() == ["#", "ACTION", "STATUS", "DURATION", "DETAIL"]
    assert [line.split()[1:3] for line in actions[1:]] == [
        ["download", "completed"],
        ["convert", "completed"],
        ["train", "completed"],
    ]


def test_describe_as_json_and_errors(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    result = cli("runs", "describe", run["id"], "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["run"]["id"] == run["id"]
    assert [e["type"] for e in document["events"]] == ["created"]
    missing = cli("runs", "describe", "no-such-run")
    assert missing.exit_code != 0
    assert "no-such-run" in missing.stderr
