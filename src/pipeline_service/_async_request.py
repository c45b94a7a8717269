"""AsyncRequester: the request loop over the async httpx client.

The source of its blocking twin: `_sync_request.py` is generated from this file by
scripts/unasync.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import anyio
import httpx

from . import _constants as C
from ._request import (
    Call,
    ClientConfig,
    Page,
    Requester,
    already_deleted,
    build_request,
    connection_error,
    deadline_after,
    log_response,
    time_left,
)
from .errors import status_error_from_response

__all__ = ["AsyncRequester"]

T = TypeVar("T")
Item = TypeVar("Item", bound=Mapping[str, object])

log = logging.getLogger(C.LOGGER_NAME)

_BODY_HEADERS = frozenset({"content-encoding", "content-length"})


class AsyncRequester(Requester):
    """Sends calls over the async httpx client, with retries."""

    def __init__(self, http: httpx.AsyncClient, config: ClientConfig) -> None:
        super().__init__(config)
        self.http = http

    async def request(
        self,
        call: Call[T],
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> T:
        """Send `call`, retrying when safe; return its parsed answer or raise the mapped error.

        `timeout` applies to each attempt; `deadline` (seconds) bounds the whole call, the
        answer's body included (APITimeoutError once it has passed).
        """
        retries = self.config.max_retries if max_retries is None else max_retries
        until = deadline_after(deadline)
        attempt = 0
        uncertain = False  # an earlier attempt may have taken effect although it failed
        while True:
            if until is not None:
                time_left(until, f"{call.method} {call.path}")
            request = build_request(
                self.http, self.config, call.kwargs, timeout=self.config.httpx_timeout(timeout)
            )
            response: httpx.Response | None = None
            error: Exception
            try:
                if until is None:
                    response = await self.http.send(request)
                else:
                    response = await _read_within(await self.http.send(request, stream=True), until)
            except httpx.TransportError as exc:
                error = connection_error(exc, request)
                log.debug("%s %s failed: %r", request.method, request.url, exc)
            else:
                log_response(response, attempt)
                if response.is_success or already_deleted(call, response, uncertain):
                    return call.parse(response)
                error = status_error_from_response(response)
            uncertain = uncertain or response is None or response.status_code >= 500
            delay = self.next_step(call, attempt, retries, response, error)
            if delay is None:
                raise error
            if response is not None:
                await response.aclose()
            await anyio.sleep(delay)
            attempt += 1

    async def paged(
        self, page: Callable[[int], Call[Page[Item]]], page_size: int, timeout: float | None
    ) -> AsyncIterator[Item]:
        """Every item of the pages that `page(skip)` asks for, each once (by `id`): a page
        shorter than page_size ends it, unless the server cut it short (`Page.next`)."""
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        skip = 0
        seen: set[str] = set()
        while True:
            items = await self.request(page(skip), timeout=timeout)
            new = [item for item in items if str(item["id"]) not in seen]
            for item in new:
                # Items created meanwhile shift the pages: never yield one twice.
                seen.add(str(item["id"]))
                yield item
            if not new or (len(items) < page_size and items.next is None):
                return
            skip += len(items)

    async def collect(
        self,
        page: Callable[[Any, int], Call[Page[Item]]],
        limit: int,
        *,
        after: Any,
        cursor: str,
        timeout: float | None,
    ) -> list[Item]:
        """Up to `limit` items of the pages `page(start, count)` asks for, the first starting at
        `after`: while the server cut a page short (`Page.next`), the next starts at its last
        item's `cursor` field."""
        found: list[Item] = []
        while True:
            items = await self.request(page(after, limit - len(found)), timeout=timeout)
            found.extend(items)
            if items.next is None or not items or len(found) >= limit:
                return found
            after = items[-1][cursor]


async def _read_within(response: httpx.Response, until: float) -> httpx.Response:
    """`response` with its body read, failing (APITimeoutError) once `until` has passed even
    while the server keeps sending."""
    request = response.request
    chunks: list[bytes] = []
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            time_left(until, f"{request.method} {request.url}")
    finally:
        await response.aclose()
    # The body is decoded now: its length and encoding are those of the new response.
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _BODY_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=request
    )
