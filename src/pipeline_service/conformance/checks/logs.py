"""Logs: every level accepted, oldest first, gap-free `seq` cursors, the followable log stream."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Depth, Tier, check
from pipeline_service.conformance.sse import NoFrame, SSEReader, StreamEnded

LEVELS = ("debug", "info", "success", "warning", "danger", "error", "critical")
APPENDERS = 4


@check("logs.levels", area="logs", tier=Tier.CORE)
def levels(ctx: CheckContext) -> None:
    """All seven log levels are accepted; records come back oldest first, filterable by level.

    POST /runs/{id}/logs/ answers 201 with the stored records in the order sent; GET returns
    them oldest first, and `level=` keeps only that level.
    """
    run = ctx.new_run("log-levels")
    path = ctx.run_path(run["id"], "/logs/")
    entries = [
        {"message": f"line {i} at {level}", "level": level} for i, level in enumerate(LEVELS)
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

    Several writers append batches concurrently; paging through GET /logs/?after_seq=&limit=
    then sees every record exactly once, in `seq` order, with no gap in the numbering.
    """
    run = ctx.new_run("log-cursor")
    path = ctx.run_path(run["id"], "/logs/")
    batches = 3 if ctx.options.depth is Depth.QUICK else 10

    def append(writer: int) -> list[str]:
        problems = []
        with httpx.Client(base_url=ctx.session.base_url, timeout=30) as http:
            for batch in range(batches):
                body = {"entries": [{"message": f"w{writer} b{batch} e{i}"} for i in range(5)]}
                response = http.post(path, json=body, headers=ctx.session.auth_headers())
                if response.status_code != 201:
                    problems.append(f"{response.status_code} {response.text[:100]}")
        return problems

    with ThreadPoolExecutor(APPENDERS) as pool:
        problems = [p for result in pool.map(append, range(APPENDERS)) for p in result]
    ctx.expect(not problems, f"concurrent appends were refused: {problems[:3]}")
    total = APPENDERS * batches * 5
    seen: list[dict[str, Any]] = []
    after = 0
    for _ in range(total + 1):
        page = ctx.expect_status(
            ctx.session.get(path, params={"after_seq": after, "limit": 7}), 200, "a page"
        )
        if not page:
            break
        seqs = [record.get("seq") for record in page]
        ctx.expect(all(isinstance(s, int) for s in seqs), f"records without an integer seq: {seqs}")
        ctx.expect(
            seqs == sorted(seqs) and seqs[0] > after,
            f"after_seq={after} returned seqs {seqs} (not ascending after the cursor)",
        )
        seen.extend(page)
        after = seqs[-1]
    numbers = [record["seq"] for record in seen]
    ctx.expect(
        numbers == list(range(1, total + 1)),
        f"paging saw {len(numbers)} records of {total}; seqs not 1..{total}: "
        f"{_gaps(numbers, total)}",
    )
    messages = {record.get("message") for record in seen}
    ctx.expect(len(messages) == total, f"{total - len(messages)} records seen twice or lost")


def _gaps(numbers: list[int], total: int) -> str:
    missing = sorted(set(range(1, total + 1)) - set(numbers))
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    return f"missing {missing[:10]}, duplicated {duplicates[:10]}"


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
