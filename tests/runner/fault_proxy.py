"""A fault-injecting HTTP proxy on 127.0.0.1, between a real worker and a real server.

It forwards HTTP/1.1 requests (keep-alive included) to the server, except those a `Fault`
matches (by method, a pattern of the path and optionally of the body), which it answers with an
error status, forwards and then loses the answer (closes the connection: the write is committed,
the client never learns it), or black-holes (never answers). Each fault applies a given number
of times, or until removed; `requests` counts what passed by (method, path pattern) so that a
test can speak in counts, not times.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import httpx


class Kind(enum.Enum):
    STATUS = "status"  # answered with `status` (and Retry-After), never forwarded
    LOSE_ANSWER = "lose answer"  # forwarded; the connection closes before the answer
    BLACK_HOLE = "black hole"  # never answered; the connection stays open


@dataclass
class Fault:
    method: str
    path: str  # a regular expression searched in the request's path
    kind: Kind = Kind.STATUS
    status: int = 503
    retry_after: str | None = None
    body: bytes | None = None  # a regular expression the request body must contain
    times: int | None = None  # None: until removed
    hits: int = field(default=0, init=False)

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if method != self.method or not re.search(self.path, path):
            return False
        return self.body is None or re.search(self.body, body) is not None


_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)


class FaultProxy:
    """The proxy, serving from a thread of its own until `close()`."""

    def __init__(self, upstream_url: str) -> None:
        self._upstream = upstream_url.rstrip("/")
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: Counter[tuple[str, str]] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.url = f"http://127.0.0.1:{self._port}"

    # -- what tests call ---------------------------------------------------------------------

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults.remove(fault)

    def count(self, method: str, pattern: str) -> int:
        with self._lock:
            return sum(
                n for (m, p), n in self.requests.items() if m == method and re.search(pattern, p)
            )

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stopped_event.set)
        self._thread.join(10)

    # -- serving -----------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopped_event = asyncio.Event()
        self._http = httpx.AsyncClient(timeout=60)
        self._open: set[asyncio.StreamWriter] = set()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopped_event.wait()
        server.close()
        for writer in list(self._open):
            writer.close()
        await self._http.aclose()

    def _fault_for(self, method: str, path: str, body: bytes) -> Fault | None:
        with self._lock:
            self.requests[(method, path)] += 1
            for fault in self._faults:
                if fault.matches(method, path, body):
                    fault.hits += 1
                    return fault
        return None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(line.split(":", 1)) for line in header_lines if ":" in line]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                body = await reader.readexactly(length) if length else b""
                fault = self._fault_for(method, target.split("?", 1)[0], body)
                if fault is not None and fault.kind is Kind.BLACK_HOLE:
                    await reader.read()  # until the client gives up and closes
                    return
                if fault is not None and fault.kind is Kind.STATUS:
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    content = b'{"detail":"injected fault"}'
                    status = fault.status
                    answer_headers = [("content-type", "application/json"), *extra.items()]
                else:
                    forwarded = {k.strip(): v.strip() for k, v in headers}
                    for name in ("Host", "Accept-Encoding", "Connection"):
                        forwarded.pop(name, None)
                    response = await self._http.request(
                        method, self._upstream + target, headers=forwarded, content=body
                    )
                    if fault is not None:  # LOSE_ANSWER: it was done; the client never hears
                        return
                    status, content = response.status_code, response.content
                    answer_headers = [
                        (k, v) for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS
                    ]
                lines = [f"HTTP/1.1 {status} X", f"content-length: {len(content)}"]
                lines += [f"{k}: {v}" for k, v in answer_headers]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self._open.discard(writer)
            with contextlib.suppress(ConnectionError):
                writer.close()
