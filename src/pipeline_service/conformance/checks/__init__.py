"""The checks, one module per area; importing this package registers them all."""

from pipeline_service.conformance.checks import (
    checkpoints,
    errors,
    extensions,
    lists,
    logs,
    metrics,
    network,
    numbers,
    paths,
    progress,
    runs,
    schema,
    streams,
)

__all__ = [
    "checkpoints",
    "errors",
    "extensions",
    "lists",
    "logs",
    "metrics",
    "network",
    "numbers",
    "paths",
    "progress",
    "runs",
    "schema",
    "streams",
]
