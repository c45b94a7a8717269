"""The request loop, with httpx.MockTransport: retries, idempotency keys, errors, config."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from pipeline_service import (
    AsyncPipelineServiceClient,
    PipelineServiceClient,
    __version__,
)
from pipeline_service._request import retry_delay
from pipeline_service.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from pipeline_service.wire import MAX_METRIC_BATCH

RUN: dict[str, Any] = {
    "id": "r1",
    "pipeline_id": "p1",
    "status": "pending",
    "params": None,
    "current_action": None,
    "current_action_index": 0,
    "progress": [],
    "result": None,
    "error": None,
    "work_dir": None,
    "started_at": None,
    "completed_at": None,
    "created_at": "2026-01-01T12:00:00",
}
PIPELINE = {
    "id": "p1",
    "name": "n",
    "description": None,
    "actions": [{"name": "a", "entrypoint": "m.A"}],
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:00:00Z",
}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler answering from a list (the last answer repeats); keeps requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(handler: Handler, **kwargs: Any) -> PipelineServiceClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return PipelineServiceClient("http://test", http_client=http, **kwargs)


def make_async_client(handler: Handler, **kwargs: Any) -> AsyncPipelineServiceClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AsyncPipelineServiceClient("http://test", http_client=http, **kwargs)


NOW = {"Retry-After": "0"}


def test_503_then_200_is_retried() -> None:
    rec = Recorder(
        httpx.Response(503, json={"detail": "busy"}, headers=NOW), httpx.Response(200, json=RUN)
    )
    assert make_client(rec).get_run("r1")["id"] == "r1"
    assert len(rec.requests) == 2


async def test_503_then_200_is_retried_async() -> None:
    rec = Recorder(
        httpx.Response(503, json={"detail": "busy"}, headers=NOW), httpx.Response(200, json=RUN)
    )
    async with make_async_client(rec) as client:
        assert (await client.get_run("r1"))["id"] == "r1"
    assert len(rec.requests) == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 520])
def test_retryable_statuses(status: int) -> None:
    rec = Recorder(httpx.Response(status, headers=NOW), httpx.Response(200, json=[]))
    assert make_client(rec).list_runs() == []
    assert len(rec.requests) == 2


def test_retries_give_up_after_max_retries() -> None:
    rec = Recorder(httpx.Response(503, json={"detail": "still busy"}, headers=NOW))
    with pytest.raises(InternalServerError) as info:
        make_client(rec, max_retries=3).get_run("r1")
    assert len(rec.requests) == 4
    assert info.value.status_code == 503
    assert "still busy" in str(info.value)


def test_max_retries_zero_disables_retries_per_client_and_per_call() -> None:
    rec = Recorder(httpx.Response(503, headers=NOW))
    with pytest.raises(InternalServerError):
        make_client(rec, max_retries=0).get_run("r1")
    assert len(rec.requests) == 1
    rec = Recorder(httpx.Response(503, headers=NOW))
    client = make_client(rec, max_retries=5)
    with pytest.raises(InternalServerError):
        client.with_options(max_retries=0).get_run("r1")
    assert len(rec.requests) == 1
    assert client.max_retries == 5


def test_with_options_keeps_the_other_settings_and_the_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rec = Recorder(httpx.Response(200, json=RUN))
    client = make_client(rec, token="secret", timeout=7, stream_idle_timeout=9)
    monkeypatch.delenv("PIPELINE_SERVICE_TOKEN", raising=False)
    anonymous = make_client(rec)
    monkeypatch.setenv("PIPELINE_SERVICE_TOKEN", "from-the-environment")
    copy = client.with_options(max_retries=0, stream_max_reconnects=1)
    assert type(copy) is PipelineServiceClient
    assert (copy.base_url, copy.timeout, copy.max_retries) == ("http://test", 7, 0)
    copy.get_run("r1")
    assert rec.requests[-1].headers["Authorization"] == "Bearer secret"
    copy.close()  # the copy does not own the connections
    client.get_run("r1")
    assert len(rec.requests) == 2
    anonymous.with_options(timeout=3).get_run("r1")
    assert "Authorization" not in rec.requests[-1].headers
    with pytest.raises(ValueError, match="positive"):
        client.with_options(timeout=-1)


def test_post_with_idempotency_key_is_retried_with_the_same_key() -> None:
    rec = Recorder(
        httpx.ConnectError("refused"),
        httpx.Response(502, headers=NOW),
        httpx.Response(201, json=PIPELINE),
    )
    make_client(rec).create_pipeline("n", [{"name": "a", "entrypoint": "m.A"}])
    keys = [r.headers.get("Idempotency-Key") for r in rec.requests]
    assert len(keys) == 3
    assert keys[0]
    assert len(set(keys)) == 1
    # Each call gets its own key.
    make_client(rec).create_pipeline("n", [{"name": "a", "entrypoint": "m.A"}])
    assert rec.requests[-1].headers["Idempotency-Key"] != keys[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_run("p1"),
        lambda c: c.create_checkpoint("r1", "a", 0),
        lambda c: c.append_logs("r1", [{"message": "m"}]),
    ],
)
def test_every_create_sends_a_key(call: Callable[[PipelineServiceClient], Any]) -> None:
    rec = Recorder(httpx.Response(500, headers=NOW), httpx.Response(404, json={"detail": "x"}))
    with pytest.raises(NotFoundError):
        call(make_client(rec))
    assert len(rec.requests) == 2
    assert rec.requests[0].headers["Idempotency-Key"] == rec.requests[1].headers["Idempotency-Key"]


def test_caller_chosen_idempotency_key() -> None:
    rec = Recorder(httpx.Response(201, json=PIPELINE))
    make_client(rec).create_pipeline("n", [], idempotency_key="my-key")
    assert rec.requests[0].headers["Idempotency-Key"] == "my-key"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.report_progress("r1", status="running"),
        lambda c: c.update_run("r1", status="running"),
        lambda c: c.claim_run("w1"),
    ],
)
def test_post_and_patch_without_key_are_not_retried(
    call: Callable[[PipelineServiceClient], Any],
) -> None:
    rec = Recorder(httpx.Response(503, headers=NOW), httpx.Response(200, json=RUN))
    with pytest.raises(InternalServerError):
        call(make_client(rec))
    assert len(rec.requests) == 1
    rec = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json=RUN))
    with pytest.raises(APITimeoutError):
        call(make_client(rec))
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.report_progress("r1", status="running", idempotency_key="k-1"),
        lambda c: c.update_run("r1", status="running", idempotency_key="k-1"),
    ],
)
def test_progress_and_patch_with_a_key_are_retried_under_it(
    call: Callable[[PipelineServiceClient], Any],
) -> None:
    rec = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json=RUN))
    call(make_client(rec))
    assert [r.headers["Idempotency-Key"] for r in rec.requests] == ["k-1", "k-1"]


def test_retry_after_is_honoured() -> None:
    rec = Recorder(
        httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200, json=[])
    )
    started = time.monotonic()
    make_client(rec).list_pipelines()
    assert time.monotonic() - started >= 0.3
    assert len(rec.requests) == 2


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    delays = [retry_delay(n) for n in range(1, 8)]
    assert 0.375 <= delays[0] <= 0.5
    assert 0.75 <= delays[1] <= 1.0
    assert all(d <= 8.0 for d in delays)
    assert delays[-1] >= 6.0
    assert retry_delay(1, httpx.Response(503, headers={"Retry-After": "2"})) == 2.0
    assert retry_delay(1, httpx.Response(503, headers={"retry-after-ms": "150"})) == 0.15
    # An absurd Retry-After falls back to the computed delay.
    assert retry_delay(1, httpx.Response(503, headers={"Retry-After": "86400"})) <= 0.5


def test_connection_errors_and_timeouts() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        make_client(rec, max_retries=1).get_run("r1")
    assert not isinstance(info.value, APITimeoutError)
    assert len(rec.requests) == 2
    rec = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json=RUN))
    assert make_client(rec).get_run("r1")["id"] == "r1"
    rec = Recorder(httpx.ConnectTimeout("slow"))
    with pytest.raises(APITimeoutError):
        make_client(rec, max_retries=0).get_run("r1")


def test_connection_errors_say_what_happened_by_default() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/api/v1/runs/r1")
    assert str(APIConnectionError()) == "Connection error."
    assert str(APITimeoutError(request=request)) == "Request timed out."
    assert APITimeoutError(request=request).request is request
    assert (
        str(APITimeoutError("Waiting for run 'r1' timed out")) == "Waiting for run 'r1' timed out"
    )


async def test_timeouts_async() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    async with make_async_client(rec, max_retries=1) as client:
        with pytest.raises(APITimeoutError):
            await client.get_run("r1")
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (520, InternalServerError),
        (499, APIStatusError),
        (418, APIStatusError),
        (302, APIStatusError),
        (600, APIStatusError),
    ],
)
def test_status_codes_map_to_errors(status: int, error: type[APIStatusError]) -> None:
    rec = Recorder(httpx.Response(status, json={"detail": f"detail of {status}"}, headers=NOW))
    with pytest.raises(APIStatusError) as info:
        make_client(rec, max_retries=0).get_run("r1")
    assert type(info.value) is error
    assert info.value.status_code == status
    assert info.value.detail == f"detail of {status}"
    assert f"detail of {status}" in str(info.value)
    assert info.value.response is not None


def test_list_shaped_detail_and_non_json_bodies() -> None:
    detail = [
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {"loc": ["query", "limit"], "msg": "too big"},
    ]
    rec = Recorder(httpx.Response(422, json={"detail": detail}))
    with pytest.raises(UnprocessableEntityError) as info:
        make_client(rec).get_run("r1")
    assert info.value.detail == detail
    assert "body.name: Field required; query.limit: too big" in str(info.value)

    rec = Recorder(httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(InternalServerError) as info2:
        make_client(rec, max_retries=0).get_run("r1")
    assert "Bad gateway" in str(info2.value)


def test_malformed_success_bodies_are_a_clear_error() -> None:
    for body in (b"not json", b'{"id": 1}', b"[]"):
        rec = Recorder(httpx.Response(200, content=body))
        with pytest.raises(APIResponseValidationError) as info:
            make_client(rec).get_run("r1")
        assert "GET http://test/api/v1/runs/r1" in str(info.value)


def test_forward_compatible_parsing() -> None:
    progress = {
        "run_id": "r1",
        "pipeline_id": "p1",
        "status": "paused",
        "current_action": "a",
        "current_action_index": 0,
        "progress": [
            {
                "name": "a",
                "status": "waiting",
                "progress_category": "epoch",
                "brand_new_field": 1,
                "started_at": "2026-01-01T12:00:00",
            }
        ],
        "error": None,
        "started_at": "2026-01-01T12:00:00",
        "completed_at": None,
        "added_later": True,
    }
    client = make_client(Recorder(httpx.Response(200, json=progress)))
    parsed = client.get_progress("r1")
    assert parsed.status == "paused"
    assert not parsed.status.is_known
    assert not parsed.is_terminal
    assert parsed.actions[0].status == "waiting"
    assert parsed.actions[0].progress_step == "epoch"
    assert parsed.started_at is not None
    assert parsed.started_at.utcoffset() is not None
    assert parsed.actions[0].started_at is not None
    assert parsed.actions[0].started_at.utcoffset() is not None

    run = {**RUN, "status": "archived", "new_key": [1]}
    parsed_run = make_client(Recorder(httpx.Response(200, json=run))).get_run("r1")
    assert parsed_run["status"] == "archived"
    assert parsed_run["new_key"] == [1]  # type: ignore[typeddict-item]


def test_headers_base_url_and_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_SERVICE_URL", "http://from-env:1234/prefix")
    monkeypatch.setenv("PIPELINE_SERVICE_TOKEN", "env-token")
    rec = Recorder(httpx.Response(200, json=RUN))
    client = PipelineServiceClient(http_client=httpx.Client(transport=httpx.MockTransport(rec)))
    client.get_run("r/1")
    request = rec.requests[0]
    assert str(request.url) == "http://from-env:1234/prefix/api/v1/runs/r%2F1"
    assert request.headers["Authorization"] == "Bearer env-token"
    assert request.headers["User-Agent"] == f"pipeline-service-python/{__version__}"
    assert client.base_url == "http://from-env:1234/prefix"
    # Arguments win over the environment.
    rec2 = Recorder(httpx.Response(200, json=RUN))
    explicit = make_client(rec2, token="arg-token")
    explicit.get_run("r1")
    assert rec2.requests[0].headers["Authorization"] == "Bearer arg-token"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_SERVICE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SERVICE_TOKEN", raising=False)
    client = PipelineServiceClient()
    assert client.base_url == "http://localhost:8100"
    assert client.timeout == 30.0
    assert client.max_retries == 2
    rec = Recorder(httpx.Response(200, json=RUN))
    make_client(rec).get_run("r1")
    assert "Authorization" not in rec.requests[0].headers
    client.close()


def test_debug_logging_never_prints_the_token(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(httpx.Response(503, headers=NOW), httpx.Response(200, json=RUN))
    client = make_client(rec, token="very-secret-token")
    with caplog.at_level(logging.DEBUG, logger="pipeline_service"):
        client.get_run("r1")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET http://test/api/v1/runs/r1 -> 503" in text
    assert "Retrying GET" in text
    assert "very-secret-token" not in text
    assert "very-secret-token" not in repr(client._requester.config)


def test_sent_datetimes_carry_an_offset() -> None:
    from datetime import datetime

    from pipeline_service import ActionProgress, LogEntry

    rec = Recorder(httpx.Response(200, json=RUN))
    client = make_client(rec)
    client.report_progress(
        "r1", action_progress=ActionProgress(name="a", started_at=datetime(2026, 1, 1, 12, 0))
    )
    client.report_progress(
        "r1", action_progress={"name": "a", "completed_at": "2026-01-01T13:00:00"}
    )
    body = json.loads(rec.requests[0].content)
    assert body == {"action_progress": {"name": "a", "started_at": "2026-01-01T12:00:00+00:00"}}
    body = json.loads(rec.requests[1].content)
    assert body["action_progress"]["completed_at"] == "2026-01-01T13:00:00+00:00"

    rec = Recorder(httpx.Response(201, json=[]))
    make_client(rec).append_logs("r1", [LogEntry(message="m", timestamp=datetime(2026, 1, 1))])
    body = json.loads(rec.requests[0].content)
    assert body == {"entries": [{"message": "m", "timestamp": "2026-01-01T00:00:00+00:00"}]}

    rec = Recorder(httpx.Response(200, json=[]))
    make_client(rec).get_logs("r1", since=datetime(2026, 1, 1))
    assert rec.requests[0].url.params["since"] == "2026-01-01T00:00:00+00:00"


def test_only_given_fields_are_sent() -> None:
    rec = Recorder(httpx.Response(200, json=PIPELINE))
    make_client(rec).update_pipeline("p1", description=None)
    assert json.loads(rec.requests[0].content) == {"description": None}
    rec = Recorder(httpx.Response(200, json=RUN))
    make_client(rec).update_run("r1", result={"a": 1})
    make_client(rec).create_run("p1")
    assert json.loads(rec.requests[0].content) == {"result": {"a": 1}}
    assert json.loads(rec.requests[1].content) == {}


@pytest.mark.slow
def test_large_log_batches_are_split() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        entries = json.loads(request.content)["entries"]
        return httpx.Response(
            201,
            json=[
                {
                    "id": str(i),
                    "run_id": "r1",
                    "action_name": None,
                    "level": "info",
                    "message": e["message"],
                    "timestamp": "2026-01-01T00:00:00Z",
                }
                for i, e in enumerate(entries)
            ],
        )

    client = make_client(handler)
    records = client.append_logs("r1", [{"message": str(i)} for i in range(25_001)])
    assert [r["message"] for r in records] == [str(i) for i in range(25_001)]


def test_health_check_never_raises() -> None:
    assert make_client(Recorder(httpx.ConnectError("down"))).health_check() is False
    assert make_client(Recorder(httpx.Response(503, json={"detail": "db"}))).health_check() is False
    assert make_client(Recorder(httpx.Response(200, content=b"garbage"))).health_check() is False
    ok = {"status": "healthy", "service": "s", "version": "1"}
    assert make_client(Recorder(httpx.Response(200, json=ok))).health_check() is True
    # A v1-core style answer without service/version is still healthy.
    minimal = Recorder(httpx.Response(200, json={"status": "healthy"}))
    assert make_client(minimal).health_check() is True

    async def main() -> tuple[bool, bool]:
        async with (
            make_async_client(Recorder(httpx.ConnectError("down"))) as down,
            make_async_client(Recorder(httpx.Response(200, json=ok))) as up,
        ):
            return await down.health_check(), await up.health_check()

    assert anyio.run(main) == (False, True)


def test_injected_client_is_left_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(Recorder(httpx.Response(200, json=RUN))))
    with PipelineServiceClient("http://test", http_client=http) as client:
        client.get_run("r1")
    assert not http.is_closed
    http.close()
    own = PipelineServiceClient("http://test")
    own.close()
    assert own._requester.http.is_closed


def test_v1_core_progress_without_pipeline_id() -> None:
    """The v1 core's GET /progress (and its stream events) carry no `pipeline_id`."""
    v1_progress = {
        "run_id": "r1",
        "status": "running",
        "current_action": "a",
        "current_action_index": 0,
        "progress": [{"name": "a", "status": "running", "progress": 0.5}],
        "error": None,
        "started_at": "2026-01-01T12:00:00",
        "completed_at": None,
    }
    parsed = make_client(Recorder(httpx.Response(200, json=v1_progress))).get_progress("r1")
    assert (parsed.run_id, parsed.pipeline_id, parsed.actions[0].fraction) == ("r1", None, 0.5)

    async def main() -> Any:
        async with make_async_client(Recorder(httpx.Response(200, json=v1_progress))) as client:
            return await client.get_progress("r1")

    assert anyio.run(main).pipeline_id is None
    done = {**v1_progress, "status": "completed"}
    body = f"event: completed\ndata: {json.dumps(done)}\n\n".encode()
    stream = httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    [final] = list(make_client(Recorder(stream)).stream_progress("r1"))
    assert (final.status, final.pipeline_id) == ("completed", None)


