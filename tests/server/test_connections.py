"""Connections cannot exhaust the server: request heads (and idle bodies) have a time limit,
open connections a cap, and what is not HTTP gets a JSON 400."""

from __future__ import annotations

import json
import logging
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

HEAD_TIMEOUT = 1.0
DEADLINE = 30.0


@pytest.fixture
def guarded(tmp_path) -> Iterator[EmbeddedServer]:
    """A server with a short head timeout and room for 20 connections."""
    with EmbeddedServer(
        tmp_path / "guarded.db", head_timeout=HEAD_TIMEOUT, max_connections=20
    ) as server:
        yield server


def connect(server: EmbeddedServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=DEADLINE)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or DEADLINE passes)."""
    received = b""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    else:
        raise AssertionError("the server kept the connection open")
    return received


def status_and_body(response: bytes) -> tuple[int, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


def test_a_head_that_does_not_arrive_in_time_is_408(guarded: EmbeddedServer) -> None:
    with connect(guarded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no final blank line
        status, body = status_and_body(read_all(sock))
    assert status == 408
    assert "request head" in body["detail"]


def test_a_head_that_trickles_for_ever_is_cut_off(guarded: EmbeddedServer) -> None:
    """A header line every fifth of the timeout: each byte is in time, the head never is."""
    with connect(guarded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        deadline = time.monotonic() + DEADLINE
        while not select.select([sock], [], [], HEAD_TIMEOUT / 5)[0]:
            assert time.monotonic() < deadline, "a trickling head kept the connection"
            sock.sendall(b"X-Slow: 1\r\n")
        status, body = status_and_body(read_all(sock))
    assert status == 408
    assert "request head" in body["detail"]


def test_a_connection_that_sends_nothing_is_closed(guarded: EmbeddedServer) -> None:
    with connect(guarded) as sock:
        assert read_all(sock) == b""


def test_a_body_that_stalls_is_408(guarded: EmbeddedServer) -> None:
    with connect(guarded) as sock:
        sock.sendall(
            f"POST {API}/pipelines/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        status, body = status_and_body(read_all(sock))
    assert status == 408
    assert "request body" in body["detail"]
    with httpx.Client(base_url=guarded.url) as http:
        assert http.get(f"{API}/pipelines/").json() == []


def test_a_slow_but_steady_body_is_read(guarded: EmbeddedServer) -> None:
    """Each part of the body arrives within the timeout, the whole takes longer: accepted."""
    data = json.dumps({"name": "slow", "actions": ACTIONS}).encode()
    with connect(guarded) as sock:
        sock.sendall(
            f"POST {API}/pipelines/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        size = len(data) // 6 + 1
        for start in range(0, len(data), size):
            time.sleep(HEAD_TIMEOUT / 4)  # a slow client: never idle for the timeout
            sock.sendall(data[start : start + size])
        status, _ = status_and_body(read_all(sock))
    assert status == 201


def test_a_keep_alive_connection_serves_request_after_request(guarded: EmbeddedServer) -> None:
    with httpx.Client(base_url=guarded.url) as http:
        for _ in range(5):
            assert http.get("/health").status_code == 200


def test_malformed_http_is_a_json_400(guarded: EmbeddedServer) -> None:
    with connect(guarded) as sock:
        sock.sendall(b"THIS IS NOT HTTP\x00\r\n\r\n")
        status, body = status_and_body(read_all(sock))
    assert status == 400
    assert "malformed HTTP request" in body["detail"]


def test_over_the_cap_the_longest_idle_connection_goes(
    guarded: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pipeline_service.server")
    idle = [connect(guarded) for _ in range(40)]
    try:
        with httpx.Client(base_url=guarded.url) as http:
            assert http.get("/health").status_code == 200
        closed = 0
        for sock in idle[:20]:  # the oldest were closed to make room
            sock.settimeout(DEADLINE)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == 20
    finally:
        for sock in idle:
            sock.close()
    assert any("connection limit of 20 reached" in r.getMessage() for r in caplog.records)


def test_when_every_connection_is_busy_a_new_one_gets_503(
    guarded: EmbeddedServer,
) -> None:
    with httpx.Client(base_url=guarded.url + API) as http:
        pid = http.post("/pipelines/", json={"name": "busy", "actions": ACTIONS}).json()["id"]
        rid = http.post(f"/pipelines/{pid}/runs/", json={}).json()["id"]
    streams: list[socket.socket] = []
    try:
        while len(streams) < 20:  # streams are busy connections: none may be closed
            sock = connect(guarded)
            sock.sendall(
                f"GET {API}/runs/{rid}/progress/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(1)
                assert chunk, "a stream was closed"
                head += chunk
            assert head.startswith(b"HTTP/1.1 200"), head
            streams.append(sock)
        with connect(guarded) as sock:
            response = read_all(sock)
        status, body = status_and_body(response)
        assert status == 503
        assert b"retry-after: 1" in response.lower()
        assert "too many open connections" in body["detail"]
    finally:
        for sock in streams:
            sock.close()


def test_pipelined_requests_are_answered_in_the_order_sent(guarded: EmbeddedServer) -> None:
    """Requests queued behind the one being answered (connections keeps them in a list, not
    uvicorn's deque) are answered first in, first out."""
    host = f"Host: {guarded.host}:{guarded.port}\r\n"
    sent = [  # (path, what only its answer holds)
        (f"{API}/runs/x", b"Run not found"),
        (f"{API}/pipelines/x", b"Pipeline not found"),
        ("/health", b"healthy"),
        (f"{API}/runs/x/logs?limit=0", b"limit"),
        ("/health", b"healthy"),
    ]
    with connect(guarded) as sock:
        sock.sendall(
            "".join(
                f"GET {path} HTTP/1.1\r\n{host}"
                + ("Connection: close\r\n" if index == len(sent) - 1 else "")
                + "\r\n"
                for index, (path, _) in enumerate(sent)
            ).encode()
        )
        received = read_all(sock)
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == len(sent), received
    for answer, (path, marker) in zip(answers, sent, strict=True):
        assert marker in answer, (path, answer)
