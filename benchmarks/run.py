"""Runs every benchmark against a reference server on 127.0.0.1 and prints one table."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    backends,
    latency,
    memory,
    outage,
    overhead,
    ray_executor,
    runner,
    runs_stream,
    startup,
    throughput,
)
from benchmarks._harness import Results, ServerProcess, machine
from pipeline_service import PipelineServiceClient

SECTIONS = (
    "overhead",
    "latency",
    "throughput",
    "memory",
    "runner",
    "backends",
    "outage",
    "ray",
    "startup",
    "runs_stream",
)


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does."""

    calls: int
    rounds: int
    latency_levels: tuple[int, ...]
    latency_reports: int
    throughput_seconds: float
    stream_events: int
    idle_subscribers: int
    idle_window: float
    runner_actions: int
    runner_repeats: int
    set_progress_calls: int
    log_metrics_calls: int
    backend_seconds: float
    backend_subscribers: int
    backend_reports: int
    outage_requests: int
    runs_stream_subscribers: int
    runs_stream_reports: int


FULL = Sizes(
    calls=100,
    rounds=15,
    latency_levels=(1, 10, 100),
    latency_reports=50,
    throughput_seconds=3.0,
    stream_events=100_000,
    idle_subscribers=10_000,
    idle_window=16.0,
    runner_actions=10,
    runner_repeats=3,
    set_progress_calls=1_000_000,
    log_metrics_calls=100_000,
    backend_seconds=3.0,
    backend_subscribers=100,
    backend_reports=50,
    outage_requests=18,
    runs_stream_subscribers=100,
    runs_stream_reports=50,
)
QUICK = Sizes(
    calls=10,
    rounds=1,
    latency_levels=(2,),
    latency_reports=3,
    throughput_seconds=0.1,
    stream_events=2_000,
    idle_subscribers=20,
    idle_window=0.5,
    runner_actions=3,
    runner_repeats=1,
    set_progress_calls=10_000,
    log_metrics_calls=2_000,
    backend_seconds=0.1,
    backend_subscribers=2,
    backend_reports=3,
    outage_requests=4,
    runs_stream_subscribers=2,
    runs_stream_reports=3,
)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks, not figures")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


@contextmanager
def _step(results: Results, name: str) -> Iterator[None]:
    """Time one step; the times go into the conditions (to see where a run spends its time)."""
    started = time.monotonic()
    yield
    steps = results.conditions.setdefault("seconds_per_step", {})
    steps[name] = round(time.monotonic() - started, 1)


def _run_sections(results: Results, sizes: Sizes, only: list[str]) -> None:
    with _step(results, "server start"):
        server = ServerProcess().start()
    with server, PipelineServiceClient(server.url) as client:
        actions = [{"name": f"a{i}", "entrypoint": "benchmarks.actions:noop"} for i in range(3)]
        pipeline_id = client.create_pipeline("bench", actions)["id"]
        run_ids = [client.create_run(pipeline_id)["id"] for _ in range(8)]
        if "memory" in only:  # first: the server's RSS is not yet grown by the others
            with _step(results, "idle subscribers"):
                memory.idle_subscribers(
                    results, server, subscribers=sizes.idle_subscribers, window=sizes.idle_window
                )
        if "overhead" in only:
            with _step(results, "overhead"):
                overhead.run(
                    results, server.url, run_ids[0], calls=sizes.calls, rounds=sizes.rounds
                )
        if "latency" in only:
            with _step(results, "latency"):
                latency.run(
                    results,
                    server.url,
                    client,
                    pipeline_id,
                    levels=sizes.latency_levels,
                    reports=sizes.latency_reports,
                )
        if "throughput" in only:
            with _step(results, "throughput"):
                throughput.run(
                    results,
                    server.url,
                    server.pid,
                    pipeline_id,
                    run_ids,
                    duration=sizes.throughput_seconds,
                )
        if "runner" in only:
            with _step(results, "runner"):
                runner.noop_pipeline(
                    results,
                    server.url,
                    actions_count=sizes.runner_actions,
                    repeats=sizes.runner_repeats,
                    server_pid=server.pid,
                )
                runner.set_progress_loop(results, server.url, count=sizes.set_progress_calls)
                runner.log_metrics_loop(results, server.url, count=sizes.log_metrics_calls)
        if "ray" in only:
            with _step(results, "ray"):
                ray_executor.run(
                    results,
                    server.url,
                    actions_count=sizes.runner_actions,
                    repeats=sizes.runner_repeats,
                )
        server.check_alive()
    if "memory" in only:
        with _step(results, "client stream"):
            memory.client_stream(results, events=sizes.stream_events)
    if "startup" in only:
        with _step(results, "startup"):
            startup.run(results, rounds=sizes.rounds)
    if "backends" in only:
        with _step(results, "backends"):
            backends.run(
                results,
                duration=sizes.backend_seconds,
                subscribers=sizes.backend_subscribers,
                reports=sizes.backend_reports,
            )
    if "outage" in only:
        with _step(results, "outage"):
            outage.run(results, requests=sizes.outage_requests)
    if "runs_stream" in only:
        with _step(results, "runs stream"):
            runs_stream.run(
                results,
                duration=sizes.throughput_seconds,
                rounds=max(1, sizes.rounds // 3),
                subscribers=sizes.runs_stream_subscribers,
                reports=sizes.runs_stream_reports,
            )
            runs_stream.postgres_numbering(
                results, duration=sizes.throughput_seconds, rounds=max(1, sizes.rounds // 3)
            )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    sizes = QUICK if args.quick else FULL
    results = Results(conditions={**machine(), "mode": "quick" if args.quick else "full"})
    print("machine:", json.dumps(results.conditions), flush=True)
    started = time.monotonic()
    _run_sections(results, sizes, args.only)
    results.conditions["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results.conditions["seconds"] = round(time.monotonic() - started, 1)
    print()
    print(results.table())
    print()
    print("conditions:", json.dumps(results.conditions))
    if args.json is not None:
        args.json.write_text(json.dumps(results.as_json(), indent=2))
    return 0
