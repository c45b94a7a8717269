"""Helper process: an SSE endpoint that emits a run's progress as fast as the socket takes it.

    python -m benchmarks._sse_source PORT EVENTS

The real server emits only on changes; this endpoint sends EVENTS well-formed progress events
(ids 1..EVENTS, the last one `completed`) on GET /api/v1/runs/<id>/progress/stream, so the
client's memory can be watched over a long stream. Prints READY, serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import uvicorn

CHUNK_EVENTS = 200


def _frame(index: int, total: int, run_id: str) -> bytes:
    last = index == total
    status = "completed" if last else "running"
    actions = [
        {
            "name": f"action-{n}",
            "status": "completed" if n < 1 or last else "running" if n == 1 else "pending",
            "progress": index if n == 1 else 0,
            "total": total,
            "progress_step": "step",
            "message": f"event {index}",
            "metrics": {"loss": 0.5},
            "started_at": "2026-01-01T00:00:00Z",
            "completed_at": None,
            "error": None,
        }
        for n in range(3)
    ]
    data = {
        "run_id": run_id,
        "pipeline_id": "bench-pipeline",
        "status": status,
        "current_action": "action-1",
        "current_action_index": 1,
        "progress": actions,
        "error": None,
        "started_at": "2026-01-01T00:00:00Z",
        "completed_at": "2026-01-01T01:00:00Z" if last else None,
    }
    event = status if last else "progress"
    text = f"id: {index}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    return text.encode()


def make_app(total: int) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        run_id = scope["path"].rstrip("/").split("/")[-3]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        for start in range(1, total + 1, CHUNK_EVENTS):
            end = min(start + CHUNK_EVENTS, total + 1)
            body = b"".join(_frame(i, total, run_id) for i in range(start, end))
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def main(port: int, total: int) -> None:
    config = uvicorn.Config(
        make_app(total), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.should_exit = True
    await serving


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
    print("{}", flush=True)
