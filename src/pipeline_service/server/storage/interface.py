"""The storage interface the routes use; a backend (SQLite, PostgreSQL…) implements it.

`sql_storage.SQLStorage` implements every operation once, as plans (`plans.py`), for the
backends under `sqlite/` and `postgres/`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from pipeline_service.server.artifacts.records import ArtifactPut, ArtifactUpload, StoredArtifact
from pipeline_service.server.labels import Requirement
from pipeline_service.server.models import (
    CheckpointCreate,
    LogEntry,
    MetricEntry,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service.server.storage.changes import ChangeListener, RunState, WatchedRuns
from pipeline_service.server.storage.idempotency import Idempotency
from pipeline_service.server.storage.paging import Page
from pipeline_service.server.storage.run_changes import RunChanges
from pipeline_service.wire import (
    Artifact,
    Checkpoint,
    Lease,
    LogRecord,
    Pipeline,
    Run,
    RunClaim,
    RunEvent,
    RunMetrics,
)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Which log records of a run to read: filters, the cursor (records after `after_seq`), and
    how many at most."""

    action_name: str | None = None
    level: str | None = None
    since: str | None = None
    after_seq: int = 0
    limit: int = 1000


class Storage(abc.ABC):
    """Every read and write of the service; methods raise errors.NotFound/Conflict/Unprocessable.

    Creating methods and the run's fenced writes take an optional Idempotency: within 24 h the
    same key returns the first response (stored in the same transaction as the write) and
    writes nothing; a different body is Conflict; deleting the pipeline or run a key wrote to
    forgets it.
    After each commit the backend calls the change listener, in commit order, on the event loop.
    Changes committed by other processes sharing the store are reported too, for the runs that
    `watched()` names (the runs someone streams), as soon as the backend notices them.

    Lists and log reads answer a Page: at most `limit` items, cut at MAX_PAGE_BYTES of stored
    documents (paging.bounded), so that no page holds much more than that whatever is stored.

    Lease fencing: each claim of a run increments the run's lease token (starting at 1) and
    returns it. Every write that takes `lease_token` raises `fencing.lease_lost(run_id, sent,
    current)` (a Conflict) and changes nothing when the token given differs from the run's
    current one; None skips the check. An idempotent replay is answered before the check.
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
    async def delete_pipeline(self, pipeline_id: str) -> list[str]:
        """Delete the pipeline with its runs; the artifact object keys their records held
        (for `unreferenced_artifact_objects`)."""

    # runs
    @abc.abstractmethod
    async def create_run(
        self, pipeline_id: str, body: RunCreate, idem: Idempotency | None
    ) -> Run: ...

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> RunState: ...

    @abc.abstractmethod
    async def list_runs(
        self,
        status: str | None,
        pipeline_id: str | None,
        skip: int,
        limit: int,
        resumed_from: str | None = None,
        selector: tuple[Requirement, ...] = (),
    ) -> Page[Run]:
        """Runs, newest first; with pipeline_id, NotFound when that pipeline does not exist;
        with resumed_from, only the runs that resumed that run; with a label selector, only
        the runs whose labels match it."""

    @abc.abstractmethod
    async def update_run(
        self,
        run_id: str,
        body: RunUpdate,
        idem: Idempotency | None = None,
        lease_token: int | None = None,
    ) -> Run:
        """PATCH: the run after the change."""

    @abc.abstractmethod
    async def report_progress(
        self,
        run_id: str,
        body: ProgressUpdate,
        idem: Idempotency | None = None,
        lease_token: int | None = None,
    ) -> Run:
        """Apply a progress report; in the same transaction, record the metric point
        `metric_history.reported_point` gives (if any), thinning the series as it says."""

    @abc.abstractmethod
    async def cancel_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    async def delete_run(self, run_id: str) -> list[str]:
        """Delete the run; the artifact object keys its records held (for
        `unreferenced_artifact_objects`)."""

    # metrics
    @abc.abstractmethod
    async def append_metrics(
        self,
        run_id: str,
        entries: list[MetricEntry],
        idem: Idempotency | None,
        lease_token: int | None = None,
    ) -> dict[str, Any]:
        """Store a batch of logged metric points (`metric_steps`): `{run_id, accepted}`."""

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

    # artifacts
    @abc.abstractmethod
    async def put_artifact(
        self, run_id: str, upload: ArtifactUpload, lease_token: int | None = None
    ) -> ArtifactPut:
        """Record bytes the artifact store holds whole as the run's artifact at its path (the
        same bytes again: nothing changes; other bytes: Conflict once a checkpoint lists it)."""

    @abc.abstractmethod
    async def list_artifacts(self, run_id: str) -> list[Artifact]:
        """The run's artifacts by path."""

    @abc.abstractmethod
    async def get_artifact(self, run_id: str, path: str) -> StoredArtifact:
        """The run's artifact at path with its object key; NotFound without it."""

    @abc.abstractmethod
    async def unreferenced_artifact_objects(self, keys: list[str]) -> list[str]:
        """The object keys among these that no artifact record references (safe to remove)."""

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
        self,
        worker_id: str,
        lease_seconds: float,
        pipeline_id: str | None,
        host: str | None = None,
    ) -> RunClaim | None:
        """A RunClaim document (with the run's new `lease_token`), or None when none waits;
        `host` (the claim's address) goes into the run's `claimed` event."""

    # the runs' change sequence (the runs stream)
    @abc.abstractmethod
    async def run_changes_head(self) -> int:
        """The newest change number of any run (run_changes.head)."""

    @abc.abstractmethod
    async def run_changes(self, after: int, limit: int) -> RunChanges:
        """Changes of runs after the change number `after`, oldest first (run_changes.after)."""

    # events
    @abc.abstractmethod
    async def list_run_events(self, run_id: str, after: int, limit: int) -> Page[RunEvent]:
        """The run's events after the event id `after`, oldest first."""

    @abc.abstractmethod
    async def renew_lease(
        self, run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None = None
    ) -> Lease:
        """A Lease document (with the run's current `lease_token`); Conflict if not held."""

    @abc.abstractmethod
    async def release_lease(
        self, run_id: str, worker_id: str, lease_token: int | None = None
    ) -> None: ...
