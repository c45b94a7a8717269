"""The pre-commit configuration runs what scripts/check runs, and stops a commit that fails it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".pre-commit-config.yaml"


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def check_steps() -> list[list[str]]:
    """The command of each `step "label" command...` line of scripts/check."""
    script = (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    steps = [shlex.split(line)[2:] for line in script.splitlines() if line.startswith("step ")]
    assert len(steps) >= 5, "scripts/check has fewer steps than expected: the pattern is wrong"
    return steps


def test_every_step_of_scripts_check_has_a_hook() -> None:
    """Each step's command, less the tool's directory and the paths it is given, is a hook's."""
    entries = [hook["entry"] for hook in hooks().values()]
    for step in check_steps():
        command = " ".join(
            word.removeprefix("$BIN/")
            for word in step
            if not word.startswith(("${PATHS", "PATH=")) and word != "env"
        )
        assert any(command in entry for entry in entries), (command, entries)


def test_the_configuration_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_change_with_a_lint_or_format_error_is_stopped(tmp_path: Path) -> None:
    """In a repository with this configuration (and this checkout's .venv), the hooks fail on
    a changed file with an unused import or bad formatting, and pass once it is fixed."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", repo)
    shutil.copy(CONFIG, repo)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    bad = repo / "src" / "bad.py"
    bad.write_text("import os\nx=1\n", encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    def pre_commit(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", hook, "--files", "src/bad.py"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    git("init", "-q")
    git("add", "-A")
    lint, form = pre_commit("ruff-check"), pre_commit("ruff-format")
    assert lint.returncode == 1, lint.stdout
    assert "F401" in lint.stdout
    assert form.returncode == 1, form.stdout
    assert "would be reformatted" in form.stdout

    bad.write_text("x = 1\n", encoding="utf-8")
    git("add", "-A")
    for hook in ("ruff-check", "ruff-format"):
        result = pre_commit(hook)
        assert result.returncode == 0, result.stdout + result.stderr
