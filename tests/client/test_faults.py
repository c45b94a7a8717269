"""Network faults against the live server: lost responses, connections cut mid-stream, hangs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient
from pipeline_service.errors import APITimeoutError, NotFoundError
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, unique

from .fakes import CuttingProxy, Plan, Request, ScriptedServer, Step, head
from .helpers import drive_run


def upstream(server: EmbeddedServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def test_lost_responses_of_creates_are_retried_and_create_exactly_one(
    server: EmbeddedServer, client: PipelineServiceClient
) -> None:
    with CuttingProxy(upstream(server)) as proxy, contextlib.ExitStack() as clients:

        def flaky() -> PipelineServiceClient:
            """A client on a fresh connection whose first response gets lost."""
            proxy.plans = [Plan(lose_response=True)]
            return clients.enter_context(PipelineServiceClient(proxy.url, max_retries=2))

        name = unique("once")
        pipeline = flaky().create_pipeline(name, ACTIONS)
        run = flaky().create_run(pipeline["id"], params={"n": 1})
        checkpoint = flaky().create_checkpoint(run["id"], "download", 0)
        records = flaky().append_logs(run["id"], [{"message": "only once"}])
        assert proxy.connections == 8  # each create lost its first response, then retried

    assert [p["id"] for p in client.list_pipelines(limit=1000) if p["name"] == name] == [
        pipeline["id"]
    ]
    assert [r["id"] for r in client.list_pipeline_runs(pipeline["id"])] == [run["id"]]
    assert [c["id"] for c in client.get_checkpoints(run["id"])] == [checkpoint["id"]]
    assert [r["id"] for r in client.get_logs(run["id"])] == [records[0]["id"]]


def test_lost_response_async(server: EmbeddedServer, client: PipelineServiceClient) -> None:
    name = unique("once-async")

    async def main() -> str:
        with CuttingProxy(upstream(server), [Plan(lose_response=True)]) as proxy:
            async with AsyncPipelineServiceClient(proxy.url) as flaky:
                return (await flaky.create_pipeline(name, ACTIONS))["id"]

    pipeline_id = anyio.run(main)
    assert [p["id"] for p in client.list_pipelines(limit=1000) if p["name"] == name] == [
        pipeline_id
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_retried_delete_whose_first_answer_was_lost_succeeds(
    flavour: str, server: EmbeddedServer, client: PipelineServiceClient
) -> None:
    """The first DELETE went through but its answer was lost; the retry finds nothing to
    delete (404): the delete worked, so the call succeeds."""
    pipeline = client.create_pipeline(unique("gone"), ACTIONS)
    run = client.create_run(pipeline["id"])
    with CuttingProxy(upstream(server)) as proxy:
        for delete, target in (("delete_run", run["id"]), ("delete_pipeline", pipeline["id"])):
            proxy.plans = [Plan(lose_response=True)]
            if flavour == "sync":
                with PipelineServiceClient(proxy.url, max_retries=2) as flaky:
                    assert getattr(flaky, delete)(target) is None
            else:

                async def main(delete: str = delete, target: str = target) -> None:
                    async with AsyncPipelineServiceClient(proxy.url, max_retries=2) as flaky:
                        assert await getattr(flaky, delete)(target) is None

                anyio.run(main)
    with pytest.raises(NotFoundError):
        client.get_run(run["id"])
    with pytest.raises(NotFoundError):
        client.get_pipeline(pipeline["id"])
    with pytest.raises(NotFoundError):  # a DELETE of something that never existed is still 404
        client.delete_run(run["id"])


def test_post_without_key_is_not_retried_after_a_lost_response(
    server: EmbeddedServer, run: dict[str, Any]
) -> None:
    from pipeline_service.errors import APIConnectionError

    with (
        CuttingProxy(upstream(server), [Plan(lose_response=True)]) as proxy,
        PipelineServiceClient(proxy.url, max_retries=2) as flaky,
    ):
        with pytest.raises(APIConnectionError):
            flaky.report_progress(run["id"], status="running")
        assert proxy.connections == 1


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_progress_stream_cut_mid_way_resumes(
    flavour: str, server: EmbeddedServer, client: PipelineServiceClient
) -> None:
    pipeline = client.create_pipeline(unique("p"), ACTIONS)
    run = client.create_run(pipeline["id"])
    # Cut inside the third event (each is ~700 bytes), while the worker is still reporting.
    cuts = [Plan(cut_after=1800)]
    with CuttingProxy(upstream(server), cuts) as proxy:
        # The worker starts once the stream has its first event: the cut comes mid-run.
        first = threading.Event()
        worker = drive_run(server.url, run["id"], steps=4, delay=0.05, after=first)
        seen: list[Any] = []
        if flavour == "sync":
            with PipelineServiceClient(proxy.url) as streaming:
                for progress in streaming.stream_progress(run["id"], timeout=30):
                    seen.append(progress)
                    first.set()
        else:

            async def main() -> None:
                async with AsyncPipelineServiceClient(proxy.url) as streaming:
                    async for progress in streaming.stream_progress(run["id"], timeout=30):
                        seen.append(progress)
                        first.set()

            anyio.run(main)
        worker.join(10)
        assert proxy.connections >= 2
    versions = [p.version for p in seen if p.version is not None]
    assert len(versions) == len(seen)
    assert versions == sorted(set(versions))  # no duplicate, never older
    assert seen[-1].status == "completed"
    final = client.get_progress(run["id"])
    assert seen[-1].model_dump(exclude={"version"}) == final.model_dump(exclude={"version"})


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_log_stream_cut_mid_way_has_no_gap_and_no_duplicate(
    flavour: str, server: EmbeddedServer, client: PipelineServiceClient
) -> None:
    pipeline = client.create_pipeline(unique("p"), ACTIONS)
    run = client.create_run(pipeline["id"])
    total = 40

    def write_logs() -> None:
        with PipelineServiceClient(server.url) as writer:
            for i in range(total):
                writer.append_logs(run["id"], [{"message": f"line {i}"}])
                time.sleep(0.01)
            writer.update_run(run["id"], status="completed")

    cuts = [Plan(cut_after=n) for n in (700, 2300)]
    with CuttingProxy(upstream(server), cuts) as proxy:
        writer = threading.Thread(target=write_logs, daemon=True)
        writer.start()
        if flavour == "sync":
            with PipelineServiceClient(proxy.url) as following:
                records = list(following.follow_logs(run["id"], timeout=30))
        else:

            async def main() -> list[Any]:
                async with AsyncPipelineServiceClient(proxy.url) as following:
                    return [r async for r in following.follow_logs(run["id"], timeout=30)]

            records = anyio.run(main)
        writer.join(10)
        assert proxy.connections >= 3
    assert [r["seq"] for r in records] == list(range(1, total + 1))
    assert [r["message"] for r in records] == [f"line {i}" for i in range(total)]


def hang(_: Request) -> Iterator[Step]:
    yield 10.0


def test_hung_server_health_check_is_false_quickly() -> None:
    with ScriptedServer(hang) as hung:
        results: dict[str, tuple[bool, float]] = {}

        def sync_check() -> None:
            started = time.monotonic()
            ok = PipelineServiceClient(hung.url).health_check()
            results["sync"] = (ok, time.monotonic() - started)

        thread = threading.Thread(target=sync_check)
        thread.start()

        async def async_check() -> tuple[bool, float]:
            started = time.monotonic()
            async with AsyncPipelineServiceClient(hung.url) as aclient:
                return await aclient.health_check(), time.monotonic() - started

        results["async"] = anyio.run(async_check)
        thread.join(10)
    for ok, elapsed in results.values():
        assert ok is False
        assert elapsed < 3.5


def trickle(_: Request) -> Iterator[Step]:
    """A health answer whose body keeps coming, a byte a second, for ten seconds."""
    yield head(200, "application/json")
    for _second in range(10):
        yield b" "
        yield 1.0


@pytest.mark.slow
def test_trickling_server_health_check_is_false_quickly() -> None:
    """Both clients bound the whole check, the body included, not only each read."""
    with ScriptedServer(trickle) as slow:
        started = time.monotonic()
        assert PipelineServiceClient(slow.url).health_check() is False
        sync_elapsed = time.monotonic() - started

        async def async_check() -> tuple[bool, float]:
            started = time.monotonic()
            async with AsyncPipelineServiceClient(slow.url) as aclient:
                return await aclient.health_check(), time.monotonic() - started

        ok, async_elapsed = anyio.run(async_check)
    assert ok is False
    assert sync_elapsed < 6
    assert async_elapsed < 6


def test_hung_server_times_out() -> None:
    with ScriptedServer(hang) as hung:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            PipelineServiceClient(hung.url, timeout=0.3, max_retries=1).get_run("r1")
        assert time.monotonic() - started < 2.5
        assert len(hung.requests) == 2

        async def main() -> None:
            async with AsyncPipelineServiceClient(hung.url, timeout=0.3, max_retries=0) as c:
                await c.get_run("r1")

        with pytest.raises(APITimeoutError):
            anyio.run(main)
        with pytest.raises(APITimeoutError):
            PipelineServiceClient(hung.url, max_retries=0).get_run("r1", timeout=0.2)


def test_unreachable_server() -> None:
    from pipeline_service.errors import APIConnectionError

    with ScriptedServer(hang) as gone:
        url = gone.url
    client = PipelineServiceClient(url, max_retries=0)
    with pytest.raises(APIConnectionError):
        client.list_pipelines()
    assert client.health_check() is False
