"""Fencing: a write that carries a lease token changes nothing once the run was claimed again.

Each claim of a run hands out the run's next lease token (`leases.py`). A write sent with an
older token (its worker's lease expired and another worker claimed the run) is 409 and writes
nothing; a write without a token is not checked (clients that drive their own runs).
"""

from __future__ import annotations

from pipeline_service.server.errors import RUN_NOT_FOUND, Conflict
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.plans import Plan, Row, row_by_id


def lease_lost(run_id: str, sent: int, current: int) -> Conflict:
    """The 409 of a write fenced off by a newer claim of the run."""
    return Conflict(
        f"the lease on run {run_id!r} was lost: Lease-Token {sent} is not the run's current "
        f"lease ({current}); another worker claimed the run"
    )


def check_fence(run_id: str, lease_token: int | None, row: Row) -> None:
    """Conflict when lease_token (None: unchecked) is not the `lease_token` of the run's row."""
    if lease_token is not None and lease_token != row["lease_token"]:
        raise lease_lost(run_id, lease_token, row["lease_token"])


def run_row(run_id: str, columns: str, lock: str = "") -> Plan[Row]:
    """The columns of run_id's row, locked as lock says (`{lock}`, `{share}` or nothing);
    NotFound without the run."""
    key = documents.request_id(run_id)
    return (yield from row_by_id("runs", columns, key, lock, RUN_NOT_FOUND))


def fence(run_id: str, lease_token: int | None) -> Plan[Row]:
    """NotFound without the run; Conflict when lease_token is not its current one; else the
    run's `lease_token` and `lease_worker`. The run's row stays locked against updates (a claim
    waits for the fenced write to commit)."""
    row = yield from run_row(run_id, "lease_token, lease_worker", "{share}")
    check_fence(run_id, lease_token, row)
    return row
