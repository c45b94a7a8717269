"""Wakeup: an asyncio.Event that holds no list of waiters while nobody waits."""

from __future__ import annotations

import asyncio
from typing import Literal


class Wakeup(asyncio.Event):
    """asyncio.Event (set, clear, is_set, wait), lighter: an Event makes a 624-byte deque for
    its waiters up front, and an idle stream held three (its subscription's, and uvicorn's
    request cycle and flow control: `connections` swaps theirs for these); here the waiters'
    list exists only while someone waits."""

    def __init__(self) -> None:  # not Event's: no deque
        self._value = False
        self._pending: list[asyncio.Future[Literal[True]]] | None = None

    def __repr__(self) -> str:
        waiters = f", waiters:{len(self._pending)}" if self._pending else ""
        return f"<{type(self).__name__} [{'set' if self._value else 'unset'}{waiters}]>"

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if not self._value:
            self._value = True
            for waiter in self._pending or ():
                if not waiter.done():
                    waiter.set_result(True)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> Literal[True]:
        if self._value:
            return True
        waiter: asyncio.Future[Literal[True]] = asyncio.get_running_loop().create_future()
        pending = self._pending
        if pending is None:
            pending = self._pending = []
        pending.append(waiter)
        try:
            return await waiter
        finally:
            pending.remove(waiter)
            if not pending and self._pending is pending:
                self._pending = None
