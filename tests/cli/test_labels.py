"""`runs create -l KEY=VALUE` and `runs list -l SELECTOR`."""

from __future__ import annotations

import json
from typing import Any

from pipeline_service import PipelineServiceClient
from tests.sample import unique

from .conftest import Cli


def test_labels_set_at_create_select_runs_in_list(
    cli: Cli, client: PipelineServiceClient, pipeline: Any
) -> None:
    team = unique("team")
    created = []
    for stage in ("dev", "prod", "dev"):
        result = cli(
            "runs", "create", pipeline["id"], "-l", f"team={team}", "--label", f"stage={stage}"
        )
        assert result.exit_code == 0, result.stderr
        created.append(result.stdout.split()[2])
    assert client.get_run(created[0])["labels"] == {"team": team, "stage": "dev"}

    listed = cli("runs", "list", "-l", f"team={team},stage!=prod", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [created[2], created[0]]
    wide = cli("runs", "list", "-l", f"team={team},stage in (prod)", "-o", "wide")
    lines = wide.stdout.splitlines()
    assert lines[0].split()[-1] == "LABELS"
    assert len(lines) == 2
    assert lines[1].split()[-1] == f"team={team},stage=prod"
    in_pipeline = cli(
        "runs", "list", "--pipeline", pipeline["id"], "-l", f"team={team}", "-o", "json"
    )
    assert len(json.loads(in_pipeline.stdout)) == 3
    shown = cli("runs", "get", created[1])
    assert f"labels:    team={team},stage=prod" in shown.stdout


def test_bad_labels_and_selectors_are_explained(cli: Cli, pipeline: Any) -> None:
    missing = cli("runs", "create", pipeline["id"], "-l", "team")
    assert missing.exit_code == 2
    assert "--label expects KEY=VALUE, got 'team'" in missing.stderr
    invalid = cli("runs", "create", pipeline["id"], "-l", "team=n l p")
    assert invalid.exit_code != 0
    assert "label team='n l p'" in invalid.stderr
    selector = cli("runs", "list", "-l", "team in nlp")
    assert selector.exit_code != 0
    assert "a set of values is written in parentheses" in selector.stderr
