"""Waiting on a condition; the environment, ports and output of the processes the tests start."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# The runner tests' actions (`runner_test_actions`), importable by every child process.
TEST_ACTIONS = Path(__file__).resolve().parents[1] / "runner"


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` every 50 ms until it is truthy (its value is returned); fail with
    `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def subprocess_env() -> dict[str, str]:
    """The environment of child processes (CLI, servers, workers): no stray PIPELINE_SERVICE_
    settings of the caller's, the test actions importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TEST_ACTIONS), env.get("PYTHONPATH")]))
    return env


def free_port() -> int:
    """A port of 127.0.0.1 free right now, for a child process that cannot take port 0 and
    tell which it got (it may be taken before the child binds it: retry where that matters)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def lines_of(stream: IO[str] | None) -> queue.Queue[str]:
    """The lines a child process writes to `stream` (its stderr or stdout pipe, in text mode),
    newline stripped, as they come; the pipe is closed at its end (`stream.closed` says so)."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        with stream:
            for line in stream:
                lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, name="lines-of-child", daemon=True).start()
    return lines
