"""The Server-Sent Event streams: a run's progress, a run's logs, and the runs list."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sse_starlette import ServerSentEvent

from pipeline_service.server.errors import RUN_NOT_FOUND, NotFound
from pipeline_service.server.events import EventHub
from pipeline_service.server.settings import Settings
from pipeline_service.server.sse import EventStream
from pipeline_service.server.storage.changes import RunState
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.queries import LogQuery
from pipeline_service.server.storage.run_changes import RunChange, RunFilter
from pipeline_service.wire import TERMINAL_RUN_STATUSES, LogRecord

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LOG_PAGE = 100  # records read from storage at a time (fewer when they reach MAX_PAGE_BYTES)


def _data(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_last_event_id(value: str | None) -> int | None:
    """A Last-Event-ID that is a version / seq; anything else is ignored."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def event_stream(events: AsyncIterator[ServerSentEvent | bytes], settings: Settings) -> EventStream:
    """An SSE response: `: ping` every heartbeat_interval, no caching, no proxy buffering."""
    return EventStream(events, ping_interval=settings.heartbeat_interval, headers=STREAM_HEADERS)


# The last state encoded without `retry:`: every subscriber of a change gets the same state
# object, so its event is serialized once, not once per subscriber.
_last_encoded: tuple[RunState | None, bytes] = (None, b"")


def _progress_event(state: RunState, retry: int | None) -> bytes:
    global _last_encoded
    last = _last_encoded
    if retry is None and last[0] is state:
        return last[1]
    name = state.status if state.status in TERMINAL_RUN_STATUSES else "progress"
    encoded = ServerSentEvent(
        data=_data(state.progress()), event=name, id=str(state.version), retry=retry
    ).encode()
    if retry is None:
        _last_encoded = (state, encoded)
    return encoded


async def _current(storage: Storage, run_id: str) -> RunState | None:
    """The run's current state; None once it is deleted (a stream then sends `_deleted_event`)."""
    try:
        return await storage.get_run(run_id)
    except NotFound:
        return None


def _deleted_event(run_id: str) -> ServerSentEvent:
    return ServerSentEvent(data=_data({"run_id": run_id, "detail": RUN_NOT_FOUND}), event="error")


async def progress_events(
    hub: EventHub,
    storage: Storage,
    run_id: str,
    last_event_id: int | None,
    settings: Settings,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """Current state at once (unless the client has it), then each newer state, then the end."""
    # Subscribed before reading, so no change slips between; only while the stream is consumed.
    with hub.subscribe(run_id) as subscription:
        state = await _current(storage, run_id)
        if state is None:
            yield _deleted_event(run_id)
            return
        retry: int | None = settings.sse_retry_ms
        sent_version = -1
        if state.status in TERMINAL_RUN_STATUSES or last_event_id != state.version:
            yield _progress_event(state, retry)
            retry = None
            if state.status in TERMINAL_RUN_STATUSES:
                return
        sent_version = state.version
        del state  # an idle stream holds no document of its own (subscribers share `newest`)
        while True:
            newest = subscription.state
            if newest is not None and newest.version > sent_version:
                yield _progress_event(newest, retry)
                retry = None
                sent_version = newest.version
                if newest.status in TERMINAL_RUN_STATUSES:
                    return
                continue
            if subscription.deleted:
                yield _deleted_event(subscription.run_id)
                return
            if subscription.closed:
                return
            await subscription.wait()


def _log_event(record: LogRecord, retry: int | None) -> ServerSentEvent:
    return ServerSentEvent(data=_data(record), event="log", id=str(record["seq"]), retry=retry)


async def log_events(
    hub: EventHub,
    storage: Storage,
    run_id: str,
    query: LogQuery,
    settings: Settings,
) -> AsyncIterator[ServerSentEvent]:
    """Stored records after the cursor, then new ones as they are stored, then `end` once the
    run is over and the grace for its closing lines has passed."""
    with hub.subscribe(run_id) as subscription:
        state = await _current(storage, run_id)
        if state is None:
            yield _deleted_event(run_id)
            return
        retry: int | None = settings.sse_retry_ms
        cursor = query.after_seq
        from_storage = True  # until caught up (or after falling behind), read storage
        while True:
            newest = subscription.state
            if newest is not None and newest.version > state.version:
                state = newest
            terminal = state.status in TERMINAL_RUN_STATUSES
            if from_storage or terminal:
                # Once terminal, everything committed before is in storage: drain it; end once
                # the grace for the worker's closing lines has passed too.
                try:
                    async for record in _stored_after(storage, run_id, query, cursor):
                        yield _log_event(record, retry)
                        retry = None
                        cursor = record["seq"]
                except NotFound:
                    yield _deleted_event(run_id)
                    return
                if terminal:
                    left = _grace_left(state, settings.log_grace)
                    if left > 0 and not subscription.closed and not subscription.deleted:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(subscription.wait(), left)
                        subscription.take_records()  # storage has them: drained next round
                        continue
                    end = {"run_id": run_id, "status": state.status}
                    yield ServerSentEvent(data=_data(end), event="end", retry=retry)
                    return
                from_storage = False
            records, from_storage = subscription.take_records()
            for record in records:
                if record["seq"] > cursor and _matches(record, query):
                    yield _log_event(record, retry)
                    retry = None
                    cursor = record["seq"]
            if subscription.deleted:
                yield _deleted_event(run_id)
                return
            if subscription.closed:
                return
            if not from_storage and subscription.state is newest:
                await subscription.wait()


def _grace_left(state: RunState, grace: float) -> float:
    """Seconds of the log grace left after the run ended (none once it has passed)."""
    completed_at = state.run["completed_at"]
    if not completed_at or grace <= 0:
        return 0.0
    try:
        ended = datetime.fromisoformat(completed_at)
    except ValueError:
        return 0.0
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - ended).total_seconds()
    return min(grace, grace - elapsed)


