"""`scripts/bootstrap`: the README's first command on any Python; one clear line on an old one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_an_old_python_is_refused_saying_what_to_install(tmp_path: Path) -> None:
    old = tmp_path / "python3"
    old.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        "  *version_info*) exit 1 ;;\n"
        "  *python_version*) echo 3.9.2 ;;\n"
        "esac\n"
    )
    old.chmod(0o755)
    result = subprocess.run(
        [str(ROOT / "scripts" / "bootstrap"), "dev"],
        env={**os.environ, "PYTHON": str(old)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"bootstrap: {old} is Python 3.9.2; pipeline-service needs Python 3.11 or newer.",
        "bootstrap: install one (python3.11, 3.12 or 3.13) and run: "
        "PYTHON=python3.12 scripts/bootstrap dev",
    ]


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "bootstrap")],
        env={**os.environ, "PYTHON": str(tmp_path / "python9")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "install Python 3.11 or newer" in result.stderr
