"""Workers' leases: a write carrying the token of a lost lease is refused and changes nothing."""

from __future__ import annotations

import time
from typing import Any

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check

LEASE_SECONDS = 1  # the shortest lease the API allows


@check("leases.fencing", area="leases", tier=Tier.EXTENSION)
def fencing(ctx: CheckContext) -> None:
    """Once a lease expired and the run was claimed again, the old `Lease-Token` is 409.

    Worker A claims a run of the kit (a claim naming its pipeline) with a 1 s lease and writes
    with its token; the lease expires and worker B claims the run (a larger token). Then each
    fenced write with A's token — POST /progress, PATCH the run, POST a checkpoint, POST logs,
    renew and release the lease (as B, so that only the token is wrong) — is 409 with a
    `detail` naming the lease, and the run, its logs and checkpoints stay as they were. The same
    writes with B's token, or without the header, go through.
    """
    pipeline = ctx.create_pipeline("fencing", actions=("only",))
    run = ctx.create_run(pipeline, touch=False)
    run_id = run["id"]
    try:
        _fencing(ctx, pipeline["id"], run_id)
    finally:
        # Ended, the run is nobody's to claim (a lease given back would make it claimable).
        ctx.session.patch(ctx.run_path(run_id), {"status": "cancelled"})


def _fencing(ctx: CheckContext, pipeline_id: str, run_id: str) -> None:
    worker_a, worker_b = ctx.name("worker-a"), ctx.name("worker-b")
    first = _claim(ctx, pipeline_id, worker_a)
    ctx.expect(first is not None, "a claim naming the kit's pipeline got 204: its run is pending")
    assert first is not None
    ctx.expect(
        first.get("run", {}).get("id") == run_id,
        f"the claim took run {first.get('run', {}).get('id')!r}, not the kit's {run_id!r}",
    )
    token_a = first.get("lease_token")
    ctx.expect(isinstance(token_a, int), f"the claim's lease_token is {token_a!r}")
    old = {"Lease-Token": str(token_a)}
    ctx.expect_status(
        ctx.session.post(
            ctx.run_path(run_id, "/logs/"), {"entries": [{"message": "from A"}]}, headers=old
        ),
        201,
        "a log line with the token of the lease A holds",
    )
    second = _claim_after_expiry(ctx, pipeline_id, worker_b, first)
    token_b = second.get("lease_token")
    ctx.expect(
        isinstance(token_b, int) and token_b > token_a,
        f"claimed again, the run's lease_token is {token_b!r}, not larger than {token_a}",
    )
    new = {"Lease-Token": str(token_b)}
    before = _state(ctx, run_id)
    writes: list[tuple[str, str, Any, dict[str, Any]]] = [
        ("POST", "/progress", {"action_progress": {"name": "only", "progress": 0.5}}, {}),
        ("PATCH", "", {"status": "completed", "result": {"from": "A"}}, {}),
        ("POST", "/checkpoints/", {"action_name": "only", "action_index": 0}, {}),
        ("POST", "/logs/", {"entries": [{"message": "late line from A"}]}, {}),
        ("POST", "/lease", {"worker_id": worker_b, "lease_seconds": 60}, {}),
        ("DELETE", "/lease", None, {"params": {"worker_id": worker_b}}),
    ]
    for method, tail, body, extra in writes:
        what = f"{method} {tail or '/runs/{id}'} with the old Lease-Token {token_a}"
        response = ctx.session.request(
            method,
            ctx.run_path(run_id, tail),
            json_body=body,
            headers=old,
            **extra,
        )
        refused = ctx.last()
        detail = ctx.expect_status(response, 409, what)
        text = str((detail or {}).get("detail", "")) if isinstance(detail, dict) else ""
        ctx.expect(
            "lease" in text.lower(), f"{what}: 409 without naming the lease: {text!r}", refused
        )
        after = _state(ctx, run_id)
        ctx.expect(
            after == before,
            f"{what} was refused but changed the run: {_difference(before, after)}",
            refused,
        )
    ctx.expect_status(
        ctx.session.post(
            ctx.run_path(run_id, "/lease"),
            {"worker_id": worker_b, "lease_seconds": 60},
            headers=new,
        ),
        200,
        "renewing B's lease with B's token",
    )
    ctx.expect_status(
        ctx.session.post(
            ctx.run_path(run_id, "/progress"),
            {"action_progress": {"name": "only", "progress": 0.5}},
            headers=new,
        ),
        200,
        "a progress report with B's token",
    )
    ctx.expect_status(
        ctx.session.post(ctx.run_path(run_id, "/logs/"), {"entries": [{"message": "unfenced"}]}),
        201,
        "a log line without a Lease-Token header",
    )


def _claim(ctx: CheckContext, pipeline_id: str, worker_id: str) -> Any:
    """A claim naming the kit's pipeline: the claim document, or None for 204."""
    body = {"worker_id": worker_id, "lease_seconds": LEASE_SECONDS, "pipeline_id": pipeline_id}
    return ctx.expect_status(
        ctx.session.post(f"{API}/runs/claim", body), (200, 204), "a claim naming the pipeline"
    )


def _claim_after_expiry(ctx: CheckContext, pipeline_id: str, worker_id: str, first: Any) -> Any:
    """Claims naming the pipeline until one takes the run again (its lease expired)."""
    deadline = time.monotonic() + LEASE_SECONDS + ctx.options.event_timeout
    while True:
        ctx.session.history = ctx.session.history[-8:]  # the polls are not worth showing
        claim = _claim(ctx, pipeline_id, worker_id)
        if claim is not None:
            ctx.expect(
                claim.get("run", {}).get("id") == first["run"]["id"],
                f"the claim took run {claim.get('run', {}).get('id')!r}, not the kit's",
            )
            return claim
        ctx.expect(
            time.monotonic() < deadline,
            f"the run was not claimable {LEASE_SECONDS + ctx.options.event_timeout:g} s after "
            f"its {LEASE_SECONDS} s lease was taken (expires {first.get('lease_expires_at')})",
        )
        time.sleep(0.05)


def _state(ctx: CheckContext, run_id: str) -> dict[str, Any]:
    """The run, its logs and its checkpoints."""
    return {
        "run": ctx.get_run(run_id),
        "logs": ctx.expect_status(
            ctx.session.get(ctx.run_path(run_id, "/logs/")), 200, "reading the logs"
        ),
        "checkpoints": ctx.expect_status(
            ctx.session.get(ctx.run_path(run_id, "/checkpoints/")), 200, "reading checkpoints"
        ),
    }


def _difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = []
    for part in ("run", "logs", "checkpoints"):
        if before[part] != after[part]:
            if part == "run":
                keys = sorted(k for k in after[part] if after[part].get(k) != before[part].get(k))
                changed.append(f"run fields {keys}")
            else:
                changed.append(f"{part}: {len(before[part])} → {len(after[part])}")
    return ", ".join(changed)
