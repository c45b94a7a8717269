"""The SQLite change feed: commits of other processes on the same file (`serve --workers`).

This process's own commits are reported by the writer as they commit. What other processes
commit is noticed through `PRAGMA data_version` on the writer's connection (it changes only when
another connection commits): one cheap check per interval, and one read of the watched runs per
foreign commit, never a read per subscriber. Everything here runs on the writer thread.
"""

from __future__ import annotations

from pipeline_service.server.storage import documents, logs
from pipeline_service.server.storage.changes import (
    Change,
    LogsAppended,
    Reported,
    RunChanged,
    RunDeleted,
)
from pipeline_service.server.storage.plans import Plan, Query, Tx, first

# Seconds between two looks at data_version (while someone streams).
INTERVAL = 0.1
# Foreign log records read at once for the subscribers; past that, each subscriber reads them
# from storage by its cursor.
LOGS_READ_AT_ONCE = 100


class ForeignChanges:
    """What the listener was told of each watched run, and the changes other processes made."""

    def __init__(self) -> None:
        self.reported = Reported()
        self.watched: frozenset[str] = frozenset()
        self._data_version = 0

    def committed(self, change: Change) -> None:
        """This process committed change (and the listener is told of it)."""
        run_id = change.state.run["id"] if isinstance(change, RunChanged) else change.run_id
        if run_id in self.watched:
            self.reported.note_change(change)

    def read(self, tx: Tx, watched: list[str]) -> Plan[None]:
        """Add to tx.changes what other processes committed to the watched runs since the
        listener was last told (nothing when no other connection committed)."""
        row = first((yield Query("PRAGMA data_version")))
        assert row is not None
        if row["data_version"] == self._data_version:
            return
        self._data_version = row["data_version"]
        for run_id in watched:
            found = first(
                (yield Query("SELECT doc, version, log_seq FROM runs WHERE id=:id", {"id": run_id}))
            )
            if found is None:  # watched runs existed when subscribed to: this one was deleted
                tx.changes.append(RunDeleted(run_id))
                continue
            state, log_seq = documents.run_state(found), found["log_seq"]
            version, reported_seq = self.reported.get(run_id)
            if state.version > version:
                tx.changes.append(RunChanged(state))
            if reported_seq is None or log_seq - reported_seq > LOGS_READ_AT_ONCE:
                # Unknown, or too many to hold: subscribers read them from storage themselves.
                tx.changes.append(LogsAppended(run_id, [], resync=True))
            elif log_seq > reported_seq:
                records = yield from logs.read_range(run_id, reported_seq + 1, log_seq)
                tx.changes.append(LogsAppended(run_id, records))
            self.reported.note(run_id, version=state.version, seq=log_seq)
        self.reported.keep_only(watched)
