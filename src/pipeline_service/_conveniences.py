"""The few client methods that only one of the twin clients has (handwritten, not generated).

`AsyncPipelineServiceClient` is the source that scripts/unasync.py turns into
`PipelineServiceClient`; what cannot be written once for both lives here, as a base class of each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx

from . import _operations as ops
from ._async_request import AsyncRequester
from ._async_streaming import aiter_events
from ._request import Requester
from .models import PipelineProgress
from .streaming import ProgressEvents

__all__ = ["AsyncConveniences", "SyncConveniences"]


class _AsyncClient(Protocol):
    async def aclose(self) -> None: ...

    def stream_progress(
        self, run_id: str, timeout: float | None = None, *, last_event_id: str | None = None
    ) -> AsyncIterator[PipelineProgress]: ...


class _SyncClient(Protocol):
    @property
    def _requester(self) -> Requester: ...


class AsyncConveniences:
    """Async-only: the `close()` and `stream_progress_async()` spellings of the sync client."""

    async def close(self: _AsyncClient) -> None:
        """Same as aclose()."""
        await self.aclose()

    async def stream_progress_async(
        self: _AsyncClient,
        run_id: str,
        timeout: float | None = None,
        *,
        last_event_id: str | None = None,
    ) -> AsyncIterator[PipelineProgress]:
        """Same as `stream_progress` (the name the documented API uses)."""
        async for progress in self.stream_progress(run_id, timeout, last_event_id=last_event_id):
            yield progress


class SyncConveniences:
    """Sync-only: `stream_progress_async()`, an async iterator from the blocking client."""

    async def stream_progress_async(
        self: _SyncClient,
        run_id: str,
        timeout: float | None = None,
        *,
        last_event_id: str | None = None,
    ) -> AsyncIterator[PipelineProgress]:
        """`stream_progress` as an async iterator (over its own async connection)."""
        config = self._requester.config
        async with httpx.AsyncClient(timeout=config.httpx_timeout()) as http:
            stream = aiter_events(
                AsyncRequester(http, config),
                ops.stream_progress_kwargs(run_id),
                ProgressEvents(run_id, last_event_id),
                timeout=timeout,
                what=f"progress stream of run {run_id!r}",
            )
            async for progress in stream:
                yield progress
