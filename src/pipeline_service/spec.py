"""The committed OpenAPI document (openapi.yaml), as shipped in the package."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def spec_path() -> Path:
    """Path of openapi.yaml: the packaged copy in a wheel, the repository's in a checkout."""
    packaged = Path(str(resources.files("pipeline_service").joinpath("openapi.yaml")))
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "openapi.yaml"


@functools.cache
def spec_text() -> str:
    """openapi.yaml, verbatim."""
    return spec_path().read_text(encoding="utf-8")


@functools.cache
def load_spec() -> dict[str, Any]:
    """openapi.yaml, parsed. Callers must not mutate the returned document."""
    document: dict[str, Any] = yaml.safe_load(spec_text())
    return document
