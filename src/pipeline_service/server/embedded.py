"""EmbeddedServer: the reference server on a background thread, for tests and notebooks."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Self

from pipeline_service._lifecycle import Started
from pipeline_service.server import host_guard
from pipeline_service.server.app import create_app
from pipeline_service.server.serving import ServiceServer, uvicorn_config
from pipeline_service.server.settings import (
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_LOG_GRACE,
    DEFAULT_MAX_ARTIFACT_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_FIELD_BYTES,
    Settings,
    database,
    default_artifacts,
)

STARTUP_TIMEOUT = 20.0


class EmbeddedServer(Started):
    """Runs the server in a thread; `.url` once started. A context manager.

    db_path None means a fresh SQLite file in a temporary directory, removed on stop(); a
    `postgresql://` URL selects PostgreSQL (see settings.database).
    port 0 picks a free port. artifacts: the artifact store's URL (by default
    $PIPELINE_SERVICE_ARTIFACTS, else the directory next to a SQLite database). Without a
    token, the server answers the names of host (on loopback: localhost, 127.0.0.1, ::1) and
    allowed_hosts (`*`: any name); see host_guard.
    """

    def __init__(
        self,
        db_path: str | PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        log_level: str = "warning",
        log_grace: float = DEFAULT_LOG_GRACE,
        artifacts: str | PathLike[str] | None = None,
        max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
        max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
        allowed_hosts: Sequence[str] = (),
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        max_connections: int | None = None,
    ) -> None:
        self._tmpdir: str | None = None
        if db_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="pipeline-service-")
            db_path = Path(self._tmpdir) / "pipeline-service.db"
        self.db_path = database(db_path)
        self.host = host
        self.port = port
        self.settings = Settings(
            db_path=self.db_path,
            token=token,
            heartbeat_interval=heartbeat_interval,
            max_body_bytes=max_body_bytes,
            log_grace=log_grace,
            artifacts=str(artifacts) if artifacts is not None else default_artifacts(),
            max_artifact_bytes=max_artifact_bytes,
            max_field_bytes=max_field_bytes,
            allowed_hosts=host_guard.allowed_hosts(host, allowed_hosts),
            head_timeout=head_timeout,
            max_connections=max_connections,
        )
        self.app = create_app(self.settings)
        self._server = ServiceServer(uvicorn_config(self.app, host, port, log_level=log_level))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start serving; returns once requests are answered."""
        if self._thread is not None:
            raise RuntimeError("EmbeddedServer already started")
        self._thread = threading.Thread(
            target=self._server.run, name="pipeline-service-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the embedded pipeline-service server failed to start")
            time.sleep(0.005)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close open streams, stop serving, remove a temporary database."""
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            if self._server.started:
                self._server.close_streams()
            self._server.should_exit = True
            thread.join(timeout=30)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
