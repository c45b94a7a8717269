"""7. Outage: PostgreSQL stopped, started and its connections terminated under a replica.

A replica in its own process on a throwaway local cluster, its pool warmed by concurrent reads.
The database is stopped (fast shutdown): how long concurrent requests (half reads, half writes)
take to be answered (each a 503 with Retry-After), and `/health`. Then started again: how long
after `pg_ctl start` returns the first write succeeds (one write every 20 ms), and `/health` is
200 again. Finally every connection of the replica is terminated (`pg_terminate_backend`, as a
restart or fail-over does): how many of the next requests fail (none should).

Skipped, with the reason printed, when PostgreSQL cannot be started on this machine.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from benchmarks._harness import Results, ServerProcess

SECTION = "7 outage"
ANSWER_TARGET_S = 2.5
RECOVERY_TARGET_S = 3.0
PIPELINE = {"name": "outage", "actions": [{"name": "a", "entrypoint": "benchmarks.actions:noop"}]}


def _timed(call: httpx.Client, method: str, path: str) -> tuple[float, int]:
    started = time.monotonic()
    response = call.request(method, path, json=PIPELINE if method == "POST" else None)
    return time.monotonic() - started, response.status_code


def run(results: Results, *, requests: int) -> None:
    try:
        import psycopg

        from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster

        cluster = ThrowawayCluster().start()
    except (ImportError, OSError, RuntimeError) as exc:
        print(f"[{SECTION}] skipped: PostgreSQL unavailable ({exc})", flush=True)
        return
    print(f"[{SECTION}] PostgreSQL {cluster.bin_dir.parent.name}", flush=True)
    try:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        with (
            ServerProcess(db=cluster.dsn("bench")) as replica,
            httpx.Client(base_url=replica.url, timeout=60) as http,
            ThreadPoolExecutor(requests) as pool,
        ):
            api = "/api/v1/pipelines/"
            list(pool.map(lambda _: http.get(api), range(3 * requests)))  # a warm pool
            cluster.halt()
            answers = list(
                pool.map(lambda i: _timed(http, "POST" if i % 2 else "GET", api), range(requests))
            )
            results.add(
                SECTION,
                f"database down, {requests} concurrent requests: slowest answer",
                max(seconds for seconds, _ in answers),
                "s",
                at_most=ANSWER_TARGET_S,
            )
            results.add(
                SECTION,
                "database down: requests answered 503",
                sum(status == 503 for _, status in answers) / requests * 100,
                "%",
                at_least=100,
            )
            results.add(
                SECTION, "database down: /health answer", _timed(http, "GET", "/health")[0], "s"
            )
            cluster.resume()
            back = time.monotonic()
            while _timed(http, "POST", api)[1] != 201:
                time.sleep(0.02)
            results.add(
                SECTION,
                "database back: first write after it started",
                time.monotonic() - back,
                "s",
                at_most=RECOVERY_TARGET_S,
            )
            while _timed(http, "GET", "/health")[1] != 200:
                time.sleep(0.02)
            results.add(
                SECTION, "database back: /health 200 after it started", time.monotonic() - back, "s"
            )
            list(pool.map(lambda _: http.get(api), range(3 * requests)))
            with psycopg.connect(cluster.dsn("bench"), autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'bench' AND application_name LIKE 'pipeline-service%'"
                )
                while conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = 'bench' "
                    "AND application_name LIKE 'pipeline-service%'"
                ).fetchall():
                    time.sleep(0.02)
            after = [_timed(http, "POST" if i % 2 else "GET", api)[1] for i in range(3 * requests)]
            results.add(
                SECTION,
                f"connections terminated: failed of the next {len(after)} requests",
                sum(status >= 500 for status in after),
                "",
                at_most=0,
            )
            replica.check_alive()
    finally:
        cluster.stop()
