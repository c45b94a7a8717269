"""`pipeline-service pipelines list | get | create | delete` against a live server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS

from .conftest import Cli

PIPELINE_YAML = """\
name: yolo-training
description: End-to-end YOLO training
actions:
  - name: download
    entrypoint: plugin.download.DownloadAction
  - name: train
    entrypoint: plugin.train.TrainAction
    description: Fit the model
"""


@pytest.mark.slow
def test_create_from_yaml_then_get_list_and_delete(
    cli: Cli, client: PipelineServiceClient, tmp_path: Path
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(PIPELINE_YAML)

    created = cli("pipelines", "create", str(file))
    assert created.exit_code == 0, created.stderr
    assert created.stdout.startswith("Created pipeline ")
    assert "(yolo-training, 2 actions)" in created.stdout
    pipeline_id = created.stdout.split()[2]
    stored = client.get_pipeline(pipeline_id)
    assert [a["name"] for a in stored["actions"]] == ["download", "train"]
    assert stored["description"] == "End-to-end YOLO training"

    shown = cli("pipelines", "get", pipeline_id)
    assert shown.exit_code == 0
    assert f"id:          {pipeline_id}" in shown.stdout
    assert "name:        yolo-training" in shown.stdout
    lines = shown.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    assert lines[header].split() == ["#", "ACTION", "ENTRYPOINT", "RESOURCES", "DESCRIPTION"]
    assert lines[header + 1].split() == [
        *("0", "download", "plugin.download.DownloadAction", "-", "-")
    ]
    assert lines[header + 2].split()[:3] == ["1", "train", "plugin.train.TrainAction"]

    listed = cli("pipelines", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].split() == ["ID", "NAME", "ACTIONS", "CREATED"]
    row = next(line for line in listed.stdout.splitlines() if line.startswith(pipeline_id[:8]))
    assert "yolo-training" in row
    assert "download → train" in row

    deleted = cli("pipelines", "delete", pipeline_id)
    assert deleted.exit_code == 0
    assert deleted.stdout.strip() == f"Deleted pipeline {pipeline_id}"
    gone = cli("pipelines", "get", pipeline_id)
    assert gone.exit_code == 1
    assert gone.stdout == ""
    assert gone.stderr.startswith(f"error: no pipeline with id, name or id prefix '{pipeline_id}'")
    assert len(gone.stderr.strip().splitlines()) == 1


def test_json_output_is_the_api_document(
    cli: Cli, client: PipelineServiceClient, tmp_path: Path
) -> None:
    file = tmp_path / "pipeline.json"
    file.write_text(
        json.dumps({"name": "from-json", "actions": [{"name": "a", "entrypoint": "m.A"}]})
    )
    created = cli("pipelines", "create", str(file), "--json")
    assert created.exit_code == 0
    document = json.loads(created.stdout)
    assert document == client.get_pipeline(document["id"])

    shown = cli("pipelines", "get", document["id"], "--json")
    assert json.loads(shown.stdout) == document

    listed = cli("pipelines", "list", "--json", "--limit", "5")
    items = json.loads(listed.stdout)
    assert isinstance(items, list)
    assert 1 <= len(items) <= 5
    assert items[0]["id"] == document["id"]  # newest first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: [unclosed", "is not valid YAML or JSON"),
        ("- just\n- a list\n", "must hold a mapping with name and actions, not a list"),
        ("description: no name\nactions: []\n", "needs a non-empty string `name`"),
        ("name: x\nactions: []\nsteps: 3\n", "unknown key(s) steps"),
        ("name: x\n", "needs `actions`"),
        ("name: x\nactions:\n  - name: a\n", "actions[0] needs a non-empty string `entrypoint`"),
        ("", "must hold a mapping with name and actions, not nothing"),
        (
            "name: x\nactions:\n  - {name: a, entrypoint: m.A}\ndedicated_workers: maybe\n",
            "`dedicated_workers` must be true or false",
        ),
    ],
)
def test_invalid_pipeline_file_is_a_usage_error(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(content)
    result = cli("pipelines", "create", str(file))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: pipeline file ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_or_malformed_json_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    missing = cli("pipelines", "create", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2
    assert "cannot read pipeline file" in missing.stderr
    assert "No such file or directory" in missing.stderr

    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "actions": [}')
    malformed = cli("pipelines", "create", str(bad))
    assert malformed.exit_code == 2
    assert "is not valid JSON" in malformed.stderr
    assert "line 1" in malformed.stderr


def test_input_the_server_rejects_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(f"name: {'x' * 300}\nactions:\n  - {{name: a, entrypoint: m.a}}\n")
    result = cli("pipelines", "create", str(file))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: rejected by the server (422): ")
    assert "name" in result.stderr
    assert "Traceback" not in result.stderr


def test_stdin_is_read_for_dash(cli: Cli, client: PipelineServiceClient) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        cli.app,
        ["pipelines", "create", "-", "--json"],
        input=PIPELINE_YAML,
        env={"PIPELINE_SERVICE_URL": cli.url},
    )
    assert result.exit_code == 0, result.stderr
    created: Any = json.loads(result.stdout)
    assert client.get_pipeline(created["id"])["name"] == "yolo-training"


def test_tables_on_a_terminal_print_names_verbatim(cli: Cli, client: PipelineServiceClient) -> None:
    odd = "[/oops] [bold]not markup"
    created = client.create_pipeline(odd, [{"name": "[x]", "entrypoint": "m.X"}])
    result = cli("pipelines", "list", "--limit", "1", env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert odd in result.stdout
    assert created["id"][:8] in result.stdout
    assert "━" in result.stdout or "─" in result.stdout  # drawn by rich


RAY_PIPELINE_YAML = """\
name: on-ray
runtime_env:
  working_dir: ./actions
  env_vars: {HF_HOME: /cache}
