"""Faults that a real server does not produce on demand: a scripted HTTP server on 127.0.0.1 and a
TCP proxy that loses responses or cuts connections."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# --- a scripted server -----------------------------------------------------------------------


@dataclass
class Request:
    """What one connection of the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]
    index: int


Step = bytes | float | None
"""Bytes to send, seconds to wait, or None to close the connection at once."""

Script = Callable[[Request], Iterator[Step]]


def sse(
    data: Any, *, event: str | None = None, id: str | int | None = None, retry: int | None = None
) -> bytes:
    """One Server-Sent Event, framed."""
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    text = data if isinstance(data, str) else json.dumps(data)
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def head(
    status: int = 200, content_type: str = "text/event-stream", extra: dict[str, str] | None = None
) -> bytes:
    """A response head for a body delimited by closing the connection."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_response(status: int, body: Any, extra: dict[str, str] | None = None) -> bytes:
    payload = json.dumps(body).encode()
    headers = {"Content-Length": str(len(payload)), **(extra or {})}
    return head(status, "application/json", headers) + payload


class ScriptedServer:
    """An HTTP/1.1 server whose every connection follows `script`; records what it received."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head_text, _, body = data.partition(b"\r\n\r\n")
        lines = head_text.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += conn.recv(65536)
        with self._lock:
            request = Request(method, path, headers, len(self.requests))
            self.requests.append(request)
        try:
            for step in self.script(request):
                if step is None:
                    break
                if isinstance(step, float | int):
                    time.sleep(step)
                else:
                    conn.sendall(step)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- a proxy that loses responses and cuts connections ---------------------------------------


@dataclass
class Plan:
    """What the proxy does to one connection: pass it, lose the response, or cut it after
    `cut_after` response bytes."""

    lose_response: bool = False
    cut_after: int | None = None


@dataclass
class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream` (host, port); `plans` is consumed one per
    new connection (then connections pass through)."""

    upstream: tuple[str, int]
    plans: list[Plan] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                plan = self.plans.pop(0) if self.plans else Plan()
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, plan), daemon=True).start()

    def _pump(self, client: socket.socket, plan: Plan) -> None:
        upstream = socket.create_connection(self.upstream)

        def forward_requests() -> None:
            try:
                while chunk := client.recv(65536):
                    upstream.sendall(chunk)
            except OSError:
                pass

        threading.Thread(target=forward_requests, daemon=True).start()
        sent = 0
        try:
            while chunk := upstream.recv(65536):
                if plan.lose_response:
                    break  # the server answered; the client never hears it
                if plan.cut_after is not None and sent + len(chunk) >= plan.cut_after:
                    client.sendall(chunk[: max(plan.cut_after - sent, 0)])
                    break
                client.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
