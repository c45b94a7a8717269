"""Shared plumbing of the benchmarks: the server subprocess, /proc readings, figures, stats."""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: subprocesses run from here so `benchmarks.*` imports."""

STARTUP_TIMEOUT = 60.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured number, with its target when the issue sets one."""

    section: str
    name: str
    value: float
    unit: str = ""
    target: str = ""
    ok: bool | None = None


@dataclass
class Results:
    """Every figure of one run, in the order measured."""

    figures: list[Figure] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        section: str,
        name: str,
        value: float,
        unit: str = "",
        *,
        at_most: float | None = None,
        at_least: float | None = None,
    ) -> Figure:
        target, ok = "", None
        if at_most is not None:
            target, ok = f"≤ {_fmt(at_most)}", value <= at_most
        elif at_least is not None:
            target, ok = f"≥ {_fmt(at_least)}", value >= at_least
        figure = Figure(section, name, float(value), unit, target, ok)
        self.figures.append(figure)
        print(f"  {name}: {_fmt(value)} {unit}".rstrip(), flush=True)
        return figure

    def as_json(self) -> dict[str, Any]:
        return {"conditions": self.conditions, "figures": [asdict(f) for f in self.figures]}

    def table(self) -> str:
        """The figures as a Markdown table (readable in a terminal, pasteable in the README)."""
        rows = [("section", "figure", "value", "unit", "target", "")]
        for f in self.figures:
            mark = "" if f.ok is None else ("ok" if f.ok else "MISS")
            rows.append((f.section, f.name, _fmt(f.value), f.unit, f.target, mark))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = []
        for index, row in enumerate(rows):
            cells = [
                cell.rjust(widths[i]) if i == 2 else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append("| " + " | ".join(cells) + " |")
            if index == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if magnitude < 0.01 and value else f"{value:.2f}"


def ratio(numerator: float, denominator: float) -> float:
    """numerator ÷ denominator; NaN ("n/a") when the denominator is 0, as a CPU reading of a
    short run can be (/proc counts whole clock ticks)."""
    return numerator / denominator if denominator else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# --- /proc ---------------------------------------------------------------------------------


def raise_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit (10,000 streams need 10,000
    sockets on each side; the default soft limit is often 1,024); the new limit."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class CpuMeter:
    """CPU seconds a process used between start() and stop(), and the share of one core."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu = 0.0
        self.wall = 0.0

    def __enter__(self) -> Self:
        self._cpu0 = cpu_seconds(self.pid)
        self._wall0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = cpu_seconds(self.pid) - self._cpu0
        self.wall = time.monotonic() - self._wall0

    @property
    def busy(self) -> float:
        """Percent of one core."""
        return 100 * self.cpu / self.wall if self.wall else math.nan


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "loadavg_1m_at_start": round(load[0], 2),
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
    }


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def python_env() -> dict[str, str]:
    """The environment for our subprocesses: `benchmarks` importable, no proxies."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("NO_PROXY", "127.0.0.1,localhost")
    return env


class ServerProcess:
    """The reference server in a subprocess on 127.0.0.1, with a temporary SQLite database, or
    on the database `db` names (a PostgreSQL URL: several servers are replicas of one service).
    """

    def __init__(self, *, heartbeat_interval: float = 15.0, db: str | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="pipeline-bench-")
        self.db = db or str(Path(self._tmp.name) / "bench.db")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.heartbeat_interval = heartbeat_interval
        self._log_path = Path(self._tmp.name) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Self:
        command = [
            sys.executable, "-m", "benchmarks._server",
            str(self.port), self.db, str(self.heartbeat_interval),
        ]  # fmt: skip
        with self._log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=python_env(),
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at startup:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the server died:\n{self.log_tail()}")

    def stop(self) -> None:
        """Close its stdin (it stops gracefully), terminate it if it does not."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self if self.process is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Helper:
    """A `python -m benchmarks.<module>` subprocess that prints READY, then one JSON line."""

    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{module}", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=python_env(),
            text=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until the helper prints READY (it fails loudly if it exits first)."""
        import selectors

        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise RuntimeError(f"benchmarks helper {self.process.args!r} not ready in time")
                if selector.select(left):
                    line = self.process.stdout.readline()
                    if line.strip() == "READY":
                        return
                    if not line:
                        _, err = self.process.communicate()
                        raise RuntimeError(f"benchmarks helper failed:\n{err[-3000:]}")

    def result(self, timeout: float = 120.0) -> Any:
        """Close its stdin (the signal to finish) and read its JSON answer."""
        import json

        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"benchmarks helper {self.process.args!r} did not finish") from None
        if self.process.returncode != 0:
            raise RuntimeError(f"benchmarks helper failed:\n{err[-3000:]}")
        lines = [line for line in out.splitlines() if line.strip()]
        return json.loads(lines[-1])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
