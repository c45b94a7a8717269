"""6. Backends: SQLite and PostgreSQL side by side, and two PostgreSQL replicas as one service.

One SQLite server and two servers on one PostgreSQL database (a throwaway local cluster with
fsync on, as in production), each in its own process. For SQLite and PostgreSQL:
report_progress and get_run requests/s with 1 and 8 clients, and append_logs entries/s (batches
of 100 and 1,000), with the loops of section 3; beside them the server's CPU per request, and
for PostgreSQL the database's (every process of the cluster, from /proc: the steadiest figure of
what a change saves there on a shared machine). Then push latency on PostgreSQL, measured as in
section 2: reports go through replica A, with the subscribers on A itself ("same replica") or
on replica B ("other replica": the change travels A → PostgreSQL NOTIFY → B). Finally, how many
subscribers the service carries: the p99 with N subscribers on one replica, and with 2N split
over both.

Skipped, with the reason printed, when PostgreSQL cannot be started on this machine.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import Helper, Results, ServerProcess, cpu_seconds, percentile
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


def _cluster_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster so far: its postmaster's child processes (the
    connections' backends, the WAL writer...)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == postmaster:
            total += cpu_seconds(stat.parent.name)
    return total


async def _rates(url: str, pid: int, duration: float, postmaster: int | None) -> dict[str, float]:
    """The figures of one backend; with a postmaster, also its database's CPU per request."""
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
    calls = 0

    async def measured(call: Any, concurrency: int) -> tuple[float, float, float]:
        """_rate's figures, and the database's CPU ms per call (NaN without a postmaster)."""
        nonlocal calls

        async def counted(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
            nonlocal calls
            calls += 1
            return await call(client, index, i)

        calls = 0
        before = _cluster_cpu(postmaster) if postmaster else 0.0
        rate, cpu_ms, _ = await _rate(url, pid, counted, concurrency, duration)
        database = _cluster_cpu(postmaster) - before if postmaster else math.nan
        return rate, cpu_ms, 1000 * database / max(calls, 1)

    for name, call in (("report_progress", report), ("get_run", get_run)):
        for concurrency in (1, 8):
            rate, cpu_ms, database_ms = await measured(call, concurrency)
            figures[f"{name}, {concurrency} client(s): req/s"] = rate
            figures[f"{name}, {concurrency} client(s): server CPU per req"] = cpu_ms
            if name == "report_progress":
                figures[f"{name}, {concurrency} client(s): database CPU per req"] = database_ms
    for batch in LOG_BATCHES:
        entries = [{"message": f"log line {n}", "action_name": "a0"} for n in range(batch)]

        async def append(
            client: AsyncPipelineServiceClient, index: int, i: int, entries: Any = entries
        ) -> Any:
            return await client.append_logs(run_ids[index], entries)

        rate, cpu_ms, database_ms = await measured(append, 1)
        figures[f"append_logs, batch {batch}: entries/s"] = rate * batch
        figures[f"append_logs, batch {batch}: server CPU per batch"] = cpu_ms
        figures[f"append_logs, batch {batch}: database CPU per batch"] = database_ms
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
            postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
            for backend, server, database in (
                ("SQLite", sqlite, None),
                ("PostgreSQL", replica_a, postmaster),
            ):
                rates[backend] = asyncio.run(_rates(server.url, server.pid, duration, database))
            for name in rates["SQLite"]:
                for backend in ("SQLite", "PostgreSQL"):
                    if backend == "SQLite" and "database CPU" in name:
                        continue  # SQLite's work is in the server's own CPU
                    unit = name.rsplit(": ", 1)[1]
                    unit = "ms" if " CPU per " in unit else unit
                    target = (
                        LOG_TARGETS[backend]
                        if name == "append_logs, batch 1000: entries/s"
                        else None
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
