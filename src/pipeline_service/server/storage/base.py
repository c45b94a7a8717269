"""The storage interface the routes use; a backend (SQLite, PostgreSQL…) implements it."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pipeline_service.server.errors import Conflict
from pipeline_service.server.models import (
    CheckpointCreate,
    LogEntry,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service.wire import (
    MAX_PAGE_BYTES,
    Checkpoint,
    Lease,
    LogRecord,
    Pipeline,
    Progress,
    Run,
    RunClaim,
    RunMetrics,
)

JSON = dict[str, Any]
T = TypeVar("T")


class Page(list[T]):
    """Items of a list or log page; `more` when the page ended early at MAX_PAGE_BYTES (the
    items after its last one were not read)."""

    def __init__(self, items: Iterable[T] = (), *, more: bool = False) -> None:
        super().__init__(items)
        self.more = more


def bytes_bounded(keys_sql: str, order: str) -> str:
    """The rows of a page that fit MAX_PAGE_BYTES, as a subquery to join the items on.

    keys_sql selects one uncut page (at most `limit` rows, ordered by order) as its join key
    `page_key`, its sort columns and each row's stored size `page_bytes` — nothing else, so
    that cutting holds no item. Kept: the rows before which fewer than MAX_PAGE_BYTES were
    counted (the row that reaches the cap is the last), each with `page_rows`, the number of
    rows of the uncut page (cut_page reads it). Both backends' SQL (window functions) runs it.
    """
    return (
        "SELECT * FROM (SELECT uncut.*, "
        f"SUM(page_bytes) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) - page_bytes "
        "AS page_before, COUNT(*) OVER () AS page_rows "
        f"FROM ({keys_sql}) AS uncut) AS cut WHERE page_before < {MAX_PAGE_BYTES}"
    )


def cut_page(rows: Sequence[Sequence[Any]], read: Callable[[Any], T]) -> Page[T]:
    """The Page of rows joined on a bytes_bounded subquery, each read by read (the last column
    of each row is `page_rows`)."""
    return Page((read(row) for row in rows), more=bool(rows) and len(rows) < rows[0][-1])


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
class Idempotency:
    """An Idempotency-Key on one endpoint, with the fingerprint of the request body."""

    scope: str
    key: str
    fingerprint: str


# Changes a backend reports after each commit, in commit order.
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


Change = RunChanged | RunDeleted | LogsAppended
ChangeListener = Callable[[Change], None]
WatchedRuns = Callable[[], Collection[str]]


@dataclass(frozen=True, slots=True)
class LogQuery:
    action_name: str | None = None
    level: str | None = None
    since: str | None = None
    after_seq: int = 0
    limit: int = 1000


def lease_lost(run_id: str, sent: int, current: int) -> Conflict:
    """The 409 of a write fenced off by a newer claim of the run."""
    return Conflict(
        f"the lease on run {run_id!r} was lost: Lease-Token {sent} is not the run's current "
        f"lease ({current}); another worker claimed the run"
    )


class Storage(abc.ABC):
    """Every read and write of the service; methods raise errors.NotFound/Conflict/Unprocessable.

    Creating methods take an optional Idempotency: within 24 h the same key returns the first
    response (stored in the same transaction as the object), a different body is Conflict.
    After each commit the backend calls the change listener, in commit order, on the event loop.
    Changes committed by other processes sharing the store are reported too, for the runs that
    `watched()` names (the runs someone streams), as soon as the backend notices them.

    Lists and log reads answer a Page: at most `limit` items, cut at MAX_PAGE_BYTES of stored
    size (bytes_bounded), so that no page holds more than about that much whatever is stored.

    Lease fencing: each claim of a run increments the run's lease token (starting at 1) and
    returns it. Every write that takes `lease_token` raises `lease_lost(run_id, sent, current)`
    (a Conflict) and changes nothing when the token given differs from the run's current one;
    None skips the check. An idempotent replay is answered before the check.
    """

    @abc.abstractmethod
    async def start(self, listener: ChangeListener, watched: WatchedRuns = frozenset) -> None:
        """Open the store (creating or migrating its schema) and start reporting changes."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every resource; later calls fail."""

    def describe(self) -> dict[str, str]:
        """What /health reports about the store once check() passed (`database`: the backend)."""
        return {}

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise errors.StorageUnavailable unless the store takes a write now (a real one, through
        the same path as every other write, within a few seconds): /health calls this."""

    # pipelines
    @abc.abstractmethod
    async def create_pipeline(self, body: PipelineCreate, idem: Idempotency | None) -> Pipeline: ...

    @abc.abstractmethod
    async def get_pipeline(self, pipeline_id: str) -> Pipeline: ...

    @abc.abstractmethod
    async def list_pipelines(self, skip: int, limit: int) -> Page[Pipeline]: ...

    @abc.abstractmethod
    async def update_pipeline(self, pipeline_id: str, body: PipelineUpdate) -> Pipeline: ...

    @abc.abstractmethod
    async def delete_pipeline(self, pipeline_id: str) -> None: ...

    # runs
    @abc.abstractmethod
    async def create_run(
        self, pipeline_id: str, body: RunCreate, idem: Idempotency | None
    ) -> Run: ...

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> RunState: ...

    @abc.abstractmethod
    async def list_runs(
        self, status: str | None, pipeline_id: str | None, skip: int, limit: int
    ) -> Page[Run]:
        """Runs, newest first; with pipeline_id, NotFound when that pipeline does not exist."""

    @abc.abstractmethod
    async def update_run(
        self, run_id: str, body: RunUpdate, lease_token: int | None = None
    ) -> RunState: ...

    @abc.abstractmethod
    async def report_progress(
        self, run_id: str, body: ProgressUpdate, lease_token: int | None = None
    ) -> RunState:
        """Apply a progress report; in the same transaction, record the metric point
        `metric_history.reported_point` gives (if any), thinning the series as it says."""

    @abc.abstractmethod
    async def cancel_run(self, run_id: str) -> RunState: ...

    @abc.abstractmethod
    async def delete_run(self, run_id: str) -> None: ...

    # metrics
    @abc.abstractmethod
    async def get_metrics(self, run_id: str) -> RunMetrics:
        """The RunMetrics document: one series per action of the run, in the run's order."""

    # checkpoints
    @abc.abstractmethod
    async def create_checkpoint(
        self,
        run_id: str,
        body: CheckpointCreate,
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> Checkpoint: ...

    @abc.abstractmethod
    async def list_checkpoints(self, run_id: str, skip: int, limit: int) -> Page[Checkpoint]:
        """A run's checkpoints by action_index, then age."""

    @abc.abstractmethod
    async def latest_checkpoint(self, run_id: str, action_name: str | None) -> Checkpoint:
        """The newest checkpoint of action_name, or with the highest action_index when None."""

    # logs
    @abc.abstractmethod
    async def append_logs(
        self,
        run_id: str,
        entries: list[LogEntry],
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> list[LogRecord]: ...

    @abc.abstractmethod
    async def get_logs(self, run_id: str, query: LogQuery) -> Page[LogRecord]: ...

    # workers
    @abc.abstractmethod
    async def claim_run(
        self, worker_id: str, lease_seconds: float, pipeline_id: str | None
    ) -> RunClaim | None:
        """A RunClaim document (with the run's new `lease_token`), or None when none waits."""

    @abc.abstractmethod
    async def renew_lease(
        self, run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None = None
    ) -> Lease:
        """A Lease document (with the run's current `lease_token`); Conflict if not held."""

    @abc.abstractmethod
    async def release_lease(
        self, run_id: str, worker_id: str, lease_token: int | None = None
    ) -> None: ...
