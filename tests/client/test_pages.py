"""Pages the server cuts at its byte cap (MAX_PAGE_BYTES): each client still reads everything,
once, in order — pagers, get_logs, get_checkpoints and follow_logs."""

from __future__ import annotations

from typing import Any

import pytest
from anyio.from_thread import BlockingPortal

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from pipeline_service.types import Pipeline
from pipeline_service.wire import MAX_PAGE_BYTES
from tests.sample import ACTIONS, unique

pytestmark = pytest.mark.slow  # megabytes go up and down in each test

BIG = 900_000  # bytes of one free-form value: a few of them fill a page
COUNT = MAX_PAGE_BYTES // BIG + 3
LINE = 100_000  # the largest log message
LINES = MAX_PAGE_BYTES // LINE + 20


@pytest.fixture(scope="module")
def big_runs(server: Any) -> tuple[Pipeline, list[str]]:
    """A pipeline whose runs' params together are well over a page."""
    with PipelineServiceClient(server.url, timeout=30) as client:
        pipeline = client.create_pipeline(unique("big"), ACTIONS)
        ids = [
            client.create_run(pipeline["id"], params={"i": i, "blob": "p" * BIG})["id"]
            for i in range(COUNT)
        ]
    return pipeline, ids


def test_a_page_over_the_cap_is_cut_and_says_where_to_continue(
    client: PipelineServiceClient, big_runs: tuple[Pipeline, list[str]]
) -> None:
    pipeline, ids = big_runs
    page = client.list_pipeline_runs(pipeline["id"], limit=1000)
    assert 0 < len(page) < COUNT
    assert [run["id"] for run in page] == ids[::-1][: len(page)]
    assert page.next == {"skip": str(len(page)), "limit": "1000"}  # type: ignore[attr-defined]


def test_pagers_read_every_item_of_cut_pages(
    api: Any, big_runs: tuple[Pipeline, list[str]]
) -> None:
    pipeline, ids = big_runs
    listed = [run["id"] for run in api.iter_pipeline_runs(pipeline["id"], page_size=1000)]
    assert listed == ids[::-1]
    everywhere = {run["id"] for run in api.iter_runs(page_size=1000)}
    assert set(ids) <= everywhere


def test_get_logs_reads_past_cut_pages_up_to_its_limit(api: Any, run: Any) -> None:
    api.append_logs(run["id"], [{"message": f"{i:05d}" + "l" * (LINE - 5)} for i in range(LINES)])
    records = api.get_logs(run["id"], limit=10_000)
    assert [r["seq"] for r in records] == list(range(1, LINES + 1))
    assert [r["message"][:5] for r in records] == [f"{i:05d}" for i in range(LINES)]
    some = api.get_logs(run["id"], limit=LINES - 3, after_seq=2)
    assert [r["seq"] for r in some] == list(range(3, LINES))


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_follow_logs_sends_every_record_of_cut_pages(kind: str, portal: BlockingPortal) -> None:
    """Of a run that is over (no grace for closing lines): every page is read at once."""
    with EmbeddedServer(log_grace=0.0) as server:
        with PipelineServiceClient(server.url, timeout=30) as client:
            pipeline = client.create_pipeline(unique("follow"), ACTIONS)
            run = client.create_run(pipeline["id"])
            lines = [{"message": f"{i:05d}" + "f" * (LINE - 5)} for i in range(LINES)]
            client.append_logs(run["id"], lines)
            client.update_run(run["id"], status="running")
            client.update_run(run["id"], status="completed")
            if kind == "sync":
                followed = list(client.follow_logs(run["id"], timeout=120))
        if kind == "async":
            followed = portal.call(_follow_async, server.url, run["id"])
    assert [r["seq"] for r in followed] == list(range(1, LINES + 1))


async def _follow_async(url: str, run_id: str) -> list[Any]:
    async with AsyncPipelineServiceClient(url, timeout=30) as client:
        return [record async for record in client.follow_logs(run_id, timeout=120)]


def test_get_checkpoints_reads_every_checkpoint_of_cut_pages(api: Any, run: Any) -> None:
    for i in range(COUNT):
        api.create_checkpoint(run["id"], "download", 0, params_snapshot={"i": i, "b": "c" * BIG})
    checkpoints = api.get_checkpoints(run["id"])
    assert [c["params_snapshot"]["i"] for c in checkpoints] == list(range(COUNT))
