"""Loading entrypoints and running one action in-process (no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline_service.runner.actions import (
    ActionTask,
    EntrypointError,
    load_action,
    run_action,
)

from .helpers import HERE, RecordingClient


def make_task(entrypoint: str, tmp_path: Path, **params: Any) -> ActionTask:
    return ActionTask(
        run_id="run-1",
        action_name="act",
        action_index=1,
        entrypoint=entrypoint,
        params={"marker": str(tmp_path / "marker"), **params},
        work_dir=str(tmp_path / "work" / "run-1"),
        import_paths=(str(HERE),),
    )


def run(task: ActionTask, client: RecordingClient) -> Any:
    return run_action(task, client, lambda: False, flush_interval=0.05)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "entrypoint",
    [
        "runner_test_actions.step",
        "runner_test_actions:step",
        "runner_test_actions.ClassStep",
        "runner_test_actions:ClassStep",
    ],
)
def test_both_entrypoint_forms_load_functions_and_classes(
    entrypoint: str, tmp_path: Path, recording_client: RecordingClient
) -> None:
    outcome = run(make_task(entrypoint, tmp_path, order=["a"]), recording_client)
    assert outcome.ok, outcome.error
    assert outcome.result == {"order": ["a", "act"]}
    assert (tmp_path / "work" / "run-1").is_dir()
    assert (tmp_path / "marker").read_text().splitlines() == ["start run-1 act", "done run-1 act"]
    assert recording_client.messages() == ["act ran with order=['a']"]
    assert outcome.metrics == {"index": 1}


def test_context_carries_the_run_and_action(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    task = make_task("runner_test_actions.describe_context", tmp_path, x=1)
    outcome = run(task, recording_client)
    assert outcome.ok, outcome.error
    assert outcome.result == {
        "run_id": "run-1",
        "action_name": "act",
        "action_index": 1,
        "params": {"marker": str(tmp_path / "marker"), "x": 1},
        "work_dir": str(tmp_path / "work" / "run-1"),
        "work_dir_exists": True,
        "cancelled": False,
    }


@pytest.mark.parametrize(
    ("entrypoint", "expected"),
    [
        ("", "expected 'package.module.Name' or 'package.module:Name'"),
        ("nodots", "expected 'package.module.Name' or 'package.module:Name'"),
        ("a.b:c:d", "expected 'package.module.Name' or 'package.module:Name'"),
        ("a.b-c.D", "expected 'package.module.Name' or 'package.module:Name'"),
        ("no_such_package_xyz.mod.Action", "cannot import module 'no_such_package_xyz.mod'"),
        ("runner_test_actions.missing", "module 'runner_test_actions' has no attribute 'missing'"),
        ("runner_test_actions.NoRun", "class 'NoRun' has no run(context) method"),
        (
            "runner_test_actions.NOT_CALLABLE",
            "'NOT_CALLABLE' is neither a class nor a function (found int)",
        ),
        ("runner_test_actions.NeedsArguments", "NeedsArguments() raised TypeError"),
    ],
)
def test_bad_entrypoints_name_the_entrypoint(
    entrypoint: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))  # whichever tests ran before in this process
    with pytest.raises(EntrypointError) as caught:
        load_action(entrypoint)
    message = str(caught.value)
    assert expected in message
    assert f"Bad entrypoint {entrypoint!r}" in message


def test_bad_entrypoint_fails_the_action_clearly(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    outcome = run(make_task("no_such_package_xyz.Action", tmp_path), recording_client)
    assert not outcome.ok
    assert outcome.error.startswith("Bad entrypoint 'no_such_package_xyz.Action'")


def test_raising_action_gives_type_message_and_traceback(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    outcome = run(make_task("runner_test_actions.boom", tmp_path), recording_client)
    assert outcome.error == "ValueError: boom"
    assert "Traceback" in outcome.traceback
    assert 'raise ValueError("boom")' in outcome.traceback


@pytest.mark.parametrize(
    ("entrypoint", "expected"),
    [
        (
            "runner_test_actions.returns_list",
            "Action 'act' returned list; an action must return a dict or None",
        ),
        (
            "runner_test_actions.returns_unserialisable",
            "Action 'act' returned a dict that is not JSON-serialisable",
        ),
    ],
)
def test_bad_results_fail_the_action(
    entrypoint: str, expected: str, tmp_path: Path, recording_client: RecordingClient
) -> None:
    outcome = run(make_task(entrypoint, tmp_path), recording_client)
    assert outcome.error is not None
    assert outcome.error.startswith(expected)


def test_bad_progress_calls_fail_the_action_with_a_clear_message(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    outcome = run(make_task("runner_test_actions.overshoot", tmp_path), recording_client)
    assert outcome.error is not None
    assert "without a total must be a fraction between 0 and 1" in outcome.error


def test_a_work_dir_that_cannot_be_created_fails_the_action(
    tmp_path: Path, recording_client: RecordingClient
) -> None:
    (tmp_path / "work").write_text("a file where the work dir should go")
    outcome = run(make_task("runner_test_actions.step", tmp_path), recording_client)
    assert outcome.error is not None
    assert outcome.error.startswith(
        f"Cannot create the work dir {str(tmp_path / 'work' / 'run-1')!r}"
    )
