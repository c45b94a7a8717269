"""`runs artifacts`, `runs resume --from`, and lineage in `runs get` / `runs list -o wide`,
against a live server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_service import PipelineServiceClient
from tests.sample import ACTIONS

from .conftest import Cli


def test_lists_and_downloads_a_runs_artifacts(
    cli: Cli, client: PipelineServiceClient, run: Any, tmp_path: Path
) -> None:
    empty = cli("runs", "artifacts", run["id"])
    assert empty.exit_code == 0
    assert empty.stdout.strip() == f"Run {run['id']} has no artifacts."
    client.upload_artifact(run["id"], "train/step-2/model.bin", b"m" * 5000, action_name="train",
                           step=2)  # fmt: skip
    client.upload_artifact(run["id"], "notes.txt", b"hello")
    listed = cli("runs", "artifacts", run["id"][:8])
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["PATH", "SIZE", "ACTION", "STEP", "CHECKPOINT", "CREATED"]
    assert lines[1].split()[:6] == ["notes.txt", "5", "B", "-", "-", "-"]
    assert lines[2].split()[:6] == ["train/step-2/model.bin", "4.9", "KiB", "train", "2", "-"]
    document = json.loads(cli("runs", "artifacts", run["id"], "--json").stdout)
    assert document == client.list_artifacts(run["id"])

    target = tmp_path / "files"
    downloaded = cli("runs", "artifacts", run["id"], "--download", str(target))
    assert downloaded.exit_code == 0, downloaded.stderr
    assert (target / "train" / "step-2" / "model.bin").read_bytes() == b"m" * 5000
    assert (target / "notes.txt").read_bytes() == b"hello"
    assert downloaded.stdout.splitlines() == [
        f"{target / 'notes.txt'} (5 B)",
        f"{target / 'train' / 'step-2' / 'model.bin'} (4.9 KiB)",
    ]
    one = cli("runs", "artifacts", run["id"], "notes.txt", "-d", str(tmp_path / "one"))
    assert one.exit_code == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["notes.txt"]
    missing = cli("runs", "artifacts", run["id"], "nope.bin")
    assert missing.exit_code == 2
    assert "has no artifact 'nope.bin'" in missing.stderr


def test_lineage_in_get_and_wide_lists(cli: Cli, client: PipelineServiceClient) -> None:
    pipeline = client.create_pipeline("lineage-cli", ACTIONS)
    earlier = client.create_run(pipeline["id"])
    later = client.create_run(pipeline["id"], resume_from=earlier["id"], from_action="download")
    shown = cli("runs", "get", earlier["id"]).stdout
    assert f"resumed by: {later['id']}" in shown
    assert "resumed from" not in shown
    shown = cli("runs", "get", later["id"]).stdout
    assert f"resumed from: {earlier['id']} (again from action 'download')" in shown
    wide = cli("runs", "list", "--pipeline", "lineage-cli", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-5:] == ["RESUMED", "FROM", "RESUMED", "BY", "LABELS"]
    rows = {line.split()[0]: line.split() for line in wide[1:]}
    assert rows[later["id"]][-3:] == [earlier["id"][:8], "-", "-"]
    assert rows[earlier["id"]][-3:] == ["-", later["id"][:8], "-"]


def test_resume_from_an_action_and_the_refusal_of_a_finished_run(
    cli: Cli, client: PipelineServiceClient
) -> None:
    pipeline = client.create_pipeline("finished-cli", ACTIONS)
    done = client.create_run(pipeline["id"])
    for index, action in enumerate(ACTIONS):
        client.create_checkpoint(done["id"], action["name"], index)
    refused = cli("runs", "resume", done["id"][:8])
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: run {done['id']} has nothing left to run: every action completed; run one "
        "again with --from ACTION (one of download, convert, train)\n"
    )
    resumed = cli("runs", "resume", done["id"][:8], "--from", "train", "--json")
    assert resumed.exit_code == 0, resumed.stderr
    created = json.loads(resumed.stdout)
    assert (created["resumed_from"], created["from_action"]) == (done["id"], "train")
    assert [c["action_name"] for c in client.get_checkpoints(created["id"])] == [
        "download", "convert"
    ]  # fmt: skip
    unknown = cli("runs", "resume", done["id"][:8], "--from", "deploy")
    assert unknown.exit_code == 2
    assert "'deploy'" in unknown.stderr
