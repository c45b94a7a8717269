"""Helper process: consume one long progress stream with the client, watching its own RSS.

    python -m benchmarks._stream_consumer URL RUN_ID {sync,async}

Runs in a fresh process so the RSS reflects the stream alone. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks._harness import rss_bytes
from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

BASELINE_AFTER = 1000
SAMPLE_EVERY = 1000


class Watch:
    def __init__(self) -> None:
        self.events = 0
        self.rss_start = rss_bytes()
        self.rss_baseline = 0
        self.rss_max = 0
        self.last_version: int | None = None

    def seen(self, version: int | None) -> None:
        self.events += 1
        self.last_version = version
        if self.events == BASELINE_AFTER:
            self.rss_baseline = rss_bytes()
        if self.events % SAMPLE_EVERY == 0:
            self.rss_max = max(self.rss_max, rss_bytes())

    def result(self, seconds: float) -> dict[str, Any]:
        end = rss_bytes()
        baseline = self.rss_baseline or self.rss_start
        return {
            "events": self.events,
            "last_version": self.last_version,
            "seconds": seconds,
            "rss_start": self.rss_start,
            "rss_baseline": baseline,
            "rss_max": max(self.rss_max, end),
            "rss_end": end,
        }


def consume_sync(url: str, run_id: str) -> dict[str, Any]:
    with PipelineServiceClient(url) as client:
        watch = Watch()
        started = time.perf_counter()
        for progress in client.stream_progress(run_id):
            watch.seen(progress.version)
        return watch.result(time.perf_counter() - started)


async def consume_async(url: str, run_id: str) -> dict[str, Any]:
    async with AsyncPipelineServiceClient(url) as client:
        watch = Watch()
        started = time.perf_counter()
        async for progress in client.stream_progress(run_id):
            watch.seen(progress.version)
        return watch.result(time.perf_counter() - started)


if __name__ == "__main__":
    url, run_id, mode = sys.argv[1:4]
    if mode == "sync":
        result = consume_sync(url, run_id)
    else:
        result = asyncio.run(consume_async(url, run_id))
    print(json.dumps(result), flush=True)
