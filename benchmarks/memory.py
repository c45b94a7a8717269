"""4. Memory: the client over a long stream; the server holding many idle streams.

Client: a fresh helper process consumes a stream of `events` progress events with the sync and
the async client, from a minimal uvicorn SSE endpoint (another helper process) that sends them
as fast as the socket takes them. Growth is the peak RSS minus the RSS after the first 1,000
events (imports, buffers and caches warmed up).

Server: a fresh server (this runs first); a helper process opens `subscribers` progress
streams on one run and leaves them idle. Server RSS (from /proc) before and with the streams
open, and its CPU use over an idle window (heartbeats included).
"""

from __future__ import annotations

import time

from benchmarks._harness import (
    CpuMeter,
    Helper,
    Results,
    ServerProcess,
    free_port,
    percentile,
    rss_bytes,
)
from pipeline_service import PipelineServiceClient

SECTION = "4 memory"
MB = 1024 * 1024
GROWTH_TARGET_MB = 10.0
# With 10,000 idle streams (issue 24): the server's RSS, and /health's p99 meanwhile.
STREAMS_TARGET = 10_000
STREAMS_RSS_TARGET_MB = 300.0
HEALTH_P99_TARGET_MS = 100.0
HEALTH_CALLS = 200


def client_stream(results: Results, *, events: int) -> None:
    print(f"[{SECTION}] client consuming {events:,} events", flush=True)
    port = free_port()
    source = Helper("_sse_source", str(port), str(events))
    try:
        source.wait_ready()
        url = f"http://127.0.0.1:{port}"
        for mode in ("sync", "async"):
            consumer = Helper("_stream_consumer", url, "bench-run", mode)
            answer = consumer.result(timeout=600)
            if answer["events"] != events or answer["last_version"] != events:
                raise RuntimeError(f"the {mode} client saw {answer['events']} of {events} events")
            growth = (answer["rss_max"] - answer["rss_baseline"]) / MB
            label = f"{events:,}-event stream, {mode} client"
            results.add(SECTION, f"{label}: RSS growth", growth, "MB", at_most=GROWTH_TARGET_MB)
            results.add(SECTION, f"{label}: peak RSS", answer["rss_max"] / MB, "MB")
            results.add(
                SECTION, f"{label}: events/s", answer["events"] / answer["seconds"], "events/s"
            )
        source.result()
    finally:
        source.kill()


def idle_subscribers(
    results: Results, server: ServerProcess, *, subscribers: int, window: float
) -> None:
    """Run first on a fresh server, so its RSS is not yet grown by other benchmarks."""
    print(f"[{SECTION}] server with {subscribers:,} idle subscribers", flush=True)
    with PipelineServiceClient(server.url) as client:
        pipeline = client.create_pipeline("idle", [{"name": "a0", "entrypoint": "x:y"}])
        run_id = client.create_run(pipeline["id"])["id"]
        client.get_run(run_id)
        time.sleep(min(0.5, window))
        with CpuMeter(server.pid) as meter:
            time.sleep(window)
        idle_cpu = meter.busy
        rss_before = rss_bytes(server.pid)
        helper = Helper("_subscribers", server.url, run_id, str(subscribers), "idle", "socket")
        try:
            started = time.monotonic()
            helper.wait_ready(timeout=max(120.0, subscribers / 20))
            connect = time.monotonic() - started
            time.sleep(min(1.0, window))
            server.check_alive()
            rss_open = rss_bytes(server.pid)
            with CpuMeter(server.pid) as meter:
                time.sleep(window)
            server.check_alive()
            health_ms = []
            for _ in range(HEALTH_CALLS):
                started = time.perf_counter()
                if not client.health_check():
                    raise RuntimeError("the server is not healthy with the streams open")
                health_ms.append(1000 * (time.perf_counter() - started))
            answer = helper.result()
        finally:
            helper.kill()
        label = f"server, {subscribers:,} idle streams"
        full = subscribers >= STREAMS_TARGET
        results.add(SECTION, "server RSS, no stream", rss_before / MB, "MB")
        rss_target = STREAMS_RSS_TARGET_MB if full else None
        results.add(SECTION, f"{label}: RSS", rss_open / MB, "MB", at_most=rss_target)
        results.add(
            SECTION, f"{label}: RSS per stream", (rss_open - rss_before) / subscribers / 1024, "KB"
        )
        results.add(SECTION, "server CPU, no stream", idle_cpu, "% core")
        results.add(SECTION, f"{label}: CPU", meter.busy, "% core")
        results.add(SECTION, f"{label}: time to open all", connect, "s")
        results.add(SECTION, f"{label}: heartbeats received in the window", answer["pings"], "")
        results.add(SECTION, f"{label}: /health p50", percentile(health_ms, 50), "ms")
        health_target = HEALTH_P99_TARGET_MS if full else None
        p99 = percentile(health_ms, 99)
        results.add(SECTION, f"{label}: /health p99", p99, "ms", at_most=health_target)
        if answer["events_after_first"]:
            raise RuntimeError(f"idle streams got {answer['events_after_first']} unexpected events")
