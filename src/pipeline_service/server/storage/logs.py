"""Log records in storage: append a batch, read pages by cursor, read a range for a feed.

A log record is one row of `logs`: its document (`doc`) beside the columns its queries use:
`run_id`, `seq`, `action_key` (documents.key), `level`, `timestamp`. Each run numbers its
records 1, 2, 3… (`seq`) under its row's lock, from the run's `log_seq` column, so the
numbering is gap-free and in commit order.
"""

from __future__ import annotations

from typing import Any

from pipeline_service.server.errors import RUN_NOT_FOUND, NotFound
from pipeline_service.server.models import LogEntry
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.changes import LogsAppended
from pipeline_service.server.storage.fencing import check_fence, run_row
from pipeline_service.server.storage.paging import Page, bounded, cut
from pipeline_service.server.storage.plans import MAX_INT_PARAM, Plan, Query, Tx, first
from pipeline_service.server.storage.queries import LogQuery
from pipeline_service.wire import LogRecord


def append(
    tx: Tx, run_id: str, entries: list[LogEntry], lease_token: int | None
) -> Plan[tuple[list[LogRecord], str, str]]:
    """Store entries as the run's next records (fenced by lease_token)."""
    # Numbers the records under the run's row lock; a refused write rolls the numbering back.
    row = first(
        (
            yield Query(
                "UPDATE runs SET log_seq = log_seq + :count WHERE id=:id "
                "RETURNING id, log_seq, lease_token",
                {"count": len(entries), "id": documents.request_id(run_id)},
            )
        )
    )
    if row is None:
        raise NotFound(RUN_NOT_FOUND)
    check_fence(run_id, lease_token, row)
    records = documents.log_records(row["id"], row["log_seq"] - len(entries), entries, tx.now)
    docs = [documents.encode_log(r) for r in records]
    if records:
        keys = {name: documents.key(name) for name in {r["action_name"] for r in records}}
        yield Query(
            "INSERT INTO logs (run_id, seq, action_key, level, timestamp, doc) "
            "VALUES (:run_id, :seq, :action_key, :level, :timestamp, :doc)",
            many=[
                {
                    "run_id": r["run_id"],
                    "seq": r["seq"],
                    "action_key": keys[r["action_name"]],
                    "level": r["level"],
                    "timestamp": r["timestamp"],
                    "doc": doc,
                }
                for r, doc in zip(records, docs, strict=True)
            ],
        )
        tx.changes.append(LogsAppended(row["id"], records))
    # The answer to replay is the list of the records' documents, encoded once above.
    return records, row["id"], f"[{','.join(docs)}]"


def read(run_id: str, query: LogQuery) -> Plan[Page[LogRecord]]:
    """The run's records after query.after_seq that match it, by seq (a page cut at
    MAX_PAGE_BYTES: paging); NotFound without the run."""
    where = ["run_id=:run_id", "seq>:after_seq"]
    params: dict[str, Any] = {
        "run_id": documents.request_id(run_id),
        "after_seq": min(query.after_seq, MAX_INT_PARAM),
        "limit": query.limit,
    }
    if query.action_name is not None:
        where.append("action_key=:action_key")
        params["action_key"] = documents.key(query.action_name)
    if query.level is not None:
        where.append("level=:level")
        params["level"] = query.level
    if query.since is not None:
        where.append("timestamp>:since")
        params["since"] = query.since
    keys = (
        "SELECT seq AS page_key, {doc_bytes} AS page_bytes FROM logs "
        f"WHERE {' AND '.join(where)} ORDER BY seq LIMIT :limit"
    )
    rows = yield Query(
        f"SELECT doc, page_rows FROM logs JOIN ({bounded(keys, 'page_key')}) AS cut "
        "ON logs.run_id = :run_id AND logs.seq = cut.page_key ORDER BY logs.seq",
        params,
    )
    if not rows:
        yield from run_row(run_id, "id")  # NotFound without the run
    return cut(rows, lambda row: documents.log_document(row["doc"]))


def delete(run_ids: list[str]) -> Plan[None]:
    """Delete the records of these runs, which the plan deleted (after their rows: an append
    still numbering records holds a run's row until it commits, so the deletion of the row
    waits for it, and this statement sees its records). PostgreSQL keeps no foreign key from
    `logs.run_id` (its check cost every record a lookup: migration 6), so nothing deletes them
    with their run but this; on SQLite the key's cascade has deleted them already."""
    yield Query(
        "DELETE FROM logs WHERE run_id=:run_id", many=[{"run_id": run_id} for run_id in run_ids]
    )


def read_range(run_id: str, first_seq: int, last_seq: int) -> Plan[list[LogRecord]]:
    """Records first_seq..last_seq of the run (for a change feed)."""
    rows = yield Query(
        "SELECT doc FROM logs WHERE run_id=:run_id AND seq>=:first AND seq<=:last ORDER BY seq",
        {"run_id": run_id, "first": first_seq, "last": last_seq},
    )
    return [documents.log_document(row["doc"]) for row in rows]
