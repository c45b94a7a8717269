"""Helper process: the reference server (`EmbeddedServer`) on 127.0.0.1 until stdin closes.

    python -m benchmarks._server PORT DB_PATH HEARTBEAT_INTERVAL

The server gets a process of its own so that it and the benchmark never share a GIL; its main
thread only waits on stdin. No worker runs here: the benchmarks start their own.
"""

from __future__ import annotations

import sys

from benchmarks._harness import raise_file_limit
from pipeline_service.server import EmbeddedServer

if __name__ == "__main__":
    raise_file_limit()  # before the server derives its connection cap from it
    port, db_path, heartbeat = sys.argv[1:4]
    # Heads may take long to be read while 10,000 streams open at once on a busy machine (the
    # default 5 s would close some: benchmarks/README.md); no benchmark sends a slow head.
    with EmbeddedServer(
        db_path, port=int(port), heartbeat_interval=float(heartbeat), head_timeout=60.0
    ) as server:
        print("READY", server.url, flush=True)
        sys.stdin.read()
