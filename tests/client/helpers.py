"""Helpers of the client tests."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from anyio.from_thread import BlockingPortal

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient


class SyncView:
    """The async client seen through a portal: coroutines become calls, async iterators become
    iterators. Lets one behaviour test run against both clients."""

    def __init__(self, target: AsyncPipelineServiceClient, portal: BlockingPortal) -> None:
        self._target = target
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                result = attr(*args, **kwargs)
                if hasattr(result, "__anext__"):
                    return result
                return await result

            result = self._portal.call(run)
            if hasattr(result, "__anext__"):
                return self._iterate(result)
            return result

        return call

    def _iterate(self, agen: AsyncIterator[Any]) -> Iterator[Any]:
        async def step() -> tuple[bool, Any]:
            try:
                return True, await agen.__anext__()
            except StopAsyncIteration:
                return False, None

        try:
            while True:
                more, item = self._portal.call(step)
                if not more:
                    return
                yield item
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                self._portal.call(aclose)


def drive_run(
    url: str,
    run_id: str,
    *,
    steps: int = 3,
    delay: float = 0.05,
    final: str = "completed",
    after: threading.Event | None = None,
) -> threading.Thread:
    """Run a fake worker in a thread: report progress of each action, then the final status.
    With `after`, it starts once that event is set (e.g. when a stream has its first event), so
    a test sees the run pending before anything changes; it gives up after 30 s."""

    def work() -> None:
        if after is not None and not after.wait(30):
            return
        with PipelineServiceClient(url, timeout=10) as worker:
            run = worker.get_run(run_id)
            names = [a["name"] for a in run["progress"]]
            worker.report_progress(run_id, status="running")
            for index, name in enumerate(names):
                worker.report_progress(run_id, current_action=name, current_action_index=index)
                for step in range(1, steps + 1):
                    worker.report_progress(
                        run_id,
                        current_action_index=index,
                        action_progress={
                            "name": name,
                            "status": "running",
                            "progress": step,
                            "total": steps,
                        },
                    )
                    time.sleep(delay)
                worker.report_progress(
                    run_id,
                    current_action_index=index,
                    action_progress={"name": name, "status": "completed"},
                )
            worker.append_logs(run_id, [{"message": "done", "level": "success"}])
            worker.update_run(run_id, status=final, result={"accuracy": 0.95})

    thread = threading.Thread(target=work, name=f"drive-{run_id}", daemon=True)
    thread.start()
    return thread
