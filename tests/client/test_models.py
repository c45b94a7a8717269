"""The pydantic models and forward-compatible enums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pipeline_service import (
    ActionProgress,
    ActionStatus,
    LogEntry,
    LogLevel,
    PipelineProgress,
    RunStatus,
)


def test_enums_are_str_enums_that_accept_unknown_values() -> None:
    assert RunStatus("completed") is RunStatus.COMPLETED
    assert RunStatus.COMPLETED == "completed"
    assert f"{RunStatus.RUNNING}" == "running"
    assert str(ActionStatus.SKIPPED) == "skipped"
    paused = RunStatus("paused")
    assert paused == "paused"
    assert paused.value == "paused"
    assert not paused.is_known
    assert not paused.is_terminal
    assert RunStatus.CANCELLED.is_known
    assert RunStatus.CANCELLED.is_terminal
    assert [level.value for level in LogLevel] == [
        "debug",
        "info",
        "success",
        "warning",
        "danger",
        "error",
        "critical",
    ]
    assert LogLevel("trace") == "trace"
    with pytest.raises(ValueError, match="valid"):
        RunStatus(3)  # type: ignore[arg-type]


def test_action_progress_as_documented() -> None:
    action = ActionProgress(
        name="train",
        status="running",
        progress=50,
        total=100,
        metrics={"loss": 0.25, "accuracy": 0.87},
    )
    assert action.status == ActionStatus.RUNNING
    assert action.status in ("running", "completed")
    assert (action.progress, action.total) == (50, 100)
    assert f"{action.progress}/{action.total}" == "50/100"
    assert action.fraction == 0.5
    assert ActionProgress(name="x", progress=0.25).fraction == 0.25
    assert ActionProgress(name="x", progress=150, total=100).fraction == 1.0
    defaults = ActionProgress(name="x")
    assert (defaults.status, defaults.progress, defaults.total, defaults.metrics) == (
        "pending",
        0,
        None,
        {},
    )
    assert defaults.model_fields_set == {"name"}


def test_action_progress_reads_the_upstream_names_and_ignores_unknown_fields() -> None:
    action = ActionProgress.model_validate(
        {"name": "a", "progress_category": "epoch", "unknown": 1, "status": "queued"}
    )
    assert action.progress_step == "epoch"
    assert action.status == "queued"
    with pytest.raises(ValidationError):
        ActionProgress.model_validate({"status": "running"})


def test_timestamps_always_carry_an_offset() -> None:
    action = ActionProgress(
        name="a", started_at="2026-01-01T12:00:00", completed_at=datetime(2026, 1, 1, 13, 0)
    )
    assert action.started_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert action.completed_at == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    tokyo = timezone(timedelta(hours=9))
    kept = ActionProgress(name="a", started_at=datetime(2026, 1, 1, 21, 0, tzinfo=tokyo))
    assert kept.started_at is not None
    assert kept.started_at.utcoffset() == timedelta(hours=9)
    entry = LogEntry(message="m", timestamp=datetime(2026, 1, 1))
    assert entry.timestamp is not None
    assert entry.timestamp.tzinfo is UTC


def test_pipeline_progress() -> None:
    wire = {
        "run_id": "r",
        "pipeline_id": "p",
        "status": "running",
        "current_action": "b",
        "current_action_index": 1,
        "error": None,
        "started_at": "2026-01-01T12:00:00Z",
        "completed_at": None,
        "progress": [
            {"name": "a", "status": "completed", "progress": 1},
            {"name": "b", "status": "running", "progress": 5, "total": 10},
            {"name": "c", "status": "skipped"},
            {"name": "d"},
        ],
        "version": "not ours",
        "actions": "not ours either",
    }
    progress = PipelineProgress.from_wire(wire, version=7)
    assert progress.version == 7
    assert [a.name for a in progress.actions] == ["a", "b", "c", "d"]
    assert progress.fraction == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    assert not progress.is_terminal
    assert progress.status in ("running",)
    done = progress.model_copy(update={"status": RunStatus.COMPLETED})
    assert done.is_terminal
    assert done.fraction == 1.0
    built = PipelineProgress(
        run_id="r", pipeline_id="p", status=RunStatus.PENDING, actions=[ActionProgress(name="a")]
    )
    assert built.actions[0].name == "a"
    assert built.fraction == 0.0
    assert PipelineProgress(run_id="r", pipeline_id="p", status="failed").is_terminal


def test_log_entry_defaults() -> None:
    entry = LogEntry(message="Starting training")
    assert entry.level == LogLevel.INFO
    assert entry.action_name is None
    assert entry.timestamp is None


def test_nulls_where_the_api_has_defaults_read_as_the_defaults() -> None:
    action = ActionProgress.model_validate(
        {"name": "a", "status": None, "progress": None, "metrics": None, "total": None}
    )
    assert (action.status, action.progress, action.metrics, action.total) == (
        "pending",
        0,
        {},
        None,
    )
