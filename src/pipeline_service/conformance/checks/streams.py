"""The progress stream: framing, heartbeats, the terminal event, deletion, Last-Event-ID resume."""

from __future__ import annotations

import json

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Tier, check
from pipeline_service.conformance.sse import Frame, NoFrame, SSEReader, StreamEnded
from pipeline_service.wire import TERMINAL_RUN_STATUSES

PROGRESS_KEYS = {
    "run_id",
    "pipeline_id",
    "status",
    "current_action",
    "current_action_index",
    "progress",
    "error",
    "started_at",
    "completed_at",
}


def _stream(ctx: CheckContext, run_id: str, last_event_id: str | None = None) -> SSEReader:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    reader = SSEReader(ctx.session, ctx.run_path(run_id, "/progress/stream"), headers)
    if reader.response.status_code != 200:
        reader.close()
        raise ctx.fail(f"the stream answered {reader.response.status_code}, not 200")
    return reader


def _event(ctx: CheckContext, reader: SSEReader, what: str) -> Frame:
    try:
        return reader.next_event(ctx.options.event_timeout)
    except NoFrame:
        raise ctx.fail(f"{what}: no event within {ctx.options.event_timeout:g} s") from None
    except StreamEnded:
        raise ctx.fail(f"{what}: the stream ended instead") from None


def _version(ctx: CheckContext, frame: Frame) -> int:
    ctx.expect(frame.id is not None, f"an event without `id:` ({frame.text()})")
    assert frame.id is not None
    ctx.expect(frame.id.isdigit(), f"the event id {frame.id!r} is not a version number")
    return int(frame.id)


def _expect_end(ctx: CheckContext, reader: SSEReader, after: str) -> None:
    try:
        frame = reader.ends_within(ctx.options.event_timeout)
    except NoFrame:
        raise ctx.fail(f"the stream stayed open after {after}") from None
    ctx.expect(frame is None, f"after {after} the server sent more: {frame and frame.text()}")


@check("stream.framing", area="streams", tier=Tier.CORE)
def framing(ctx: CheckContext) -> None:
    """Each event is `id: <version>`, `event: progress`, one-line Progress JSON in `data:`.

    The stream of an unknown run is 404 with a JSON body before any streaming. Otherwise it is
    200 `text/event-stream` with `Cache-Control: no-cache` and `X-Accel-Buffering: no` (so that
    proxies pass events on at once); the current state goes out at once, `retry: <ms>` is sent
    (once), and each change pushes an event whose id is larger than the one before and whose
    data is the new state.
    """
    missing = ctx.session.get(ctx.run_path("conformance-kit-no-such-run", "/progress/stream"))
    ctx.expect_status(missing, 404, "the stream of an unknown run")
    run = ctx.new_run("framing")
    with _stream(ctx, run["id"]) as reader:
        opened = ctx.last()
        content_type = reader.response.headers.get("content-type", "")
        ctx.expect(
            content_type.startswith("text/event-stream"),
            f"content type {content_type!r}, not text/event-stream",
            opened,
        )
        cache = reader.response.headers.get("cache-control", "")
        ctx.expect("no-cache" in cache, f"Cache-Control is {cache!r}, not no-cache", opened)
        buffering = reader.response.headers.get("x-accel-buffering")
        ctx.expect(buffering == "no", f"X-Accel-Buffering is {buffering!r}, not 'no'", opened)
        first = _event(ctx, reader, "the current state on connecting")
        version = _version(ctx, first)
        ctx.expect(first.event == "progress", f"first event is {first.event!r}, not 'progress'")
        ctx.expect(
            first.data is not None and "\n" not in first.data,
            "the data is not one line of JSON",
            opened,
        )
        try:
            state = first.json()
        except json.JSONDecodeError:
            raise ctx.fail(f"the data is not JSON: {first.data!r}", opened) from None
        missing_keys = PROGRESS_KEYS - set(state)
        ctx.expect(not missing_keys, f"the Progress lacks {sorted(missing_keys)}", opened)
        ctx.expect(state["run_id"] == run["id"], "the event is about another run", opened)
        ctx.session.post(
            ctx.run_path(run["id"], "/progress"),
            {"action_progress": {"name": "first", "status": "running", "progress": 0.25}},
        )
        update = ctx.last()
        second = _event(ctx, reader, "the event after a progress report")
        ctx.expect(
            _version(ctx, second) > version,
            f"the id did not grow with a change: {version} then {second.id}",
            opened,
            update,
        )
        ctx.expect(
            second.json()["progress"][0].get("progress") == 0.25,
            f"the event after the report does not show it: {second.data}",
            opened,
            update,
        )
        retries = [frame.retry for frame in reader.frames if frame.retry is not None]
        ctx.expect(len(retries) == 1, f"`retry:` sent {len(retries)} times, not once", opened)
        ctx.expect(retries[0] > 0, f"`retry: {retries[0]}` is not a delay in ms", opened)