async def _stored_after(
    storage: Storage, run_id: str, query: LogQuery, cursor: int
) -> AsyncIterator[LogRecord]:
    """Every stored record after cursor that matches query, page by page (NotFound if deleted)."""
    while True:
        page = await storage.get_logs(run_id, _after(query, cursor, LOG_PAGE))
        for record in page:
            yield record
            cursor = record["seq"]
        if len(page) < LOG_PAGE and not page.more:
            return


def _after(query: LogQuery, cursor: int, limit: int) -> LogQuery:
    return LogQuery(
        action_name=query.action_name,
        level=query.level,
        since=query.since,
        after_seq=cursor,
        limit=limit,
    )


def _matches(record: LogRecord, query: LogQuery) -> bool:
    return (
        (query.action_name is None or record["action_name"] == query.action_name)
        and (query.level is None or record["level"] == query.level)
        and (query.since is None or record["timestamp"] > query.since)
    )


RUN_CHANGES_PAGE = 500  # changes a runs stream reads from storage at a time


def _run_change_event(change: RunChange, runs: RunFilter, retry: int | None) -> bytes | None:
    """The change's event for a stream with these filters (None: nothing to send): as it is
    when it matches or deletes a run the stream may hold, `left` when a run still there stops
    matching; without `retry:`, each kind is encoded once for every subscriber."""
    if runs.matches(change) or (change.removed is not None and runs.drops(change)):
        if retry is None and change.event is not None:
            return change.event
        if change.summary is not None:
            name = "created" if change.summary["version"] == 1 else "changed"
            data: Any = change.summary
        else:
            name, data = "deleted", change.removed
        encoded = _encode(name, data, change.seq, retry)
        if retry is None:
            change.event = encoded
        return encoded
    if not runs.drops(change):
        return None
    if retry is None and change.left_event is not None:
        return change.left_event
    encoded = _encode("left", change.summary, change.seq, retry)
    if retry is None:
        change.left_event = encoded
    return encoded


def _encode(name: str, data: Any, seq: int, retry: int | None) -> bytes:
    return ServerSentEvent(data=_data(data), event=name, id=str(seq), retry=retry).encode()


def _mark(name: str, detail: str, seq: int, retry: int | None) -> ServerSentEvent:
    return ServerSentEvent(data=_data({"detail": detail}), event=name, id=str(seq), retry=retry)


async def runs_events(
    hub: EventHub,
    storage: Storage,
    runs: RunFilter,
    last_event_id: int | None,
    settings: Settings,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """Changes of the runs that match: from storage after Last-Event-ID (or from the present),
    then `sync`, then as the hub's runs feed reads them; `reset` when changes after the cursor
    were forgotten. A subscriber that falls behind reads storage again by its cursor."""
    with hub.subscribe_runs() as subscription:
        retry: int | None = settings.sse_retry_ms
        resuming = last_event_id is not None
        if last_event_id is None:
            # Queued from now on: what the feed hands on after the head read next is kept (what
            # it hands on up to the head is skipped by its number).
            subscription.dropped = False
            cursor = await storage.run_changes_head()
            yield _mark("sync", "caught up", cursor, retry)
            retry = None
        else:
            cursor = last_event_id
        while True:
            if subscription.dropped:
                subscription.dropped = False
                async for item in _stored_run_changes(storage, cursor):
                    if isinstance(item, int):  # forgotten past the cursor: start over
                        cursor, resuming = item, False
                        yield _mark("reset", "changes were forgotten: list the runs", item, retry)
                        retry = None
                        break
                    cursor = item.seq
                    event = _run_change_event(item, runs, retry)
                    if event is not None:
                        yield event
                        retry = None
                if resuming:  # once, after what the client missed
                    resuming = False
                    yield _mark("sync", "caught up", cursor, retry)
                    retry = None
                continue
            for change in subscription.take():
                if change.seq > cursor:
                    cursor = change.seq
                    event = _run_change_event(change, runs, retry)
                    if event is not None:
                        yield event
                        retry = None
            if subscription.closed:
                return
            if not subscription.dropped and not subscription.changes:
                await subscription.wait()


async def _stored_run_changes(storage: Storage, cursor: int) -> AsyncIterator[RunChange | int]:
    """Every change after cursor, page by page; the newest change number instead when changes
    after cursor were forgotten (a cursor of 0 knows nothing, so misses nothing)."""
    while True:
        page = await storage.run_changes(cursor, RUN_CHANGES_PAGE)
        if 0 < cursor < page.forgotten:
            yield await storage.run_changes_head()
            return
        for change in page.changes:
            yield change
            cursor = change.seq
        if not page.more:
            return
