"""The documentation: the site builds with --strict, the reference documents every public name it
shows, and the README starts with the two commands CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.mark.slow
def test_the_site_builds_strict(tmp_path: Path) -> None:
    """A broken link or anchor, a page left out of the nav, a snippet or an API reference that
    names nothing: each is a warning, and --strict makes a warning fail the build."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    client_page = (tmp_path / "reference" / "client.html").read_text(encoding="utf-8")
    assert 'id="pipeline_service.PipelineServiceClient.stream_progress"' in client_page


# --- every name the API reference shows has a docstring ----------------------------------------
# mkdocstrings leaves out members without a docstring (show_if_no_docstring: false) rather than
# warning, so a method that lost its docstring would vanish from the reference unnoticed.

REFERENCE = re.compile(r"^::: (?P<path>\S+)(?P<options>(?:\n {4}.*)*)", re.MULTILINE)


def reference_targets() -> list[tuple[str, list[str] | None]]:
    """Each `::: path` of docs/reference with the members its options select (None: the public
    ones; []: none)."""
    targets: list[tuple[str, list[str] | None]] = []
    for page in sorted((DOCS / "reference").glob("*.md")):
        for match in REFERENCE.finditer(page.read_text(encoding="utf-8")):
            options = match["options"]
            members: list[str] | None = re.findall(r"^ {8}- (\w+)$", options, re.MULTILINE)
            if "members: false" in options:
                members = []
            elif not members:
                members = None
            targets.append((match["path"], members))
    return targets


def undocumented(obj: Any, members: list[str] | None) -> list[str]:
    """`obj` and those of its members that the reference shows (functions, methods, properties,
    classes) without a docstring. Plain attributes (fields, enum values) are exempt."""
    missing = [] if obj.docstring else [obj.path]
    if not (obj.is_module or obj.is_class):
        return missing
    candidates = obj.all_members if obj.is_class else obj.members
    for name, member in candidates.items():
        if members is not None:
            if name not in members:
                continue
        elif name.startswith("_") or (obj.is_module and not member.is_public):
            continue
        target = member.final_target if member.is_alias else member
        if target.is_attribute and "property" not in target.labels:
            continue
        if not target.docstring:
            missing.append(f"{obj.path}.{name}")
    return missing


def load(*packages: str, search_paths: list[Path]) -> griffe.ModulesCollection:
    loader = griffe.GriffeLoader(search_paths=search_paths)
    for package in packages:
        loader.load(package)
    loader.resolve_aliases(implicit=False, external=False)
    return loader.modules_collection


@pytest.mark.slow
def test_every_name_the_reference_shows_has_a_docstring() -> None:
    targets = reference_targets()
    assert {path for path, _ in targets} >= {
        "pipeline_service.PipelineServiceClient",
        "pipeline_service.AsyncPipelineServiceClient",
        "pipeline_service.errors",
        "pipeline_service.models",
        "pipeline_service.runner.ActionContext",
    }
    modules = load("pipeline_service", search_paths=[ROOT / "src", ROOT / "generated"])
    missing = [name for path, members in targets for name in undocumented(modules[path], members)]
    assert missing == []


def test_the_docstring_check_finds_what_is_missing(tmp_path: Path) -> None:
    """The check above on a package with one undocumented method and one undocumented property."""
    package = tmp_path / "sample_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A sample."""\n\n'
        "class Base:\n"
        '    """Documented."""\n\n'
        "    def inherited(self) -> None:\n"
        "        pass\n\n"
        "class Client(Base):\n"
        '    """Documented."""\n\n'
        "    field: int = 1\n\n"
        "    def documented(self) -> None:\n"
        '        """Yes."""\n\n'
        "    @property\n"
        "    def size(self) -> int:\n"
        "        return 1\n\n"
        "    def _private(self) -> None:\n"
        "        pass\n",
        encoding="utf-8",
    )
    modules = load("sample_pkg", search_paths=[tmp_path])
    assert sorted(undocumented(modules["sample_pkg.Client"], None)) == [
        "sample_pkg.Client.inherited",
        "sample_pkg.Client.size",
    ]
    assert undocumented(modules["sample_pkg.Client"], ["documented"]) == []


def test_every_python_example_compiles() -> None:
    """Each ```python block of the README and the site is valid Python (the complete ones also
    run: the plugin example in tests/testing/test_plugin_user.py)."""
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    blocks = [
        (page, match[1])
        for page in pages
        for match in re.finditer(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    ]
    assert len(blocks) >= 10, "the pattern finds too few examples"
    for page, code in blocks:
        compile(code, str(page.relative_to(ROOT)), "exec")


# --- the README ---------------------------------------------------------------------------------


def test_the_readme_starts_with_the_two_commands() -> None:
    """The first page starts with two commands: the demo, and the whole suite as .ci/run runs it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    assert readme.startswith("# pipeline-service\n\n```bash\n")
    demo, suite = blocks[0], blocks[1]
    assert readme.index(suite) < readme.index("\n## ")
    assert demo.endswith("&& .venv/bin/pipeline-service demo")
    assert suite.endswith("&& .venv/bin/python -m pytest")
    setup, _, run = suite.rpartition(" && ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert setup in ci
    assert run in ci
    started = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert f"```bash\n{demo}\n```" in started
    assert f"```bash\n{suite}\n```" in started


def test_the_readmes_links_lead_to_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [
        link.split("#")[0]
        for link in re.findall(r"\]\(([^)]+)\)", readme)
        if "://" not in link and not link.startswith("#")
    ]
    assert any(link.startswith("docs/") for link in links), "the README links into no page"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_the_changelog_has_the_current_versions_section() -> None:
    """Keep a Changelog: an Unreleased section, then one per version, the current one included."""
    from pipeline_service import __version__

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.M)
    assert sections[0] == ("Unreleased", "")
    assert __version__ in [version for version, _ in sections[1:]]
    assert all(date for _, date in sections[1:]), sections
