"""The SQLite change feed: commits of other processes on the same file (`serve --workers`).

This process's own commits are reported by the writer as they commit. What other processes
commit is noticed through `PRAGMA data_version` on the writer's connection (it changes only when
another connection commits), checked first in every write batch: the batch holds the write lock,
so every foreign commit precedes this process's writes of the batch, and is reported before
them (a local log append never moves a follower past foreign records it has not seen). While
someone streams, an empty batch every interval notices foreign commits when this process writes
nothing. One cheap check per batch, and one read of the watched runs per foreign commit, never
a read per subscriber. What the listener was told is noted only once the batch committed.
Everything here runs on the writer thread.
"""

from __future__ import annotations

from pipeline_service.server.storage import documents, logs
from pipeline_service.server.storage.changes import (
    ALL_RUNS,
    Change,
    LogsAppended,
    Reported,
    RunChanged,
    RunDeleted,
    RunsChanged,
    WatchedRuns,
)
from pipeline_service.server.storage.plans import Plan, Query, Tx, first

# Seconds between two looks at data_version while someone streams and this process writes
# nothing.
INTERVAL = 0.1
# Foreign log records read at once for the subscribers; past that, each subscriber reads them
# from storage by its cursor.
LOGS_READ_AT_ONCE = 100

# What a read will note once its batch committed: (run id, version, log seq); None: forget.
_Note = tuple[str, int, int] | tuple[str, None, None]


class ForeignChanges:
    """What the listener was told of each watched run, and the changes other processes made."""

    def __init__(self, watched: WatchedRuns = frozenset) -> None:
        self.reported = Reported()
        self._watched = watched
        # The runs watched when the last batch began (a change of a run subscribed to later
        # reaches its subscriber, which read storage when it subscribed, anyway).
        self.watched: frozenset[str] = frozenset()
        self._data_version = 0
        # Notes of the read in the batch not committed yet, and the data_version before it.
        self._pending: tuple[int, list[_Note]] | None = None

    def read(self, tx: Tx) -> Plan[None]:
        """Add to tx.changes what other processes committed to the watched runs since the
        listener was last told (nothing when no other connection committed). The first
        statement of a write batch."""
        if self._pending is not None:  # the batch of the previous read failed: read again
            self._data_version = self._pending[0]
            self._pending = None
        watched = self.watched = frozenset(self._watched())
        if not watched:
            return
        row = first((yield Query("PRAGMA data_version")))
        assert row is not None
        if row["data_version"] == self._data_version:
            return
        notes: list[_Note] = []
        self._pending = (self._data_version, notes)
        self._data_version = row["data_version"]
        if ALL_RUNS in watched:  # the runs stream's feed reads the change sequence itself
            tx.changes.append(RunsChanged())
        for run_id in watched - {ALL_RUNS}:
            found = first(
                (yield Query("SELECT version, log_seq FROM runs WHERE id=:id", {"id": run_id}))
            )
            if found is None:  # watched runs existed when subscribed to: this one was deleted
                tx.changes.append(RunDeleted(run_id))
                notes.append((run_id, None, None))
                continue
            version, log_seq = found["version"], found["log_seq"]
            reported_version, reported_seq = self.reported.get(run_id)
            if version > reported_version:
                doc = yield Query("SELECT doc, version FROM runs WHERE id=:id", {"id": run_id})
                tx.changes.append(RunChanged(documents.run_state(doc[0])))
            if reported_seq is None or log_seq - reported_seq > LOGS_READ_AT_ONCE:
                # Unknown, or too many to hold: subscribers read them from storage themselves.
                tx.changes.append(LogsAppended(run_id, [], resync=True))
            elif log_seq > reported_seq:
                records = yield from logs.read_range(run_id, reported_seq + 1, log_seq)
                tx.changes.append(LogsAppended(run_id, records))
            notes.append((run_id, version, log_seq))

    def committed(self, changes: list[Change]) -> None:
        """The batch of the last read committed with changes (foreign ones first): note what
        the listener is told of them."""
        if self._pending is not None:
            for run_id, version, seq in self._pending[1]:
                if version is None:
                    self.reported.forget(run_id)
                else:
                    self.reported.note(run_id, version=version, seq=seq)
            self._pending = None
            self.reported.keep_only(self.watched)
        for change in changes:
            if isinstance(change, RunsChanged):
                continue
            run_id = change.state.run["id"] if isinstance(change, RunChanged) else change.run_id
            if run_id in self.watched:
                self.reported.note_change(change)
