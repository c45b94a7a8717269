"""The reporter coalesces progress, batches logs, and always delivers the last of both."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pipeline_service.errors import (
    APIConnectionError,
    ConflictError,
    InternalServerError,
    RateLimitError,
    UnprocessableEntityError,
)
from pipeline_service.runner import reporter as reporter_module
from pipeline_service.runner.reporter import LOG_BATCH_SIZE, ActionReporter, LogBatch
from pipeline_service.wire import MAX_METRIC_BATCH

from .helpers import RecordingClient


def reporter(client: Any, interval: float = 0.05) -> ActionReporter:
    return ActionReporter(client, "run-1", "train", 2, flush_interval=interval)


@pytest.mark.slow
def test_a_million_progress_calls_send_a_handful_of_requests(
    recording_client: RecordingClient,
) -> None:
    total = 1_000_000
    with reporter(recording_client) as rep:
        for done in range(1, total + 1):
            rep.set_progress(done, total, step="items")
    sent = recording_client.progress
    assert 1 <= len(sent) < 500
    last = sent[-1]
    assert last["current_action"] == "train"
    assert last["current_action_index"] == 2
    assert last["action_progress"] == {
        "name": "train",
        "status": "running",
        "progress": 1_000_000.0,
        "total": 1_000_000.0,
        "progress_step": "items",
    }
    values = [call["action_progress"]["progress"] for call in sent]
    assert values == sorted(values)


def test_nothing_is_sent_when_nothing_changed(recording_client: RecordingClient) -> None:
    with reporter(recording_client):
        time.sleep(0.2)
    assert recording_client.progress == []
    assert recording_client.logs == []


def test_the_workers_lines_go_first_or_back_to_the_worker(
    recording_client: RecordingClient,
) -> None:
    client: Any = recording_client
    given = [{"message": "Action 'train' started", "level": "info", "action_name": "train"}]
    with ActionReporter(client, "run-1", "train", 2, first_logs=LogBatch("k1", given)) as rep:
        pass  # over before the first flush, having logged nothing: handed back, not sent
    assert rep.first_logs_sent is False
    assert recording_client.log_batches == 0
    with ActionReporter(client, "run-1", "train", 2, first_logs=LogBatch("k2", given)) as rep:
        rep.log("the action's own line")
    assert rep.first_logs_sent is True
    assert recording_client.log_batches == 2  # the worker's batch, under its key, then the rest
    assert recording_client.messages() == ["Action 'train' started", "the action's own line"]


def test_logs_arrive_within_a_second_while_the_action_runs(
    recording_client: RecordingClient,
) -> None:
    with reporter(recording_client, interval=0.5) as rep:
        rep.log("first", "warning")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not recording_client.logs:
            time.sleep(0.02)
        assert recording_client.messages() == ["first"]
        rep.log("last")
    assert recording_client.messages() == ["first", "last"]
    entry = recording_client.logs[0]
    assert entry["level"] == "warning"
    assert entry["action_name"] == "train"
    assert entry["timestamp"].endswith("+00:00")


def test_many_logs_go_in_bounded_batches_and_none_is_lost(
    recording_client: RecordingClient,
) -> None:
    count = 3 * LOG_BATCH_SIZE + 7
    with reporter(recording_client, interval=10) as rep:
        for number in range(count):
            rep.log(f"line {number}", "debug")
    assert recording_client.messages() == [f"line {number}" for number in range(count)]
    assert 4 <= recording_client.log_batches <= count // 100


def test_metrics_accumulate_and_ride_with_progress(recording_client: RecordingClient) -> None:
    with reporter(recording_client, interval=10) as rep:
        rep.set_metrics({"loss": 0.5})
        rep.set_progress(0.5)
        rep.set_metrics({"accuracy": 0.9, "loss": 0.25})
    assert rep.metrics == {"loss": 0.25, "accuracy": 0.9}
    assert recording_client.progress[-1]["action_progress"]["metrics"] == rep.metrics
    assert recording_client.progress[-1]["action_progress"]["progress"] == 0.5


def test_total_step_and_message_persist_until_changed(recording_client: RecordingClient) -> None:
    with reporter(recording_client, interval=10) as rep:
        rep.set_progress(1, 10, step="epoch", message="warming up")
        rep.set_progress(4)
    assert rep.total == 10
    assert recording_client.progress[-1]["action_progress"] == {
        "name": "train",
        "status": "running",
        "progress": 4.0,
        "total": 10.0,
        "progress_step": "epoch",
        "message": "warming up",
    }


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        ((-1,), ValueError, "progress must be a finite number >= 0"),
        ((float("nan"),), ValueError, "progress must be a finite number >= 0"),
        ((True,), TypeError, "progress must be a number"),
        (("3",), TypeError, "progress must be a number"),
        ((3,), ValueError, "without a total must be a fraction between 0 and 1"),
        ((11, 10), ValueError, "progress 11 exceeds total 10"),
        ((1, 0), ValueError, "total must be a finite number > 0"),
    ],
)
def test_bad_progress_is_refused_at_the_call(
    args: tuple[Any, ...], error: type[Exception], text: str, recording_client: RecordingClient
) -> None:
    rep = reporter(recording_client)
    with pytest.raises(error, match=text.replace("(", r"\(")):
        rep.set_progress(*args)


@pytest.mark.parametrize("value", [object(), float("nan"), {1, 2}])
def test_metrics_that_cannot_be_sent_are_refused_at_the_call(
    value: object, recording_client: RecordingClient
) -> None:
    with pytest.raises(ValueError, match="metrics must be JSON-serialisable"):
        reporter(recording_client).set_metrics({"bad": value})


def test_unknown_log_level_is_refused(recording_client: RecordingClient) -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        reporter(recording_client).log("x", "loud")


class FlakyClient(RecordingClient):
    """Fails the first call of each kind with a connection error, like a server restarting."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: set[str] = set()

    def report_progress(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        if "progress" not in self.failed:
            self.failed.add("progress")
            raise APIConnectionError("connection refused")
        return super().report_progress(run_id, **kwargs)

    def append_logs(
        self, run_id: str, entries: list[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        if "logs" not in self.failed:
            self.failed.add("logs")
            raise APIConnectionError("connection refused")
        return super().append_logs(run_id, entries, **kwargs)


def test_connection_errors_are_retried_at_the_next_flush() -> None:
    client = FlakyClient()
    with reporter(client) as rep:
        rep.set_progress(0.25)
        rep.log("kept")
        time.sleep(0.3)
    assert client.failed == {"progress", "logs"}
    assert client.progress[-1]["action_progress"]["progress"] == 0.25
    assert client.messages() == ["kept"]


class RejectingClient(RecordingClient):
    def report_progress(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        raise UnprocessableEntityError(422, "bad")


def test_a_rejected_report_never_breaks_the_action() -> None:
    client = RejectingClient()
    with reporter(client) as rep:
        rep.set_progress(0.5)
        rep.log("still logged")
    assert client.messages() == ["still logged"]


class DownForAWhileClient(RecordingClient):
    """Unreachable for its first `failures` calls, like a service being restarted."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def _down(self) -> None:
        with self.lock:
            self.failures -= 1
            if self.failures >= 0:
                raise APIConnectionError("connection refused")

    def report_progress(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        self._down()
        return super().report_progress(run_id, **kwargs)

    def append_logs(
        self, run_id: str, entries: list[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        self._down()
        return super().append_logs(run_id, entries, **kwargs)


def test_closing_retries_what_is_left_while_the_service_is_unreachable() -> None:
    client = DownForAWhileClient(failures=3)
    with reporter(client, interval=3600) as rep:  # only close() sends
        rep.set_progress(1.0)
        rep.log("the last line")
    assert client.progress[-1]["action_progress"]["progress"] == 1.0
    assert client.messages() == ["the last line"]


class FencedClient(RecordingClient):
    """Another worker claimed the run: every write of the old lease is refused."""

    def report_progress(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["lease_token"] == 7
        raise ConflictError(409, "the lease on run 'run-1' was lost")


def test_a_lost_lease_stops_sending_and_is_flagged() -> None:
    client: Any = FencedClient()
    rep = ActionReporter(client, "run-1", "train", 2, flush_interval=0.05, lease_token=7)
    with rep:
        rep.set_progress(0.5)
        deadline = time.monotonic() + 30
        while not rep.lease_lost.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        rep.log("never sent")
    assert client.messages() == []


class FailingThenStoringClient(RecordingClient):
    """Answers each log batch's first attempts with a 503 and a 429, then stores it; records the
    Idempotency-Key of every attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = [InternalServerError(503, "busy"), RateLimitError(429, "slow down")]
        self.keys: list[str] = []

    def append_logs(
        self, run_id: str, entries: list[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        self.keys.append(kwargs["idempotency_key"])
        if self.failures:
            raise self.failures.pop(0)
        return super().append_logs(run_id, entries, **kwargs)


def test_5xx_and_429_are_resent_under_the_batch_s_key() -> None:
    client = FailingThenStoringClient()
    with reporter(client) as rep:
        rep.log("kept")
    assert client.messages() == ["kept"]
    assert len(client.keys) == 3
    assert len(set(client.keys)) == 1


class SlowClient(RecordingClient):
    """A service that takes its time: the first log request waits until `go` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.waiting = threading.Event()

    def append_logs(
        self, run_id: str, entries: list[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        self.waiting.set()
        self.go.wait(30)
        return super().append_logs(run_id, entries, **kwargs)


def test_pending_lines_are_capped_in_log_itself_with_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No error at all, only a slow service: the oldest waiting lines are dropped once the cap
    is reached, and one warning line says how many."""
    monkeypatch.setattr(reporter_module, "MAX_PENDING_LOGS", 500)
    client = SlowClient()
    with reporter(client) as rep:
        rep.log("first")
        assert client.waiting.wait(30)  # "first" is on its way
        for number in range(2000):
            rep.log(f"line {number}")
        client.go.set()
    messages = client.messages()
    warnings = [m for m in messages if "were dropped" in m]
    assert len(warnings) == 1
    dropped = int(warnings[0].split()[0])
    lines = [m for m in messages if m.startswith("line ")]
    assert messages[0] == "first"
    assert len(lines) == 500 - 1  # "first", on its way, was waiting too
    assert dropped == 2000 - len(lines)
    assert lines == [f"line {n}" for n in range(dropped, 2000)]  # the newest are kept


def test_every_logged_point_is_sent_in_order_none_coalesced(
    recording_client: RecordingClient,
) -> None:
    calls = 2 * MAX_METRIC_BATCH + 5
    with reporter(recording_client, interval=0.01) as rep:
        for step in range(calls):
            rep.log_metrics({"loss": 1 / (step + 1)}, step=step)
    points = recording_client.points()
    assert [p["step"] for p in points] == list(range(calls))
    assert all(p["action_name"] == "train" for p in points)
    assert all(len(batch) <= MAX_METRIC_BATCH for _, batch in recording_client.metric_batches)
    keys = [key for key, _ in recording_client.metric_batches]
    assert len(set(keys)) == len(keys)


def test_steps_count_on_from_the_last_one(recording_client: RecordingClient) -> None:
    with reporter(recording_client, interval=10) as rep:
        rep.log_metrics({"a": 1})
        rep.log_metrics({"a": 2})
        rep.log_metrics({"a": 3}, step=10)
        rep.log_metrics({"a": 4, "b": 5})
    assert [(p["step"], p["values"]) for p in recording_client.points()] == [
        (0, {"a": 1.0}),
        (1, {"a": 2.0}),
        (10, {"a": 3.0}),
        (11, {"a": 4.0, "b": 5.0}),
    ]
    assert recording_client.progress == []  # set_metrics' channel is untouched


def test_non_finite_values_are_null_with_one_warning_per_metric(
    recording_client: RecordingClient, caplog: pytest.LogCaptureFixture
) -> None:
    with reporter(recording_client, interval=10) as rep:
        rep.log_metrics({"loss": float("nan"), "acc": 0.5})
        rep.log_metrics({"loss": float("inf"), "acc": float("-inf")})
        rep.log_metrics({"loss": float("nan")})
    assert [p["values"] for p in recording_client.points()] == [
        {"loss": None, "acc": 0.5},
        {"loss": None, "acc": None},
        {"loss": None},
    ]
    warnings = [e for e in recording_client.logs if e["level"] == "warning"]
    assert [w["message"].split(" is ")[0] for w in warnings] == ["metric 'loss'", "metric 'acc'"]
    assert "nan at step 0: recorded as null" in warnings[0]["message"]


@pytest.mark.parametrize(
    ("metrics", "step", "error", "text"),
    [
        ({"loss": "low"}, None, TypeError, "metric 'loss' must be a number"),
        ({"loss": True}, None, TypeError, "metric 'loss' must be a number"),
        ({"": 1}, None, ValueError, "a metric name must be"),
        ({"loss": 1}, -1, ValueError, "step must be an integer >= 0"),
        ({"loss": 1}, 1.5, ValueError, "step must be an integer >= 0"),
        ([("loss", 1)], None, TypeError, "metrics must be a mapping"),
    ],
)
def test_bad_metrics_are_refused_at_the_call(
    recording_client: RecordingClient, metrics: Any, step: Any, error: type, text: str
) -> None:
    with reporter(recording_client, interval=10) as rep, pytest.raises(error, match=text):
        rep.log_metrics(metrics, step)
    assert recording_client.points() == []


class PointsLostOnceClient(RecordingClient):
    """The first metric batch is stored but its answer never arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.stored_keys: list[str] = []

    def append_metrics(self, run_id: str, points: list[dict[str, Any]], **kwargs: Any) -> int:
        self.stored_keys.append(kwargs["idempotency_key"])
        if len(self.stored_keys) == 1:
            raise APIConnectionError("connection reset")
        return super().append_metrics(run_id, points, **kwargs)


def test_an_unacknowledged_batch_is_resent_under_its_key() -> None:
    client = PointsLostOnceClient()
    with reporter(client, interval=0.05) as rep:
        rep.log_metrics({"loss": 1.0})
        deadline = time.monotonic() + 30
        while len(client.stored_keys) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        rep.log_metrics({"loss": 0.5})
    assert client.stored_keys[0] == client.stored_keys[1]
    assert [p["values"]["loss"] for p in client.points()] == [1.0, 0.5]
