"""7. Start-up: how long `pipeline-service --version`, `--help` and shell completion take.

Each command runs as a fresh process, in rounds that alternate the commands (and a bare
`python -c pass`, the interpreter's own start) so that drifting machine load hits all alike;
the figure is the median wall time. The target is 0.3 s for each command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import Results, median

SECTION = "9 startup"
TARGET_SECONDS = 0.3


def _command() -> list[str]:
    script = Path(sys.executable).parent / "pipeline-service"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pipeline_service"]


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def run(results: Results, *, rounds: int) -> None:
    print(f"[{SECTION}] {rounds} round(s)", flush=True)
    cli = _command()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    completion = {
        **env,
        "_PIPELINE_SERVICE_COMPLETE": "complete_bash",
        "COMP_WORDS": "pipeline-service ru",
        "COMP_CWORD": "1",
    }
    cases = {
        "python -c pass (the interpreter alone)": ([sys.executable, "-c", "pass"], env, None),
        "pipeline-service --version": ([*cli, "--version"], env, TARGET_SECONDS),
        "pipeline-service --help": ([*cli, "--help"], env, TARGET_SECONDS),
        "pipeline-service completion of `ru`": (cli, completion, TARGET_SECONDS),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for argv, environment, _ in cases.values():
        _timed(argv, environment)  # warm-up: the file cache
    for _ in range(rounds):
        for name, (argv, environment, _) in cases.items():
            times[name].append(_timed(argv, environment))
    for name, (_, _, target) in cases.items():
        results.add(SECTION, f"{name}: wall time", median(times[name]), "s", at_most=target)