@check("stream.heartbeat", area="streams", tier=Tier.CORE)
def heartbeat(ctx: CheckContext) -> None:
    """While nothing changes, the stream carries `: ping` comments (heartbeats).

    Waits up to the heartbeat timeout (`--heartbeat-timeout`, the server's heartbeat interval
    plus a margin) for a comment after the first event.
    """
    run = ctx.new_run("heartbeat")
    with _stream(ctx, run["id"]) as reader:
        opened = ctx.last()
        _event(ctx, reader, "the current state on connecting")
        timeout = ctx.options.heartbeat_timeout
        try:
            frame = reader.next(timeout, comments=True)
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(f"no heartbeat comment within {timeout:g} s ({exc})", opened) from None
        ctx.expect(
            frame.is_comment,
            f"an event instead of a heartbeat while nothing changed: {frame.text()}",
            opened,
        )


@check("stream.terminal", area="streams", tier=Tier.CORE)
def terminal(ctx: CheckContext) -> None:
    """When the run ends, the last event is named after its terminal status, then the stream closes.

    For each of completed, failed and cancelled: the event carries that name and the final
    state, and the server closes the connection after it. A stream opened on a run that has
    already ended sends its terminal event at once and closes.
    """
    for status in sorted(TERMINAL_RUN_STATUSES):
        run = ctx.new_run(f"terminal-{status}")
        with _stream(ctx, run["id"]) as reader:
            opened = ctx.last()
            _event(ctx, reader, "the current state on connecting")
            ctx.session.patch(ctx.run_path(run["id"]), {"status": status})
            moved = ctx.last()
            while True:
                frame = _event(ctx, reader, f"the {status!r} event")
                if frame.event != "progress":
                    break
                ctx.expect(
                    frame.json().get("status") in ("pending", "running"),
                    f"a `progress` event carries the terminal status {status!r}: the event "
                    f"must be named after it",
                    opened,
                    moved,
                )
            ctx.expect(
                frame.event == status,
                f"the run became {status} but the event is {frame.event!r}",
                opened,
                moved,
            )
            ctx.expect(frame.json().get("status") == status, f"the data says {frame.data}")
            _expect_end(ctx, reader, f"the {status!r} event")
        with _stream(ctx, run["id"]) as reader:
            late = _event(ctx, reader, "the terminal event of an ended run")
            ctx.expect(
                late.event == status,
                f"a stream on a {status} run started with {late.event!r}, not {status!r}",
            )
            _expect_end(ctx, reader, "the terminal event of an ended run")


@check("stream.deleted", area="streams", tier=Tier.CORE)
def deleted(ctx: CheckContext) -> None:
    """Deleting a run mid-stream sends `event: error` with `detail` and the run id, then closes."""
    run = ctx.new_run("deleted")
    with _stream(ctx, run["id"]) as reader:
        opened = ctx.last()
        _event(ctx, reader, "the current state on connecting")
        ctx.expect_status(ctx.session.delete(ctx.run_path(run["id"])), 204, "deleting the run")
        removed = ctx.last()
        frame = _event(ctx, reader, "the error event after deleting the run")
        ctx.expect(
            frame.event == "error",
            f"after deleting the run the event is {frame.event!r}, not 'error'",
            opened,
            removed,
        )
        body = frame.json()
        ctx.expect(
            isinstance(body, dict) and body.get("run_id") == run["id"] and "detail" in body,
            f"the error event's data lacks run_id/detail: {frame.data}",
            opened,
            removed,
        )
        _expect_end(ctx, reader, "the error event")


