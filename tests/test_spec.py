"""openapi.yaml is valid OpenAPI 3.1 and describes every endpoint it lists by the API's rules (the
list of endpoints comes from the spec itself)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from pipeline_service.spec import load_spec
from tests.sample import API

SPEC = load_spec()


HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def parameters(path: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    shared = SPEC["paths"][path].get("parameters", [])
    return [resolve(p) for p in [*shared, *op.get("parameters", [])]]


def success_status(op: dict[str, Any]) -> str:
    """The first 2xx status an operation documents."""
    return next(status for status in sorted(op["responses"]) if status.startswith("2"))


# Every endpoint, as the spec lists it: the tests below hold each to the rules of the API.
ENDPOINTS = [
    pytest.param(method, path, op, id=f"{method.upper()} {path}")
    for method, path, op in operations()
]
CREATING_POSTS = [
    path for method, path, op in operations() if method == "post" and success_status(op) == "201"
]


def test_the_spec_lists_the_v1_core_endpoints() -> None:
    """The derived list is not empty by accident: the v1 core endpoints are all there."""
    listed = {(method, path) for method, path, _ in operations()}
    core = {
        ("get", "/health"),
        ("post", f"{API}/pipelines/"),
        ("get", f"{API}/runs/{{run_id}}/progress/stream"),
        ("post", f"{API}/runs/{{run_id}}/logs/"),
    }
    assert core <= listed
    assert len(CREATING_POSTS) >= 4


@pytest.mark.parametrize(("method", "path", "op"), ENDPOINTS)
def test_endpoint_is_described(method: str, path: str, op: dict[str, Any]) -> None:
    """A success status with its body; a 404 and a 422 wherever the path names something; 401
    under the API prefix; 409 on fenced writes; every path parameter described."""
    statuses = set(op["responses"])
    success = success_status(op)
    assert op.get("operationId"), "no operationId"
    assert op.get("summary") or op.get("description"), "not described"
    placeholders = set(re.findall(r"{(\w+)}", path))
    described = {p["name"] for p in parameters(path, op) if p["in"] == "path"}
    assert described == placeholders
    if placeholders:
        assert {"404", "422"} <= statuses
    if path.startswith(API):
        assert "401" in statuses
    if "Lease-Token" in {p["name"] for p in parameters(path, op)}:
        assert "409" in statuses  # a fenced write: the lease is someone else's
    if method == "delete":
        assert success == "204"
    if success != "204":
        assert resolve(op["responses"][success]).get("content"), f"{success} has no body"


def test_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(SPEC).validate()


def test_operation_ids_are_unique_and_tagged() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    tag_names = {t["name"] for t in SPEC["tags"]}
    for _, _, op in operations():
        assert len(op["tags"]) == 1
        assert op["tags"][0] in tag_names


def test_every_error_response_uses_the_error_schema() -> None:
    for method, path, op in operations():
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            schema = resolve(response)["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"


def test_422_on_every_operation_that_takes_input() -> None:
    for method, path, op in operations():
        if parameters(path, op) or "requestBody" in op:
            assert "422" in op["responses"], f"{method.upper()} {path}"


def test_bodies_have_400_413_and_415() -> None:
    for method, path, op in operations():
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(op["responses"]), f"{method.upper()} {path}"


def test_every_page_says_where_to_continue() -> None:
    """Each operation answering a page (skip/limit or the log cursor) documents `Link`."""
    for _method, path, op in operations():
        names = {p["name"] for p in parameters(path, op)}
        if "limit" in names:
            headers = op["responses"]["200"].get("headers", {})
            assert headers.get("Link") == {"$ref": "#/components/headers/NextPage"}, path


def test_idempotency_key_on_every_creating_post() -> None:
    for path in CREATING_POSTS:
        op = SPEC["paths"][path]["post"]
        names = {p["name"] for p in parameters(path, op)}
        assert "Idempotency-Key" in names, path
        assert "409" in op["responses"], path


def test_bearer_auth_is_optional_everywhere_but_health_is_open() -> None:
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert {} in SPEC["security"]
    assert {"bearerAuth": []} in SPEC["security"]
    assert SPEC["paths"]["/health"]["get"]["security"] == []
    for method, path, op in operations():
        if path.startswith(API):
            assert "401" in op["responses"], f"{method.upper()} {path}"


def test_log_batch_limit() -> None:
    batch = SPEC["components"]["schemas"]["LogBatch"]
    assert batch["properties"]["entries"]["maxItems"] == 10_000


def test_progress_stream_is_described_as_events() -> None:
    path = f"{API}/runs/{{run_id}}/progress/stream"
    op = SPEC["paths"][path]["get"]
    assert "Last-Event-ID" in {p["name"] for p in parameters(path, op)}
    event = resolve(op["responses"]["200"]["content"]["text/event-stream"]["schema"])
    assert set(event["properties"]) == {"event", "id", "retry", "data"}
    data = event["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    refs = [s["$ref"] for s in data["contentSchema"]["anyOf"]]
    assert "#/components/schemas/Progress" in refs


def test_additional_properties_as_the_contract_says() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in ("ActionProgress", "ActionDefinition"):
        assert schemas[name]["additionalProperties"] is True
    for name in (
        "PipelineCreate",
        "PipelineUpdate",
        "RunCreate",
        "RunUpdate",
        "ProgressUpdate",
        "CheckpointCreate",
        "LogEntry",
        "LogBatch",
    ):
        assert schemas[name]["additionalProperties"] is False, name


def test_enums_match_the_contract() -> None:
    schemas = SPEC["components"]["schemas"]
    assert schemas["RunStatus"]["enum"] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    ]
    assert schemas["ActionStatus"]["enum"] == [
        "pending",
        "running",
        "completed",
        "failed",
        "skipped",
        "cancelled",
    ]
    assert schemas["LogLevel"]["enum"] == [
        "debug",
        "info",
        "success",
        "warning",
        "danger",
        "error",
        "critical",
    ]


def test_every_schema_has_an_example() -> None:
    for name, schema in SPEC["components"]["schemas"].items():
        assert schema.get("examples") or "example" in schema, name


@pytest.mark.parametrize(
    ("source", "targets"),
    [
        (
            "create_pipeline",
            {"get_pipeline", "update_pipeline", "delete_pipeline", "create_run"},
        ),
        (
            "create_run",
            {
                "get_run",
                "update_run",
                "delete_run",
                "report_progress",
                "get_progress",
                "create_checkpoint",
                "list_checkpoints",
                "append_logs",
                "get_logs",
                "cancel_run",
            },
        ),
    ],
)
def test_links_chain_created_ids(source: str, targets: set[str]) -> None:
    op = next(op for _, _, op in operations() if op["operationId"] == source)
    success = next(r for s, r in op["responses"].items() if s.startswith("2"))
    linked = {link["operationId"] for link in success["links"].values()}
    assert targets <= linked
    known = {o["operationId"] for _, _, o in operations()}
    assert linked <= known
