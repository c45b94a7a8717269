"""The checks, one module per area; importing this package registers them all."""

from pipeline_service.conformance.checks import (
    artifacts,
    checkpoints,
    errors,
    extensions,
    lineage,
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
    "artifacts",
    "checkpoints",
    "errors",
    "extensions",
    "lineage",
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
