"""The command line starts without loading the client, the server or the runner.

`--help` and shell completion must answer fast (the start-up figures are in
`python -m benchmarks --only startup`; no timing is asserted here): loading the commands may
import typer, rich and the command modules, and the client (httpx, pydantic, the generated
code), the server (FastAPI, storage) and the runner only when a command runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from pipeline_service.cli.root import app

HEAVY = ("httpx", "pydantic", "pipeline_service_api", "fastapi", "pipeline_service.runner")
# The server's defaults (`serve --help` shows them) are plain constants in server/settings.py;
# the server package itself imports nothing until a name of it is used.
LIGHT_SERVER_MODULES = {"pipeline_service.server", "pipeline_service.server.settings"}
EXAMPLE = Path(__file__).parents[2] / "examples" / "pipeline.yaml"

_REPORT = (
    "import json, sys\ndef report():\n    print('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
)


def _loaded_by(code: str, **env: str) -> tuple[str, set[str]]:
    """Run `code` in a fresh interpreter; (its output, the modules it had loaded at the end)."""
    result = subprocess.run(
        [sys.executable, "-c", _REPORT + code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
    )
    assert result.returncode == 0, result.stderr
    output, _, modules = result.stdout.rpartition("\nMODULES ")
    return output, set(json.loads(modules))


def _heavy(modules: set[str]) -> list[str]:
    heavy = [m for m in modules if m in HEAVY or m.startswith(tuple(f"{h}." for h in HEAVY))]
    server = {m for m in modules if m.split(".")[:2] == ["pipeline_service", "server"]}
    return sorted([*heavy, *(server - LIGHT_SERVER_MODULES)])


def _run_cli(argv: list[str]) -> str:
    return (
        f"sys.argv = {argv!r}\n"
        "from pipeline_service.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "report()\n"
    )


def _command_names() -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return sorted(group.commands)


def test_loading_every_command_imports_no_client_server_or_runner() -> None:
    _, modules = _loaded_by("import pipeline_service.cli.root\nreport()\n")
    assert "pipeline_service.cli.worker_command" in modules  # the commands did load
    assert _heavy(modules) == []


def test_help_lists_every_command_without_loading_the_client() -> None:
    output, modules = _loaded_by(_run_cli(["pipeline-service", "--help"]))
    names = _command_names()
    assert {"serve", "worker", "demo", "pipelines", "runs", "logs", "conformance"} <= set(names)
    listed = {line.split()[1] for line in output.splitlines() if line.startswith("│ ")}
    assert set(names) <= listed, output
    assert _heavy(modules) == []


def test_shell_completion_answers_without_loading_the_client() -> None:
    output, modules = _loaded_by(
        _run_cli(["pipeline-service"]),
        _PIPELINE_SERVICE_COMPLETE="complete_bash",
        COMP_WORDS="pipeline-service ru",
        COMP_CWORD="1",
    )
    assert output.split() == ["runs"]
    assert _heavy(modules) == []


def test_a_command_still_loads_what_it_needs() -> None:
    # The imports moved into the commands: `pipelines validate` reaches the runner's loader.
    output, modules = _loaded_by(
        _run_cli(["pipeline-service", "pipelines", "validate", str(EXAMPLE)]),
    )
    assert "pipeline_service.runner.actions" in modules, output
