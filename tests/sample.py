"""Test data every test directory shares: the sample pipeline's actions, the API prefix, names."""

from __future__ import annotations

import uuid
from typing import Any

API = "/api/v1"

# The three actions of examples/plugin (download → convert → train), as a pipeline lists them.
ACTIONS: list[dict[str, Any]] = [
    {"name": "download", "entrypoint": "plugin.download.DownloadAction"},
    {"name": "convert", "entrypoint": "plugin.convert.ConvertAction"},
    {"name": "train", "entrypoint": "plugin.train.TrainAction", "description": "Fit the model"},
]


def unique(prefix: str) -> str:
    """A name no other test uses (tests share one server)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
