"""The checks, one module per area; importing this package registers them all."""

from pipeline_service.conformance.checks import (
    errors,
    extensions,
    logs,
    numbers,
    paths,
    progress,
    runs,
    schema,
    streams,
)

__all__ = [
    "errors",
    "extensions",
    "logs",
    "numbers",
    "paths",
    "progress",
    "runs",
    "schema",
    "streams",
]
