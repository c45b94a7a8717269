"""Where a run continues from its checkpoints."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_service.runner.runner import ResumeError, plan_resume

ACTIONS: list[Any] = [
    {"name": "download", "entrypoint": "p.d"},
    {"name": "convert", "entrypoint": "p.c"},
    {"name": "train", "entrypoint": "p.t"},
]
RUN: Any = {"params": {"epochs": 3}}


def checkpoint(index: int, status: str = "completed", **result: Any) -> Any:
    return {
        "action_name": ACTIONS[index]["name"],
        "action_index": index,
        "status": status,
        "params_snapshot": {"epochs": 3, "seen": index},
        "result": result,
        "artifacts_path": f"/work/{index}",
    }


def test_no_checkpoint_starts_at_the_first_action_with_the_run_params() -> None:
    plan = plan_resume(ACTIONS, RUN, [])
    assert (plan.start_index, plan.params, plan.results) == (0, {"epochs": 3}, {})


def test_continues_after_the_latest_completed_checkpoint() -> None:
    plan = plan_resume(
        ACTIONS,
        RUN,
        [checkpoint(0, raw="r.csv"), checkpoint(1, data="d.json"), checkpoint(2, "failed")],
    )
    assert plan.start_index == 2
    assert plan.params == {"epochs": 3, "seen": 1, "raw": "r.csv", "data": "d.json"}
    assert plan.results == {"raw": "r.csv", "data": "d.json"}


def test_the_newest_checkpoint_of_an_action_wins() -> None:
    plan = plan_resume(ACTIONS, RUN, [checkpoint(0, raw="old"), checkpoint(0, raw="new")])
    assert plan.start_index == 1
    assert plan.params["raw"] == "new"


def test_all_actions_done_means_nothing_left_to_execute() -> None:
    plan = plan_resume(ACTIONS, RUN, [checkpoint(0), checkpoint(1), checkpoint(2, model="m")])
    assert plan.start_index == 3
    assert plan.results == {"model": "m"}


def test_a_checkpoint_that_does_not_match_the_pipeline_is_refused() -> None:
    wrong: Any = {**checkpoint(1), "action_name": "resize"}
    with pytest.raises(ResumeError, match="checkpoint of action 'resize' at index 1"):
        plan_resume(ACTIONS, RUN, [wrong])
    out_of_range: Any = {**checkpoint(0), "action_index": 5}
    with pytest.raises(ResumeError, match="at index 5"):
        plan_resume(ACTIONS, RUN, [out_of_range])


def test_the_run_params_win_over_the_checkpoint_snapshot() -> None:
    run: Any = {"params": {"epochs": 5}}
    plan = plan_resume(ACTIONS, run, [checkpoint(0, raw="r.csv"), checkpoint(1, epochs=7)])
    assert plan.params == {"epochs": 7, "seen": 1, "raw": "r.csv"}  # results apply last
    plan = plan_resume(ACTIONS, run, [checkpoint(0, raw="r.csv"), checkpoint(1)])
    assert plan.params == {"epochs": 5, "seen": 1, "raw": "r.csv"}


def test_from_action_runs_that_action_again_whatever_was_checkpointed() -> None:
    run: Any = {"params": {"epochs": 3}, "from_action": "convert"}
    every = [checkpoint(0, raw="r.csv"), checkpoint(1, data="d.json"), checkpoint(2, model="m")]
    plan = plan_resume(ACTIONS, run, every)
    assert plan.start_index == 1
    assert plan.results == {"raw": "r.csv"}
    from_download: Any = {**run, "from_action": "download"}
    assert plan_resume(ACTIONS, from_download, every).start_index == 0


def test_in_action_checkpoints_do_not_move_the_start() -> None:
    plan = plan_resume(ACTIONS, RUN, [checkpoint(0, raw="r"), checkpoint(1, "running")])
    assert plan.start_index == 1


def test_from_an_action_the_pipeline_does_not_have_is_refused() -> None:
    run: Any = {"params": {}, "from_action": "deploy"}
    with pytest.raises(ResumeError, match="from action 'deploy'"):
        plan_resume(ACTIONS, run, [checkpoint(0)])
