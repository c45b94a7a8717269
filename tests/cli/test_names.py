"""Names and unique id prefixes wherever an id is taken; `pipelines apply`, `validate`, `delete`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline_service import PipelineServiceClient
from pipeline_service.cli import _common as common_module
from tests.sample import ACTIONS, unique

from .conftest import Cli


def test_runs_by_unique_prefix_and_pipelines_by_name(
    cli: Cli, client: PipelineServiceClient
) -> None:
    name = unique("named")
    pipeline = client.create_pipeline(name, ACTIONS)
    created = cli("runs", "create", name, "-p", "epochs=2")
    assert created.exit_code == 0, created.stderr
    assert created.stdout.startswith("Created run ")
    assert created.stdout.splitlines()[0].endswith(f"of pipeline {name}")
    run_id = created.stdout.split()[2]
    assert client.get_run(run_id)["pipeline_id"] == pipeline["id"]

    shown = cli("runs", "get", run_id[:8])
    assert shown.exit_code == 0, shown.stderr
    assert f"id:        {run_id}" in shown.stdout
    assert f"pipeline:  {name} ({pipeline['id']})" in shown.stdout
    by_name = cli("pipelines", "get", name, "--json")
    assert json.loads(by_name.stdout)["id"] == pipeline["id"]
    by_prefix = cli("pipelines", "get", pipeline["id"][:8], "-o", "yaml")
    assert yaml.safe_load(by_prefix.stdout)["name"] == name

    listed = cli("runs", "list", "--pipeline", name)
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[1].split()[:3] == [run_id[:8], name, "pending"]


def test_an_ambiguous_prefix_is_a_usage_error_naming_the_candidates(
    cli: Cli, client: PipelineServiceClient
) -> None:
    pipeline = client.create_pipeline(unique("ambiguous"), ACTIONS)
    ids = [client.create_run(pipeline["id"])["id"] for _ in range(20)]
    # Among 20 random ids two share their first hex digit; any shared prefix does.
    first_digits = [run_id[0] for run_id in ids]
    shared = next(d for d in first_digits if first_digits.count(d) > 1)
    result = cli("runs", "get", shared)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: run id prefix '{shared}' is ambiguous: ")
    assert "give more of the id" in result.stderr

    twins = unique("twin")
    client.create_pipeline(twins, ACTIONS)
    client.create_pipeline(twins, ACTIONS)
    same_name = cli("runs", "create", twins)
    assert same_name.exit_code == 2
    assert f"pipeline name '{twins}' is ambiguous: 2 match" in same_name.stderr


def test_apply_creates_then_updates_by_name(
    cli: Cli, client: PipelineServiceClient, tmp_path: Path
) -> None:
    name = unique("applied")
    file = tmp_path / "pipeline.yaml"
    download = "{name: download, entrypoint: plugin.download.DownloadAction}"
    file.write_text(f"name: {name}\nactions:\n  - {download}\n")
    first = cli("pipelines", "apply", str(file))
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("Created pipeline ")
    again = cli("pipelines", "apply", str(file))
    assert again.stdout.startswith("Unchanged pipeline ")
    file.write_text(
        f"name: {name}\ndescription: now two\nactions:\n"
        "  - {name: download, entrypoint: plugin.download.DownloadAction}\n"
        "  - {name: train, entrypoint: plugin.train.TrainAction}\n"
    )
    updated = cli("pipelines", "apply", str(file))
    assert updated.stdout.startswith("Updated pipeline ")
    assert "(2 actions)" in updated.stdout.replace(f"{name}, ", "")
    matching = [p for p in client.iter_pipelines() if p["name"] == name]
    assert len(matching) == 1
    assert [a["name"] for a in matching[0]["actions"]] == ["download", "train"]
    assert matching[0]["description"] == "now two"
    assert matching[0]["dedicated_workers"] is False
    file.write_text(file.read_text() + "dedicated_workers: true\n")
    dedicated = cli("pipelines", "apply", str(file))
    assert dedicated.stdout.startswith("Updated pipeline "), dedicated.stderr
    assert client.get_pipeline(matching[0]["id"])["dedicated_workers"] is True
    assert cli("pipelines", "apply", str(file)).stdout.startswith("Unchanged pipeline ")
    shown = cli("pipelines", "get", matching[0]["id"])
    assert ["dedicated:", "yes"] in [line.split() for line in shown.stdout.splitlines()]


def test_validate_imports_each_entrypoint_locally(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: sample\nactions:\n"
        "  - {name: download, entrypoint: plugin.download.DownloadAction}\n"
        "  - {name: train, entrypoint: 'plugin.train:TrainAction'}\n"
    )
    ok = cli("pipelines", "validate", str(good))
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines() == [
        "✓ download: plugin.download.DownloadAction",
        "✓ train: plugin.train:TrainAction",
        f"{good}: sample is valid",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: broken\nactions:\n"
        "  - {name: download, entrypoint: plugin.download.DownloadAction}\n"
        "  - {name: missing, entrypoint: no_such_module.Thing}\n"
        "  - {name: typo, entrypoint: plugin.train.TrainActon}\n"
        "  - {name: form, entrypoint: not a dotted path}\n"
    )
    failed = cli("pipelines", "validate", str(bad))
    assert failed.exit_code == 1
    lines = failed.stdout.splitlines()
    assert lines[0] == "✓ download: plugin.download.DownloadAction"
    assert lines[1].startswith("✗ missing: Bad entrypoint 'no_such_module.Thing': cannot import")
    assert lines[2].startswith("✗ typo: Bad entrypoint 'plugin.train.TrainActon': module")
    assert "has no attribute 'TrainActon'" in lines[2]
    assert lines[3].startswith("✗ form: Bad entrypoint 'not a dotted path': expected")
    assert lines[4] == f"{bad}: 3 of 4 actions cannot be loaded"
    empty = tmp_path / "empty.yaml"
    empty.write_text("name: empty\nactions: []\n")
    refused = cli("pipelines", "validate", str(empty))
    assert refused.exit_code == 2
    assert "needs `actions`" in refused.stderr


def test_deleting_a_pipeline_with_runs_needs_yes(
    cli: Cli, client: PipelineServiceClient, pipeline: Any
) -> None:
    client.create_run(pipeline["id"])
    refused = cli("pipelines", "delete", pipeline["id"])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: not deleting pipeline cli-test (")
    assert "with its 1 run(s) without --yes" in refused.stderr
    assert client.get_pipeline(pipeline["id"])["id"] == pipeline["id"]
    deleted = cli("pipelines", "delete", pipeline["id"][:8], "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.strip() == f"Deleted pipeline {pipeline['id']}"


def test_runs_delete(cli: Cli, client: PipelineServiceClient, run: Any) -> None:
    refused = cli("runs", "delete", run["id"][:8])  # pending: its worker would be stopped
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: not deleting runs still going without --yes: {run['id']} (pending)\n"
    )
    deleted = cli("runs", "delete", run["id"][:8], "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.strip() == f"Deleted run {run['id']}"
    again = cli("runs", "delete", run["id"])
    assert again.exit_code == 1
    assert again.stderr == f"error: no run with id or id prefix '{run['id']}' (404)\n"


def test_runs_delete_takes_several_and_asks_for_runs_still_going(
    cli: Cli, client: PipelineServiceClient, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = [client.create_run(pipeline["id"]) for _ in range(2)]
    for run in ended:
        client.cancel_run(run["id"])
    both = cli("runs", "delete", ended[0]["id"], ended[1]["id"][:8])
    assert both.exit_code == 0, both.stderr
    assert both.stdout.splitlines() == [f"Deleted run {run['id']}" for run in ended]

    running = client.create_run(pipeline["id"])
    client.update_run(running["id"], status="running")
    done = client.create_run(pipeline["id"])
    client.cancel_run(done["id"])
    monkeypatch.setattr(common_module, "interactive", lambda: True)
    env = {"PIPELINE_SERVICE_URL": cli.url}
    runner = CliRunner()
    kept = runner.invoke(
        cli.app, ["runs", "delete", done["id"], running["id"]], input="n\n", env=env
    )
    assert kept.exit_code == 1
    assert f"Delete runs still going: {running['id']} (running)? [y/N]" in kept.stdout
    assert kept.stdout.rstrip().endswith("Nothing deleted")
    assert client.get_run(done["id"])["id"] == done["id"]  # nothing at all
    gone = runner.invoke(
        cli.app, ["runs", "delete", done["id"], running["id"]], input="y\n", env=env
    )
    assert gone.exit_code == 0, gone.stderr
    assert gone.stdout.splitlines()[-2:] == [
        f"Deleted run {done['id']}",
        f"Deleted run {running['id']}",
    ]


def test_the_example_pipeline_of_the_readme_is_valid(cli: Cli) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "pipeline.yaml"
    result = cli("pipelines", "validate", str(example))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines()[-1] == f"{example}: download-convert-train is valid"


def test_deleting_asks_on_a_terminal(
    cli: Cli, client: PipelineServiceClient, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_run(pipeline["id"])
    runner = CliRunner()
    env = {"PIPELINE_SERVICE_URL": cli.url}
    monkeypatch.setattr(common_module, "interactive", lambda: True)
    kept = runner.invoke(cli.app, ["pipelines", "delete", pipeline["id"]], input="n\n", env=env)
    assert kept.exit_code == 1
    assert "with its 1 run(s)? [y/N]" in kept.stdout
    assert kept.stdout.rstrip().endswith("Nothing deleted")
    assert client.get_pipeline(pipeline["id"])["id"] == pipeline["id"]
    gone = runner.invoke(cli.app, ["pipelines", "delete", pipeline["id"]], input="y\n", env=env)
    assert gone.exit_code == 0, gone.stderr
    assert gone.stdout.rstrip().endswith(f"Deleted pipeline {pipeline['id']}")


def test_apply_refuses_an_entrypoint_that_does_not_import(
    cli: Cli, client: PipelineServiceClient, tmp_path: Path
) -> None:
    name = unique("unimportable")
    file = tmp_path / "pipeline.yaml"
    file.write_text(
        f"name: {name}\nactions:\n"
        "  - {name: download, entrypoint: plugin.download.DownloadAction}\n"
        "  - {name: train, entrypoint: mlpipe_not_here.train.Train}\n"
    )
    refused = cli("pipelines", "apply", str(file))
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith(
        f"error: {file}: action 'train' cannot be loaded: Bad entrypoint "
        "'mlpipe_not_here.train.Train': cannot import module 'mlpipe_not_here.train' "
        "(No module named 'mlpipe_not_here'). Looked in the directory "
    )
    assert line.endswith("or pass --no-import-check if only the workers can import it")
    assert not [p for p in client.iter_pipelines() if p["name"] == name]
    forced = cli("pipelines", "apply", str(file), "--no-import-check")
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout.startswith("Created pipeline ")


def test_a_mistyped_pipeline_name_gets_did_you_mean(
    cli: Cli, client: PipelineServiceClient
) -> None:
    name = unique("toy-ml")
    client.create_pipeline(name, ACTIONS)
    typo = name[:-1] + "x" + name[-1]
    result = cli("runs", "create", typo)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no pipeline with id, name or id prefix {typo!r} (404); did you mean {name}?\n"
    )
    unrelated = cli("pipelines", "get", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
    assert "did you mean" not in unrelated.stderr
