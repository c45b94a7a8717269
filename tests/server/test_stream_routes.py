"""Stream routes served ahead of the FastAPI stack (ahead.ServiceApp): the plain request
of a stream gets the bytes the stack gave; everything else still goes through the stack; the
streams' slimmer parts (Subscription, EventStream) keep their behaviour."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_service.server import EmbeddedServer, Settings
from pipeline_service.server.ahead import AheadRoutes, ServiceApp, stream_route
from pipeline_service.server.events import EventHub
from pipeline_service.server.sse import EventStream
from pipeline_service.server.wakeup import Wakeup
from pipeline_service.wire import LogRecord
from tests.sample import ACTIONS, API

TOKEN = "s3cret-token"


class StackCounter:
    """Counts the requests that go through the app's middleware stack."""

    def __init__(self, app: ASGIApp, counts: list[str]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.counts.append(scope["path"])
        await self.app(scope, receive, send)


def _server(tmp_path: Path, counts: list[str], **options: Any) -> EmbeddedServer:
    server = EmbeddedServer(tmp_path / "streams.db", **options)
    server.app.add_middleware(StackCounter, counts=counts)
    return server


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, list[str], str]]:
    """A server whose stack counts requests, and a run on it."""
    counts: list[str] = []
    with _server(tmp_path, counts) as server:
        yield server, counts, _new_run(server.url, {})


def _new_run(url: str, headers: dict[str, str]) -> str:
    with httpx.Client(base_url=url, headers=headers) as http:
        body = {"name": "streamed", "actions": ACTIONS}
        pipeline = http.post(f"{API}/pipelines/", json=body).json()
        run_id: str = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
        logged = http.post(
            f"{API}/runs/{run_id}/logs/",
            json={"entries": [{"message": "m", "action_name": "convert"}]},
        )
        assert logged.status_code == 201
        return run_id


