"""Capturing what an action prints and logs into its run's logs, echoing it as before.

While an action runs (in its own child process), `sys.stdout`, `sys.stderr` and the root logger
feed the action's reporter line by line, so the lines travel in its batches (no request per
line) tagged with the action's name. Everything still reaches the worker's own output.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

MAX_LINE_CHARS = 64 * 1024
"""A partial line longer than this is sent as it is rather than kept growing."""

STDOUT_LEVEL = "info"
STDERR_LEVEL = "warning"

_ECHO_FORMAT = "%(levelname)s %(name)s: %(message)s"
_OWN_LOGGERS = ("pipeline_service", "httpx", "httpcore")
"""Loggers of the reporting machinery itself: capturing them would report on every report (their
warnings are only echoed)."""

LogSink = Callable[[str, str], None]
"""Takes a message and a log level of the service (`info`, `warning`, ...)."""


def service_level(levelno: int) -> str:
    """The service's log level for a `logging` level number (custom levels round down)."""
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class _LineWriter(io.TextIOBase):
    """A text stream that echoes to `echo` and hands each complete line to `sink`."""

    def __init__(self, echo: TextIO, sink: LogSink, level: str, prefix: str = "") -> None:
        super().__init__()
        self._echo = echo
        self._sink = sink
        self._level = level
        self._prefix = prefix
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._echo, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not self._prefix:
            self._echo.write(text)
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            if len(self._partial) > MAX_LINE_CHARS:
                lines.append(self._partial)
                self._partial = ""
        for line in lines:
            if self._prefix:  # whole lines only: each one says whose it is
                self._echo.write(f"{self._prefix}{line}\n")
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        self._echo.flush()

    def finish(self) -> None:
        """Send a last line that has no newline yet."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            if self._prefix:
                self._echo.write(f"{self._prefix}{rest}\n")
            self._emit(rest)

    def _emit(self, line: str) -> None:
        line = line.rstrip("\r").rpartition("\r")[2]  # a progress bar redrawn in place: its last
        if line.strip():
            self._sink(line, self._level)


class _SinkHandler(logging.Handler):
    """Sends `logging` records to the sink and echoes them to `echo`."""

    def __init__(self, sink: LogSink, echo: TextIO, prefix: str = "") -> None:
        super().__init__(logging.NOTSET)
        self._sink = sink
        self._echo = logging.StreamHandler(echo)
        self._echo.setFormatter(logging.Formatter(prefix.replace("%", "%%") + _ECHO_FORMAT))
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(_OWN_LOGGERS):
            try:
                self._sink(self.format(record), service_level(record.levelno))
            except Exception:
                self.handleError(record)
        if record.levelno >= logging.WARNING or not record.name.startswith(_OWN_LOGGERS):
            self._echo.handle(record)


@contextmanager
def capture_output(sink: LogSink, prefix: str = "") -> Iterator[None]:
    """Route stdout, stderr and `logging` (INFO and up) to `sink` while the block runs; the
    echo of each line starts with `prefix` (e.g. the run and action it came from)."""
    stdout, stderr = sys.stdout, sys.stderr
    out = _LineWriter(stdout, sink, STDOUT_LEVEL, prefix)
    err = _LineWriter(stderr, sink, STDERR_LEVEL, prefix)
    root = logging.getLogger()
    handler = _SinkHandler(sink, stderr, prefix)
    level = root.level
    root.addHandler(handler)  # also makes an action's logging.basicConfig() a no-op
    if level == logging.WARNING or level == logging.NOTSET:
        root.setLevel(logging.INFO)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        root.removeHandler(handler)
        root.setLevel(level)
        out.finish()
        err.finish()
        stdout.flush()
        stderr.flush()
