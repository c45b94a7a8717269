"""`pipeline-service serve` on a network: no exposed address without a token, the token out of
`ps` (`--token-file`), the `Host` names it answers (`--allowed-host`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline_service import PipelineServiceClient

from .test_serve import end, start_serve

pytestmark = pytest.mark.slow  # each test starts `serve` in a process of its own

TOKEN = "a-token-in-a-file"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    return {**env, **extra}


def serve_once(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or clean_env(),
        check=False,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_an_exposed_address_without_a_token_is_refused(tmp_path: Path, host: str) -> None:
    result = serve_once("--host", host, "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"refusing to serve on {host} without a token" in line
    assert "--insecure-no-token" in line
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_insecure_no_token_lets_it_go_on(tmp_path: Path) -> None:
    """The address is not this machine's, so binding fails: after the token check passed."""
    result = serve_once(
        "--host", "192.0.2.1", "--insecure-no-token", "--workers", "0",
        "--db", str(tmp_path / "x.db"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: cannot serve on 192.0.2.1:0" in result.stderr
    assert "refusing" not in result.stderr


def test_a_token_and_a_token_file_are_one_too_many(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    both = serve_once("--token", "x", "--token-file", str(token_file), "--db", str(tmp_path / "d"))
    assert both.returncode == 2
    assert "not both" in both.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "is empty" in serve_once("--token-file", str(empty)).stderr
    assert "cannot read" in serve_once("--token-file", str(tmp_path / "missing")).stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`serve` with --token-file and one worker; `(process, url)`."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    process, lines = start_serve(tmp_path, "--token-file", str(token_file))
    try:
        first = lines.get(timeout=30)
        match = re.search(r"serving on (http://\S+)", first)
        assert match, first
        yield process, match.group(1)
    finally:
        end(process)


def test_the_token_file_guards_the_api_and_is_not_in_ps(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = served
    command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    assert TOKEN.encode() not in command_line
    assert httpx.get(f"{url}/api/v1/runs/", timeout=10).status_code == 401
    with PipelineServiceClient(url, token=TOKEN) as client:
        pipeline = client.create_pipeline(
            "token-file", [{"name": "download", "entrypoint": "plugin.download.DownloadAction"}]
        )
        run = client.create_run(pipeline["id"], {"rows": 10, "pace": 0})
        # The local worker got the token from the file too.
        assert client.wait_for_completion(run["id"], timeout=60)["status"] == "completed"


def test_allowed_hosts_from_the_environment_and_the_option(tmp_path: Path) -> None:
    process, lines = start_serve(
        tmp_path, "--workers", "0", "--allowed-host", "one.test",
    )  # fmt: skip
    try:
        first = lines.get(timeout=30)
        url = re.search(r"serving on (http://\S+)", first).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/health", headers={"Host": "one.test"}).status_code == 200
            assert http.get("/health", headers={"Host": "localhost:1"}).status_code == 200
            assert http.get("/health", headers={"Host": "two.test"}).status_code == 421
    finally:
        end(process)
    env = clean_env(PIPELINE_SERVICE_ALLOWED_HOSTS="two.test,three.test")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", "0", "--workers", "0",
         "--db", str(tmp_path / "env.db")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        url = re.search(r"serving on (http://\S+)", first).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=10) as http:
            for name, status in (("two.test", 200), ("three.test", 200), ("one.test", 421)):
                assert http.get("/health", headers={"Host": name}).status_code == status, name
    finally:
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
