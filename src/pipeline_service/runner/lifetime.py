"""`with` for the runner's objects that run something in the background and must be closed."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Lifetime:
    """`with thing:` starts it (`start`) and closes it (`close`) on the way out, however it
    ends."""

    def start(self) -> None:
        """Start what runs in the background (nothing, unless a subclass says so)."""

    def close(self) -> None:
        """Stop what runs in the background and release what it holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