def exchange(port: int, method: str, target: str, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of an answer up to the end of its first event (or of its body; of its head
    for HEAD), without the Date header."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            head, end, body = data.partition(b"\r\n\r\n")
            if end:
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                if method == "HEAD" or (length is not None and len(body) >= int(length[1])):
                    break
                if b"\r\n\r\n" in body.partition(b"data:")[2]:
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return re.sub(rb"(?im)^date: [^\r]*\r\n", b"", data)


def both_ways(server: EmbeddedServer, method: str, target: str, **headers: str) -> bytes:
    """The answer ahead of the stack, asserted equal to the stack's own."""
    app = server.app
    assert isinstance(app, ServiceApp)
    ahead = exchange(server.port, method, target, headers)
    routes, app.ahead_routes = app.ahead_routes, None
    try:
        stack = exchange(server.port, method, target, headers)
    finally:
        app.ahead_routes = routes
    assert ahead == stack
    return ahead


def test_plain_stream_requests_get_the_stacks_bytes_without_the_stack(
    counted: tuple[EmbeddedServer, list[str], str],
) -> None:
    server, counts, run_id = counted
    for target, headers in [
        (f"{API}/runs/{run_id}/progress/stream", {}),
        (f"{API}/runs/{run_id}/progress/stream/", {}),
        (f"{API}/runs/{run_id}/progress/stream", {"Last-Event-ID": "not-a-version"}),
        (f"{API}/runs/{run_id}/logs/stream", {}),
        (f"{API}/runs/{run_id}/logs/stream?level=info&action_name=convert", {}),
        (f"{API}/runs/{run_id}/logs/stream?after_seq=0", {"Last-Event-ID": "x"}),
        (f"{API}/runs/{run_id}/logs/stream/?action_name=%63onvert", {}),
    ]:
        counts.clear()
        answer = both_ways(server, "GET", target, **headers)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-type: text/event-stream; charset=utf-8" in answer
        assert b"\r\ndata: " in answer
        assert counts == [target.split("?")[0]], "the plain request went through the stack"


def test_refusals_and_unusual_requests_still_go_through_the_stack(
    counted: tuple[EmbeddedServer, list[str], str],
) -> None:
    server, counts, run_id = counted
    cases: list[tuple[str, str, dict[str, str], bytes]] = [
        ("GET", f"{API}/runs/no-such-run/progress/stream", {}, b"404"),
        ("GET", f"{API}/runs/{'r' * 256}/progress/stream", {}, b"422"),
        ("GET", f"{API}/runs/a%2Fb/progress/stream", {}, b"404"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?after_seq=-1", {}, b"422"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?level=loud", {}, b"422"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?action_name={'a' * 256}", {}, b"422"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?level=info&level=info", {}, b"200"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?after_seq=+0", {}, b"200"),
        ("GET", f"{API}/runs/{run_id}/logs/stream?unknown=1", {}, b"200"),
        ("HEAD", f"{API}/runs/{run_id}/progress/stream", {}, b"200"),
        ("GET", f"{API}/runs/{run_id}/progress/stream", {"Content-Length": "2"}, b"200"),
    ]
    for method, target, headers, status in cases:
        counts.clear()
        if "Content-Length" in headers:  # a body on a GET: sent, then the stack's answer
            answer = exchange(server.port, method, target, headers)
        else:
            answer = both_ways(server, method, target, **headers)
        assert answer.split(b" ", 2)[1] == status, (target, answer)
        assert counts, f"{method} {target} did not go through the stack"
    counts.clear()
    answer = both_ways(server, "GET", f"{API}/runs/{run_id}/progress/stream", Host="evil.test")
    assert answer.startswith(b"HTTP/1.1 421 ")
    assert counts


def test_the_bearer_token_is_checked_as_the_stack_checks_it(tmp_path: Path) -> None:
    counts: list[str] = []
    with _server(tmp_path, counts, token=TOKEN) as server:
        run_id = _new_run(server.url, {"Authorization": f"Bearer {TOKEN}"})
        target = f"{API}/runs/{run_id}/progress/stream"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            counts.clear()
            answer = both_ways(server, "GET", target, **headers)
            assert answer.startswith(b"HTTP/1.1 401 "), answer
            assert b"www-authenticate: Bearer" in answer
            assert counts
        counts.clear()
        answer = both_ways(server, "GET", target, Authorization=f"bearer {TOKEN}")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert counts == [target]


def test_a_stream_served_ahead_is_logged_and_unsubscribed_when_the_client_goes(
    counted: tuple[EmbeddedServer, list[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    server, counts, run_id = counted
    hub: EventHub = server.app.state.hub
    counts.clear()
    with caplog.at_level(logging.INFO, logger="pipeline_service.server"):
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        for sock in socks:
            request = f"GET {API}/runs/{run_id}/progress/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            sock.sendall(request.encode())
            sock.recv(65536)
        deadline = time.monotonic() + 30
        while hub.subscriber_count(run_id) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.subscriber_count(run_id) == 5
        for sock in socks:
            sock.close()
        while hub.subscriber_count(run_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.subscriber_count(run_id) == 0
        while len(caplog.records) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert counts == []
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline_service.server"]
    assert len(lines) == 5
    assert all(f'"GET {API}/runs/{run_id}/progress/stream" 200' in line for line in lines)


async def _no_events() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that ends at once


async def _plain(x: str) -> dict[str, str]:
    return {"x": x}


async def _streamed(x: str) -> EventStream:
    return EventStream(_no_events(), ping_interval=0, headers={})


@stream_route(_streamed)
async def _streamed_fast(request: Request) -> EventStream | None:
    return None if request.path_params["x"] == "full" else await _streamed(request.path_params["x"])


def _scope(path: str) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "headers": [],
        "query_string": b"",
    }


def _table(routes: list[BaseRoute]) -> AheadRoutes:
    """The routes served ahead of an app of routes."""
    app = FastAPI()
    app.router.routes[:] = routes
    app.state.settings = Settings()
    return AheadRoutes(app, [])


def test_a_route_before_a_stream_route_keeps_its_paths() -> None:
    """Served ahead or not, a request goes where the route table sends it: an earlier route
    that takes the path wins, as in Starlette's routing."""
    shadowed = _table(
        [Route("/s/{x}", _plain, methods=["GET"]), Route("/s/{x}", _streamed, methods=["GET"])]
    )
    mounted = _table([Mount("/s", app=FastAPI()), Route("/s/{x}", _streamed, methods=["GET"])])
    posted = _table(
        [Route("/s/{x}", _plain, methods=["POST"]), Route("/s/{x}", _streamed, methods=["GET"])]
    )
    alone = _table([Route("/s/{x}", _streamed, methods=["GET"])])

    async def answers() -> list[EventStream | None]:
        return [
            await shadowed.answer_stream(_scope("/s/1")),
            await mounted.answer_stream(_scope("/s/1")),
            await posted.answer_stream(_scope("/s/1")),
            await alone.answer_stream(_scope("/s/1")),
            await alone.answer_stream(_scope("/s/full")),  # the lean handler declines
            await alone.answer_stream(_scope("/t/1")),
            await alone.answer_stream({**_scope("/s/1"), "method": "POST"}),
        ]

    results = asyncio.run(answers())
    assert results[:2] == [None, None]
    assert isinstance(results[2], EventStream)  # a POST route does not take a GET
    assert isinstance(results[3], EventStream)
    assert results[4:] == [None, None, None]


def test_a_subscription_wakes_for_what_arrived_before_or_while_it_waits() -> None:
    async def scenario() -> None:
        async def unused(*args: int) -> Any:
            raise AssertionError("the runs feed is not started by a run's subscription")

        hub = EventHub(unused, unused)
        with hub.subscribe("r") as subscription:
            subscription.close()  # before the wait: the wait returns at once
            await asyncio.wait_for(subscription.wait(), 5)
            waiting = asyncio.ensure_future(subscription.wait())
            await asyncio.sleep(0)
            assert not waiting.done()
            subscription.run_deleted()  # while waiting
            await asyncio.wait_for(waiting, 5)
            waiting = asyncio.ensure_future(subscription.wait())
            await asyncio.sleep(0)
            waiting.cancel()  # a cancelled wait leaves nothing behind
            with pytest.raises(asyncio.CancelledError):
                await waiting
            subscription.resync_logs()
            await asyncio.wait_for(subscription.wait(), 5)
            assert subscription.take_records() == ([], True)
            record: LogRecord = {
                "id": "l1",
                "run_id": "r",
                "seq": 1,
                "action_name": None,
                "level": "info",
                "message": "m",
                "timestamp": "2026-01-01T00:00:00Z",
            }
            subscription.logs_appended([record])
            assert subscription.take_records() == ([record], False)
        assert hub.subscriber_count("r") == 0

    asyncio.run(scenario())


def test_a_wakeup_is_an_event_for_any_number_of_waiters() -> None:
    async def scenario() -> None:
        wakeup = Wakeup()
        assert not wakeup.is_set()
        waiters = [asyncio.ensure_future(wakeup.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        waiters[1].cancel()
        await asyncio.sleep(0)
        assert not any(waiter.done() for waiter in (waiters[0], waiters[2]))
        wakeup.set()
        assert await asyncio.wait_for(asyncio.gather(waiters[0], waiters[2]), 5) == [True, True]
        assert waiters[1].cancelled()
        assert await asyncio.wait_for(wakeup.wait(), 5) is True  # set: at once
        wakeup.clear()
        late = asyncio.ensure_future(wakeup.wait())
        await asyncio.sleep(0)
        assert not late.done()
        assert "waiters:1" in repr(wakeup)
        wakeup.set()
        assert await asyncio.wait_for(late, 5) is True
        assert repr(wakeup) == "<Wakeup [set]>"

    asyncio.run(scenario())
