"""An incremental Server-Sent Events decoder (the WHATWG event-stream interpretation).

Text arrives in arbitrary chunks; `SSEDecoder.feed` returns the events the chunk completes as
httpx-sse's public `ServerSentEvent`. Lines end at CRLF, CR or LF only (a CR at the end of a
chunk may be the first half of a CRLF); comments (the server's heartbeats) are only counted, in
`comments`; unknown fields are ignored; `id` is kept across events, as the spec says.
"""

from __future__ import annotations

import re

from httpx_sse import ServerSentEvent

__all__ = ["SSEDecoder"]

_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Turns the text of one event stream, chunk by chunk, into events."""

    def __init__(self) -> None:
        self._pending = ""
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None
        self.comments = 0  # comment lines seen so far

    def feed(self, text: str) -> list[ServerSentEvent]:
        """The events completed by `text`, in order."""
        text = self._pending + text
        if "\r" not in text:
            parts = text.split("\n")
            self._pending = parts.pop()
        else:
            # A trailing CR waits for the next chunk: it may be the start of a CRLF.
            cr = text.endswith("\r")
            parts = _LINE_END.split(text[:-1] if cr else text)
            self._pending = parts.pop() + ("\r" if cr else "")
        events = []
        for line in parts:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not (self._event or self._data or self._id or self._retry is not None):
            return None
        event = ServerSentEvent(
            event=self._event, data="\n".join(self._data), id=self._id, retry=self._retry
        )
        self._event, self._data, self._retry = "", [], None
        return event
