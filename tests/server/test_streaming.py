"""The progress and log streams over a live server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API
from tests.support.sse import NoFrame, StreamEnded, open_stream

Factory = Callable[..., dict[str, Any]]
ServerFactory = Callable[..., EmbeddedServer]


def new_run(http: httpx.Client) -> str:
    pipeline = http.post(f"{API}/pipelines/", json={"name": "s", "actions": ACTIONS}).json()
    run: str = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
    return run


def report(http: httpx.Client, run_id: str, **body: Any) -> None:
    response = http.post(f"{API}/runs/{run_id}/progress", json=body)
    assert response.status_code == 200, response.text


def test_first_event_at_once_with_headers_id_and_retry(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        started = time.monotonic()
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/progress/stream") as stream:
            first = stream.next(5)
            assert time.monotonic() - started < 2
            assert stream.response.status_code == 200
            headers = stream.response.headers
            assert headers["content-type"].startswith("text/event-stream")
            assert headers["cache-control"] == "no-cache"
            assert headers["x-accel-buffering"] == "no"
            assert first.event == "progress"
            assert first.id == "1"
            assert first.retry is not None
            assert first.retry > 0
            assert first.json() == http.get(f"{API}/runs/{run_id}/progress").json()
            report(http, run_id, status="running")
            second = stream.next(5)
            assert second.retry is None
            assert int(second.id or 0) > 1
            assert second.json()["status"] == "running"


def test_one_event_per_change_then_terminal_and_close(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/progress/stream") as stream:
            stream.next(5)
            seen = []
            for step in range(1, 6):
                report(http, run_id, action_progress={"name": "train", "progress": step / 10})
                frame = stream.next(5)
                seen.append((int(frame.id or 0), frame.json()["progress"][2]["progress"]))
                time.sleep(0.05)
            assert [p for _, p in seen] == [0.1, 0.2, 0.3, 0.4, 0.5]
            versions = [v for v, _ in seen]
            assert versions == sorted(versions)
            assert len(set(versions)) == 5
            report(http, run_id, status="completed")
            final = stream.next(5)
            assert final.event == "completed"
            assert final.json()["status"] == "completed"
            assert stream.ends_within(5) is None


def test_terminal_run_sends_one_terminal_event(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        http.post(f"{API}/runs/{run_id}/cancel")
        for last_event_id in (None, "999", "1"):
            headers = {"Last-Event-ID": last_event_id} if last_event_id else None
            url = f"{live_server.url}{API}/runs/{run_id}/progress/stream"
            with open_stream(url, headers) as stream:
                frame = stream.next(5)
                assert frame.event == "cancelled"
                assert stream.ends_within(5) is None


def test_resume_with_last_event_id(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        url = f"{live_server.url}{API}/runs/{run_id}/progress/stream"
        with open_stream(url) as stream:
            current = stream.next(5)
        # Same version: nothing is re-sent; the next change is the first event.
        with open_stream(url, {"Last-Event-ID": current.id or ""}) as stream:
            with pytest.raises(NoFrame):
                stream.next(timeout=0.5)
            report(http, run_id, status="running")
            resumed = stream.next(5)
            assert int(resumed.id or 0) > int(current.id or 0)
            assert resumed.json()["status"] == "running"
        # Older version: the newest state at once (no state older than one already seen).
        report(http, run_id, current_action="convert")
        with open_stream(url, {"Last-Event-ID": current.id or ""}) as stream:
            newest = stream.next(timeout=2)
            assert newest.json()["current_action"] == "convert"
        # Not a version: ignored, the current state is sent.
        for junk in ("abc", "-1", "1.5", "99999999999999999999999"):
            with open_stream(url, {"Last-Event-ID": junk}) as stream:
                assert stream.next(timeout=2).json()["current_action"] == "convert"


def test_heartbeat_on_idle_run(server_factory: ServerFactory) -> None:
    server = server_factory(heartbeat_interval=0.2)
    with httpx.Client(base_url=server.url) as http:
        run_id = new_run(http)
        with open_stream(f"{server.url}{API}/runs/{run_id}/progress/stream") as stream:
            stream.next(5)
            ping = stream.next(timeout=3, comments=True)
            assert ping.comments == ["ping"]
            assert ping.event is None
            assert ping.data is None


def test_delete_mid_stream_sends_error(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/progress/stream") as stream:
            stream.next(5)
            http.delete(f"{API}/runs/{run_id}")
            error = stream.next(5)
            assert error.event == "error"
            assert error.json() == {"run_id": run_id, "detail": "Run not found"}
            assert stream.ends_within(5) is None


def test_unknown_run_is_json_404(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        for path in ("progress/stream", "logs/stream"):
            response = http.get(f"{API}/runs/nope/{path}")
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"detail": "Run not found"}


def test_hundred_subscribers_cost_no_read_per_subscriber(server_factory: ServerFactory) -> None:
    server = server_factory()
    storage = server.app.state.storage
    with httpx.Client(base_url=server.url) as http:
        run_id = new_run(http)
    reads = 0
    original = storage.get_run

    async def counting_get_run(run_id: str) -> Any:
        nonlocal reads
        reads += 1
        return await original(run_id)

    storage.get_run = counting_get_run

    async def scenario() -> list[list[str]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:

            async def subscribe() -> list[str]:
                names = []
                url = f"{API}/runs/{run_id}/progress/stream"
                async with http.stream("GET", url) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            names.append(line.split(":", 1)[1].strip())
                return names

            tasks = [asyncio.create_task(subscribe()) for _ in range(100)]
            hub = server.app.state.hub
            # The subscribers live on the server's event loop (another thread): poll its count.
            while hub.subscriber_count(run_id) < 100:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            before = reads
            for step in range(1, 4):
                response = await http.post(
                    f"{API}/runs/{run_id}/progress",
                    json={"action_progress": {"name": "train", "progress": step / 4}},
                )
                assert response.status_code == 200
            await http.post(f"{API}/runs/{run_id}/cancel")
            results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
            assert reads == before  # changes were fanned out, not read per subscriber
            return results

    results = asyncio.run(scenario())
    assert len(results) == 100
    for names in results:
        assert names[0] == "progress"
        assert names[-1] == "cancelled"


def test_shutdown_closes_open_streams(server_factory: ServerFactory) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        run_id = new_run(http)
    stream = open_stream(f"{server.url}{API}/runs/{run_id}/progress/stream")
    stream.next(5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    with pytest.raises(StreamEnded):
        stream.next(timeout=5)
    stream.close()


def test_log_stream_backlog_live_and_end(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        logs = f"{API}/runs/{run_id}/logs/"
        http.post(logs, json={"entries": [{"message": f"m{i}"} for i in range(1, 4)]})
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/logs/stream") as stream:
            backlog = [stream.next(5) for _ in range(3)]
            assert [f.id for f in backlog] == ["1", "2", "3"]
            assert [f.event for f in backlog] == ["log"] * 3
            assert backlog[0].json()["message"] == "m1"
            http.post(logs, json={"entries": [{"message": "live", "level": "success"}]})
            live = stream.next(5)
            assert (live.id, live.json()["message"]) == ("4", "live")
            http.patch(f"{API}/runs/{run_id}", json={"status": "completed"})
            end = stream.next(5)
            assert end.event == "end"
            assert end.json() == {"run_id": run_id, "status": "completed"}
            assert stream.ends_within(5) is None


def test_log_stream_ends_after_the_closing_lines_of_a_cancelled_run(
    live_server: EmbeddedServer,
) -> None:
    """A worker writes why a run stopped only after the run became terminal: a follower gets
    those lines too, then `end`."""
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        logs = f"{API}/runs/{run_id}/logs/"
        report(http, run_id, status="running")
        http.post(logs, json={"entries": [{"message": "working"}]})
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/logs/stream") as stream:
            assert stream.next(5).json()["message"] == "working"
            assert http.post(f"{API}/runs/{run_id}/cancel").status_code == 200
            # The worker notices the cancellation, stops the action, and says so: afterwards.
            closing = [{"message": f"closing {i}", "level": "warning"} for i in range(5)]
            assert http.post(logs, json={"entries": closing}).status_code == 201
            frames = [stream.next(5) for _ in range(6)]
            assert [f.json()["message"] for f in frames[:5]] == [e["message"] for e in closing]
            assert frames[5].event == "end"
            assert frames[5].json() == {"run_id": run_id, "status": "cancelled"}
            assert stream.ends_within(5) is None
        # Once the grace has passed, a new follower gets everything and the end at once.
        time.sleep(live_server.settings.log_grace)
        started = time.monotonic()
        with open_stream(f"{live_server.url}{API}/runs/{run_id}/logs/stream") as late:
            assert [late.next(5).event for _ in range(7)] == ["log"] * 6 + ["end"]
        assert time.monotonic() - started < live_server.settings.log_grace


def test_log_stream_resume_filters_and_delete(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        logs = f"{API}/runs/{run_id}/logs/"
        entries = [{"message": f"m{i}", "level": "error" if i % 2 else "info"} for i in range(1, 7)]
        http.post(logs, json={"entries": entries})
        base = f"{live_server.url}{API}/runs/{run_id}/logs/stream"
        with open_stream(base, {"Last-Event-ID": "4"}) as stream:
            assert [stream.next(5).id for _ in range(2)] == ["5", "6"]
        with open_stream(f"{base}?after_seq=5") as stream:
            assert stream.next(5).id == "6"
        with open_stream(f"{base}?after_seq=5", {"Last-Event-ID": "junk"}) as stream:
            assert stream.next(5).id == "6"
        with open_stream(f"{base}?level=error") as stream:
            assert [stream.next(5).id for _ in range(3)] == ["1", "3", "5"]
            http.post(
                logs, json={"entries": [{"message": "x"}, {"message": "y", "level": "error"}]}
            )
            assert stream.next(5).id == "8"
            http.delete(f"{API}/runs/{run_id}")
            error = stream.next(5)
            assert error.event == "error"
            assert error.json()["detail"] == "Run not found"
            assert stream.ends_within(5) is None


def test_changes_from_another_server_on_the_same_database(server_factory: ServerFactory) -> None:
    """Like `serve --workers`: streams on one server see commits made through another."""
    first = server_factory()
    second = server_factory(db_path=first.db_path)
    with httpx.Client(base_url=first.url) as http, httpx.Client(base_url=second.url) as other:
        run_id = new_run(http)
        progress_url = f"{first.url}{API}/runs/{run_id}/progress/stream"
        with (
            open_stream(progress_url) as progress,
            open_stream(f"{first.url}{API}/runs/{run_id}/logs/stream") as logs,
        ):
            progress.next(5)
            report(other, run_id, status="running")
            assert progress.next(timeout=3).json()["status"] == "running"
            other.post(f"{API}/runs/{run_id}/logs/", json={"entries": [{"message": "elsewhere"}]})
            record = logs.next(timeout=3)
            assert (record.id, record.json()["message"]) == ("1", "elsewhere")
            other.post(f"{API}/runs/{run_id}/logs/", json={"entries": [{"message": "again"}]})
            assert logs.next(timeout=3).id == "2"
            many = [{"message": f"bulk {i}"} for i in range(250)]  # read back by cursor
            other.post(f"{API}/runs/{run_id}/logs/", json={"entries": many})
            assert [logs.next(timeout=3).id for _ in many] == [str(i) for i in range(3, 253)]
            other.delete(f"{API}/runs/{run_id}")
            assert progress.next(timeout=3).event == "error"
            assert logs.next(timeout=3).event == "error"


def test_log_stream_pages_through_a_long_backlog(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        run_id = new_run(http)
        entries = [{"message": f"line {i}"} for i in range(2500)]
        http.post(f"{API}/runs/{run_id}/logs/", json={"entries": entries})
        http.patch(f"{API}/runs/{run_id}", json={"status": "failed"})
        url = f"{live_server.url}{API}/runs/{run_id}/logs/stream?after_seq=10"
        with open_stream(url) as stream:
            ids = [stream.next(5).id for _ in range(2490)]
            assert ids == [str(seq) for seq in range(11, 2501)]
            end = stream.next(5)
            assert end.event == "end"
            assert end.json()["status"] == "failed"
            assert stream.ends_within(5) is None
