"""1. Client overhead: the facade clients against raw httpx on an equally kept-alive connection.

The same N calls go through `PipelineServiceClient` / `AsyncPipelineServiceClient` and through
a bare `httpx.Client` / `httpx.AsyncClient` (one connection kept alive, `raise_for_status()`
and `.json()` on each answer). Rounds alternate client and raw so drifting machine load hits
both alike; the figure is the median of the per-round time ratios. Client-side CPU per call
(the benchmark process's own CPU time) is printed too: it is what the facade adds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks._harness import Results, median
from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

SECTION = "1 overhead"
TARGET_RATIO = 1.15


def _progress_body(i: int) -> dict[str, Any]:
    return {
        "current_action_index": 0,
        "action_progress": {"name": "a0", "progress": (i % 100) / 100},
    }


def _timed(fn: Callable[[int], Any], n: int) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i)
    return time.perf_counter() - wall0, time.process_time() - cpu0


async def _atimed(fn: Callable[[int], Awaitable[Any]], n: int) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        await fn(i)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def _report(
    results: Results,
    label: str,
    client_times: list[tuple[float, float]],
    raw_times: list[tuple[float, float]],
    n: int,
) -> None:
    ratios = [c[0] / r[0] for c, r in zip(client_times, raw_times, strict=True)]
    client_us = median([c[0] for c in client_times]) / n * 1e6
    raw_us = median([r[0] for r in raw_times]) / n * 1e6
    client_cpu = median([c[1] for c in client_times]) / n * 1e6
    raw_cpu = median([r[1] for r in raw_times]) / n * 1e6
    results.add(
        SECTION, f"{label}: client / raw httpx time", median(ratios), "×", at_most=TARGET_RATIO
    )
    results.add(SECTION, f"{label}: µs per call, client", client_us, "µs")
    results.add(SECTION, f"{label}: µs per call, raw httpx", raw_us, "µs")
    results.add(SECTION, f"{label}: client CPU added per call", client_cpu - raw_cpu, "µs")


def run(results: Results, url: str, run_id: str, *, calls: int, rounds: int) -> None:
    print(f"[{SECTION}] {calls} calls × {rounds} rounds", flush=True)
    _run_sync(results, url, run_id, calls, rounds)
    asyncio.run(_run_async(results, url, run_id, calls, rounds))


def _run_sync(results: Results, url: str, run_id: str, n: int, rounds: int) -> None:
    run_path = f"/api/v1/runs/{run_id}"
    with PipelineServiceClient(url) as client, httpx.Client(base_url=url, timeout=30) as raw:

        def client_get(i: int) -> Any:
            return client.get_run(run_id)

        def raw_get(i: int) -> Any:
            response = raw.get(run_path)
            response.raise_for_status()
            return response.json()

        def client_report(i: int) -> Any:
            body = _progress_body(i)
            return client.report_progress(
                run_id,
                current_action_index=body["current_action_index"],
                action_progress=body["action_progress"],
            )

        def raw_report(i: int) -> Any:
            response = raw.post(f"{run_path}/progress", json=_progress_body(i))
            response.raise_for_status()
            return response.json()

        for label, mine, theirs in (
            ("get_run sync", client_get, raw_get),
            ("report_progress sync", client_report, raw_report),
        ):
            _timed(mine, max(5, n // 10))  # warm-up: connection, caches
            _timed(theirs, max(5, n // 10))
            client_times, raw_times = [], []
            for _ in range(rounds):
                client_times.append(_timed(mine, n))
                raw_times.append(_timed(theirs, n))
            _report(results, label, client_times, raw_times, n)


async def _run_async(results: Results, url: str, run_id: str, n: int, rounds: int) -> None:
    run_path = f"/api/v1/runs/{run_id}"
    async with (
        AsyncPipelineServiceClient(url) as client,
        httpx.AsyncClient(base_url=url, timeout=30) as raw,
    ):

        async def client_get(i: int) -> Any:
            return await client.get_run(run_id)

        async def raw_get(i: int) -> Any:
            response = await raw.get(run_path)
            response.raise_for_status()
            return response.json()

        async def client_report(i: int) -> Any:
            body = _progress_body(i)
            return await client.report_progress(
                run_id,
                current_action_index=body["current_action_index"],
                action_progress=body["action_progress"],
            )

        async def raw_report(i: int) -> Any:
            response = await raw.post(f"{run_path}/progress", json=_progress_body(i))
            response.raise_for_status()
            return response.json()

        for label, mine, theirs in (
            ("get_run async", client_get, raw_get),
            ("report_progress async", client_report, raw_report),
        ):
            await _atimed(mine, max(5, n // 10))
            await _atimed(theirs, max(5, n // 10))
            client_times, raw_times = [], []
            for _ in range(rounds):
                client_times.append(await _atimed(mine, n))
                raw_times.append(await _atimed(theirs, n))
            _report(results, label, client_times, raw_times, n)
