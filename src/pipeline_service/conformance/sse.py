"""A raw Server-Sent Events reader: frames exactly as the server sent them, comments included."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipeline_service._lifecycle import Closing
from pipeline_service.conformance.http import Exchange, Session


@dataclass
class Frame:
    """One frame: its fields (None when absent) and its comment lines."""

    event: str | None = None
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data or "null")

    @property
    def is_comment(self) -> bool:
        return self.event is None and self.data is None and self.id is None and self.retry is None

    def text(self) -> str:
        lines = [f": {comment}" for comment in self.comments]
        for name in ("id", "event", "retry", "data"):
            value = getattr(self, name)
            if value is not None:
                lines.append(f"{name}: {value}")
        return " | ".join(lines)


class StreamEnded(Exception):
    """The server closed the stream."""


class NoFrame(Exception):
    """No frame arrived in time."""


_END = object()


class SSEReader(Closing):
    """Opens a stream and reads it on a thread. `next()` gives frames, comments included."""

    def __init__(
        self, session: Session, path: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self._frames: queue.Queue[Any] = queue.Queue()
        sent = {**session.auth_headers(), **(headers or {})}
        self._client = httpx.Client(base_url=session.base_url, timeout=httpx.Timeout(30, read=120))
        request = self._client.build_request("GET", path, headers=sent)
        try:
            self.response = self._client.send(request, stream=True)
        except BaseException:
            self._client.close()
            raise
        session.record(
            Exchange(
                "GET",
                str(request.url),
                sent,
                None,
                self.response.status_code,
                stream=True,
                token=session.token,
            )
        )
        self.frames: list[Frame] = []
        if self.response.status_code != 200:
            self.response.read()
            self._frames.put(_END)
            return
        threading.Thread(target=self._pump, name="conformance-sse", daemon=True).start()

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
                        frame.retry = int(value) if value.isdigit() else -1
                    elif name in ("event", "id"):
                        setattr(frame, name, value)
        except (httpx.HTTPError, RuntimeError, ValueError, OSError):
            pass  # closed by us, or cut: either way the stream is over
        finally:
            if frame != Frame():
                self._frames.put(frame)
            self._frames.put(_END)

    def next(self, timeout: float, *, comments: bool = False) -> Frame:
        """The next frame within `timeout` s (comment-only frames skipped unless `comments`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self._frames.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise NoFrame(f"no frame within {timeout:g} s") from None
            if item is _END:
                self._frames.put(_END)
                raise StreamEnded("the server closed the stream")
            assert isinstance(item, Frame)
            self.frames.append(item)
            if item.is_comment and not comments:
                continue
            return item

    def next_event(self, timeout: float) -> Frame:
        """The next frame that carries data, within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next(max(0.0, deadline - time.monotonic()))
            if frame.data is not None:
                return frame

    def ends_within(self, timeout: float) -> Frame | None:
        """None if the stream ends within `timeout` s, else the first non-comment frame sent."""
        try:
            return self.next(timeout)
        except StreamEnded:
            return None

    def close(self) -> None:
        self.response.close()
        self._client.close()
