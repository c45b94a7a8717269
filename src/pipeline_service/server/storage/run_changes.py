"""The runs' change sequence: which runs changed, or were deleted, after a change number.

Each insert and each new version of a run sets its `change_seq` to the next number (the
statement says `{next_change}`: SQLite computes it, a PostgreSQL trigger takes it from a
sequence), and each deletion leaves a tombstone with its number in `run_tombstones` (kept for a
day; `run_change_horizon.forgotten` is the newest number forgotten; migrations SQLite 9 /
PostgreSQL 5). Numbers follow commit order on both backends, so a reader
that saw every change up to N misses nothing by reading after N. A run changed several times
since N is read once, in its current state. The runs stream (`server/streams.py`) and its feed
in the hub (`server/events.py`) read through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline_service.server.labels import Requirement, matches
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.plans import Plan, Query, first
from pipeline_service.wire import ActionProgressState, Run, RunRemoved, RunSummary

# The statuses of an action that counts as done in a summary.
DONE_ACTION_STATUSES = frozenset({"completed", "skipped"})


@dataclass(frozen=True, slots=True)
class Before:
    """What a run was before a change: its status and labels (what filters look at)."""

    status: str
    labels: dict[str, str]


@dataclass(slots=True)
class RunChange:
    """One change of the sequence: a run's summary now (`summary`), or its deletion
    (`removed`, with the status and labels it had, for filters). `before`: the run's state
    before this change when the reader knows it (None: unknown). Every subscriber gets the
    same object: `event` and `left_event` keep its Server-Sent Events, encoded once for all."""

    seq: int
    summary: RunSummary | None = None
    removed: RunRemoved | None = None
    status: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    before: Before | None = None
    event: bytes | None = field(default=None, compare=False, repr=False)
    left_event: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def pipeline_id(self) -> str:
        found = self.summary if self.summary is not None else self.removed
        assert found is not None
        return found["pipeline_id"]


@dataclass(frozen=True, slots=True)
class RunChanges:
    """Changes after a number, in order; `more`: others follow (read again after the last);
    `forgotten`: the newest number whose deletion is forgotten (a reader behind it must
    re-list)."""

    changes: list[RunChange]
    more: bool
    forgotten: int


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs a stream sends: by status, pipeline and label selector (None: any)."""

    status: str | None = None
    pipeline_id: str | None = None
    selector: tuple[Requirement, ...] = ()

    def matches(self, change: RunChange) -> bool:
        return (self.pipeline_id is None or change.pipeline_id == self.pipeline_id) and (
            self._state_matches(change.status, change.labels)
        )

    def drops(self, change: RunChange) -> bool:
        """Whether a change that does not match takes the run out of this stream (`left`, or
        `deleted` for a deletion): the run matched before the change or may have (unknown),
        and was not created by it. A run never changes pipeline: the pipeline alone never
        takes a run out."""
        if change.summary is not None and change.summary["version"] == 1:
            return False
        if self.status is None and not self.selector:
            return False
        if self.pipeline_id is not None and change.pipeline_id != self.pipeline_id:
            return False
        before = change.before
        return before is None or self._state_matches(before.status, before.labels)

    def _state_matches(self, status: str, labels: dict[str, str]) -> bool:
        return (self.status is None or status == self.status) and matches(self.selector, labels)


def summary(run: Run, version: int) -> RunSummary:
    """The RunSummary of a run document."""
    progress = run["progress"]
    index = run["current_action_index"]
    current = (
        progress[index] if run["current_action"] is not None and index < len(progress) else None
    )
    return {
        "id": run["id"],
        "pipeline_id": run["pipeline_id"],
        "status": run["status"],
        "current_action": run["current_action"],
        "current_action_index": index,
        "actions": len(progress),
        "actions_done": sum(1 for a in progress if a.get("status") in DONE_ACTION_STATUSES),
        "action_progress": None if current is None else _fraction(current),
        "error": run["error"],
        "labels": run.get("labels") or {},
        "created_at": run["created_at"],
        "started_at": run["started_at"],
        "completed_at": run["completed_at"],
        "version": version,
    }


def _fraction(action: ActionProgressState) -> float:
    """How far an action is, from 0 to 1 (its progress, out of its total when it has one)."""
    progress = float(action.get("progress") or 0)
    total = action.get("total")
    return progress / total if total else progress


def head() -> Plan[int]:
    """The newest change number (0 before any change)."""
    row = first(
        (
            yield Query(
                "SELECT max(n) AS n FROM (SELECT max(change_seq) AS n FROM runs "
                "UNION ALL SELECT max(seq) AS n FROM run_tombstones "
                "UNION ALL SELECT forgotten AS n FROM run_change_horizon) AS heads"
            )
        )
    )
    return int(row["n"] or 0) if row is not None else 0


def after(cursor: int, limit: int) -> Plan[RunChanges]:
    """At most about `limit` changes after cursor, oldest first (run in one snapshot)."""
    params: dict[str, Any] = {"after": cursor, "limit": limit}
    runs = yield Query(
        "SELECT doc, version, change_seq FROM runs WHERE change_seq > :after "
        "ORDER BY change_seq LIMIT :limit",
        params,
    )
    gone = yield Query(
        "SELECT seq, run_id, pipeline_id, status, labels FROM run_tombstones "
        "WHERE seq > :after ORDER BY seq LIMIT :limit",
        params,
    )
    horizon = first((yield Query("SELECT forgotten FROM run_change_horizon WHERE id=1")))
    changes = [
        _changed(documents.run_document(row["doc"]), row["version"], row["change_seq"])
        for row in runs
    ] + [
        RunChange(
            row["seq"],
            removed={"id": row["run_id"], "pipeline_id": row["pipeline_id"]},
            status=row["status"],
            labels=json.loads(row["labels"]),
        )
        for row in gone
    ]
    changes.sort(key=lambda change: change.seq)
    # A full list may have more after its last row: keep only what both lists hold in full.
    ends = [
        rows[-1][key] for rows, key in ((runs, "change_seq"), (gone, "seq")) if len(rows) >= limit
    ]
    if ends:
        end = min(ends)
        changes = [change for change in changes if change.seq <= end]
    forgotten = int(horizon["forgotten"]) if horizon is not None else 0
    return RunChanges(changes, bool(ends), forgotten)


def _changed(run: Run, version: int, seq: int) -> RunChange:
    return RunChange(
        seq, summary=summary(run, version), status=run["status"], labels=run.get("labels") or {}
    )
