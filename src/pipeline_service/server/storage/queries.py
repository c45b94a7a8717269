"""What the list and log reads of `interface.Storage` take: each filter by name."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_service.server.labels import Requirement


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
