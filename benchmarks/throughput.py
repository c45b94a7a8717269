"""3. Throughput: requests/s of the real work, against the server's /health floor.

Load comes from `AsyncPipelineServiceClient`s (one per concurrent client, each with its own
connection) in the benchmark process; the server runs in its own process. Each figure runs for a
fixed time. Besides requests/s, the server's own CPU time per request (from /proc) is given:
unlike requests/s it does not depend on whether the server or the load generator saturates
first on a small machine.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._harness import CpuMeter, Results, ratio
from pipeline_service import AsyncPipelineServiceClient

SECTION = "3 throughput"
REPORT_CPU_TARGET = 1.4  # report_progress server CPU ÷ /health's (issue 24)
LOG_TARGET = 40_000.0  # append_logs entries/s in batches of 1,000 (issue 24)

Call = Callable[[AsyncPipelineServiceClient, int, int], Awaitable[Any]]
"""(client, client index, call number) → one request."""


async def _rate(
    url: str, server_pid: int, call: Call, concurrency: int, duration: float
) -> tuple[float, float, float]:
    """Calls/s over `duration`, server CPU ms per call, server busy % of one core."""
    clients = [AsyncPipelineServiceClient(url, max_retries=0) for _ in range(concurrency)]
    try:
        for index, client in enumerate(clients):  # warm-up: connect, fill caches
            for i in range(2):
                await call(client, index, i)
        count = 0
        deadline = 0.0

        async def loop(client: AsyncPipelineServiceClient, index: int) -> None:
            nonlocal count
            i = 0
            while time.monotonic() < deadline:
                await call(client, index, i)
                i += 1
                count += 1

        with CpuMeter(server_pid) as meter:
            started = time.monotonic()
            deadline = started + duration
            await asyncio.gather(*(loop(c, i) for i, c in enumerate(clients)))
            elapsed = time.monotonic() - started
        # /proc counts CPU in clock ticks (10 ms): a short window (--quick) may see none, and
        # the figures divided by it need a number: at least one tick.
        cpu = max(meter.cpu, 1 / os.sysconf("SC_CLK_TCK"))
        return count / elapsed, 1000 * cpu / max(count, 1), meter.busy
    finally:
        for client in clients:
            await client.aclose()


async def _run(
    results: Results,
    url: str,
    server_pid: int,
    pipeline_id: str,
    run_ids: list[str],
    duration: float,
) -> None:
    async def health(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        if not await client.health_check():
            raise RuntimeError("the server is not healthy")

    async def report(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.report_progress(
            run_ids[index],
            current_action_index=0,
            action_progress={"name": "a0", "progress": (i % 100) / 100},
        )

    async def get_run(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.get_run(run_ids[index])

    floor: dict[int, float] = {}
    floor_cpu: dict[int, float] = {}
    for concurrency in (1, 8):
        rate, cpu_ms, busy = await _rate(url, server_pid, health, concurrency, duration)
        floor[concurrency], floor_cpu[concurrency] = rate, cpu_ms
        results.add(SECTION, f"/health, {concurrency} client(s): req/s", rate, "req/s")
        results.add(SECTION, f"/health, {concurrency} client(s): server CPU per req", cpu_ms, "ms")
    for name, call in (("report_progress", report), ("get_run", get_run)):
        for concurrency in (1, 8):
            rate, cpu_ms, busy = await _rate(url, server_pid, call, concurrency, duration)
            label = f"{name}, {concurrency} client(s)"
            results.add(SECTION, f"{label}: req/s", rate, "req/s")
            results.add(SECTION, f"{label}: ÷ /health req/s", ratio(rate, floor[concurrency]), "×")
            results.add(SECTION, f"{label}: server CPU per req", cpu_ms, "ms")
            results.add(
                SECTION,
                f"{label}: server CPU ÷ /health's",
                ratio(cpu_ms, floor_cpu[concurrency]),
                "×",
                at_most=REPORT_CPU_TARGET if name == "report_progress" else None,
            )
            results.add(SECTION, f"{label}: server busy", busy, "% core")
    for batch_size in (1, 100, 1000):
        entries = [
            {"message": f"log line {n} of the benchmark", "level": "info", "action_name": "a0"}
            for n in range(batch_size)
        ]

        async def append(
            client: AsyncPipelineServiceClient, index: int, i: int, entries: Any = entries
        ) -> Any:
            return await client.append_logs(run_ids[index], entries)

        rate, cpu_ms, busy = await _rate(url, server_pid, append, 1, duration)
        label = f"append_logs, batch {batch_size}"
        target = LOG_TARGET if batch_size == 1000 else None
        results.add(SECTION, f"{label}: entries/s", rate * batch_size, "entries/s", at_least=target)
        results.add(SECTION, f"{label}: ÷ /health req/s (requests)", ratio(rate, floor[1]), "×")
        results.add(SECTION, f"{label}: server CPU per entry", cpu_ms / batch_size, "ms")


def run(
    results: Results,
    url: str,
    server_pid: int,
    pipeline_id: str,
    run_ids: list[str],
    *,
    duration: float,
) -> None:
    print(f"[{SECTION}] {duration:g} s per figure", flush=True)
    asyncio.run(_run(results, url, server_pid, pipeline_id, run_ids, duration))
