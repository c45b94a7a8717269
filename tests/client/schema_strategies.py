"""Hypothesis strategies for the JSON Schema subset openapi.yaml uses (generated from the spec).

hypothesis-jsonschema does not work with the installed hypothesis, so this covers what the
spec's response schemas use: $ref, anyOf, allOf of one schema, type (lists included), enum,
const, properties, required, additionalProperties (a boolean or a schema) with propertyNames,
items, numeric bounds, string lengths,
`pattern` and `format: date-time` (with and without an offset, as v1-core servers send). Every
generated value is checked against the schema with jsonschema, so the generator cannot drift
from it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
from hypothesis import strategies as st

from pipeline_service.spec import load_spec

JSON = Any

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | (st.floats(allow_nan=False, allow_infinity=False))
)
ANY_JSON: st.SearchStrategy[JSON] = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)

_offsets = st.sampled_from([None, UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5))])


@st.composite
def date_times(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)))
    offset = draw(_offsets)
    text = moment.replace(tzinfo=offset).isoformat() if offset else moment.isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = load_spec()["components"]["schemas"]
    return schemas


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components()[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[JSON]:
    """Values valid against `schema` (a schema of openapi.yaml)."""
    schema = resolve(schema)
    if "anyOf" in schema:
        return st.one_of([from_schema(s) for s in schema["anyOf"]])
    if "allOf" in schema:  # one schema with annotations beside it (a described $ref)
        (only,) = schema["allOf"]
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "description", "examples")}
        return from_schema({**resolve(only), **rest})
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type", ["object"] if "properties" in schema else None)
    if types is None:
        return ANY_JSON
    if isinstance(types, list):
        return st.one_of([from_schema({**schema, "type": t}) for t in types])
    return _typed(types, schema)


def _typed(kind: str, schema: dict[str, Any]) -> st.SearchStrategy[JSON]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(
            min_value=schema.get("minimum", -(2**31)), max_value=schema.get("maximum", 2**31)
        )
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", 1e12)
        floats = st.floats(
            min_value=low,
            max_value=high,
            exclude_min="exclusiveMinimum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
        ints = st.integers(
            min_value=int(low) + 1 if low is not None else -(2**31), max_value=int(high)
        )
        return floats | ints
    if kind == "string":
        if schema.get("format") == "date-time":
            return date_times()
        if schema.get("pattern") == "^[0-9]+$":
            return st.from_regex(r"\A[0-9]{1,12}\Z")
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda text: len(text) <= schema.get("maxLength", 1000)
            )
        return st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30)
        )
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {})), max_size=min(schema.get("maxItems", 3), 3)
        )
    if kind == "object":
        return _object(schema)
    raise AssertionError(f"unsupported schema type {kind!r}")


@st.composite
def _object(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, JSON]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    value: dict[str, JSON] = {}
    for name, sub in properties.items():
        if name in required or draw(st.booleans()):
            value[name] = draw(from_schema(sub))
    additional = schema.get("additionalProperties", True)
    if additional is not False and draw(st.booleans()):
        values = from_schema(additional) if isinstance(additional, dict) else ANY_JSON
        names = schema.get("propertyNames")
        keys = (
            from_schema({"type": "string", **names}) if names else st.text(min_size=1, max_size=8)
        )
        extra = draw(st.dictionaries(keys, values, max_size=2))
        value.update({k: v for k, v in extra.items() if k not in properties})
    return value


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A jsonschema validator of `schema`, with the spec's components resolvable."""
    root = {**schema, "components": {"schemas": components()}}
    return jsonschema.Draft202012Validator(root, format_checker=None)
