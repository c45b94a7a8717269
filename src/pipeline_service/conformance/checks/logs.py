"""Logs: every level accepted, oldest first, gap-free `seq` cursors (also while written), the
followable log stream and the closing lines it waits for."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Depth, Tier, check
from pipeline_service.conformance.sse import NoFrame, SSEReader, StreamEnded
from pipeline_service.wire import LOG_LEVELS

APPENDERS = 4
BATCH = 5
PAGE = 7
MIN_LOG_GRACE = 2.0  # seconds a log stream waits for closing lines after the run ended (spec)
CLOSING_LINE_DELAY = MIN_LOG_GRACE / 2


@check("logs.levels", area="logs", tier=Tier.CORE)
def levels(ctx: CheckContext) -> None:
    """All seven log levels are accepted; records come back oldest first, filterable by level.

    POST /runs/{id}/logs/ answers 201 with the stored records in the order sent; GET returns
    them oldest first, and `level=` keeps only that level.
    """
    run = ctx.new_run("log-levels")
    path = ctx.run_path(run["id"], "/logs/")
    entries = [
        {"message": f"line {i} at {level}", "level": level} for i, level in enumerate(LOG_LEVELS)
    ]
    stored = ctx.expect_status(
        ctx.session.post(path, {"entries": entries}), 201, "a batch with every level"
    )
    ctx.expect(
        [r.get("message") for r in stored] == [e["message"] for e in entries],
        "the stored records are not the entries in the order sent",
    )
    records = ctx.expect_status(ctx.session.get(path), 200, "reading the logs")
    ctx.expect(
        [r.get("message") for r in records] == [e["message"] for e in entries],
        f"the records do not come back oldest first: {[r.get('message') for r in records]}",
    )
    only = ctx.expect_status(
        ctx.session.get(path, params={"level": "danger"}), 200, "filtering by level"
    )
    ctx.expect(
        [r.get("level") for r in only] == ["danger"],
        f"level=danger returned levels {[r.get('level') for r in only]}",
    )


@check("logs.cursor", area="logs", tier=Tier.EXTENSION)
def cursor(ctx: CheckContext) -> None:
    """Log `seq` numbers are 1, 2, 3… per run, and paging with `after_seq` misses nothing.

    Several writers append batches concurrently while a reader pages through
    GET /logs/?after_seq=&limit= with the cursor of its last page: it sees every record exactly
    once, in `seq` order, with no gap in the numbering; the same as the list read once the
    writers are done. A server that numbers records in another order than it commits them
    makes the reader skip those committed late.
    """
    run = ctx.new_run("log-cursor")
    path = ctx.run_path(run["id"], "/logs/")
    batches = 3 if ctx.options.depth is Depth.QUICK else 10
    total = APPENDERS * batches * BATCH

    def append(writer: int) -> list[str]:
        problems = []
        with httpx.Client(base_url=ctx.session.base_url, timeout=30) as http:
            for batch in range(batches):
                entries = [{"message": f"w{writer} b{batch} e{i}"} for i in range(BATCH)]
                response = http.post(
                    path, json={"entries": entries}, headers=ctx.session.auth_headers()
                )
                if response.status_code != 201:
                    problems.append(f"{response.status_code} {response.text[:100]}")
        return problems

    with ThreadPoolExecutor(APPENDERS) as pool:
        appended = [pool.submit(append, writer) for writer in range(APPENDERS)]
        try:
            seen = _page_while_written(ctx, path, total, lambda: all(f.done() for f in appended))
        finally:
            problems = [p for future in appended for p in future.result()]
    ctx.expect(not problems, f"concurrent appends were refused: {problems[:3]}")
    during = [record["seq"] for record in seen]
    final = _page(ctx, path)
    after: list[Any] = [record.get("seq") for record in final]
    ctx.expect(
        after == list(range(1, total + 1)),
        f"the final list has {len(after)} records of {total}; seqs not 1..{total}: "
        f"{_gaps(after, total)}",
    )
    skipped = sorted(set(after) - set(during))
    ctx.expect(
        not skipped,
        f"paging while writers appended skipped {len(skipped)} record(s) the final list has "
        f"(seq {skipped[:10]}): they became visible after records with higher seqs, so the "
        "cursor had passed them (records numbered out of commit order)",
    )
    ctx.expect(during == after, f"paging while writers appended saw {_gaps(during, total)}")
    messages = {record.get("message") for record in seen}
    ctx.expect(len(messages) == total, f"{total - len(messages)} records seen twice or lost")


def _page_while_written(
    ctx: CheckContext, path: str, total: int, finished: Callable[[], bool]
) -> list[dict[str, Any]]:
    """Every record paging with `after_seq` sees from the start until the writers are done
    and a page after that is empty."""
    seen: list[dict[str, Any]] = []
    after = 0
    deadline = time.monotonic() + 60
    done = False
    while True:
        was_done = done
        done = finished()
        page = _one_page(ctx, path, after)
        if page:
            seen.extend(page)
            after = page[-1]["seq"]
        elif was_done:
            return seen
        else:
            ctx.expect(
                time.monotonic() < deadline, f"paging saw {len(seen)} of {total} records in 60 s"
            )
            time.sleep(0.002)  # nothing new yet


def _one_page(ctx: CheckContext, path: str, after: int) -> list[dict[str, Any]]:
    page = ctx.expect_status(
        ctx.session.get(path, params={"after_seq": after, "limit": PAGE}), 200, "a page"
    )
    ctx.session.history = ctx.session.history[-2:]  # a failure shows the last page
    seqs = [record.get("seq") for record in page]
    ctx.expect(all(isinstance(s, int) for s in seqs), f"records without an integer seq: {seqs}")
    ctx.expect(
        seqs == sorted(seqs) and (not seqs or seqs[0] > after) and len(seqs) <= PAGE,
        f"after_seq={after}&limit={PAGE} returned seqs {seqs} (not ascending after the cursor)",
    )
    return list(page)


def _page(ctx: CheckContext, path: str) -> list[dict[str, Any]]:
    """Every record, page by page."""
    records: list[dict[str, Any]] = []
    while page := _one_page(ctx, path, records[-1]["seq"] if records else 0):
        records.extend(page)
    return records


def _gaps(numbers: list[Any], total: int) -> str:
    missing = sorted(set(range(1, total + 1)) - set(numbers))
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    return f"missing {missing[:10]}, duplicated {duplicates[:10]}"


@check("logs.closing-lines", area="logs", tier=Tier.EXTENSION)
def closing_lines(ctx: CheckContext) -> None:
    """A line appended just after the run ended reaches a follower before its stream ends.

    A follower is on the log stream of a running run; the run completes; for 1 s (half the
    shortest log grace the API allows, 2 s) the stream must stay open; then a closing line is
    appended, and the follower gets it as a `log` event before the `end` event.
    """
    run = ctx.new_run("closing-lines")
    run_id = run["id"]
    path = ctx.run_path(run_id, "/logs/")
    timeout = ctx.options.event_timeout
    ctx.expect_status(
        ctx.session.patch(ctx.run_path(run_id), {"status": "running"}), 200, "starting the run"
    )
    ctx.expect_status(
        ctx.session.post(path, {"entries": [{"message": "working"}]}), 201, "a first line"
    )
    with SSEReader(ctx.session, ctx.run_path(run_id, "/logs/stream")) as reader:
        opened = ctx.last()
        ctx.expect(reader.response.status_code == 200, "the log stream is not 200", opened)
        try:
            first = reader.next_event(timeout)
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(f"following the logs: {exc}", opened) from None
        ctx.expect(first.event == "log", f"the first event is {first.text()}", opened)
        ctx.expect_status(
            ctx.session.patch(ctx.run_path(run_id), {"status": "completed"}),
            200,
            "completing the run",
        )
        ended = time.monotonic()
        try:
            early = reader.next_event(CLOSING_LINE_DELAY)
        except NoFrame:
            early = None
        except StreamEnded:
            raise ctx.fail(
                f"the log stream closed {time.monotonic() - ended:.2f} s after the run ended, "
                f"within the log grace (at least {MIN_LOG_GRACE:g} s), without an end event",
                opened,
            ) from None
        if early is not None:
            raise ctx.fail(
                f"{time.monotonic() - ended:.2f} s after the run ended, within the log grace "
                f"(at least {MIN_LOG_GRACE:g} s), the stream sent {early.text()} before any "
                "closing line was appended",
                opened,
            )
        closing = {"entries": [{"message": "closing line: why it ended", "level": "info"}]}
        ctx.expect_status(ctx.session.post(path, closing), 201, "a closing line")
        appended = ctx.last()
        try:
            line = reader.next_event(timeout)
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(
                f"the closing line, appended {time.monotonic() - ended:.2f} s after the run "
                f"ended, never reached the follower: {exc}",
                opened,
                appended,
            ) from None
        ctx.expect(
            line.event == "log" and line.json().get("message") == closing["entries"][0]["message"],
            f"instead of the closing line, the stream sent {line.text()}",
            opened,
            appended,
        )
        try:
            end = reader.next_event(MIN_LOG_GRACE + timeout)
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(f"after the closing line: {exc}, not an end event", opened) from None
        ctx.expect(
            end.event == "end" and end.json().get("status") == "completed",
            f"after the closing line: {end.text()}, not the end event",
            opened,
        )


@check("logs.stream", area="logs", tier=Tier.EXTENSION)
def stream(ctx: CheckContext) -> None:
    """The log stream sends records as `log` events with `id: <seq>` and ends with `end`.

    Records appended while following arrive in order; reconnecting with `Last-Event-ID`
    resumes after that record; once the run is terminal, an `end` event carrying its final
    status is the last one and the stream closes.
    """
    run = ctx.new_run("log-stream")
    run_id = run["id"]
    path = ctx.run_path(run_id, "/logs/")
    stream_path = ctx.run_path(run_id, "/logs/stream")
    timeout = ctx.options.event_timeout
    ctx.session.post(path, {"entries": [{"message": "one"}, {"message": "two"}]})
    with SSEReader(ctx.session, stream_path) as reader:
        opened = ctx.last()
        ctx.expect(reader.response.status_code == 200, "the log stream is not 200", opened)
        got = []
        try:
            for _ in range(2):
                got.append(reader.next_event(timeout))
            ctx.session.post(path, {"entries": [{"message": "three"}]})
            got.append(reader.next_event(timeout))
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(f"following the logs: {exc} after {len(got)} records", opened) from None
        ctx.expect(
            [f.event for f in got] == ["log"] * 3 and [f.id for f in got] == ["1", "2", "3"],
            f"expected log events with ids 1, 2, 3; got {[f.text() for f in got]}",
            opened,
        )
        ctx.expect(
            [f.json().get("message") for f in got] == ["one", "two", "three"],
            "the log events do not carry the records in order",
            opened,
        )
    ctx.session.post(path, {"entries": [{"message": "four"}]})
    ctx.session.patch(ctx.run_path(run_id), {"status": "completed"})
    with SSEReader(ctx.session, stream_path, {"Last-Event-ID": "3"}) as reader:
        opened = ctx.last()
        try:
            resumed = reader.next_event(timeout)
            end = reader.next_event(timeout)
        except (NoFrame, StreamEnded) as exc:
            raise ctx.fail(f"resuming after id 3: {exc}", opened) from None
        ctx.expect(
            resumed.event == "log" and resumed.id == "4",
            f"resuming after id 3 sent {resumed.text()}, not record 4",
            opened,
        )
        ctx.expect(
            end.event == "end" and end.json().get("status") == "completed",
            f"after the last record of a completed run: {end.text()}, not an end event",
            opened,
        )
        try:
            extra = reader.ends_within(timeout)
        except NoFrame:
            raise ctx.fail("the log stream stayed open after its end event", opened) from None
        ctx.expect(extra is None, f"more after the end event: {extra and extra.text()}", opened)
