"""generated/pipeline_service_api is importable, complete and exactly what openapi.yaml produces."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_service.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generated" / "pipeline_service_api"
SPEC = load_spec()


def operation_modules() -> list[tuple[str, str]]:
    return [
        (op["tags"][0], op["operationId"])
        for item in SPEC["paths"].values()
        for method, op in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    ]


def test_both_packages_import() -> None:
    import pipeline_service_api

    import pipeline_service

    assert pipeline_service.__version__
    assert pipeline_service_api.Client is not None


@pytest.mark.parametrize(("tag", "operation_id"), operation_modules())
def test_a_module_per_operation(tag: str, operation_id: str) -> None:
    module = importlib.import_module(f"pipeline_service_api.api.{tag}.{operation_id}")
    for name in ("sync_detailed", "asyncio_detailed", "request_kwargs"):
        assert callable(getattr(module, name)), f"{operation_id}.{name}"


def test_py_typed_markers() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (ROOT / "src" / "pipeline_service" / "py.typed").is_file()


def run_check(spec_root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(spec_root / "scripts" / "check-generated")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_generated_matches_spec() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stale_generated_code_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for part in ("scripts", "generated", "openapi-templates"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "openapi-generator.yaml", copy)
    spec = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    edited = spec.replace(
        "        worker_id: {type: string}\n", "        worker: {type: string}\n", 1
    )
    assert edited != spec
    (copy / "openapi.yaml").write_text(edited, encoding="utf-8")
    result = run_check(copy)
    assert result.returncode != 0
    assert "stale" in result.stderr
