"""Drift: the wire vocabulary (record TypedDicts, statuses, levels, limits) against openapi.yaml."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest

from pipeline_service import types, wire
from pipeline_service.models import ActionStatus, LogLevel, RunStatus
from pipeline_service.spec import load_spec

SCHEMAS: dict[str, Any] = load_spec()["components"]["schemas"]

# Each record type and the schema of the document it describes.
RECORDS: dict[str, Any] = {
    "ActionDefinition": types.ActionDefinition,
    "ActionProgress": types.ActionProgressState,
    "ActionResources": types.ActionResources,
    "Artifact": types.Artifact,
    "Checkpoint": types.Checkpoint,
    "Health": types.Health,
    "Lease": types.Lease,
    "LogRecord": types.LogRecord,
    "LoggedMetric": types.LoggedMetric,
    "MetricsAppended": types.MetricsAppended,
    "MetricPoint": types.MetricPoint,
    "MetricSeries": types.MetricSeries,
    "Pipeline": types.Pipeline,
    "Progress": types.Progress,
    "RanOn": types.RanOn,
    "Run": types.Run,
    "RunClaim": types.RunClaim,
    "RunEvent": types.RunEvent,
    "RunMetrics": types.RunMetrics,
    "RunRemoved": types.RunRemoved,
    "RunSummary": types.RunSummary,
    "RunsStreamMark": types.RunsStreamMark,
    "RuntimeEnv": types.RuntimeEnv,
    "StepPoint": types.StepPoint,
}

ENUMS = {
    "RunStatus": (wire.RUN_STATUSES, wire.RunStatusName, RunStatus),
    "ActionStatus": (wire.ACTION_STATUSES, wire.ActionStatusName, ActionStatus),
    "LogLevel": (wire.LOG_LEVELS, wire.LogLevelName, LogLevel),
}


def test_every_response_record_of_the_spec_has_a_type() -> None:
    """Every object schema a response carries (not a request body, not an event) is typed."""
    requests_and_events = {
        name
        for name in SCHEMAS
        if re.search(r"(Create|Update|Request|Batch|Entry|Error|Issue)$", name)
        or "data" in SCHEMAS[name].get("properties", {})  # a Server-Sent Event's frame
    }
    objects = {
        name
        for name, schema in SCHEMAS.items()
        if schema.get("type") == "object"
        and "properties" in schema  # not a map such as Labels
        and name not in requests_and_events
    }
    assert objects - {"StreamError", "LogStreamEnd"} == set(RECORDS)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_record_keys_and_required_keys_match_the_schema(name: str) -> None:
    schema, record = SCHEMAS[name], RECORDS[name]
    assert set(typing.get_type_hints(record)) == set(schema["properties"]), name
    assert record.__required_keys__ == set(schema.get("required", [])), name


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_status_and_level_names_match_the_spec(name: str) -> None:
    values, literal, enum = ENUMS[name]
    spec_values = tuple(SCHEMAS[name]["enum"])
    assert values == spec_values
    assert typing.get_args(literal) == spec_values
    assert tuple(member.value for member in enum) == spec_values


def test_terminal_statuses_are_those_the_spec_names() -> None:
    terminal = set(re.findall(r"`(\w+)`", SCHEMAS["RunStatus"]["description"]))
    assert terminal == wire.TERMINAL_RUN_STATUSES
    assert {s for s in RunStatus if s.is_terminal} == terminal
    assert set(wire.ACTION_STATUSES) > wire.TERMINAL_ACTION_STATUSES


def test_log_batch_limit_is_the_spec_limit() -> None:
    assert SCHEMAS["LogBatch"]["properties"]["entries"]["maxItems"] == wire.MAX_LOG_BATCH


def test_limits_are_those_the_spec_states() -> None:
    limits = load_spec()["info"]["x-limits"]
    assert limits == {
        "max-json-depth": wire.MAX_JSON_DEPTH,
        "default-max-field-bytes": wire.DEFAULT_MAX_FIELD_BYTES,
        "max-page-bytes": wire.MAX_PAGE_BYTES,
    }


def test_page_sizes_are_the_spec_maxima() -> None:
    spec = load_spec()
    limit = spec["components"]["parameters"]["Limit"]["schema"]
    assert limit["maximum"] == wire.MAX_PAGE_ITEMS
    logs = spec["paths"]["/api/v1/runs/{run_id}/logs/"]["get"]["parameters"]
    (log_limit,) = [p["schema"] for p in logs if p.get("name") == "limit"]
    assert log_limit["maximum"] == wire.MAX_LOG_PAGE_ITEMS


def test_metric_limits_are_the_spec_limits() -> None:
    assert SCHEMAS["MetricBatch"]["properties"]["points"]["maxItems"] == wire.MAX_METRIC_BATCH
    description = load_spec()["paths"]["/api/v1/runs/{run_id}/metrics"]["get"]["description"]
    assert f"{wire.MAX_STEP_POINTS:,}" in description
