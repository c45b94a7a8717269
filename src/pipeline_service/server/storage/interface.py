"""The Storage the routes use: every read and write of the service, each one plan (`plans.py`)
written once for every SQL backend.

A backend (`sqlite/`, `postgres/`) subclasses Storage and supplies only what differs: how a plan
runs in a write transaction (`_write`) and on a read connection (`_read`), its lifecycle, its
health check and its change feed. The operations themselves live in the plans of `pipelines`,
`runs`, `checkpoints`, `logs`, `leases` and `metric_history`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, TypeVar

from pipeline_service.server.artifacts.records import ArtifactPut, ArtifactUpload, StoredArtifact
from pipeline_service.server.models import (
    CheckpointCreate,
    ClaimRequest,
    LogEntry,
    MetricEntry,
    PipelineCreate,
    PipelineUpdate,
    ProgressUpdate,
    RunCreate,
    RunUpdate,
)
from pipeline_service.server.storage import (
    artifacts,
    checkpoints,
    events,
    idempotency,
    leases,
    logs,
    metric_history,
    metric_steps,
    pipelines,
    run_changes,
    runs,
)
from pipeline_service.server.storage.changes import ChangeListener, RunState, WatchedRuns
from pipeline_service.server.storage.idempotency import Idempotency
from pipeline_service.server.storage.paging import Page
from pipeline_service.server.storage.plans import Plan, PlanFactory, Query, Tx
from pipeline_service.server.storage.queries import LogQuery, RunQuery, RunWrite
from pipeline_service.server.storage.run_changes import RunChanges
from pipeline_service.wire import (
    MAX_STEP_POINTS,
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

T = TypeVar("T")


def heartbeat() -> Plan[None]:
    """The write a health check makes: one row, rewritten."""
    yield Query("UPDATE heartbeat SET checked={now} WHERE id=1")


class Storage(abc.ABC):
    """Every read and write of the service; methods raise errors.NotFound/Conflict/Unprocessable.

    Creating methods take an optional Idempotency, the run's fenced writes a RunWrite (run id,
    Idempotency, lease token); `_write_once` runs their plans through `idempotency.idempotent`:
    within 24 h the same key returns the first response (stored in the same transaction as the
    write) and writes nothing; a different body is Conflict; deleting the pipeline or run a key
    wrote to forgets it.
    After each commit the backend calls the change listener, in commit order, on the event loop.
    Changes committed by other processes sharing the store are reported too, for the runs that
    `watched()` names (the runs someone streams), as soon as the backend notices them.

    Lists and log reads answer a Page: at most `limit` items, cut at MAX_PAGE_BYTES of stored
    documents (paging.bounded), so that no page holds much more than that whatever is stored.

    Lease fencing: each claim of a run increments the run's lease token (starting at 1) and
    returns it. Every write that takes a lease token (a RunWrite's or `lease_token`) raises
    `fencing.lease_lost(run_id, sent, current)` (a Conflict) and changes nothing when the token
    given differs from the run's current one; None skips the check. An idempotent replay is
    answered before the check.
    """

    def __init__(
        self,
        *,
        max_metric_points: int = metric_history.MAX_POINTS,
        max_step_points: int = MAX_STEP_POINTS,
    ) -> None:
        if max_metric_points < 2:
            raise ValueError("max_metric_points must be at least 2 (the first and the newest)")
        if max_step_points < 2:
            raise ValueError("max_step_points must be at least 2 (the first and the newest)")
        self.max_metric_points = max_metric_points
        self.max_step_points = max_step_points

    @abc.abstractmethod
    async def _write(self, plan: PlanFactory[T]) -> T:
        """Run plan(tx) in a write transaction; report its changes once it committed."""

    async def _write_once(
        self, idem: Idempotency | None, write: Callable[[Tx], idempotency.Answered[T]]
    ) -> T:
        """_write for a creating or fenced write: within a key's lifetime, the answer of the
        first request with idem's key, the write made once (idempotency.idempotent)."""
        return await self._write(lambda tx: idempotency.idempotent(idem, write(tx)))

    @abc.abstractmethod
    async def _read(self, plan: PlanFactory[T], *, snapshot: bool = False) -> T:
        """Run plan(tx) on a read connection (it writes nothing); with snapshot, in one
        read-only transaction, so that its statements see one state of the database (a
        one-statement plan needs none)."""

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

    async def create_pipeline(self, body: PipelineCreate, idem: Idempotency | None) -> Pipeline:
        return await self._write_once(idem, lambda tx: pipelines.create(tx, body))

    async def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self._read(lambda tx: pipelines.get(pipeline_id))

    async def list_pipelines(self, skip: int, limit: int) -> Page[Pipeline]:
        return await self._read(lambda tx: pipelines.list_pipelines(skip, limit))

    async def update_pipeline(self, pipeline_id: str, body: PipelineUpdate) -> Pipeline:
        return await self._write(lambda tx: pipelines.update(tx, pipeline_id, body))

    async def delete_pipeline(self, pipeline_id: str) -> list[str]:
        """Delete the pipeline with its runs; the artifact object keys their records held
        (for `unreferenced_artifact_objects`)."""
        return await self._write(lambda tx: pipelines.delete(tx, pipeline_id))

    # runs

    async def create_run(self, pipeline_id: str, body: RunCreate, idem: Idempotency | None) -> Run:
        return await self._write_once(idem, lambda tx: runs.create(tx, pipeline_id, body))

    async def get_run(self, run_id: str) -> RunState:
        return await self._read(lambda tx: runs.get(run_id))

    async def list_runs(self, query: RunQuery) -> Page[Run]:
        """Runs, newest first; with pipeline_id, NotFound when that pipeline does not exist;
        with resumed_from, only the runs that resumed that run; with a label selector, only
        the runs whose labels match it."""
        return await self._read(lambda tx: runs.list_runs(query))

    async def update_run(self, target: RunWrite, body: RunUpdate) -> Run:
        """PATCH: the run after the change."""
        return await self._write_once(
            target.idem, lambda tx: runs.update(tx, target.run_id, body, target.lease_token)
        )

    async def report_progress(self, target: RunWrite, body: ProgressUpdate) -> Run:
        """Apply a progress report; in the same transaction, record the metric point
        `metric_history.reported_point` gives (if any), thinning the series as it says."""
        return await self._write_once(
            target.idem,
            lambda tx: runs.report_progress(
                tx, target.run_id, body, target.lease_token, self.max_metric_points
            ),
        )

    async def cancel_run(self, run_id: str) -> Run:
        return await self._write(lambda tx: runs.cancel(tx, run_id))

    async def delete_run(self, run_id: str) -> list[str]:
        """Delete the run; the artifact object keys its records held (for
        `unreferenced_artifact_objects`)."""
        return await self._write(lambda tx: runs.delete(tx, run_id))

    # metrics

    async def append_metrics(self, target: RunWrite, entries: list[MetricEntry]) -> dict[str, Any]:
        """Store a batch of logged metric points (`metric_steps`): `{run_id, accepted}`."""
        return await self._write_once(
            target.idem,
            lambda tx: metric_steps.append(
                tx, target.run_id, entries, target.lease_token, self.max_step_points
            ),
        )

    async def get_metrics(self, run_id: str) -> RunMetrics:
        """The RunMetrics document: one series per action of the run, in the run's order."""
        return await self._read(
            lambda tx: metric_history.read(run_id, self.max_metric_points, self.max_step_points),
            snapshot=True,
        )

    # checkpoints

    async def create_checkpoint(self, target: RunWrite, body: CheckpointCreate) -> Checkpoint:
        return await self._write_once(
            target.idem, lambda tx: checkpoints.create(tx, target.run_id, body, target.lease_token)
        )

    async def list_checkpoints(self, run_id: str, skip: int, limit: int) -> Page[Checkpoint]:
        """A run's checkpoints by action_index, then age."""
        return await self._read(lambda tx: checkpoints.list_checkpoints(run_id, skip, limit))

    async def latest_checkpoint(self, run_id: str, action_name: str | None) -> Checkpoint:
        """The newest checkpoint of action_name, or with the highest action_index when None."""
        return await self._read(lambda tx: checkpoints.latest(run_id, action_name))

    # artifacts

    async def put_artifact(
        self, run_id: str, upload: ArtifactUpload, lease_token: int | None = None
    ) -> ArtifactPut:
        """Record bytes the artifact store holds whole as the run's artifact at its path (the
        same bytes again: nothing changes; other bytes: Conflict once a checkpoint lists it)."""
        return await self._write(lambda tx: artifacts.put(tx, run_id, upload, lease_token))

    async def list_artifacts(self, run_id: str) -> list[Artifact]:
        """The run's artifacts by path."""
        return await self._read(lambda tx: artifacts.list_artifacts(run_id))

    async def get_artifact(self, run_id: str, path: str) -> StoredArtifact:
        """The run's artifact at path with its object key; NotFound without it."""
        return await self._read(lambda tx: artifacts.get(run_id, path))

    async def unreferenced_artifact_objects(self, keys: list[str]) -> list[str]:
        """The object keys among these that no artifact record references (safe to remove)."""
        return await self._read(lambda tx: artifacts.unreferenced(keys))

    # logs

    async def append_logs(self, target: RunWrite, entries: list[LogEntry]) -> list[LogRecord]:
        return await self._write_once(
            target.idem, lambda tx: logs.append(tx, target.run_id, entries, target.lease_token)
        )

    async def get_logs(self, run_id: str, query: LogQuery) -> Page[LogRecord]:
        return await self._read(lambda tx: logs.read(run_id, query))

    # workers

    async def claim_run(self, body: ClaimRequest, host: str | None = None) -> RunClaim | None:
        """A RunClaim document (with the run's new `lease_token`), or None when none waits;
        `host` (the claim's address) goes into the run's `claimed` event."""
        return await self._write(lambda tx: leases.claim(tx, body, host))

    # the runs' change sequence (the runs stream)
    async def run_changes_head(self) -> int:
        """The newest change number of any run (run_changes.head)."""
        return await self._read(lambda tx: run_changes.head())

    async def run_changes(self, after: int, limit: int) -> RunChanges:
        """Changes of runs after the change number `after`, oldest first (run_changes.after)."""
        return await self._read(lambda tx: run_changes.after(after, limit), snapshot=True)

    # events
    async def list_run_events(self, run_id: str, after: int, limit: int) -> Page[RunEvent]:
        """The run's events after the event id `after`, oldest first."""
        return await self._read(lambda tx: events.read(run_id, after, limit))

    async def renew_lease(
        self, run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None = None
    ) -> Lease:
        """A Lease document (with the run's current `lease_token`); Conflict if not held."""
        return await self._write(
            lambda tx: leases.renew(run_id, worker_id, lease_seconds, lease_token)
        )

    async def release_lease(
        self, run_id: str, worker_id: str, lease_token: int | None = None
    ) -> None:
        await self._write(lambda tx: leases.release(run_id, worker_id, lease_token))
