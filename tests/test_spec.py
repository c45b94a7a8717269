"""openapi.yaml is valid OpenAPI 3.1 and describes every endpoint and extension of the contract."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from pipeline_service.spec import load_spec
from tests.sample import API

SPEC = load_spec()


# Every endpoint of the API (the v1 core API and this server's additions): method, path,
# success status, error statuses.
CONTRACT_ENDPOINTS: list[tuple[str, str, str, set[str]]] = [
    ("get", "/health", "200", {"503"}),
    ("post", f"{API}/pipelines/", "201", {"422"}),
    ("get", f"{API}/pipelines/", "200", {"422"}),
    ("get", f"{API}/pipelines/{{pipeline_id}}", "200", {"404"}),
    ("put", f"{API}/pipelines/{{pipeline_id}}", "200", {"404", "422"}),
    ("delete", f"{API}/pipelines/{{pipeline_id}}", "204", {"404"}),
    ("post", f"{API}/pipelines/{{pipeline_id}}/runs/", "201", {"404", "422"}),
    ("get", f"{API}/pipelines/{{pipeline_id}}/runs/", "200", {"404"}),
    ("get", f"{API}/runs/", "200", {"422"}),
    ("get", f"{API}/runs/{{run_id}}", "200", {"404"}),
    ("patch", f"{API}/runs/{{run_id}}", "200", {"404", "409", "422"}),
    ("delete", f"{API}/runs/{{run_id}}", "204", {"404"}),
    ("post", f"{API}/runs/{{run_id}}/progress", "200", {"404", "409", "422"}),
    ("get", f"{API}/runs/{{run_id}}/progress", "200", {"404"}),
    ("get", f"{API}/runs/{{run_id}}/progress/stream", "200", {"404"}),
    ("post", f"{API}/runs/{{run_id}}/checkpoints/", "201", {"404", "422"}),
    ("get", f"{API}/runs/{{run_id}}/checkpoints/", "200", {"404"}),
    ("get", f"{API}/runs/{{run_id}}/checkpoints/latest", "200", {"404"}),
    ("get", f"{API}/runs/{{run_id}}/checkpoints/{{action_name}}", "200", {"404"}),
    ("post", f"{API}/runs/{{run_id}}/logs/", "201", {"404", "413", "422"}),
    ("get", f"{API}/runs/{{run_id}}/logs/", "200", {"404", "422"}),
    # Extensions.
    ("post", f"{API}/runs/{{run_id}}/cancel", "200", {"404", "409"}),
]
CREATING_POSTS = [
    f"{API}/pipelines/",
    f"{API}/pipelines/{{pipeline_id}}/runs/",
    f"{API}/runs/{{run_id}}/checkpoints/",
    f"{API}/runs/{{run_id}}/logs/",
]
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


def test_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(SPEC).validate()


@pytest.mark.parametrize(("method", "path", "success", "errors"), CONTRACT_ENDPOINTS)
def test_contract_endpoint_is_described(
    method: str, path: str, success: str, errors: set[str]
) -> None:
    assert path in SPEC["paths"], f"{path} missing"
    op = SPEC["paths"][path].get(method)
    assert op is not None, f"{method.upper()} {path} missing"
    assert success in op["responses"]
    assert errors <= set(op["responses"]), f"{method.upper()} {path} lacks {errors}"


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
            assert headers == {"Link": {"$ref": "#/components/headers/NextPage"}}, path


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
