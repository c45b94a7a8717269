"""A log follower that stops reading costs the server a bounded amount of memory, and once it
reads again it gets every record (from storage, by its cursor)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sample import ACTIONS, API

RECORD_BYTES = 100_000
RECORDS = 1000  # 100 MB of log messages
BATCH = 20
MAX_GROWTH = 60 * 1024 * 1024

SERVE = """
import sys, time
from pipeline_service.server import EmbeddedServer
server = EmbeddedServer(sys.argv[1], max_body_bytes=64 * 1024 * 1024).start()
print(server.url, flush=True)
time.sleep(3600)
"""


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path / "slow.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), url
        yield url, process.pid
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_a_follower_that_never_reads_does_not_grow_the_server(
    server_process: tuple[str, int],
) -> None:
    url, pid = server_process
    with httpx.Client(base_url=url, timeout=60) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "big", "actions": ACTIONS}).json()
        run_id = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
        http.post(f"{API}/runs/{run_id}/progress", json={"status": "running"})

        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as stalled:
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            request = f"GET {API}/runs/{run_id}/logs/stream HTTP/1.1\r\nHost: {host}\r\n\r\n"
            stalled.sendall(request.encode())
            head = b""
            while b"\r\n\r\n" not in head:  # the stream started; from now on it never reads
                head += stalled.recv(1)
            assert head.startswith(b"HTTP/1.1 200"), head
            time.sleep(0.2)
            baseline = rss(pid)
            peak = baseline
            message = "x" * RECORD_BYTES
            for _ in range(RECORDS // BATCH):
                entries = [{"message": message}] * BATCH
                body = json.dumps({"entries": entries}).encode()
                response = http.post(
                    f"{API}/runs/{run_id}/logs/",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                assert response.status_code == 201
                peak = max(peak, rss(pid))
            time.sleep(0.5)
            peak = max(peak, rss(pid))
            assert peak - baseline < MAX_GROWTH, f"server grew by {(peak - baseline) >> 20} MB"

            # Reading again, the same follower gets every record in order, then the end.
            http.patch(f"{API}/runs/{run_id}", json={"status": "completed"})
            received = bytearray()
            stalled.settimeout(60)
            while b"event: end" not in received[-4096:]:
                chunk = stalled.recv(1 << 20)
                assert chunk, "the stream closed before its end"
                received += chunk
            seqs = [int(n) for n in re.findall(rb"\nid: (\d+)\r?\n", bytes(received))]
            assert seqs == list(range(1, RECORDS + 1))
