"""Stream resilience against a scripted server: resume, dedupe, v1-core streams, idle gaps,
deadlines and streams cut short. Every test runs with the sync and the async client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient
from pipeline_service.errors import APITimeoutError, NotFoundError, StreamError

from .fakes import Request, ScriptedServer, Step, head, json_response, sse


def state(
    status: str = "running", action: str | None = None, fraction: float = 0.0
) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "pipeline_id": "p1",
        "status": status,
        "current_action": action,
        "current_action_index": 0,
        "progress": [{"name": "a", "status": "running", "progress": fraction}],
        "error": None,
        "started_at": None,
        "completed_at": None,
    }


def record(seq: int) -> dict[str, Any]:
    return {
        "id": f"l{seq}",
        "run_id": "r1",
        "seq": seq,
        "action_name": None,
        "level": "info",
        "message": f"line {seq}",
        "timestamp": "2026-01-01T12:00:00Z",
    }


Collect = Callable[..., list[Any]]


@pytest.fixture(params=["sync", "async"])
def collect(request: pytest.FixtureRequest) -> Collect:
    """collect(url, method, *args, options=..., into=..., **kwargs): every item of a stream
    method (appended to `into` as they come, if given: a stream that ends by an error)."""

    def run(
        url: str,
        method: str,
        *args: Any,
        options: dict[str, Any] | None = None,
        into: list[Any] | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        settings = {"stream_idle_timeout": 5.0, **(options or {})}
        max_reconnects = settings.pop("stream_max_reconnects", None)
        items: list[Any] = [] if into is None else into
        if request.param == "sync":
            with PipelineServiceClient(url, **settings) as client:
                scoped = client.with_options(stream_max_reconnects=max_reconnects)
                items.extend(getattr(scoped, method)(*args, **kwargs))
                return items

        async def main() -> list[Any]:
            async with AsyncPipelineServiceClient(url, **settings) as client:
                scoped = client.with_options(stream_max_reconnects=max_reconnects)
                async for item in getattr(scoped, method)(*args, **kwargs):
                    items.append(item)
                return items

        return anyio.run(main)

    return run


def connections(
    *scripts: Callable[[Request], Iterator[Step]],
) -> Callable[[Request], Iterator[Step]]:
    """A script per connection; the last one repeats."""

    def script(request: Request) -> Iterator[Step]:
        return scripts[min(request.index, len(scripts) - 1)](request)

    return script


def test_resumes_with_last_event_id_and_never_repeats_a_version(collect: Collect) -> None:
    def first(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("pending"), event="progress", id=1, retry=10)
        yield sse(state("running", "a"), event="progress", id=2)
        # The connection drops here: no terminal event.

    def second(request: Request) -> Iterator[Step]:
        assert request.headers.get("last-event-id") == "2"
        yield head()
        yield sse(state("running", "a"), event="progress", id=2)  # already seen
        yield sse(state("running", "a", 0.5), event="progress", id=3)
        yield sse(state("completed", "a", 1.0), event="completed", id=4)
        yield 5.0  # the client stops after the terminal event; it does not wait for the close

    with ScriptedServer(connections(first, second)) as server:
        started = time.monotonic()
        items = collect(server.url, "stream_progress", "r1", timeout=10)
        assert time.monotonic() - started < 4
        assert [p.version for p in items] == [1, 2, 3, 4]
        assert [p.status for p in items] == ["pending", "running", "running", "completed"]
        assert items[-1].is_terminal
        assert len(server.requests) == 2
        assert server.requests[0].headers["accept"] == "text/event-stream"
        assert "last-event-id" not in server.requests[0].headers


def test_an_older_state_never_follows_a_newer_one(collect: Collect) -> None:
    def script(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=5)
        yield sse(state("pending"), event="progress", id=3)
        yield sse(state("running", fraction=0.5), event="progress", id=5)
        yield sse(state("failed"), event="failed", id=6)

    with ScriptedServer(script) as server:
        items = collect(server.url, "stream_progress", "r1", timeout=10)
        assert [p.version for p in items] == [5, 6]
        assert items[-1].status == "failed"


def test_caller_given_last_event_id(collect: Collect) -> None:
    def script(request: Request) -> Iterator[Step]:
        assert request.headers["last-event-id"] == "7"
        yield head()
        yield sse(state("running"), event="progress", id=7)
        yield sse(state("cancelled"), event="cancelled", id=8)

    with ScriptedServer(script) as server:
        items = collect(server.url, "stream_progress", "r1", last_event_id="7")
        assert [p.version for p in items] == [8]


def test_v1_core_stream_without_ids(collect: Collect) -> None:
    """No ids, no retry, no heartbeats, offset-less timestamps: identical states are dropped."""
    naive = {**state("running", "a"), "started_at": "2026-01-01T12:00:00"}

    def first(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("pending"), event="progress")
        yield sse(state("pending"), event="progress")
        yield sse(naive, event="progress")

    def second(request: Request) -> Iterator[Step]:
        assert "last-event-id" not in request.headers
        yield head()
        yield sse(naive, event="progress")  # the current state again, after the reconnect
        yield sse({**naive, "status": "completed"}, event="completed")

    with ScriptedServer(connections(first, second)) as server:
        items = collect(server.url, "stream_progress", "r1", timeout=10)
        assert [p.status for p in items] == ["pending", "running", "completed"]
        assert all(p.version is None for p in items)
        assert items[1].started_at is not None
        assert items[1].started_at.utcoffset() is not None


def test_stream_ending_without_terminal_event_raises(collect: Collect) -> None:
    def script(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=1, retry=10)

    with ScriptedServer(script) as server:
        with pytest.raises(StreamError, match="could not be resumed after 2 reconnect"):
            collect(server.url, "stream_progress", "r1", options={"stream_max_reconnects": 2})
        assert len(server.requests) == 3


def test_errors_before_the_stream(collect: Collect) -> None:
    def missing(_: Request) -> Iterator[Step]:
        yield json_response(404, {"detail": "Run not found"})

    with ScriptedServer(missing) as server:
        with pytest.raises(NotFoundError, match="Run not found"):
            collect(server.url, "stream_progress", "nope")
        assert len(server.requests) == 1

    def busy(_: Request) -> Iterator[Step]:
        yield json_response(503, {"detail": "busy"}, {"Retry-After": "0"})

    def ok(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("completed"), event="completed", id=1)

    with ScriptedServer(connections(busy, ok)) as server:
        assert [p.version for p in collect(server.url, "stream_progress", "r1")] == [1]

    def not_a_stream(_: Request) -> Iterator[Step]:
        yield json_response(200, state())

    with (
        ScriptedServer(not_a_stream) as server,
        pytest.raises(StreamError, match="not text/event-stream"),
    ):
        collect(server.url, "stream_progress", "r1")


def test_run_deleted_mid_stream(collect: Collect) -> None:
    def script(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=1)
        yield sse({"run_id": "r1", "detail": "Run not found"}, event="error")

    with ScriptedServer(script) as server, pytest.raises(NotFoundError, match="Run not found"):
        collect(server.url, "stream_progress", "r1")


def test_malformed_and_unknown_events(collect: Collect) -> None:
    def script(_: Request) -> Iterator[Step]:
        yield head()
        yield b": a comment\n\n"
        yield sse({"something": "else"}, event="added-in-v3", id=1)
        yield sse(state("completed"), event="completed", id=2)

    with ScriptedServer(script) as server:
        assert [p.version for p in collect(server.url, "stream_progress", "r1")] == [2]

    def broken(_: Request) -> Iterator[Step]:
        yield head()
        yield sse("{not json", event="progress", id=1)

    with (
        ScriptedServer(broken) as server,
        pytest.raises(StreamError, match="Malformed 'progress' event"),
    ):
        collect(server.url, "stream_progress", "r1")


def test_idle_gap_reconnects(collect: Collect) -> None:
    def silent(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=1, retry=10)
        yield 3.0  # no byte, not even a heartbeat

    def then_done(request: Request) -> Iterator[Step]:
        assert request.headers["last-event-id"] == "1"
        yield head()
        yield sse(state("completed"), event="completed", id=2)

    with ScriptedServer(connections(silent, then_done)) as server:
        started = time.monotonic()
        items = collect(server.url, "stream_progress", "r1", options={"stream_idle_timeout": 0.3})
        assert time.monotonic() - started < 2.5
        assert [p.version for p in items] == [1, 2]


def test_timeout_bounds_the_whole_stream_despite_heartbeats(collect: Collect) -> None:
    def heartbeats(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=1)
        for _beat in range(60):
            yield 0.05
            yield b": ping\n\n"

    with ScriptedServer(heartbeats) as server:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"did not finish within 0\.5 s"):
            collect(server.url, "stream_progress", "r1", timeout=0.5)
        assert time.monotonic() - started < 1.5


def test_follow_logs_resumes_without_gap_or_duplicate(collect: Collect) -> None:
    def first(request: Request) -> Iterator[Step]:
        assert "after_seq=1" in request.path
        assert "level=error" in request.path
        yield head()
        yield sse(record(2), event="log", id=2, retry=10)
        yield sse(record(3), event="log", id=3)

    def second(request: Request) -> Iterator[Step]:
        assert request.headers["last-event-id"] == "3"
        yield head()
        yield sse(record(3), event="log", id=3)
        yield sse(record(4), event="log", id=4)
        yield sse({"run_id": "r1", "status": "completed"}, event="end")

    with ScriptedServer(connections(first, second)) as server:
        items = collect(server.url, "follow_logs", "r1", after_seq=1, level="error")
        assert [r["seq"] for r in items] == [2, 3, 4]


def test_follow_logs_cut_short_raises(collect: Collect) -> None:
    def script(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(record(1), event="log", id=1, retry=10)

    with ScriptedServer(script) as server, pytest.raises(StreamError, match="log stream"):
        collect(server.url, "follow_logs", "r1", options={"stream_max_reconnects": 1})


def test_quiet_v1_core_stream_is_not_a_failure(collect: Collect) -> None:
    """Without heartbeats, a run that does not change lets the stream go idle: each reconnect
    gets the same state again, and that is no reason to give up."""

    def quiet(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress")
        yield 3.0

    def done(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("completed"), event="completed")

    with ScriptedServer(connections(quiet, quiet, quiet, done)) as server:
        items = collect(
            server.url,
            "stream_progress",
            "r1",
            options={"stream_idle_timeout": 0.2, "stream_max_reconnects": 1},
        )
        assert [p.status for p in items] == ["running", "completed"]
        assert len(server.requests) == 4


def test_clean_closes_of_healthy_connections_never_use_up_the_reconnect_budget(
    collect: Collect,
) -> None:
    """Behind a proxy that ends every response after a while, a slow run's stream reconnects
    again and again; each connection was healthy (heartbeats arrived), so it never gives up."""

    def first(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("running"), event="progress", id=1, retry=10)
        yield 0.05
        yield b": ping\n\n"

    def quiet_but_healthy(request: Request) -> Iterator[Step]:
        assert request.headers["last-event-id"] == "1"
        yield head()
        yield b"retry: 10\n\n"
        for _ in range(2):
            yield 0.05
            yield b": ping\n\n"

    def done(_: Request) -> Iterator[Step]:
        yield head()
        yield sse(state("completed"), event="completed", id=2)

    scripts = [first] + [quiet_but_healthy] * 6 + [done]
    with ScriptedServer(connections(*scripts)) as server:
        items = collect(server.url, "stream_progress", "r1", options={"stream_max_reconnects": 2})
        assert [p.version for p in items] == [1, 2]
        assert len(server.requests) == 8


def summary(run_id: str, version: int, status: str = "pending") -> dict[str, Any]:
    return {
        "id": run_id,
        "pipeline_id": "p1",
        "status": status,
        "current_action": None,
        "current_action_index": 0,
        "actions": 1,
        "actions_done": 0,
        "action_progress": None,
        "error": None,
        "labels": {},
        "created_at": "2026-01-01T12:00:00Z",
        "started_at": None,
        "completed_at": None,
        "version": version,
    }


def test_runs_stream_resumes_after_the_last_change_and_never_repeats_one(
    collect: Collect,
) -> None:
    def first(request: Request) -> Iterator[Step]:
        assert "last-event-id" not in request.headers
        assert request.path.endswith("/runs/stream?status_filter=running&label=team%3Dnlp")
        yield head()
        yield sse({"detail": "caught up"}, event="sync", id=10, retry=10)
        yield sse(summary("r1", 1), event="created", id=11)
        yield sse(summary("r1", 2, "running"), event="changed", id=12)
        # The connection drops here.

    def second(request: Request) -> Iterator[Step]:
        assert request.headers.get("last-event-id") == "12"
        yield head()
        yield sse(summary("r1", 2, "running"), event="changed", id=12)  # already seen
        yield sse({"id": "r0", "pipeline_id": "p1"}, event="deleted", id=13)
        yield sse({"detail": "caught up"}, event="sync", id=13)
        yield sse({"detail": "changes were forgotten: list the runs"}, event="reset", id=20)
        yield sse(summary("r2", 1), event="created", id=21)
        yield 5.0

    items: list[Any] = []
    with ScriptedServer(connections(first, second)) as server:
        with pytest.raises(APITimeoutError):
            collect(server.url, "stream_runs", "running", label="team=nlp", timeout=2, into=items)
        assert len(server.requests) >= 2
    assert [(c.kind, c.seq, c.run_id) for c in items] == [
        ("sync", 10, None),
        ("created", 11, "r1"),
        ("changed", 12, "r1"),
        ("deleted", 13, "r0"),
        ("sync", 13, None),
        ("reset", 20, None),
        ("created", 21, "r2"),
    ]


def test_runs_stream_items(collect: Collect) -> None:
    def script(request: Request) -> Iterator[Step]:
        if request.index > 0:
            yield 5.0
            return
        yield head()
        yield sse({"detail": "caught up"}, event="sync", id=10, retry=10)
        yield sse(summary("r1", 1), event="created", id=11)
        yield sse(summary("r1", 1), event="created", id=11)
        yield sse({"id": "r0", "pipeline_id": "p1"}, event="deleted", id=12)
        yield sse({"x": 1}, event="something-new", id=13)
        yield sse(summary("r1", 2, "completed"), event="left", id=14)
        yield sse(summary("r1", 2, "completed"), event="left", id=14)
        yield sse({"detail": "changes were forgotten: list the runs"}, event="reset", id=20)

    items: list[Any] = []

    with ScriptedServer(script) as server, pytest.raises(APITimeoutError):
        collect(server.url, "stream_runs", timeout=1.5, into=items)
    assert [(c.kind, c.seq, c.run_id) for c in items] == [
        ("sync", 10, None),
        ("created", 11, "r1"),
        ("deleted", 12, "r0"),
        ("left", 14, "r1"),
        ("reset", 20, None),
    ]
    assert items[1].run["status"] == "pending"
    assert items[2].pipeline_id == "p1"
    assert items[3].run["status"] == "completed"
    assert items[3].pipeline_id == "p1"