actions:
  - name: train
    entrypoint: plugin.train.TrainAction
    resources: {gpus: 1, custom: {licence: 1}}
"""


def test_a_pipeline_file_carries_resources_and_runtime_env(
    cli: Cli, client: PipelineServiceClient, tmp_path: Path
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(RAY_PIPELINE_YAML)
    created = cli("pipelines", "apply", str(file))
    assert created.exit_code == 0, created.stderr
    pipeline_id = created.stdout.split()[2]
    stored = client.get_pipeline(pipeline_id)
    assert stored["runtime_env"] == {"working_dir": "./actions", "env_vars": {"HF_HOME": "/cache"}}
    assert stored["actions"][0]["resources"] == {"gpus": 1, "custom": {"licence": 1}}
    shown = cli("pipelines", "get", pipeline_id)
    assert '{"working_dir":"./actions","env_vars":{"HF_HOME":"/cache"}}' in shown.stdout
    assert '{"gpus":1,"custom":{"licence":1}}' in shown.stdout
    assert cli("pipelines", "apply", str(file)).stdout.startswith("Unchanged pipeline")
    file.write_text(RAY_PIPELINE_YAML.replace("./actions", "./src"))
    assert cli("pipelines", "apply", str(file)).stdout.startswith("Updated pipeline")
    assert client.get_pipeline(pipeline_id).get("runtime_env") == {
        "working_dir": "./src",
        "env_vars": {"HF_HOME": "/cache"},
    }
    file.write_text(RAY_PIPELINE_YAML.replace("working_dir: ./actions", "pip: [torch]"))
    refused = cli("pipelines", "apply", str(file))
    assert refused.exit_code == 2
    assert "runtime_env: unknown key(s) 'pip'; expected working_dir" in refused.stderr


def test_empty_lists_say_so_and_how_to_start(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "empty.db") as server:
        cli = Cli(server.url)
        runs = cli("runs", "list")
        assert runs.exit_code == 0
        assert runs.stdout == (
            "No runs yet. Start one with `pipeline-service runs create PIPELINE` (see "
            "`pipeline-service pipelines list`), or try `pipeline-service demo`.\n"
        )
        assert cli("runs", "list", "--status", "failed").stdout == "No runs match.\n"
        assert cli("runs", "list", "--json").stdout == "[]\n"
        pipelines = cli("pipelines", "list")
        assert pipelines.stdout.startswith("No pipelines yet. Register one with ")


def test_pipelines_list_wide_shows_more(cli: Cli, client: PipelineServiceClient) -> None:
    pipeline = client.create_pipeline(
        f"wide-{uuid.uuid4().hex[:8]}", ACTIONS, "described", dedicated_workers=True
    )
    lines = cli("pipelines", "list", "-o", "wide", "--limit", "1000").stdout.splitlines()
    assert lines[0].split() == [
        "ID", "NAME", "ACTIONS", "CREATED", "UPDATED", "DEDICATED", "DESCRIPTION",
    ]  # fmt: skip
    row = next(line for line in lines if line.startswith(pipeline["id"]))
    assert row.split()[-2:] == ["yes", "described"]
