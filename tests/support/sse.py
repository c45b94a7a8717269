"""Raw Server-Sent Events for the tests: the conformance kit's reader (frames exactly as sent,
comments included), opened on a URL."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from pipeline_service.conformance.http import Session
from pipeline_service.conformance.sse import Frame, NoFrame, SSEReader, StreamEnded

__all__ = ["Frame", "NoFrame", "SSEReader", "StreamEnded", "open_stream"]


def open_stream(url: str, headers: Mapping[str, str] | None = None) -> SSEReader:
    """A reader on the stream at `url` (path and query included), sending `headers`."""
    parts = urlsplit(url)
    session = Session(f"{parts.scheme}://{parts.netloc}", None)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return SSEReader(session, target, headers)
    finally:
        session.close()
