"""Configuration of the server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_DB = "PIPELINE_SERVICE_DB"
DEFAULT_DB_PATH = Path("pipeline-service.db")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
DEFAULT_HEARTBEAT_INTERVAL = 15.0
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_SSE_RETRY_MS = 2000
DEFAULT_LOG_GRACE = 3.0


def default_db_path() -> Path:
    """$PIPELINE_SERVICE_DB, else ./pipeline-service.db."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB_PATH)


@dataclass(frozen=True)
class Settings:
    """Everything create_app needs.

    db_path: the SQLite file (created if missing). token: when set, every /api/v1 request needs
    `Authorization: Bearer <token>`. heartbeat_interval: seconds between `: ping` comments on
    idle streams. max_body_bytes: larger request bodies are 413. sse_retry_ms: the `retry:` sent
    to stream clients. log_grace: seconds after a run ends during which its log streams still
    wait for lines (a worker's closing lines: why the run failed or was cancelled).
    """

    db_path: Path = field(default_factory=default_db_path)
    token: str | None = None
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sse_retry_ms: int = DEFAULT_SSE_RETRY_MS
    log_grace: float = DEFAULT_LOG_GRACE

    def __post_init__(self) -> None:
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.log_grace < 0:
            raise ValueError("log_grace must not be negative")
