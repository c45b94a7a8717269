"""A small raw Server-Sent Events reader for the tests (frames exactly as sent, comments too)."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Frame:
    event: str | None = None
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


_END = object()


class SSEReader:
    """Reads a stream on a thread; `next()` returns frames (or raises at the end / timeout)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self._frames: queue.Queue[Any] = queue.Queue()
        self._client = httpx.Client(timeout=httpx.Timeout(30, read=60))
        self._request = self._client.build_request("GET", url, headers=headers)
        self.response = self._client.send(self._request, stream=True)
        self.ended = False
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        frame = Frame()
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if frame != Frame():
                        self._frames.put(frame)
                    frame = Frame()
                elif line.startswith(":"):
                    frame.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        frame.data = value if frame.data is None else f"{frame.data}\n{value}"
                    elif name == "retry":
                        frame.retry = int(value)
                    elif name in ("event", "id"):
                        setattr(frame, name, value)
        except httpx.HTTPError:
            pass
        finally:
            self._frames.put(_END)

    def next(self, timeout: float = 5.0, *, skip_comments: bool = True) -> Frame:
        while True:
            try:
                item = self._frames.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError("no frame within the timeout") from None
            if item is _END:
                self.ended = True
                raise EOFError("stream ended")
            assert isinstance(item, Frame)
            if skip_comments and item.event is None and item.data is None and item.comments:
                continue
            return item

    def expect_end(self, timeout: float = 5.0) -> None:
        try:
            frame = self.next(timeout)
        except EOFError:
            return
        raise AssertionError(f"expected the stream to end, got {frame}")

    def close(self) -> None:
        self.response.close()
        self._client.close()

    def __enter__(self) -> SSEReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
