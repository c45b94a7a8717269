"""Copies of the reference server with one fault injected each, for testing the kit.

Each fault is a plain ASGI middleware, a storage method wrapped (the lost update: it reads before
it writes without holding the run; log records that become visible out of `seq` order) or a
setting (no log grace), applied to a fresh app before it starts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_service.server import EmbeddedServer, rules
from pipeline_service.server.settings import DEFAULT_LOG_GRACE
from pipeline_service.server.storage import runs
from pipeline_service.server.storage.paging import Page
from pipeline_service.server.storage.queries import RunWrite

_PROGRESS_PATH = re.compile(r"^/api/v1/runs/[^/]+/progress$")
_RUNS_LIST_PATH = re.compile(r"^/api/v1/pipelines/[^/]+/runs/$")
_LOGS_PATH = re.compile(r"^/api/v1/runs/[^/]+/logs/$")
_METRICS_PATH = re.compile(r"^/api/v1/runs/[^/]+/metrics$")
_ARTIFACT_PATH = re.compile(r"^/api/v1/runs/[^/]+/artifacts/.")
_RUNS_PATH = re.compile(r"^/api/v1/runs/$")


class StreamFilter:
    """Passes each chunk of an event stream's body through `transform`."""

    def __init__(self, app: ASGIApp, transform: Callable[[bytes], bytes]) -> None:
        self.app = app
        self.transform = transform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streaming = False

        async def filtered(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            elif message["type"] == "http.response.body" and streaming:
                message = {**message, "body": self.transform(message.get("body", b""))}
            await send(message)

        await self.app(scope, receive, filtered)


class ReplayPrevious:
    """After each progress event, sends the one before it again: an older state after a newer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        previous = b""

        def replay(chunk: bytes) -> bytes:
            nonlocal previous
            if not chunk.startswith(b"id:") or b"event: progress" not in chunk:
                return chunk
            sent, previous = chunk + previous, chunk
            return sent

        await StreamFilter(self.app, replay)(scope, receive, send)


def strip_ids(chunk: bytes) -> bytes:
    return b"".join(line for line in chunk.splitlines(keepends=True) if not line.startswith(b"id:"))


def drop_terminal_events(chunk: bytes) -> bytes:
    if re.search(rb"^event: (completed|failed|cancelled)\r?$", chunk, re.MULTILINE):
        return b""
    return chunk


class CrashOnBadJSON:
    """Answers a plain-text 500 to any body that is not valid JSON (instead of a 400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            json.loads(body or b"null")
        except ValueError:
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            return
        await self.app(scope, _replay(body), send)


class ReplaceProgress:
    """Turns each `action_progress` into a whole entry (defaults for what was not sent), so the
    server replaces the action's entry instead of merging into it."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "status": "pending",
        "progress": 0,
        "total": None,
        "progress_step": None,
        "message": None,
        "metrics": {},
        "error": None,
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not _PROGRESS_PATH.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            document = json.loads(body)
            update = document["action_progress"]
            document["action_progress"] = {**self.DEFAULTS, **update}
            body = json.dumps(document).encode()
        except (ValueError, KeyError, TypeError):
            pass
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, _replay(body), send)


class RewriteJSON:
    """Passes the JSON body of each 200 answer on paths matching `pattern` through `transform`."""

    def __init__(
        self, app: ASGIApp, pattern: re.Pattern[str], transform: Callable[[Any], Any]
    ) -> None:
        self.app = app
        self.pattern = pattern
        self.transform = transform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.pattern.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body = b""

        async def buffered(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            body += message.get("body", b"")
            if message.get("more_body"):
                return
            if start["status"] == 200:
                body = json.dumps(self.transform(json.loads(body))).encode()
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


def oldest_first(runs: Any) -> Any:
    """A pipeline's runs listed oldest first."""
    return runs[::-1] if isinstance(runs, list) else runs


def newest_point_first(metrics: Any) -> Any:
    """Each metric series with its points in reverse order."""
    for series in metrics.get("actions", []):
        series["points"] = series["points"][::-1]
    return metrics


class TruncateLogBatches:
    """Stores the first 10,000 entries of a larger log batch instead of refusing it (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _LOGS_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            document = json.loads(body)
            document["entries"] = document["entries"][:10_000]
            body = json.dumps(document).encode()
        except (ValueError, KeyError, TypeError):
            pass  # anything else goes through as it came
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, _replay(body), send)


class SlashRedirect:
    """Redirects the slash-less form of the collection paths instead of answering it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/api/v1/pipelines", "/api/v1/runs"):
            location = f"{scope['path']}/".encode()
            await send(
                {"type": "http.response.start", "status": 307, "headers": [(b"location", location)]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class DropLeaseToken:
    """Removes the `Lease-Token` header from every request: writes of a lost lease go through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"lease-token"]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class RefuseDedicatedWorkers:
    """Answers 422 to a pipeline body that names `dedicated_workers`, as a v1-core server
    (which knows no such field) does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if b'"dedicated_workers"' in body and "/pipelines" in scope["path"]:
            detail = json.dumps({"detail": "body field 'dedicated_workers': unknown"}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": detail})
            return
        await self.app(scope, _replay(body), send)


class NoHead:
    """Answers 405 to HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class DropRequestPart:
    """Drops a request header (`header`) or query parameter (`query`) on paths matching
    `pattern`, as a server that ignores it would."""

    def __init__(
        self,
        app: ASGIApp,
        pattern: re.Pattern[str],
        header: bytes | None = None,
        query: str | None = None,
    ) -> None:
        self.app = app
        self.pattern = pattern
        self.header = header
        self.query = query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.pattern.match(scope["path"]):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != self.header]
            query = b"&".join(
                part
                for part in scope.get("query_string", b"").split(b"&")
                if self.query is None or not part.startswith(f"{self.query}=".encode())
            )
            scope = {**scope, "headers": headers, "query_string": query}
        await self.app(scope, receive, send)


class AnyBodyIsJSON:
    """Reads every request body as JSON, whatever its Content-Type says (or none)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class AnyHost:
    """Answers whatever name a request gives in `Host` (as if it were the server's own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            headers.append((b"host", b"127.0.0.1"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class NoNextLink:
    """Cuts pages at the byte cap but never says where the next one starts (no `Link`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def without_link(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"link"]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, without_link)


def lose_updates(server: EmbeddedServer) -> None:
    """Progress reports read the run, wait a little, then write their change over what they
    read: concurrent reports overwrite each other."""
    storage: Any = server.app.state.storage

    async def report_progress(target: RunWrite, body: Any) -> Any:
        run_id = target.run_id
        stale = (await storage.get_run(run_id)).run["progress"]
        await asyncio.sleep(0.05)

        def write(tx: Any) -> Any:
            def change(run: Any) -> None:
                run["progress"] = [dict(entry) for entry in stale]
                rules.apply_progress_update(run, body, tx.now)

            state = yield from runs.change_run(tx, run_id, change)
            return state.run

        return await storage._write(write)

    storage.report_progress = report_progress


def number_out_of_commit_order(server: EmbeddedServer, late: float = 0.3) -> None:
    """Every other log batch becomes visible `late` seconds after it got its `seq` numbers (as
    when numbers come from a sequence outside the transaction that stores the records): a
    batch appended meanwhile, with higher numbers, is read first."""
    storage: Any = server.app.state.storage
    append_logs, get_logs = storage.append_logs, storage.get_logs
    hidden: set[tuple[str, int]] = set()
    batches = itertools.count()

    async def append_late(target: RunWrite, entries: Any) -> Any:
        records = await append_logs(target, entries)
        if next(batches) % 2 == 0:
            numbers = {(target.run_id, record["seq"]) for record in records}
            hidden.update(numbers)
            try:
                await asyncio.sleep(late)
            finally:
                hidden.difference_update(numbers)
        return records

    async def read_visible(run_id: str, query: Any) -> Any:
        page = await get_logs(run_id, query)
        visible = [record for record in page if (run_id, record["seq"]) not in hidden]
        return Page(visible, more=page.more)

    storage.append_logs = append_late
    storage.get_logs = read_visible


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a client that keeps the connection open
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def broken_server(fault: str, db_path: Any) -> EmbeddedServer:
    """A reference server (not started) with `fault` injected."""
    grace = 0.0 if fault == "no-log-grace" else DEFAULT_LOG_GRACE
    server = EmbeddedServer(
        db_path, heartbeat_interval=0.2, max_body_bytes=1024 * 1024, log_grace=grace
    )
    app = server.app
    if fault == "lost-update":
        lose_updates(server)
    elif fault == "no-log-grace":
        pass  # the setting above
    elif fault == "stale-lease-accepted":
        app.add_middleware(DropLeaseToken)
    elif fault == "seq-out-of-commit-order":
        number_out_of_commit_order(server)
    elif fault == "no-dedicated-workers":
        app.add_middleware(RefuseDedicatedWorkers)
    elif fault == "stream-without-ids":
        app.add_middleware(StreamFilter, transform=strip_ids)
    elif fault == "500-on-bad-body":
        app.add_middleware(CrashOnBadJSON)
    elif fault == "replaced-progress":
        app.add_middleware(ReplaceProgress)
    elif fault == "missing-terminal-event":
        app.add_middleware(StreamFilter, transform=drop_terminal_events)
    elif fault == "slash-redirect":
        app.add_middleware(SlashRedirect)
    elif fault == "oldest-first":
        app.add_middleware(RewriteJSON, pattern=_RUNS_LIST_PATH, transform=oldest_first)
    elif fault == "metric-points-reversed":
        app.add_middleware(RewriteJSON, pattern=_METRICS_PATH, transform=newest_point_first)
    elif fault == "truncated-log-batch":
        app.add_middleware(TruncateLogBatches)
    elif fault == "stale-replay":
        app.add_middleware(ReplayPrevious)
    elif fault == "no-head":
        app.add_middleware(NoHead)
    elif fault == "unchecked-artifact-digest":
        app.add_middleware(DropRequestPart, pattern=_ARTIFACT_PATH, header=b"content-sha256")
    elif fault == "resumed-from-filter-ignored":
        app.add_middleware(DropRequestPart, pattern=_RUNS_PATH, query="resumed_from")
    elif fault == "any-body-is-json":
        app.add_middleware(AnyBodyIsJSON)
    elif fault == "any-host":
        app.add_middleware(AnyHost)
    elif fault in ("no-next-link-logs", "no-next-link-lists"):
        app.add_middleware(NoNextLink)
    else:
        raise ValueError(fault)
    # The reference server answers plain stream and hot write requests ahead of its middleware
    # stack (ahead.ServiceApp); a fault injected as a middleware must see them too.
    app.ahead_routes = None  # type: ignore[attr-defined]
    return server
