"""Configuration of the server."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from pipeline_service.vocabulary import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from pipeline_service.vocabulary import DEFAULT_MAX_FIELD_BYTES as DEFAULT_MAX_FIELD_BYTES

ENV_DB = "PIPELINE_SERVICE_DB"
ENV_ARTIFACTS = "PIPELINE_SERVICE_ARTIFACTS"
DEFAULT_DB_PATH = Path("pipeline-service.db")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
DEFAULT_HEARTBEAT_INTERVAL = 15.0
DEFAULT_SSE_RETRY_MS = 2000
DEFAULT_LOG_GRACE = 3.0
DEFAULT_MAX_ARTIFACT_BYTES = 10 * 1024**3
DEFAULT_HEAD_TIMEOUT = 5.0
ENV_ALLOWED_HOSTS = "PIPELINE_SERVICE_ALLOWED_HOSTS"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"


_POSTGRES_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
_SQLITE_URL = "sqlite:///"


def is_postgres_url(db: str | PathLike[str]) -> bool:
    """Whether db names a PostgreSQL database (`postgresql://…` or `postgres://…`)."""
    return isinstance(db, str) and _POSTGRES_URL.match(db) is not None


def database(db: str | PathLike[str]) -> Path | str:
    """A `--db` value: a PostgreSQL URL stays text; `sqlite:///path` or a path is a SQLite file."""
    if is_postgres_url(db):
        return str(db)
    text = os.fspath(db)
    return Path(text[len(_SQLITE_URL) :] if text.startswith(_SQLITE_URL) else text)


def redacted(db: Path | str) -> str:
    """db for messages: a URL without its password."""
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", str(db))


def default_db_path() -> Path | str:
    """$PIPELINE_SERVICE_DB, else ./pipeline-service.db."""
    return database(os.environ.get(ENV_DB) or DEFAULT_DB_PATH)


def default_artifacts() -> str | None:
    """$PIPELINE_SERVICE_ARTIFACTS, else None (the directory next to a SQLite database)."""
    return os.environ.get(ENV_ARTIFACTS) or None


@dataclass(frozen=True)
class Settings:
    """Everything create_app needs.

    db_path: the SQLite file (created if missing), or a PostgreSQL URL (see `database`).
    token: when set, every /api/v1 request needs `Authorization: Bearer <token>`.
    heartbeat_interval: seconds between `: ping` comments on idle streams. max_body_bytes:
    larger request bodies are 413. sse_retry_ms: the `retry:` sent to stream clients.
    log_grace: seconds after a run ends during which its log streams still wait for lines (a
    worker's closing lines: why the run failed or was cancelled).
    max_field_bytes: a larger free-form field (params, result, metrics…, as UTF-8 JSON) is 422.
    artifacts: the artifact store, any fsspec URL (a directory, `s3://bucket/prefix`…); None
    means `<db name>-artifacts/` next to a SQLite database, and no store on PostgreSQL (uploads
    are 503 until one is given). max_artifact_bytes: larger artifact uploads are 413.
    allowed_hosts: without a token, the only `Host` names answered (421 otherwise; `*`: any), and
    writes from another origin are 403 (see host_guard). head_timeout: seconds a connection may
    take to send a request head (and may leave a request body idle) before it is closed.
    max_connections: open connections beyond this close the oldest idle one (None: derived from
    the process's file limit, see connections.default_max_connections).
    """

    db_path: Path | str = field(default_factory=default_db_path)
    token: str | None = None
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sse_retry_ms: int = DEFAULT_SSE_RETRY_MS
    log_grace: float = DEFAULT_LOG_GRACE
    artifacts: str | None = field(default_factory=default_artifacts)
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    max_connections: int | None = None

    def artifacts_url(self) -> str | None:
        """The artifact store's URL: `artifacts`, or the directory next to a SQLite database."""
        if self.artifacts:
            return self.artifacts
        if isinstance(self.db_path, Path):
            return str(self.db_path.parent.resolve() / f"{self.db_path.stem}-artifacts")
        return None

    def __post_init__(self) -> None:
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.log_grace < 0:
            raise ValueError("log_grace must not be negative")
        if self.max_artifact_bytes <= 0:
            raise ValueError("max_artifact_bytes must be positive")
        if self.max_field_bytes <= 0:
            raise ValueError("max_field_bytes must be positive")
        if self.head_timeout <= 0:
            raise ValueError("head_timeout must be positive")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