def test_metric_batches_take_a_key_each_and_are_all_checked_before_one_is_sent() -> None:
    points = [
        {"action_name": "a", "step": i, "values": {"loss": 1.0}}
        for i in range(MAX_METRIC_BATCH + 1)
    ]
    rec = Recorder(
        httpx.Response(201, json={"run_id": "r1", "accepted": MAX_METRIC_BATCH}),
        httpx.Response(201, json={"run_id": "r1", "accepted": 1}),
    )
    assert make_client(rec).append_metrics("r1", points, idempotency_key="k") == len(points)
    assert [r.headers["Idempotency-Key"] for r in rec.requests] == ["k-0", "k-1"]
    one = Recorder(httpx.Response(201, json={"run_id": "r1", "accepted": 1}))
    make_client(one).append_metrics("r1", points[:1], idempotency_key="k")
    assert [r.headers["Idempotency-Key"] for r in one.requests] == ["k"]
    # A bad point in the second batch: refused before the first batch is written.
    unsent = Recorder(httpx.Response(201, json={"run_id": "r1", "accepted": 1}))
    with pytest.raises(ValueError, match="append_metrics"):
        make_client(unsent).append_metrics("r1", [*points, {"step": 1}], idempotency_key="k")
    assert unsent.requests == []


def test_iter_logs_stops_after_a_page_without_seq() -> None:
    # A server of the v1 core API sends no `seq` and knows no cursor: a full page is all there is.
    record = {
        "id": "l1",
        "run_id": "r1",
        "action_name": None,
        "level": "info",
        "message": "m",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    rec = Recorder(httpx.Response(200, json=[record, record]))
    assert len(list(make_client(rec).iter_logs("r1", page_size=2))) == 2
    assert len(rec.requests) == 1
