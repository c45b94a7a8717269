"""The handwritten code is lint-clean (ruff), fully typed (mypy --strict) and keeps its layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pipeline_service"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


CHECKED = ("src", "tests", "examples", "benchmarks", "scripts")


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run("ruff", "format", "--check", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    """src, tests (with the relaxed override of pyproject.toml) and the documented examples."""
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules `path` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_only_the_operations_module_touches_the_generated_client() -> None:
    touching = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] == "pipeline_service_api" for name in imported_modules(path))
    }
    assert touching == {"_operations.py"}


SHARED_HELPERS = ("hosts.py", "_lifecycle.py")
"""Modules of no layer, which any layer may import: they import nothing of the package."""


def test_the_shared_helpers_import_nothing_of_the_package() -> None:
    for name in SHARED_HELPERS:
        imported = imported_modules(PACKAGE / name)
        assert not any(module.startswith("pipeline_service") for module in imported), name


def test_the_server_imports_nothing_of_the_client() -> None:
    allowed = (
        "pipeline_service.server",
        "pipeline_service.wire",
        "pipeline_service.vocabulary",
        "pipeline_service.spec",
        *(f"pipeline_service.{name.removesuffix('.py')}" for name in SHARED_HELPERS),
    )
    for path in (PACKAGE / "server").rglob("*.py"):
        for name in imported_modules(path):
            if name.startswith("pipeline_service.") and not name.startswith(allowed):
                raise AssertionError(f"{path.relative_to(ROOT)} imports {name}")


def test_the_wire_module_imports_nothing_of_the_package() -> None:
    """Nothing but its own plain half, `vocabulary` (constants, which import nothing at all)."""
    names = imported_modules(PACKAGE / "wire.py")
    assert "pipeline_service.vocabulary" in names
    others = {name for name in names if not name.startswith("pipeline_service.vocabulary")}
    assert not any(name.startswith("pipeline_service") for name in others), names
    assert all(name.startswith("typing") for name in imported_modules(PACKAGE / "vocabulary.py"))


def test_the_conformance_kit_is_a_client_of_any_server() -> None:
    """The kit speaks to servers over the wire only: it imports nothing of the reference server,
    the runner, the command line or the testing plugin; and nothing outside it imports it but
    the command line (its `conformance` command)."""
    kit = PACKAGE / "conformance"
    forbidden = tuple(
        f"pipeline_service.{layer}" for layer in ("server", "runner", "cli", "testing")
    )
    for path in kit.rglob("*.py"):
        for name in imported_modules(path):
            if name.startswith(forbidden):
                raise AssertionError(f"{path.relative_to(ROOT)} imports {name}")
    importers = {
        path.relative_to(PACKAGE).parts[0]
        for path in PACKAGE.rglob("*.py")
        if not path.is_relative_to(kit)
        and any(name.startswith("pipeline_service.conformance") for name in imported_modules(path))
    }
    assert importers <= {"cli"}, importers


def test_every_file_the_docs_name_exists() -> None:
    """README, CONTRIBUTING, CHANGELOG, the documentation site's pages and the benchmarks' README
    point readers at test files and modules: a rename must update them too."""
    import re

    docs = [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")]
    docs += [ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = {
        match
        for doc in docs
        for match in re.findall(
            r"\b(?:tests|src|scripts|benchmarks)/[\w/.-]+\.py\b", doc.read_text(encoding="utf-8")
        )
    }
    assert named, "the docs name no file: the pattern is wrong"
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert missing == []


def restated_vocabulary(path: Path) -> list[str]:
    """Literal tuples, lists and sets of strings in `path` that spell out one of wire.py's sets
    of names (all statuses, the terminal ones, the log levels) instead of importing it."""
    from pipeline_service import wire

    vocabularies = {
        "RUN_STATUSES": set(wire.RUN_STATUSES),
        "ACTION_STATUSES": set(wire.ACTION_STATUSES),
        "LOG_LEVELS": set(wire.LOG_LEVELS),
        "TERMINAL_RUN_STATUSES": set(wire.TERMINAL_RUN_STATUSES),
        "TERMINAL_ACTION_STATUSES": set(wire.TERMINAL_ACTION_STATUSES),
    }
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            continue
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(values) != len(node.elts) or not all(isinstance(v, str) for v in values):
            continue
        for name, vocabulary in vocabularies.items():
            if set(values) == vocabulary:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} restates wire.{name}")
    return found


def test_status_and_level_names_are_imported_from_wire() -> None:
    """Each set of wire names has one home, vocabulary.py (re-exported by wire.py): the rest of
    the package imports it."""
    restated = [
        finding
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in (PACKAGE / "wire.py", PACKAGE / "vocabulary.py")
        for finding in restated_vocabulary(path)
    ]
    assert restated == []
