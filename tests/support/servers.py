"""Servers started by a test and stopped at its end: the one body of both `server_factory`
fixtures (the root one on SQLite, `tests/server/`'s on the backend under test)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline_service.server import EmbeddedServer

ServerFactory = Callable[..., EmbeddedServer]


@contextlib.contextmanager
def started_servers(
    new_database: Callable[[int], str | Path],
    defaults: Callable[[int], dict[str, Any]] = lambda index: {},
) -> Iterator[ServerFactory]:
    """`start(token=None, heartbeat_interval=15.0, max_body_bytes=None, db_path=None,
    **options)` starts a server on `db_path`, else on `new_database(index)` (index: how many
    were started before it), with `defaults(index)` under the options; every server is stopped
    on leaving."""
    servers: list[EmbeddedServer] = []

    def start(
        token: str | None = None,
        heartbeat_interval: float = 15.0,
        max_body_bytes: int | None = None,
        db_path: str | Path | None = None,
        **options: Any,
    ) -> EmbeddedServer:
        index = len(servers)
        db = db_path if db_path is not None else new_database(index)
        extra = defaults(index)
        if max_body_bytes is not None:
            extra["max_body_bytes"] = max_body_bytes
        extra.update(options)
        server = EmbeddedServer(db, token=token, heartbeat_interval=heartbeat_interval, **extra)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in reversed(servers):
            server.stop()
