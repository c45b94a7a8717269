"""--url / --token on every command, and one-line errors for an unreachable or refusing server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pipeline_service.server import EmbeddedServer

from .conftest import Cli

EVERY_COMMAND = [
    ["pipelines", "list"],
    ["pipelines", "get", "p"],
    ["pipelines", "delete", "p"],
    ["runs", "list"],
    ["runs", "get", "r"],
    ["runs", "create", "p"],
    ["runs", "cancel", "r"],
    ["runs", "watch", "r"],
    ["logs", "r"],
    ["logs", "r", "--follow"],
    ["checkpoints", "r"],
]


@pytest.fixture(scope="module")
def guarded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("guarded") / "service.db"
    with EmbeddedServer(db, token="s3cret") as server:
        yield server.url


@pytest.fixture(scope="module")
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "command",
    [["pipelines", "list"], ["runs", "watch", "r"], ["logs", "r", "--follow"]],
    ids=" ".join,
)
def test_unreachable_server_is_one_line(command: list[str], closed_port_url: str) -> None:
    result = Cli(closed_port_url)(*command, "--url", closed_port_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: cannot reach the Pipeline Service at {closed_port_url}"
    )
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_token_is_required_and_taken_from_option_or_env(
    command: list[str], guarded_url: str
) -> None:
    cli = Cli("http://127.0.0.1:9")  # --url wins over the environment
    refused = cli(*command, "--url", guarded_url)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: not authorised by {guarded_url} (401): ")
    assert "pass --token or set PIPELINE_SERVICE_TOKEN" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    with_option = cli(*command, "--url", guarded_url, "--token", "s3cret")
    with_env = cli(*command, "--url", guarded_url, env={"PIPELINE_SERVICE_TOKEN": "s3cret"})
    for result in (with_option, with_env):
        # Past authentication: the ids do not exist (or, for lists, there is nothing yet).
        assert "401" not in result.stderr
        if command[1] == "list":
            assert result.exit_code == 0
        else:
            assert result.stderr.startswith("error: no ")
            assert "(404)" in result.stderr


def test_wrong_token(guarded_url: str) -> None:
    result = Cli(guarded_url)("pipelines", "list", "--token", "wrong")
    assert result.exit_code == 1
    assert "(401)" in result.stderr
