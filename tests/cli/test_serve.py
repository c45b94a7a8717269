"""`pipeline-service serve` on a database it cannot use: one clear line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("workers", ["0", "1"])
def test_an_unusable_database_is_one_clear_line(tmp_path: Path, workers: str) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    command = [sys.executable, "-m", "pipeline_service", "serve", "--port", "0"]
    result = subprocess.run(
        [*command, "--workers", workers, "--db", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"pipeline-service: cannot use the database {directory}: ")
    assert "unable to open database file" in line
