"""What `interface.Storage` takes besides a body: the filters of its list and log reads, each by
name, and the target of a fenced write to a run."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_service.server.labels import Requirement
from pipeline_service.server.storage.idempotency import Idempotency


@dataclass(frozen=True, slots=True)
class RunWrite:
    """A fenced write to a run (update_run, report_progress, append_metrics, create_checkpoint,
    append_logs): the run, the request's Idempotency (None without an Idempotency-Key) and the
    writer's lease token (None skips the fencing check). One object built once by the route,
    so that the run id, key and token are never swapped between positional arguments."""

    run_id: str
    idem: Idempotency | None = None
    lease_token: int | None = None


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Which log records of a run to read: filters, the cursor (records after `after_seq`), and
    how many at most."""

    action_name: str | None = None
    level: str | None = None
    since: str | None = None
    after_seq: int = 0
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs to list (each filter by name, so that two are never swapped): those in a
    status, of a pipeline, that resumed a run, matching a label selector; skipping how many,
    and how many at most."""

    status: str | None = None
    pipeline_id: str | None = None
    resumed_from: str | None = None
    selector: tuple[Requirement, ...] = ()
    skip: int = 0
    limit: int = 100
