"""The pytest plugin as a user's suite sees it: only its fixtures, no project conftest helpers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

ACTIONS = [
    {"name": "count", "entrypoint": "plugin_user_actions.Count"},
    {"name": "double", "entrypoint": "plugin_user_actions:double"},
]
ROOT = Path(__file__).resolve().parents[2]


def test_server_is_real_and_local(pipeline_service_server: Any) -> None:
    assert pipeline_service_server.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{pipeline_service_server.url}/health").json()["status"] == "healthy"


def test_each_test_gets_a_fresh_database(pipeline_service_client: PipelineServiceClient) -> None:
    assert pipeline_service_client.list_pipelines() == []
    pipeline_service_client.create_pipeline(name="only here", actions=ACTIONS)


def test_and_really_a_fresh_one(pipeline_service_client: PipelineServiceClient) -> None:
    assert pipeline_service_client.list_pipelines() == []


def test_run_worker_executes_the_users_actions(
    pipeline_service_client: PipelineServiceClient, run_worker: Any
) -> None:
    client = pipeline_service_client
    pipeline = client.create_pipeline(name="user pipeline", actions=ACTIONS)
    run = client.create_run(pipeline["id"], params={"n": 5})
    final = run_worker(client, run["id"])
    assert final["status"] == "completed", final["error"]
    assert final["result"] == {"counted": 5, "doubled": 10}
    count = final["progress"][0]
    assert (count["status"], count["progress"], count["total"]) == ("completed", 5, 5)
    assert count["metrics"] == {"counted": 5}
    assert [c["action_name"] for c in client.get_checkpoints(run["id"])] == ["count", "double"]
    messages = [record["message"] for record in client.get_logs(run["id"])]
    assert "counted 5" in messages


def test_run_worker_captures_print_and_logging_as_a_worker_does(
    pipeline_service_client: PipelineServiceClient,
    run_worker: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = pipeline_service_client
    pipeline = client.create_pipeline(
        name="chatty", actions=[{"name": "talk", "entrypoint": "plugin_user_actions.chatty"}]
    )
    run = client.create_run(pipeline["id"])
    assert run_worker(client, run["id"])["status"] == "completed"
    records = [(r["level"], r["action_name"], r["message"]) for r in client.get_logs(run["id"])]
    assert ("info", "talk", "printed to stdout") in records
    assert ("warning", "talk", "printed to stderr") in records
    assert ("warning", "talk", "logged a warning") in records
    echoed = capsys.readouterr()
    assert "printed to stdout" in echoed.out  # still shown, as a worker's console shows it
    assert "printed to stderr" in echoed.err


def test_run_worker_reports_a_failing_action(
    pipeline_service_client: PipelineServiceClient, run_worker: Any
) -> None:
    client = pipeline_service_client
    pipeline = client.create_pipeline(
        name="failing",
        actions=[{"name": "boom", "entrypoint": "plugin_user_actions.explode"}],
    )
    run = client.create_run(pipeline["id"])
    final = run_worker(client, run["id"])
    assert final["status"] == "failed"
    assert final["error"] == "RuntimeError: the user's action failed"
    errors = client.get_logs(run["id"], level="error")
    assert "Traceback" in errors[0]["message"]


async def test_async_client_fixture(
    async_pipeline_service_client: AsyncPipelineServiceClient,
) -> None:
    pipeline = await async_pipeline_service_client.create_pipeline(name="async", actions=ACTIONS)
    assert (await async_pipeline_service_client.get_pipeline(pipeline["id"]))["name"] == "async"


async def test_run_worker_from_async_code(
    async_pipeline_service_client: AsyncPipelineServiceClient,
    pipeline_service_client: PipelineServiceClient,
    run_worker: Any,
) -> None:
    client = async_pipeline_service_client
    pipeline = await client.create_pipeline(name="async user", actions=ACTIONS)
    run = await client.create_run(pipeline["id"], params={"n": 2})
    with pytest.raises(TypeError, match="to_thread"):
        run_worker(client, run["id"])
    final = await asyncio.to_thread(run_worker, pipeline_service_client, run["id"])
    assert final["result"] == {"counted": 2, "doubled": 4}
    assert (await client.get_run(run["id"]))["status"] == "completed"


def test_session_server_is_another_server(
    pipeline_service_session_server: Any, pipeline_service_server: Any
) -> None:
    assert pipeline_service_session_server.url != pipeline_service_server.url


class TestWithAToken:
    @pytest.fixture
    def pipeline_service_server_options(self) -> dict[str, Any]:
        return {"token": "user-s3cret"}

    def test_client_carries_the_servers_token(
        self, pipeline_service_server: Any, pipeline_service_client: PipelineServiceClient
    ) -> None:
        assert httpx.get(f"{pipeline_service_server.url}/api/v1/pipelines/").status_code == 401
        assert pipeline_service_client.list_pipelines() == []


def test_plugin_in_a_fresh_project(tmp_path: Path) -> None:
    """A user's project with no conftest: the entry point alone provides the fixtures."""
    (tmp_path / "my_actions.py").write_text(
        textwrap.dedent(
            """
            def greet(context):
                context.log("hello " + context.params["who"])
                return {"greeted": context.params["who"]}
            """
        )
    )
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            def test_greeting(pipeline_service_client, run_worker):
                client = pipeline_service_client
                pipeline = client.create_pipeline(
                    name="greet", actions=[{"name": "greet", "entrypoint": "my_actions.greet"}]
                )
                run = client.create_run(pipeline["id"], params={"who": "world"})
                final = run_worker(client, run["id"])
                assert final["status"] == "completed"
                assert final["result"] == {"greeted": "world"}
            """
        )
    )
    result = _pytest_in(tmp_path, "test_mine.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_documented_example_passes(tmp_path: Path) -> None:
    """The plugin guide's complete example test, run as the only module of a fresh project."""
    guide = (ROOT / "docs" / "guides" / "pytest-plugin.md").read_text(encoding="utf-8")
    start = guide.index("```python\n", guide.index("<!-- plugin example")) + len("```python\n")
    (tmp_path / "test_my_pipeline.py").write_text(guide[start : guide.index("```\n", start)])
    result = _pytest_in(tmp_path, "test_my_pipeline.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def _pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class TestOnAnotherDatabase:
    @pytest.fixture
    def pipeline_service_server_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"db_path": tmp_path / "mine.db"}

    def test_server_uses_it(self, pipeline_service_server: Any, tmp_path: Path) -> None:
        assert pipeline_service_server.db_path == tmp_path / "mine.db"
        assert (tmp_path / "mine.db").exists()
