"""Fixtures for the command-line tests: the client commands as a typer app, a CLI in a subprocess,
a client to drive runs, and a TCP proxy that can cut connections."""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from pipeline_service import PipelineServiceClient
from pipeline_service.cli import checkpoints, logs, pipelines, runs
from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS

# The resource commands, as their own app: the same `register` functions the real app uses.
APP_SOURCE = """
import typer
from pipeline_service.cli import checkpoints, logs, pipelines, runs
from pipeline_service.server import EmbeddedServer
app = typer.Typer(pretty_exceptions_enable=False)
for module in (pipelines, runs, logs, checkpoints):
    module.register(app)
app()
"""


def build_app() -> typer.Typer:
    """A typer app with the client commands (pipelines, runs, logs, checkpoints)."""
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (pipelines, runs, logs, checkpoints):
        module.register(app)
    return app


class Cli:
    """Runs commands in-process with typer's CliRunner, against one server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.app = build_app()

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        environment: dict[str, str | None] = {
            "PIPELINE_SERVICE_URL": self.url,
            "PIPELINE_SERVICE_TOKEN": None,
            "TTY_COMPATIBLE": None,
            "FORCE_COLOR": None,
            "NO_COLOR": None,
            "COLUMNS": "200",
        }
        environment.update(env or {})
        return CliRunner().invoke(self.app, list(args), env=environment, catch_exceptions=False)


class CliProcess:
    """The command line in a subprocess; its stdout is read line by line as it comes."""

    def __init__(self, args: Sequence[str], url: str) -> None:
        env = {**os.environ, "PIPELINE_SERVICE_URL": url}
        for name in ("PIPELINE_SERVICE_TOKEN", "TTY_COMPATIBLE", "FORCE_COLOR"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", APP_SOURCE, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, predicate: Any, timeout: float = 15.0) -> str:
        """Read lines until one satisfies `predicate`; fail on timeout or end of output."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line within {timeout} s; got {self.stdout}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended without a matching line; got {self.stdout}")
            self.stdout.append(line)
            if predicate(line):
                return line

    def finish(self, timeout: float = 20.0) -> tuple[int, list[str], str]:
        """Wait for the exit; return the exit status, every stdout line and stderr."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        while True:
            line = self.lines.get_nowait() if not self.lines.empty() else None
            if line is None:
                break
            self.stdout.append(line)
        assert self.process.stderr is not None
        return code, self.stdout, self.process.stderr.read()

    def kill(self) -> None:
        """Stop the process (if it still runs) and close its stderr (the reader closes stdout)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 whose `cut()` drops every open connection (as a server would)."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.connections = 0
        self._cut_after: int | None = None  # one-shot: cut a response after this many bytes
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._open += [client, upstream]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        sent = 0  # bytes of the response so far
        try:
            while True:
                for key, _ in selector.select(timeout=0.5):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is upstream:
                        with self._lock:
                            limit, cutting = self._cut_after, False
                            if limit is not None and sent + len(data) > limit:
                                data, cutting, self._cut_after = data[: limit - sent], True, None
                        sent += len(data)
                        client.sendall(data)
                        if cutting:
                            return
                    else:
                        upstream.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for sock in (client, upstream):
                sock.close()

    def cut(self) -> None:
        """Reset every connection open right now."""
        with self._lock:
            doomed, self._open = self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut_after(self, size: int) -> None:
        """Cut the next response to pass `size` bytes right there (mid-event, most likely)."""
        with self._lock:
            self._cut_after = size

    def close(self) -> None:
        """Stop listening (new connections are refused, as when a server goes away) and cut
        every open connection."""
        self._closed = True
        with contextlib.suppress(OSError):  # wakes the accept() blocked in the other thread
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI shows local time: the tests fix the local zone to UTC (a test may change it)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="package")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of the CLI tests' own: the runs they leave pending must not reach other tests'
    workers (and theirs must not show up in these listings)."""
    db_path = tmp_path_factory.mktemp("cli-server") / "pipeline-service.db"
    with EmbeddedServer(db_path) as server:
        yield server.url


@pytest.fixture
def cli(server_url: str) -> Cli:
    return Cli(server_url)


@pytest.fixture
def client(server_url: str) -> Iterator[PipelineServiceClient]:
    with PipelineServiceClient(server_url) as service:
        yield service


@pytest.fixture
def pipeline(client: PipelineServiceClient) -> Any:
    return client.create_pipeline("cli-test", ACTIONS, "three steps")


@pytest.fixture
def run(client: PipelineServiceClient, pipeline: Any) -> Any:
    return client.create_run(pipeline["id"], {"epochs": 3})


@pytest.fixture
def proxy(server_url: str) -> Iterator[CuttingProxy]:
    port = int(server_url.rsplit(":", 1)[1])
    cutting = CuttingProxy(port)
    yield cutting
    cutting.close()


@pytest.fixture
def start_cli() -> Iterator[Any]:
    started: list[CliProcess] = []

    def start(*args: str, url: str) -> CliProcess:
        process = CliProcess(args, url)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
