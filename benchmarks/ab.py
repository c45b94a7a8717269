"""Side by side: the server of another checkout ("before") and this one ("after"), in one run.

    python -m benchmarks.ab BEFORE_SRC [--seconds 2] [--rounds 2] [--no-postgres]

BEFORE_SRC is the `src` directory of the code to compare with, e.g. the previous commit:
`git worktree add /tmp/before HEAD~3` then `python -m benchmarks.ab /tmp/before/src`. Each round
starts a fresh server process per code and backend (SQLite, and PostgreSQL on one throwaway
cluster with fsync on) — before SQLite, before PostgreSQL, after SQLite, after PostgreSQL —
and measures with section 3's loops: /health and report_progress with 1 and 8 clients (and the
ratio of their server CPU per request, issue 24's target 1), append_logs in batches of 1,000
with 1. Each figure: requests/s and the server's user and
system CPU per request from /proc (the steadier figure on a shared machine). Rounds alternate
the codes, so that a change in the machine's load hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks._harness import ServerProcess
from benchmarks.backends import _setup
from benchmarks.throughput import _rate
from pipeline_service import AsyncPipelineServiceClient

BATCH = 1000


def _cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of the process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def _figures(server: ServerProcess, seconds: float) -> dict[str, tuple[float, float, float]]:
    """Per figure: rate, user and system CPU ms per request."""
    _, run_ids = _setup(server.url)
    entries = [{"message": f"log line {n}", "action_name": "a0"} for n in range(BATCH)]

    async def health(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.health_check()

    async def report(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.report_progress(
            run_ids[index],
            current_action_index=0,
            action_progress={"name": "a0", "progress": (i % 100) / 100},
        )

    async def append(client: AsyncPipelineServiceClient, index: int, i: int) -> Any:
        return await client.append_logs(run_ids[index], entries)

    figures = {}
    for name, call, clients in (
        ("/health, 1 client", health, 1),
        ("/health, 8 clients", health, 8),
        ("report_progress, 1 client", report, 1),
        ("report_progress, 8 clients", report, 8),
        (f"append_logs x{BATCH}, 1 client", append, 1),
    ):
        user, system = _cpu(server.pid)
        rate, cpu_ms, _ = await _rate(server.url, server.pid, call, clients, seconds)
        user = _cpu(server.pid)[0] - user
        system = _cpu(server.pid)[1] - system
        share = user / (user + system) if user + system else 1.0  # of the CPU per request
        figures[name] = (rate, cpu_ms * share, cpu_ms * (1 - share))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the src directory of the code to compare")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    after = Path(__file__).resolve().parents[1] / "src"
    cluster = None
    if not args.no_postgres:
        from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster

        cluster = ThrowawayCluster(durable=True).start()
    databases = 0
    try:
        print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
        for round_ in range(args.rounds):
            for code, src in (("before", args.before.resolve()), ("after", after)):
                os.environ["PYTHONPATH"] = str(src)  # the server subprocess imports this code
                backends: list[tuple[str, str | None]] = [("SQLite", None)]
                if cluster is not None:
                    import psycopg

                    databases += 1
                    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
                        conn.execute(f"CREATE DATABASE ab{databases}")
                    backends.append(("PostgreSQL", cluster.dsn(f"ab{databases}")))
                for backend, db in backends:
                    with ServerProcess(db=db) as server:
                        figures = asyncio.run(_figures(server, args.seconds))
                    for name, (rate, user, system) in figures.items():
                        unit = "entries/s" if name.startswith("append") else "req/s"
                        scale = BATCH if name.startswith("append") else 1
                        print(
                            f"round {round_ + 1}  {code:6}  {backend:10}  {name:28}"
                            f"{rate * scale:10,.0f} {unit:9}  server CPU {user + system:7.3f} ms"
                            f" (user {user:.3f}, sys {system:.3f})",
                            flush=True,
                        )
                    for clients in ("1 client", "8 clients"):
                        report = sum(figures[f"report_progress, {clients}"][1:])
                        health = sum(figures[f"/health, {clients}"][1:])
                        print(
                            f"round {round_ + 1}  {code:6}  {backend:10}  "
                            f"report CPU ÷ /health's, {clients}: {report / health:.2f}",
                            flush=True,
                        )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
