"""Helper process: many concurrent progress-stream subscribers of one run.

    python -m benchmarks._subscribers URL RUN_ID COUNT {latency,idle} {socket,raw,client}

Prints READY once every stream has its first event. `latency` mode records when each event
carrying a marker (the message of the run's first action) arrives and ends with the run;
`idle` mode holds the streams open until stdin closes. Then prints one JSON line.

Subscribers run here, in their own process, so the benchmark measures the server and not GIL
contention between the subscribers and the reporting client. They read the stream one of three
ways: `socket` (a minimal asyncio protocol that only looks for the markers: the cheapest reader,
so arrival times show the server's fan-out rather than this process's parsing), `raw` (httpx-sse,
parsing each event's JSON) or `client` (AsyncPipelineServiceClient.stream_progress).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from benchmarks._harness import raise_file_limit

CONNECT_CONCURRENCY = 50
_MARKER = re.compile(rb'"message":"(m\d+)"')
_TERMINAL = re.compile(rb"event: (completed|failed|cancelled)\r?\n")


class Stream:
    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.arrivals: dict[str, float] = {}
        self.events = 0
        self.pings = 0
        self.transport: asyncio.Transport | None = None


def _marker(data: dict[str, Any]) -> str | None:
    actions = data.get("progress") or data.get("actions") or []
    return actions[0].get("message") if actions else None


class _MarkerProtocol(asyncio.Protocol):
    """Reads an event stream off the socket, noting when each marker first appears."""

    def __init__(self, request: bytes, stream: Stream, done: asyncio.Future[None]) -> None:
        self.request = request
        self.stream = stream
        self.done = done
        self.tail = b""
        self.head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = self.stream.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if len(self.head) < 12:
            self.head += data[:12]
            if len(self.head) >= 12 and not self.head.startswith(b"HTTP/1.1 200"):
                self._finish(RuntimeError(f"stream answered {self.head!r}"))
                return
        text = self.tail + data
        for match in _MARKER.finditer(text):
            self.stream.arrivals.setdefault(match.group(1).decode(), now)
        self.stream.events += data.count(b"\nevent: ") + data.startswith(b"event: ")
        self.stream.pings += data.count(b": ping")
        if not self.stream.first.is_set() and b"event: " in text:
            self.stream.first.set()
        if _TERMINAL.search(text):
            self._finish(None)
        self.tail = text[-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or RuntimeError("the server closed the stream before its end"))

    def _finish(self, exc: BaseException | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)
        self.transport.close()


async def _socket(url: str, stream: Stream, gate: asyncio.Semaphore) -> None:
    parsed = httpx.URL(url)
    request = (
        f"GET {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    async with gate:
        await loop.create_connection(
            lambda: _MarkerProtocol(request, stream, done), parsed.host, parsed.port
        )
    await done


async def _raw(http: httpx.AsyncClient, url: str, stream: Stream, gate: asyncio.Semaphore) -> None:
    await gate.acquire()  # connect a few at a time, as a real crowd of clients would
    try:
        async with aconnect_sse(http, "GET", url) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                now = time.monotonic()
                if not sse.data:  # a `: ping` heartbeat (httpx-sse repeats the last id)
                    stream.pings += 1
                    continue
                stream.events += 1
                marker = _marker(json.loads(sse.data))
                if marker is not None:
                    stream.arrivals.setdefault(marker, now)
                if not stream.first.is_set():
                    stream.first.set()
                    gate.release()
                if sse.event != "progress":
                    return
    finally:
        if not stream.first.is_set():
            gate.release()


async def _via_client(base_url: str, run_id: str, stream: Stream, gate: asyncio.Semaphore) -> None:
    from pipeline_service import AsyncPipelineServiceClient

    await gate.acquire()
    try:
        async with AsyncPipelineServiceClient(base_url) as client:
            async for progress in client.stream_progress(run_id):
                now = time.monotonic()
                stream.events += 1
                marker = progress.actions[0].message if progress.actions else None
                if marker is not None:
                    stream.arrivals.setdefault(marker, now)
                if not stream.first.is_set():
                    stream.first.set()
                    gate.release()
    finally:
        if not stream.first.is_set():
            gate.release()


async def main(base_url: str, run_id: str, count: int, mode: str, via: str) -> dict[str, Any]:
    url = f"{base_url}/api/v1/runs/{run_id}/progress/stream"
    streams = [Stream() for _ in range(count)]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0, connect=30.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        if via == "socket":
            tasks = [asyncio.create_task(_socket(url, s, gate)) for s in streams]
        elif via == "raw":
            tasks = [asyncio.create_task(_raw(http, url, s, gate)) for s in streams]
        else:
            tasks = [asyncio.create_task(_via_client(base_url, run_id, s, gate)) for s in streams]
        started = time.monotonic()
        while not all(s.first.is_set() for s in streams):
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise RuntimeError("a subscriber failed") from task.exception()
            await asyncio.sleep(0.01)
        connect_seconds = time.monotonic() - started
        print("READY", flush=True)
        if mode == "idle":
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams:
                if stream.transport is not None:
                    stream.transport.close()
            events_after_first = sum(s.events - 1 for s in streams)
            return {
                "connected": count,
                "connect_seconds": connect_seconds,
                "events_after_first": events_after_first,
                "pings": sum(s.pings for s in streams),
            }
        await asyncio.gather(*tasks)
        return {
            "connect_seconds": connect_seconds,
            "arrivals": [s.arrivals for s in streams],
            "events": [s.events for s in streams],
        }


if __name__ == "__main__":
    raise_file_limit()
    base_url, run_id, count, mode, via = sys.argv[1:6]
    result = asyncio.run(main(base_url, run_id, int(count), mode, via))
    print(json.dumps(result), flush=True)
