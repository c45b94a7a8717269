"""Helpers of the runner tests: a recording stand-in client, workers in threads, waiting."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_service import PipelineServiceClient
from pipeline_service.runner.process import ClientSettings
from pipeline_service.runner.worker import Worker

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


class RecordingClient:
    """Records the report_progress / append_logs calls an action's reporter makes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.progress: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.log_batches = 0
        self.metric_batches: list[tuple[str, list[dict[str, Any]]]] = []

    def report_progress(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.progress.append({"run_id": run_id, **kwargs})
        return {}

    def append_logs(
        self, run_id: str, entries: list[dict[str, Any]], **kwargs: Any
    ) -> list[dict[str, Any]]:
        with self.lock:
            self.log_batches += 1
            self.logs.extend({"run_id": run_id, **entry} for entry in entries)
        return []

    def append_metrics(self, run_id: str, points: list[dict[str, Any]], **kwargs: Any) -> int:
        with self.lock:
            self.metric_batches.append((kwargs["idempotency_key"], list(points)))
        return len(points)

    def points(self) -> list[dict[str, Any]]:
        with self.lock:
            return [point for _, batch in self.metric_batches for point in batch]

    def messages(self) -> list[str]:
        with self.lock:
            return [entry["message"] for entry in self.logs]


@dataclass(frozen=True)
class MarkingSettings(ClientSettings):
    """Client settings whose every client, when built, leaves a file named after its process's
    pid in `marker_dir` (the settings are sent to child processes: so are the files)."""

    marker_dir: str = ""

    @contextlib.contextmanager
    def connect(self) -> Iterator[PipelineServiceClient]:
        Path(self.marker_dir, str(os.getpid())).touch()
        with super().connect() as client:
            yield client


# --- a live service and workers ---------------------------------------------------------------

LEASE_SECONDS = 2.0
WORKER_OPTIONS: dict[str, Any] = {
    "lease_seconds": LEASE_SECONDS,
    "poll_interval": 0.1,
    "grace_period": 0.5,
    "flush_interval": 0.1,
    "import_paths": (str(HERE), str(REPO / "examples")),
}


class Workers:
    """Starts workers (threads of this process) and stops them all at teardown."""

    def __init__(self, url: str, work_root: Path) -> None:
        self.url = url
        self.work_root = work_root
        self.started: list[tuple[Worker, threading.Thread]] = []

    def start(self, **options: Any) -> Worker:
        worker = Worker(self.url, work_root=self.work_root, **{**WORKER_OPTIONS, **options})
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.started.append((worker, thread))
        return worker

    def stop(self, worker: Worker, *, force: bool = False) -> None:
        for candidate, thread in self.started:
            if candidate is worker:
                worker.stop(force=force)
                thread.join(30)
                assert not thread.is_alive()

    def stop_all(self) -> None:
        for worker, _thread in self.started:
            worker.stop(force=True)
        for worker, thread in self.started:
            thread.join(30)
            worker.close()


def worker_command(url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pipeline_service", "worker", "--url", url,
        "--lease-seconds", str(LEASE_SECONDS), "--poll-interval", "0.1", *extra,
    ]  # fmt: skip


def markers(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class PartitionProxy:
    """A TCP proxy on 127.0.0.1 to a service; `partition()` cuts it off (open connections are
    reset, new ones closed at once) until `heal()`, like a network split."""

    def __init__(self, upstream_url: str) -> None:
        port = int(upstream_url.rsplit(":", 1)[1])
        self._upstream = ("127.0.0.1", port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._split = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._split:
                    client.close()
                    continue
                upstream = socket.create_connection(self._upstream)
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in selector.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            client.close()
            upstream.close()

    def partition(self) -> None:
        with self._lock:
            self._split = True
            doomed, self._open = self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def heal(self) -> None:
        with self._lock:
            self._split = False

    def close(self) -> None:
        self.partition()
        self._listener.close()
