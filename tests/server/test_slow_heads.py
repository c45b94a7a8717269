"""Thousands of half-sent request heads against a server with few file descriptors: `/health`
answers throughout, and the server says in its log that it is at its connection limit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

FILE_LIMIT = 256  # the server's RLIMIT_NOFILE: three quarters of it go to connections
HEADS = 3000  # half-open requests the attacker keeps open (reopening those the server closes)
PROBES = 40

SERVE = f"""
import resource, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({FILE_LIMIT}, hard))
from pipeline_service.server import EmbeddedServer
server = EmbeddedServer(sys.argv[1]).start()
print(server.url, flush=True)
sys.stdin.read()  # until the test closes stdin
server.stop()
"""

# Keeps HEADS connections open, each with half a request head; reopens each one the server
# closes. Prints how many it opened once all were tried, then goes on until stdin closes.
ATTACK = f"""
import resource, selectors, socket, sys, threading
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
host, port = sys.argv[1], int(sys.argv[2])
HEAD = b"GET /health HTTP/1.1\\r\\nHost: " + host.encode() + b"\\r\\nX-Slow: "
selector = selectors.DefaultSelector()
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
opened = 0

def open_one():
    global opened
    sock = socket.socket()
    sock.setblocking(False)
    try:
        sock.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        sock.close()
        return
    opened += 1
    selector.register(sock, selectors.EVENT_WRITE)

for _ in range({HEADS}):
    open_one()
print("opened", opened, flush=True)
while not stop.is_set():
    for key, events in selector.select(timeout=0.1):
        sock = key.fileobj
        if events & selectors.EVENT_WRITE:
            try:
                sock.send(HEAD)
            except OSError:
                pass
            selector.modify(sock, selectors.EVENT_READ)
            continue
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            selector.unregister(sock)
            sock.close()
            open_one()
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """`(url, log lines)` of a server process limited to FILE_LIMIT open files."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path / "heads.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdin
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), (url, log)
        yield url, log
    finally:
        process.stdin.close()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
        process.stdout.close()
        process.stderr.close()


def test_health_answers_while_thousands_of_heads_hang(server: tuple[str, list[str]]) -> None:
    url, log = server
    host, port = url.removeprefix("http://").split(":")
    attacker = subprocess.Popen(
        [sys.executable, "-c", ATTACK, host, port],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert attacker.stdout is not None
    assert attacker.stdin is not None
    try:
        opened = attacker.stdout.readline().split()
        assert opened[:1] == ["opened"], opened
        assert int(opened[1]) > FILE_LIMIT * 4, opened
        answered = 0
        with httpx.Client(base_url=url, timeout=10) as http:
            for _ in range(PROBES):
                # A fresh connection each time, as a load balancer's health check makes.
                response = http.get("/health", headers={"Connection": "close"})
                answered += response.status_code == 200
        assert attacker.poll() is None, "the attacker stopped before the probes ended"
    finally:
        attacker.stdin.close()
        attacker.wait(30)
        attacker.stdout.close()
    assert answered == PROBES
    deadline = time.monotonic() + 30
    while not any("connection limit of" in line for line in log):
        assert time.monotonic() < deadline, f"no log line about the limit: {log[-5:]}"
        time.sleep(0.05)
