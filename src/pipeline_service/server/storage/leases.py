"""Leases: which run a worker may claim, claiming, renewing and releasing.

A claim takes the oldest claimable run, moves it to `running` and leases it to the worker until
`now + lease_seconds` on the database's clock, handing out the run's next lease token (writes
carrying an older token are fenced off: `fencing.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline_service.server import rules
from pipeline_service.server.errors import Conflict
from pipeline_service.server.models import ClaimRequest
from pipeline_service.server.storage import documents, events
from pipeline_service.server.storage.fencing import check_fence, run_row
from pipeline_service.server.storage.plans import Plan, Query, Row, Tx, first
from pipeline_service.server.storage.runs import change_run
from pipeline_service.server.timestamps import format_timestamp
from pipeline_service.wire import Lease, RunClaim, RunEvent

# A run a worker may claim: pending and never changed by anyone (version 1: a pending run
# somebody already updated is driven by that somebody, as v1 clients drive their own runs),
# or running under a lease that expired. A lease that was never taken is NULL; a released one
# is `{long_ago}`, so that a running run nobody leased (a v1 client's) is never claimed.
CLAIMABLE = (
    "((status='pending' AND version=1 AND (lease_expires IS NULL OR lease_expires < {now})) "
    "OR (status='running' AND lease_expires < {now}))"
)


def expiry_text(value: float | datetime) -> str:
    """A lease column's time as a timestamp: seconds since the epoch (SQLite) or a datetime
    (PostgreSQL), as each database's `{now}` gives it."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return format_timestamp(datetime.fromtimestamp(value, UTC))


def claim(tx: Tx, body: ClaimRequest, host: str | None) -> Plan[RunClaim | None]:
    """Lease the oldest claimable run (of the body's pipeline_id, when given) to its worker_id,
    or None; its events say who claimed it (from host) and, for a run whose lease expired, from
    whom."""
    worker_id, pipeline_id = body.worker_id, body.pipeline_id
    where = CLAIMABLE
    if pipeline_id is not None:
        where += " AND pipeline_id=:pipeline_id"
    else:  # a pipeline with dedicated workers is only run by claims that name it
        where += " AND pipeline_id NOT IN (SELECT id FROM pipelines WHERE dedicated_workers)"
    row = first(
        (
            yield Query(
                f"SELECT id, status, lease_worker, lease_token, doc FROM runs WHERE {where} "
                "ORDER BY pk LIMIT 1 {skip_locked}",
                {"pipeline_id": None if pipeline_id is None else documents.request_id(pipeline_id)},
            )
        )
    )
    if row is None:
        return None
    run_id = row["id"]
    lease = first(
        (
            yield Query(
                "UPDATE runs SET lease_worker=:worker, lease_token=lease_token + 1, "
                "lease_expires={now} + {seconds:lease_seconds} WHERE id=:id "
                "RETURNING lease_expires, lease_token",
                {
                    "worker": documents.key(worker_id),
                    "lease_seconds": body.lease_seconds,
                    "id": run_id,
                },
            )
        )
    )
    assert lease is not None  # the row is locked by this transaction
    yield from events.record(claim_events(tx.now, row, worker_id, lease["lease_token"], host))
    state = yield from change_run(tx, run_id, lambda run: rules.move_run(run, "running", tx.now))
    return {
        "run": state.run,
        "worker_id": worker_id,
        "lease_expires_at": expiry_text(lease["lease_expires"]),
        "lease_token": lease["lease_token"],
    }


def claim_events(
    now: str, row: Row, worker_id: str, token: int, host: str | None
) -> list[RunEvent]:
    """`claimed`, or for a run whose holder's lease expired `lease_expired` and `taken_over`."""
    previous = events.worker_of(row["lease_worker"])
    where = f" on {host}" if host else ""
    if row["status"] != "running" or previous is None:
        return [
            events.event(
                row["id"],
                "claimed",
                now,
                f"Claimed by worker {worker_id}{where} (lease token {token})",
                worker_id=worker_id,
                host=host,
                lease_token=token,
            )
        ]
    action = documents.run_document(row["doc"])["current_action"]
    during = f" during action {action}" if action else ""
    return [
        events.event(
            row["id"],
            "lease_expired",
            now,
            f"Lease of worker {previous} expired{during} (lease token {row['lease_token']})",
            worker_id=previous,
            action_name=action,
            lease_token=row["lease_token"],
        ),
        events.event(
            row["id"],
            "taken_over",
            now,
            f"Taken over by worker {worker_id}{where} from worker {previous} (lease token {token})",
            worker_id=worker_id,
            host=host,
            lease_token=token,
            previous_worker_id=previous,
        ),
    ]


def renew(
    run_id: str, worker_id: str, lease_seconds: float, lease_token: int | None
) -> Plan[Lease]:
    """Extend worker_id's lease; Conflict when another worker holds it, or none does."""
    row = yield from run_row(run_id, "id, status, lease_worker, lease_token", "{lock}")
    check_fence(run_id, lease_token, row)
    holder = row["lease_worker"]
    if holder != documents.key(worker_id):
        raise Conflict(
            "the lease is held by another worker"
            if holder
            else "this worker holds no lease on the run"
        )
    lease = first(
        (
            yield Query(
                "UPDATE runs SET lease_expires={now} + {seconds:lease_seconds} WHERE id=:id "
                "RETURNING lease_expires",
                {"lease_seconds": lease_seconds, "id": row["id"]},
            )
        )
    )
    assert lease is not None  # the row is locked by this transaction
    return {
        "run_id": run_id,
        "worker_id": worker_id,
        "lease_expires_at": expiry_text(lease["lease_expires"]),
        "status": row["status"],
        "lease_token": row["lease_token"],
    }


def release(run_id: str, worker_id: str, lease_token: int | None) -> Plan[None]:
    """Give worker_id's lease back (nothing when it holds none): the run is claimable at once."""
    row = yield from run_row(run_id, "id, lease_token", "{lock}")
    check_fence(run_id, lease_token, row)
    yield Query(
        "UPDATE runs SET lease_worker=NULL, lease_expires={long_ago} "
        "WHERE id=:id AND lease_worker=:worker",
        {"id": row["id"], "worker": documents.key(worker_id)},
    )
