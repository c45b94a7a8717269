"""`with` for the package's objects that close, or that start and stop: the protocol written once.

Imports nothing of the package, so every layer (the server too) may use it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

__all__ = ["AsyncClosing", "Closing", "Running"]


class _Closes(Protocol):
    def close(self) -> object: ...


class _AsyncCloses(Protocol):
    async def aclose(self) -> object: ...


class _Stops(Protocol):
    def start(self) -> object: ...

    def stop(self) -> object: ...


_C = TypeVar("_C", bound=_Closes)
_A = TypeVar("_A", bound=_AsyncCloses)
_S = TypeVar("_S", bound=_Stops)


class Closing:
    """`with obj:` gives `obj` and calls `obj.close()` on leaving, however it is left."""

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self: _Closes, *exc_info: object) -> None:
        self.close()


class AsyncClosing:
    """`async with obj:` gives `obj` and awaits `obj.aclose()` on leaving."""

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self: _AsyncCloses, *exc_info: object) -> None:
        await self.aclose()


class Running:
    """`with obj:` calls `obj.start()`, gives `obj`, and calls `obj.stop()` on leaving."""

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self: _Stops, *exc_info: object) -> None:
        self.stop()
