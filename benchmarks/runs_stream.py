"""10. The runs stream: what its subscribers cost the writes they watch, and how fast they see them.

One SQLite server. report_progress requests/s with 8 clients, with no runs stream open and
with N open in a helper process (each report then wakes the hub's runs feed, which reads the
change sequence once and hands the change, encoded once, to all N), in alternating rounds, the
best of each. Then the delay from sending a report to its `changed` event at every one of N
subscribers read in this process (p50, p99; their parsing competes with the reporting client).

On PostgreSQL (a throwaway local cluster, fsync on; skipped without one), the cost of numbering
changes in commit order: report_progress requests/s with 8 clients, on a database as migrated
(a trigger takes a transaction-level advisory lock and the sequence's next number for every new
version) and on one whose numbering triggers were dropped, in alternating rounds.

Numbering the changes: on SQLite the number is one more than the newest, computed inside the
statement that writes the run (from the indexes of `runs.change_seq` and the tombstones), with
no write of its own. An earlier form, a trigger that wrote the number back to the row, measured
0.76 and 0.82× the report_progress requests/s of the same server with that trigger dropped
(two full runs of this section, load average 9 on 2 cores; benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from benchmarks._harness import Results, ServerProcess, percentile, python_env
from benchmarks.throughput import _rate
from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

SECTION = "10 runs stream"
PG_NUMBERING_TRIGGERS = ("runs_sequence_insert", "runs_sequence_update")


def _setup(url: str) -> list[str]:
    with PipelineServiceClient(url) as client:
        actions = [{"name": "a0", "entrypoint": "benchmarks.actions:noop"}]
        pipeline_id = client.create_pipeline("bench", actions)["id"]
        return [client.create_run(pipeline_id)["id"] for _ in range(8)]


@contextlib.asynccontextmanager
async def _open_streams(url: str, count: int) -> AsyncIterator[None]:
    """count runs streams, read (and dropped) in the background, open until the block ends."""
    ready = asyncio.Event()
    opened = 0

    async def subscribe(http: httpx.AsyncClient) -> None:
        nonlocal opened
        async with http.stream("GET", f"{url}/api/v1/runs/stream") as response:
            async for line in response.aiter_lines():
                if line.startswith("event: sync"):
                    opened += 1
                    if opened == count:
                        ready.set()

    limits = httpx.Limits(max_connections=count + 1)
    async with httpx.AsyncClient(timeout=None, limits=limits) as http:
        tasks = [asyncio.create_task(subscribe(http)) for _ in range(count)]
        await asyncio.wait_for(ready.wait(), 60)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _watched_rate(url: str, pid: int, run_ids: list[str], duration: float, streams: int) -> float:
    """report_progress req/s while `streams` runs streams are open in a helper process (so the
    figure is the server's, not this process's parsing of the streams)."""
    if not streams:
        return asyncio.run(_report_rate(url, pid, run_ids, duration))
    helper = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.runs_stream", url, str(streams)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=python_env(),
    )
    try:
        assert helper.stdout is not None
        if helper.stdout.readline().strip() != "READY":
            raise RuntimeError("the runs stream subscribers did not start")
        return asyncio.run(_report_rate(url, pid, run_ids, duration))
    finally:
        assert helper.stdin is not None
        helper.stdin.close()
        helper.wait(30)


async def _hold(url: str, count: int) -> None:
    """The helper process: count runs streams open until stdin closes."""
    async with _open_streams(url, count):
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.read)


async def _report_rate(url: str, pid: int, run_ids: list[str], duration: float) -> float:
    async def report(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.report_progress(
            run_ids[index], action_progress={"name": "a0", "progress": (i % 100) / 100}
        )

    rate, _, _ = await _rate(url, pid, report, 8, duration)
    return rate


async def _delays(url: str, run_id: str, subscribers: int, reports: int) -> list[float]:
    """Seconds from sending each report to its event, at every subscriber."""
    arrived: list[list[float]] = [[] for _ in range(subscribers)]
    ready = asyncio.Event()
    all_arrived = asyncio.Event()  # every subscriber has the latest report's event
    opened = 0
    sent: list[float] = []

    async def subscribe(http: httpx.AsyncClient, index: int) -> None:
        nonlocal opened
        async with http.stream("GET", f"{url}/api/v1/runs/stream") as response:
            async for line in response.aiter_lines():
                if line.startswith("event: sync"):
                    opened += 1
                    if opened == subscribers:
                        ready.set()
                elif line.startswith("event: changed"):
                    arrived[index].append(time.monotonic())
                    if all(len(a) >= len(sent) for a in arrived):  # sent: this report's too
                        all_arrived.set()

    limits = httpx.Limits(max_connections=subscribers + 1)
    async with (
        httpx.AsyncClient(timeout=None, limits=limits) as http,
        AsyncPipelineServiceClient(url, max_retries=0) as client,
    ):
        tasks = [asyncio.create_task(subscribe(http, i)) for i in range(subscribers)]
        await asyncio.wait_for(ready.wait(), 60)
        for i in range(reports):
            all_arrived.clear()
            sent.append(time.monotonic())
            await client.report_progress(
                run_id, action_progress={"name": "a0", "progress": (i + 1) / (reports + 1)}
            )
            await asyncio.wait_for(all_arrived.wait(), 10)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [max(0.0, a[i] - sent[i]) for a in arrived for i in range(min(len(a), len(sent)))]


def run(results: Results, *, duration: float, rounds: int, subscribers: int, reports: int) -> None:
    print(f"\n{SECTION}", flush=True)
    with ServerProcess() as server:
        run_ids = _setup(server.url)
        alone: list[float] = []
        watched: list[float] = []
        for _ in range(rounds):
            alone.append(_watched_rate(server.url, server.pid, run_ids, duration, 0))
            watched.append(_watched_rate(server.url, server.pid, run_ids, duration, subscribers))
        results.add(SECTION, "report_progress, 8 clients, no runs stream", max(alone), "req/s")
        results.add(
            SECTION,
            f"report_progress, 8 clients, {subscribers} runs streams open",
            max(watched),
            "req/s",
        )
        results.add(SECTION, "with streams / without", max(watched) / max(alone))
        delays = asyncio.run(_delays(server.url, run_ids[0], subscribers, reports))
        for q in (50, 99):
            results.add(
                SECTION,
                f"report sent → event, {subscribers} runs streams: p{q}",
                1000 * percentile(delays, q),
                "ms",
            )
        results.add(SECTION, "events received / expected", len(delays) / (subscribers * reports))


def postgres_numbering(results: Results, *, duration: float, rounds: int) -> None:
    """report_progress req/s on PostgreSQL with and without the numbering triggers."""
    try:
        import psycopg

        from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster

        cluster = ThrowawayCluster(durable=True).start()
    except (ImportError, OSError, RuntimeError) as exc:
        print(f"[{SECTION}] PostgreSQL part skipped: unavailable ({exc})", flush=True)
        return
    try:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE numbered")
            conn.execute("CREATE DATABASE plain")
        with (
            ServerProcess(db=cluster.dsn("numbered")) as numbered,
            ServerProcess(db=cluster.dsn("plain")) as plain,
        ):
            with psycopg.connect(cluster.dsn("plain"), autocommit=True) as conn:
                for trigger in PG_NUMBERING_TRIGGERS:
                    conn.execute(f"DROP TRIGGER {trigger} ON runs")
            numbered_runs, plain_runs = _setup(numbered.url), _setup(plain.url)
            with_numbers: list[float] = []
            without: list[float] = []
            for _ in range(rounds):
                with_numbers.append(
                    _watched_rate(numbered.url, numbered.pid, numbered_runs, duration, 0)
                )
                without.append(_watched_rate(plain.url, plain.pid, plain_runs, duration, 0))
            results.add(
                SECTION,
                "PostgreSQL report_progress, 8 clients, numbered",
                max(with_numbers),
                "req/s",
            )
            results.add(
                SECTION,
                "PostgreSQL report_progress, 8 clients, numbering dropped",
                max(without),
                "req/s",
            )
            results.add(SECTION, "PostgreSQL numbered / dropped", max(with_numbers) / max(without))
    finally:
        cluster.stop()


if __name__ == "__main__":
    asyncio.run(_hold(sys.argv[1], int(sys.argv[2])))
