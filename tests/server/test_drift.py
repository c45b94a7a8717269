"""Drift: the schema FastAPI derives from the server's code against the committed openapi.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.openapi.utils import get_openapi

from pipeline_service.server import Settings, create_app
from pipeline_service.spec import load_spec

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("drift") / "d.db"))
    return get_openapi(title="derived", version="0", routes=app.routes)


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = dict(item[method])
                shared = [resolve(document, p) for p in item.get("parameters", [])]
                operation["parameters"] = shared + [
                    resolve(document, p) for p in operation.get("parameters", [])
                ]
                found[(method, path)] = operation
    return found


def object_shape(document: dict[str, Any], schema: Any, seen: frozenset[str] = frozenset()) -> Any:
    """Property names and required list of an object schema, nested objects included."""
    schema = resolve(document, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(document, s) for s in schema[key]]
            objects = [s for s in options if s.get("type") == "object" or "properties" in s]
            if objects:
                return object_shape(document, objects[0], seen)
    if schema.get("type") == "array" or "items" in schema:
        return ["array", object_shape(document, schema.get("items", {}), seen)]
    if "properties" not in schema:
        return None
    return {
        "required": sorted(schema.get("required", [])),
        "properties": {
            name: object_shape(document, sub, seen) for name, sub in schema["properties"].items()
        },
    }


def test_same_operations(derived: dict[str, Any]) -> None:
    spec_ops = {key: op["operationId"] for key, op in operations(load_spec()).items()}
    code_ops = {key: op["operationId"] for key, op in operations(derived).items()}
    assert code_ops == spec_ops


def test_same_parameters(derived: dict[str, Any]) -> None:
    code_ops = operations(derived)
    for key, operation in operations(load_spec()).items():
        spec_params = {
            (p["name"], p["in"], p.get("required", False)) for p in operation["parameters"]
        }
        code_params = {
            (p["name"], p["in"], p.get("required", False)) for p in code_ops[key]["parameters"]
        }
        assert code_params == spec_params, key


def test_same_request_bodies(derived: dict[str, Any]) -> None:
    spec = load_spec()
    code_ops = operations(derived)
    for key, operation in operations(spec).items():
        code = code_ops[key]
        assert ("requestBody" in code) == ("requestBody" in operation), key
        if "requestBody" not in operation:
            continue
        assert code["requestBody"].get("required", False) == operation["requestBody"]["required"]
        media = set(operation["requestBody"]["content"])
        assert set(code["requestBody"]["content"]) == media, key
        (media_type,) = media
        spec_schema = operation["requestBody"]["content"][media_type]["schema"]
        code_schema = code["requestBody"]["content"][media_type]["schema"]
        assert object_shape(derived, code_schema) == object_shape(spec, spec_schema), key
