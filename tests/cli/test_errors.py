"""Errors that say what to do: unreachable servers, odd URLs, something else answering, profiles."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline_service.cli import app as full_app
from pipeline_service.cli import config as config_module

from .conftest import Cli


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (
            b"<html><body><h1>Welcome to nginx!</h1>" + b"<p>filler</p>" * 200 + b"</body></html>"
        )
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["nothing-healthy", "healthy-then-html"])
def html_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    server.healthy = request.param  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refused_connection_fails_fast_with_a_hint(closed_port_url: str) -> None:
    started = time.monotonic()
    result = Cli(closed_port_url)("runs", "list")
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot reach the Pipeline Service at {closed_port_url} (connection refused); "
        "start one with `pipeline-service serve`, or point to yours with --url, "
        "$PIPELINE_SERVICE_URL or a profile\n"
    )
    assert took < 2.0  # no backoff between retries of a refused connection (it took 2.5 s+)


@pytest.mark.slow
def test_urls_without_scheme_or_with_the_api_prefix_are_corrected(cli: Cli, run: Any) -> None:
    bare = cli.url.removeprefix("http://")
    for url in (bare, f"{cli.url}/api/v1", f"{cli.url}/api/v1/", f"{cli.url}/"):
        result = cli("runs", "get", run["id"], "--json", "--url", url)
        assert result.exit_code == 0, (url, result.stderr)
    bad = cli("runs", "list", "--url", "ftp://example.com")
    assert bad.exit_code == 2
    assert (
        bad.stderr == "error: --url must be an http:// or https:// URL, not 'ftp://example.com'\n"
    )


def test_something_that_is_not_the_service_is_named_in_one_line(html_url: str) -> None:
    result = Cli(html_url)("pipelines", "list")
    assert result.exit_code == 1
    assert result.stderr in (
        f"error: {html_url} answered GET /health with 404 (text/html), "
        "not the Pipeline Service API; check --url\n",
        f"error: {html_url} answered GET /api/v1/pipelines/ with 502 (text/html), "
        "not the Pipeline Service API\n",
    )


@pytest.mark.slow
def test_profiles_of_the_config_file(cli: Cli, run: Any, tmp_path: Path) -> None:
    config = tmp_path / "pipeline-service" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        'default_profile = "local"\n\n'
        f'[profiles.local]\nurl = "{cli.url}"\n\n'
        '[profiles.down]\nurl = "http://127.0.0.1:9"\n'
    )
    env: dict[str, str | None] = {"PIPELINE_SERVICE_URL": None, "XDG_CONFIG_HOME": str(tmp_path)}
    by_default = cli("runs", "get", run["id"], "--json", env=env)
    assert by_default.exit_code == 0, by_default.stderr
    chosen = cli("runs", "list", env={**env, "PIPELINE_SERVICE_PROFILE": "down"})
    assert chosen.exit_code == 1
    assert "at http://127.0.0.1:9 " in chosen.stderr
    flag_wins = cli(
        "runs", "list", "--url", cli.url, env={**env, "PIPELINE_SERVICE_PROFILE": "down"}
    )
    assert flag_wins.exit_code == 0
    unknown = cli("runs", "list", env={**env, "PIPELINE_SERVICE_PROFILE": "prod"})
    assert unknown.exit_code == 2
    assert unknown.stderr == f"error: no profile 'prod' in {config} (profiles: down, local)\n"
    config.write_text("[profiles.local\n")
    broken = cli("runs", "list", env=env)
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"error: {config} is not valid TOML: ")


def test_profile_option_of_the_command_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "selected_profile", None)  # restored afterwards
    (tmp_path / "pipeline-service").mkdir()
    (tmp_path / "pipeline-service" / "config.toml").write_text(
        f'[profiles.here]\nurl = "{cli.url}"\n'
    )
    env = {"PIPELINE_SERVICE_URL": None, "XDG_CONFIG_HOME": str(tmp_path), "COLUMNS": "200"}
    result = CliRunner().invoke(full_app, ["--profile", "here", "runs", "list", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    monkeypatch.setattr(config_module, "selected_profile", None)
    after = CliRunner().invoke(full_app, ["runs", "list", "--json", "--profile", "here"], env=env)
    assert after.exit_code == 0, after.stderr
    assert isinstance(json.loads(after.stdout), list)
    unknown = CliRunner().invoke(full_app, ["pipelines", "list", "--profile", "nope"], env=env)
    assert unknown.exit_code == 2
    assert "no profile 'nope'" in unknown.stderr


def test_https_to_a_plain_http_server_says_to_use_http(cli: Cli) -> None:
    tls_url = cli.url.replace("http://", "https://")
    result = cli("runs", "list", "--url", tls_url)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: cannot reach the Pipeline Service at {tls_url} (")
    assert line.endswith(f"the server there speaks plain HTTP, not HTTPS: use {cli.url}")


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_130() -> None:
    # A Ctrl-C cannot be timed to land inside the imports; an import hook raises it there.
    source = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'pipeline_service.cli.root':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['pipeline-service', 'runs', 'list']\n"
        "from pipeline_service.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 130
    assert result.stderr == "interrupted\n"