@check("stream.resume", area="streams", tier=Tier.CORE)
def resume(ctx: CheckContext) -> None:
    """`Last-Event-ID` resumes without a duplicate and without a missed state.

    With an older version the current state is sent at once (newer id, latest data); with the
    current version the server waits and sends the next change; a value that is not a version
    is ignored (current state, 200); on a terminal run the terminal event is sent and the
    stream closes.
    """
    run = ctx.new_run("resume")
    run_id = run["id"]
    progress = ctx.run_path(run_id, "/progress")
    with _stream(ctx, run_id) as reader:
        seen = _version(ctx, _event(ctx, reader, "the current state"))
    for fraction in (0.25, 0.5):
        ctx.session.post(progress, {"action_progress": {"name": "first", "progress": fraction}})
    with _stream(ctx, run_id, str(seen)) as reader:
        opened = ctx.last()
        frame = _event(ctx, reader, f"resuming after version {seen}")
        newest = _version(ctx, frame)
        ctx.expect(newest > seen, f"resumed at {newest}, not after {seen} (a duplicate)", opened)
        ctx.expect(
            frame.json()["progress"][0].get("progress") == 0.5,
            f"resuming sent an older state, not the latest: {frame.data}",
            opened,
        )
    with _stream(ctx, run_id, str(newest)) as reader:
        opened = ctx.last()
        try:
            early = reader.next_event(1.0)
        except NoFrame:
            early = None
        ctx.expect(
            early is None,
            f"resuming at the current version {newest} sent it again: {early and early.text()}",
            opened,
        )
        ctx.session.post(progress, {"action_progress": {"name": "first", "progress": 0.75}})
        frame = _event(ctx, reader, "the next change after resuming at the current version")
        ctx.expect(_version(ctx, frame) > newest, "the next change did not get a newer id")
        ctx.expect(
            frame.json()["progress"][0].get("progress") == 0.75,
            f"the next change is not in the event: {frame.data}",
            opened,
        )
    with _stream(ctx, run_id, "not-a-version") as reader:
        frame = _event(ctx, reader, "the current state with a bad Last-Event-ID")
        ctx.expect(frame.event == "progress", f"got {frame.event!r} for a bad Last-Event-ID")
    ctx.session.patch(ctx.run_path(run_id), {"status": "completed"})
    with _stream(ctx, run_id, str(newest)) as reader:
        opened = ctx.last()
        frame = _event(ctx, reader, "resuming a completed run")
        ctx.expect(
            frame.event == "completed", f"resuming a completed run sent {frame.event!r}", opened
        )
        _expect_end(ctx, reader, "the terminal event of a resumed stream")


@check("stream.order", area="streams", tier=Tier.CORE)
def order(ctx: CheckContext) -> None:
    """A subscriber never sees an older state after a newer one, and ends on the latest.

    While 40 progress reports follow each other as fast as the server takes them, the stream's
    ids only grow, the reported progress never goes back (a subscriber that falls behind may
    skip states, never reorder them), and the run's final state is the last event.
    """
    run = ctx.new_run("order", actions=("only",))
    path = ctx.run_path(run["id"], "/progress")
    steps = 40
    with _stream(ctx, run["id"]) as reader:
        opened = ctx.last()
        _event(ctx, reader, "the current state on connecting")
        for step in range(1, steps + 1):
            body = {"action_progress": {"name": "only", "progress": step, "total": steps}}
            ctx.expect_status(ctx.session.post(path, body), 200, f"progress report {step}")
        seen: list[tuple[int, float]] = []
        while not seen or seen[-1][1] < steps:
            frame = _event(ctx, reader, f"the event for report {steps}")
            seen.append((_version(ctx, frame), frame.json()["progress"][0].get("progress")))
    versions = [version for version, _ in seen]
    values = [value for _, value in seen]
    ctx.expect(
        versions == sorted(set(versions)),
        f"event ids did not only grow: {versions}",
        opened,
    )
    ctx.expect(values == sorted(values), f"the stream went back to older states: {values}", opened)
