"""Started: what a resource that is started and stopped needs to serve as a `with` block."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Started(abc.ABC):
    """A resource used as `with Resource(...) as resource:`, started on entry (`start` returns
    it) and stopped when the block ends, however it ends."""

    @abc.abstractmethod
    def start(self) -> Self:
        """Start; return self."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop (and release what start took)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
