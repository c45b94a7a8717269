"""What an idle progress stream leaves on the server's heap, by tracemalloc, in one process.

    python -m benchmarks.stream_memory [STREAMS] [TOP]

An `EmbeddedServer` (its own thread and event loop, a temporary SQLite database) and STREAMS
(default 1,000) plain sockets that each ask for one run's progress stream, read its first event
and stay open. Python's allocations are traced from before the streams open; the difference
between the snapshot with them open and the one before is printed per stream, by file and by
line (the TOP largest; the client's sockets and this module are left out). Figures from it:
benchmarks/README.md, "Issue 24".
"""

from __future__ import annotations

import gc
import socket
import sys
import time
import tracemalloc

from benchmarks._harness import raise_file_limit
from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer

_CLIENT_FILES = ("socket.py", "stream_memory.py", "selectors.py", "threading.py")


def _open_stream(port: int, run_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"GET /api/v1/runs/{run_id}/progress/stream HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received.partition(b"data:")[2]:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"the stream closed before its first event: {received!r}")
        received += chunk
    return sock


def _per_stream(
    snapshot: tracemalloc.Snapshot, before: tracemalloc.Snapshot, by: str
) -> list[tracemalloc.StatisticDiff]:
    keep = [tracemalloc.Filter(False, f"*{name}") for name in _CLIENT_FILES]
    return snapshot.filter_traces(keep).compare_to(before.filter_traces(keep), by)


def main(streams: int = 1000, top: int = 25) -> None:
    raise_file_limit()
    with EmbeddedServer(heartbeat_interval=600.0) as server:
        with PipelineServiceClient(server.url) as client:
            pipeline = client.create_pipeline("idle", [{"name": "a0", "entrypoint": "x:y"}])
            run_id = client.create_run(pipeline["id"])["id"]
        for _ in range(3):  # warm every cache a stream touches
            _open_stream(server.port, run_id).close()
        time.sleep(0.5)
        tracemalloc.start(1)
        gc.collect()
        before = tracemalloc.take_snapshot()
        sockets = [_open_stream(server.port, run_id) for _ in range(streams)]
        time.sleep(0.5)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        total = sum(stat.size_diff for stat in _per_stream(after, before, "filename"))
        print(f"{streams:,} idle progress streams: {total / streams / 1024:.2f} KB per stream")
        print("\nby file (bytes per stream, objects per stream):")
        for stat in _per_stream(after, before, "filename")[:top]:
            name = stat.traceback[0].filename
            print(f"{stat.size_diff / streams:9.0f} {stat.count_diff / streams:6.1f}  {name}")
        print("\nby line:")
        for stat in _per_stream(after, before, "lineno")[:top]:
            frame = stat.traceback[0]
            print(
                f"{stat.size_diff / streams:9.0f} {stat.count_diff / streams:6.1f}  "
                f"{frame.filename}:{frame.lineno}"
            )
        for sock in sockets:
            sock.close()


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
