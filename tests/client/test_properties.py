"""Property-based: every response body and stream event that openapi.yaml allows is parsed by
the client without error (generated from the spec's own schemas)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_service import PipelineProgress, PipelineServiceClient
from pipeline_service.errors import APIStatusError
from pipeline_service.spec import load_spec
from pipeline_service.streaming import LogEvents, ProgressEvents

from .schema_strategies import from_schema, resolve, validator

# Generated bodies by the hundred per operation: the full suite's, not the fast lane's.
pytestmark = pytest.mark.slow

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# How the client reaches each operation that answers with a JSON body.
CALLS: dict[str, Callable[[PipelineServiceClient], Any]] = {
    "get_health": lambda c: c.health_check(),
    "create_pipeline": lambda c: c.create_pipeline("n", []),
    "list_pipelines": lambda c: c.list_pipelines(),
    "get_pipeline": lambda c: c.get_pipeline("p"),
    "update_pipeline": lambda c: c.update_pipeline("p", name="n"),
    "create_run": lambda c: c.create_run("p"),
    "list_pipeline_runs": lambda c: c.list_pipeline_runs("p"),
    "list_runs": lambda c: c.list_runs(),
    "claim_run": lambda c: c.claim_run("w"),
    "get_run": lambda c: c.get_run("r"),
    "update_run": lambda c: c.update_run("r", status="running"),
    "cancel_run": lambda c: c.cancel_run("r"),
    "renew_lease": lambda c: c.renew_lease("r", "w"),
    "report_progress": lambda c: c.report_progress("r", status="running"),
    "get_progress": lambda c: c.get_progress("r"),
    "get_metrics": lambda c: c.get_metrics("r"),
    "create_checkpoint": lambda c: c.create_checkpoint("r", "a", 0),
    "list_checkpoints": lambda c: c.get_checkpoints("r"),
    "get_latest_checkpoint": lambda c: c.get_latest_checkpoint("r"),
    "get_checkpoint_by_action": lambda c: c.get_checkpoint_by_action("r", "a"),
    "append_logs": lambda c: c.append_logs("r", [{"message": "m"}]),
    "get_logs": lambda c: c.get_logs("r"),
    "append_metrics": lambda c: c.append_metrics(
        "r", [{"action_name": "a", "step": 0, "values": {"loss": 1.0}}]
    ),
    "list_run_events": lambda c: c.list_run_events("r"),
    "list_artifacts": lambda c: c.list_artifacts("r"),
    "upload_artifact": lambda c: c.upload_artifact("r", "a.bin", b"abc"),
}


# Operations without a JSON success body, reached for their error answers.
ERROR_CALLS: dict[str, Callable[[PipelineServiceClient], Any]] = {
    **CALLS,
    "delete_pipeline": lambda c: c.delete_pipeline("p"),
    "delete_run": lambda c: c.delete_run("r"),
    "release_lease": lambda c: c.release_lease("r", "w"),
    "stream_progress": lambda c: list(c.stream_progress("r")),
    "stream_logs": lambda c: list(c.follow_logs("r")),
    "stream_runs": lambda c: list(c.stream_runs()),
    "download_artifact": lambda c: c.download_artifact("r", "a.bin", _scratch() / "a.bin"),
}


def _scratch() -> Path:
    """A directory for downloads that error answers never let write to."""
    return Path(tempfile.gettempdir()) / "pipeline-service-property-downloads"


def json_responses() -> list[tuple[str, int, dict[str, Any]]]:
    """(operationId, status, schema) of every JSON response in the spec."""
    found = []
    spec = load_spec()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                content = response.get("content", {}).get("application/json")
                if content:
                    found.append((operation["operationId"], int(status), content["schema"]))
    return found


RESPONSES = json_responses()
SUCCESSES = [(op, status, schema) for op, status, schema in RESPONSES if status < 300]
FAILURES = [(op, status, schema) for op, status, schema in RESPONSES if status >= 400]


def test_every_json_operation_is_covered() -> None:
    assert {op for op, _, _ in SUCCESSES} == set(CALLS)
    assert {op for op, _, _ in FAILURES} == set(ERROR_CALLS)


def client_answering(status: int, body: Any) -> PipelineServiceClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return PipelineServiceClient("http://test", http_client=http, max_retries=0)


@pytest.mark.parametrize(
    ("operation", "status", "schema"),
    SUCCESSES,
    ids=[f"{op}-{status}" for op, status, _ in SUCCESSES],
)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_success_body_the_spec_allows_is_parsed(
    operation: str, status: int, schema: dict[str, Any], data: st.DataObject
) -> None:
    body = data.draw(from_schema(schema), label="body")
    validator(schema).validate(body)  # the generator stays inside the spec
    result = CALLS[operation](client_answering(status, body))
    if operation == "get_health":
        assert result is True
    elif operation == "get_progress":
        assert isinstance(result, PipelineProgress)
        assert result.run_id == body["run_id"]
        assert [a.name for a in result.actions] == [a["name"] for a in body["progress"]]
        assert result.status == body["status"]
        for moment in (result.started_at, result.completed_at):
            assert moment is None or moment.utcoffset() is not None
    elif operation == "append_metrics":
        assert result == body["accepted"]  # the number of points stored
    else:
        assert result == body  # plain dicts, unknown keys kept


@pytest.mark.parametrize(
    ("operation", "status", "schema"),
    FAILURES,
    ids=[f"{op}-{status}" for op, status, _ in FAILURES],
)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_every_error_body_the_spec_allows_becomes_an_api_status_error(
    operation: str, status: int, schema: dict[str, Any], data: st.DataObject
) -> None:
    body = data.draw(from_schema(schema), label="body")
    client = client_answering(status, body)
    if operation == "get_health":
        assert client.health_check() is False
        return
    with pytest.raises(APIStatusError) as info:
        ERROR_CALLS[operation](client)
    assert info.value.status_code == status
    assert info.value.detail == body["detail"]
    assert str(info.value).startswith(str(status))


def event_schema(name: str) -> dict[str, Any]:
    return resolve({"$ref": f"#/components/schemas/{name}"})


@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_progress_event_the_spec_allows_is_read(data: st.DataObject) -> None:
    schema = event_schema("ProgressEvent")
    event = data.draw(st.sampled_from(schema["properties"]["event"]["enum"]), label="event")
    payload_schema = resolve(
        {
            "$ref": "#/components/schemas/StreamError"
            if event == "error"
            else "#/components/schemas/Progress"
        }
    )
    payload = data.draw(from_schema(payload_schema), label="data")
    event_id = data.draw(st.none() | from_schema(schema["properties"]["id"]), label="id")
    retry = data.draw(st.none() | from_schema(schema["properties"]["retry"]), label="retry")
    handler = ProgressEvents("r1")
    sse = ServerSentEvent(event=event, data=json.dumps(payload), id=event_id, retry=retry)
    if event == "error":
        with pytest.raises(APIStatusError):
            handler.handle(sse)
        return
    progress = handler.handle(sse)
    assert isinstance(progress, PipelineProgress)
    assert progress.version == (int(event_id) if event_id else None)
    assert progress.status == payload["status"]
    assert handler.done == (event != "progress" or progress.is_terminal)
    assert handler.retry_ms == retry
    # The same event again is never yielded twice.
    assert handler.handle(sse) is None


@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_log_event_the_spec_allows_is_read(data: st.DataObject) -> None:
    schema = event_schema("LogEvent")
    event = data.draw(st.sampled_from(schema["properties"]["event"]["enum"]), label="event")
    name = {"log": "LogRecord", "end": "LogStreamEnd", "error": "StreamError"}[event]
    payload = data.draw(from_schema({"$ref": f"#/components/schemas/{name}"}), label="data")
    event_id = data.draw(st.none() | from_schema(schema["properties"]["id"]), label="id")
    handler = LogEvents("r1")
    sse = ServerSentEvent(event=event, data=json.dumps(payload), id=event_id)
    if event == "error":
        with pytest.raises(APIStatusError):
            handler.handle(sse)
    elif event == "end":
        assert handler.handle(sse) is None
        assert handler.done
        assert handler.final_status == payload["status"]
    else:
        assert handler.handle(sse) == payload
        assert not handler.done
