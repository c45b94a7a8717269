"""6. Backends: SQLite and PostgreSQL side by side, and two PostgreSQL replicas as one service.

One SQLite server and two servers on one PostgreSQL database (a throwaway local cluster with
fsync on, as in production), each in its own process. For SQLite and PostgreSQL:
report_progress and get_run requests/s with 1 and 8 clients, and append_logs entries/s (batches
of 100 and 1,000), with the loops of section 3. Then push latency on PostgreSQL, measured as in
section 2: reports go through replica A, with the subscribers on A itself ("same replica") or
on replica B ("other replica": the change travels A → PostgreSQL NOTIFY → B). Finally, how many
subscribers the service carries: the p99 with N subscribers on one replica, and with 2N split
over both.

Skipped, with the reason printed, when PostgreSQL cannot be started on this machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks._harness import Helper, Results, ServerProcess, percentile
from benchmarks.latency import REPORT_INTERVAL
from benchmarks.throughput import _rate
from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

SECTION = "6 backends"
CROSS_P50_TARGET_MS = 10.0
CROSS_P99_TARGET_MS = 50.0
RELATIVE_REPORT_TARGET = 0.7
LOG_BATCHES = (100, 1000)
# append_logs entries/s in batches of 1,000, per backend (issue 24).
LOG_TARGETS = {"SQLite": 40_000.0, "PostgreSQL": 25_000.0}


def _setup(url: str) -> tuple[str, list[str]]:
    with PipelineServiceClient(url) as client:
        actions = [{"name": f"a{i}", "entrypoint": "benchmarks.actions:noop"} for i in range(3)]
        pipeline_id = client.create_pipeline("bench", actions)["id"]
        return pipeline_id, [client.create_run(pipeline_id)["id"] for _ in range(8)]


async def _rates(url: str, pid: int, duration: float) -> dict[str, float]:
    _, run_ids = _setup(url)

    async def report(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.report_progress(
            run_ids[index],
            current_action_index=0,
            action_progress={"name": "a0", "progress": (i % 100) / 100},
        )

    async def get_run(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.get_run(run_ids[index])

    figures: dict[str, float] = {}
    for name, call in (("report_progress", report), ("get_run", get_run)):
        for concurrency in (1, 8):
            rate, cpu_ms, _ = await _rate(url, pid, call, concurrency, duration)
            figures[f"{name}, {concurrency} client(s): req/s"] = rate
            figures[f"{name}, {concurrency} client(s): server CPU per req"] = cpu_ms
    for batch in LOG_BATCHES:
        entries = [{"message": f"log line {n}", "action_name": "a0"} for n in range(batch)]

        async def append(
            client: AsyncPipelineServiceClient, index: int, i: int, entries: Any = entries
        ) -> Any:
            return await client.append_logs(run_ids[index], entries)

        rate, _, _ = await _rate(url, pid, append, 1, duration)
        figures[f"append_logs, batch {batch}: entries/s"] = rate * batch
    return figures


def _latencies(
    report_url: str, subscriber_urls: list[str], subscribers: int, reports: int
) -> list[float]:
    """Milliseconds from report_progress returning (on report_url) to each subscriber's event;
    `subscribers` streams on each of subscriber_urls."""
    with PipelineServiceClient(report_url) as client:
        pipeline_id = client.create_pipeline("latency", [{"name": "a0", "entrypoint": "m.A"}])["id"]
        run_id = client.create_run(pipeline_id)["id"]
        helpers = [
            Helper("_subscribers", url, run_id, str(subscribers), "latency", "socket")
            for url in subscriber_urls
        ]
        try:
            for helper in helpers:
                helper.wait_ready()
            time.sleep(0.2)
            returned: dict[str, float] = {}
            start = time.monotonic() + REPORT_INTERVAL
            for k in range(reports):
                delay = start + k * REPORT_INTERVAL - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                marker = f"m{k}"
                client.report_progress(
                    run_id,
                    current_action_index=0,
                    action_progress={"name": "a0", "message": marker, "progress": k / reports},
                )
                returned[marker] = time.monotonic()
            time.sleep(0.2)
            client.update_run(run_id, status="completed")
            answers = [helper.result() for helper in helpers]
        finally:
            for helper in helpers:
                helper.kill()
    values = [
        (arrivals[marker] - at) * 1000
        for answer in answers
        for arrivals in answer["arrivals"]
        for marker, at in returned.items()
        if marker in arrivals
    ]
    if not values:
        raise RuntimeError("no progress event reached the subscribers")
    return values


def run(results: Results, *, duration: float, subscribers: int, reports: int) -> None:
    try:
        from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster

        cluster = ThrowawayCluster(durable=True).start()
    except (ImportError, OSError, RuntimeError) as exc:
        print(f"[{SECTION}] skipped: PostgreSQL unavailable ({exc})", flush=True)
        return
    print(f"[{SECTION}] SQLite and PostgreSQL {cluster.bin_dir.parent.name}", flush=True)
    try:
        import psycopg

        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        with (
            ServerProcess() as sqlite,
            ServerProcess(db=cluster.dsn("bench")) as replica_a,
            ServerProcess(db=cluster.dsn("bench")) as replica_b,
        ):
            rates = {}
            for backend, server in (("SQLite", sqlite), ("PostgreSQL", replica_a)):
                rates[backend] = asyncio.run(_rates(server.url, server.pid, duration))
            for name in rates["SQLite"]:
                for backend in ("SQLite", "PostgreSQL"):
                    unit = name.rsplit(": ", 1)[1].replace("server CPU per req", "ms")
                    target = (
                        LOG_TARGETS[backend] if name.startswith("append_logs, batch 1000") else None
                    )
                    results.add(
                        SECTION, f"{backend} {name}", rates[backend][name], unit, at_least=target
                    )
            for concurrency in (1, 8):
                name = f"report_progress, {concurrency} client(s): req/s"
                results.add(
                    SECTION,
                    f"report_progress, {concurrency} client(s): PostgreSQL ÷ SQLite",
                    rates["PostgreSQL"][name] / rates["SQLite"][name],
                    "×",
                    at_least=RELATIVE_REPORT_TARGET,
                )
            for where, urls in (
                ("same replica", [replica_a.url]),
                ("other replica", [replica_b.url]),
            ):
                values = _latencies(replica_a.url, urls, subscribers, reports)
                cross = where == "other replica"
                label = f"PostgreSQL push, {subscribers} subscribers on the {where}"
                results.add(
                    SECTION,
                    f"{label}: p50",
                    percentile(values, 50),
                    "ms",
                    at_most=CROSS_P50_TARGET_MS if cross else None,
                )
                results.add(
                    SECTION,
                    f"{label}: p99",
                    percentile(values, 99),
                    "ms",
                    at_most=CROSS_P99_TARGET_MS if cross else None,
                )
            many = 2 * subscribers
            one = _latencies(replica_a.url, [replica_a.url], many, reports)
            two = _latencies(replica_a.url, [replica_a.url, replica_b.url], subscribers, reports)
            results.add(
                SECTION, f"{many} subscribers on one replica: p99", percentile(one, 99), "ms"
            )
            results.add(
                SECTION, f"{many} subscribers over two replicas: p99", percentile(two, 99), "ms"
            )
            for server in (sqlite, replica_a, replica_b):
                server.check_alive()
    finally:
        cluster.stop()
