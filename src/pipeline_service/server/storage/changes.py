"""Changes a backend reports after each commit, and what it has reported of each watched run.

A backend hands every committed change to its change listener, in commit order: the new state
of a run (document and version), a deleted run, appended log records. Changes other processes
commit reach it through its change feed (SQLite: `sqlite/changes.py`, PostgreSQL:
`postgres/listener.py`), for the runs someone streams; `Reported` is how a feed knows what is
new to its listener.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from pipeline_service.wire import LogRecord, Progress, Run


@dataclass(frozen=True, slots=True)
class RunState:
    """A run as committed, with its version (grows with every change)."""

    run: Run
    version: int

    def progress(self) -> Progress:
        """The run's Progress document."""
        run = self.run
        return {
            "run_id": run["id"],
            "pipeline_id": run["pipeline_id"],
            "status": run["status"],
            "current_action": run["current_action"],
            "current_action_index": run["current_action_index"],
            "progress": run["progress"],
            "error": run["error"],
            "started_at": run["started_at"],
            "completed_at": run["completed_at"],
        }

    @property
    def status(self) -> str:
        return str(self.run["status"])


@dataclass(frozen=True, slots=True)
class RunChanged:
    state: RunState


@dataclass(frozen=True, slots=True)
class RunDeleted:
    run_id: str


@dataclass(frozen=True, slots=True)
class LogsAppended:
    """New log records; with resync, records are unknown: subscribers re-read from storage."""

    run_id: str
    records: list[LogRecord]
    resync: bool = False


@dataclass(frozen=True, slots=True)
class RunsChanged:
    """Another process committed changes to some runs (which ones is not read): the runs
    stream's feed reads the change sequence (`run_changes.py`)."""


Change = RunChanged | RunDeleted | LogsAppended | RunsChanged
ChangeListener = Callable[[Change], None]
WatchedRuns = Callable[[], Collection[str]]

# Among the watched runs: someone streams the runs list (every run's changes matter).
ALL_RUNS = "*"


class Reported:
    """Per watched run, the version and the log seq last handed to the listener (seq None:
    unknown, so log subscribers must read storage themselves)."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[int, int | None]] = {}

    def get(self, run_id: str) -> tuple[int, int | None]:
        return self._runs.get(run_id, (0, None))

    def note(self, run_id: str, *, version: int | None = None, seq: int | None = None) -> None:
        """The listener was told of version (versions only grow) and of logs up to seq."""
        known_version, known_seq = self.get(run_id)
        self._runs[run_id] = (
            known_version if version is None else max(version, known_version),
            known_seq if seq is None else seq,
        )

    def note_change(self, change: Change) -> None:
        """The listener was told of change."""
        if isinstance(change, RunChanged):
            self.note(change.state.run["id"], version=change.state.version)
        elif isinstance(change, LogsAppended):
            if change.records:
                self.note(change.run_id, seq=change.records[-1]["seq"])
        elif isinstance(change, RunDeleted):
            self.forget(change.run_id)

    def forget(self, run_id: str) -> None:
        self._runs.pop(run_id, None)

    def keep_only(self, watched: Collection[str]) -> None:
        """Forget the runs nobody watches any more."""
        for run_id in set(self._runs) - set(watched):
            del self._runs[run_id]

    def clear(self) -> None:
        self._runs.clear()
