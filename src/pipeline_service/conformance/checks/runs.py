"""Run status transitions and the timestamps they stamp."""

from __future__ import annotations

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Tier, check


@check("runs.transitions", area="runs", tier=Tier.CORE)
def transitions(ctx: CheckContext) -> None:
    """A run moves pending → running → terminal; leaving a terminal state is 409.

    A pending run may go straight to a terminal state. Once completed, failed or cancelled,
    neither PATCH /runs/{id} nor POST /runs/{id}/progress may change its status (409), and the
    refused request changes nothing. A running run cannot go back to pending (409).
    """
    session = ctx.session
    run = ctx.new_run("transitions")
    path = ctx.run_path(run["id"])
    ctx.expect(run["status"] == "pending", f"a new run is {run['status']!r}, not 'pending'")
    moved = ctx.expect_status(session.patch(path, {"status": "running"}), 200, "pending → running")
    ctx.expect(moved["status"] == "running", f"PATCH status=running gave {moved['status']!r}")
    ctx.expect_status(session.patch(path, {"status": "pending"}), 409, "running → pending")
    done = ctx.expect_status(
        session.patch(path, {"status": "completed"}), 200, "running → completed"
    )
    for status in ("running", "pending", "failed", "cancelled"):
        ctx.expect_status(session.patch(path, {"status": status}), 409, f"completed → {status}")
        ctx.expect_status(
            session.post(ctx.run_path(run["id"], "/progress"), {"status": status}),
            409,
            f"POST /progress completed → {status}",
        )
    after = ctx.get_run(run["id"])
    ctx.expect(
        after["status"] == "completed" and after["completed_at"] == done["completed_at"],
        f"a refused move changed the run: status {after['status']!r}, completed_at "
        f"{after['completed_at']!r} (was {done['completed_at']!r})",
    )
    direct = ctx.new_run("transitions-direct")
    cancelled = ctx.expect_status(
        session.patch(ctx.run_path(direct["id"]), {"status": "cancelled"}),
        200,
        "pending → cancelled",
    )
    ctx.expect(
        cancelled["status"] == "cancelled",
        f"PATCH status=cancelled on a pending run gave {cancelled['status']!r}",
    )


@check("runs.unknown-status", area="runs", tier=Tier.CORE)
def unknown_status(ctx: CheckContext) -> None:
    """A status that is not a RunStatus is 422, and the run stays readable and unchanged.

    Applies to POST /runs/{id}/progress and PATCH /runs/{id}; also `status_filter` on
    GET /runs/ with an unknown value is 422 (not an empty list).
    """
    session = ctx.session
    run = ctx.new_run("unknown-status")
    ctx.expect_status(
        session.post(ctx.run_path(run["id"], "/progress"), {"status": "done"}),
        422,
        "POST /progress with status 'done'",
    )
    ctx.expect_status(
        session.patch(ctx.run_path(run["id"]), {"status": "done"}),
        422,
        "PATCH with status 'done'",
    )
    after = ctx.get_run(run["id"])
    ctx.expect(after["status"] == "pending", f"the run became {after['status']!r}")
    ctx.expect_status(
        session.get("/api/v1/runs/", params={"status_filter": "done"}),
        422,
        "GET /runs/?status_filter=done",
    )


@check("runs.timestamps", area="runs", tier=Tier.CORE)
def timestamps(ctx: CheckContext) -> None:
    """`started_at` and `completed_at` are stamped once, by whichever endpoint moves the run.

    A pending run has neither. Moving it to running (here via POST /progress) stamps
    `started_at`; later updates keep it. Moving it to a terminal state (here via PATCH) stamps
    `completed_at`; refused writes afterwards keep it. An action's `started_at` is stamped on
    its first `running` report and kept by later reports; its `completed_at` on its first
    terminal status.
    """
    session = ctx.session
    run = ctx.new_run("timestamps", actions=("only",))
    run_id = run["id"]
    progress = ctx.run_path(run_id, "/progress")
    ctx.expect(
        run["started_at"] is None and run["completed_at"] is None,
        f"a pending run has started_at={run['started_at']!r}, completed_at={run['completed_at']!r}",
    )
    first = ctx.expect_status(
        session.post(
            progress,
            {"status": "running", "action_progress": {"name": "only", "status": "running"}},
        ),
        200,
        "POST /progress status=running",
    )
    started = first["started_at"]
    action_started = first["progress"][0]["started_at"]
    ctx.expect(started is not None, "moving to running did not stamp the run's started_at")
    ctx.expect(
        action_started is not None, "the action's first running report did not stamp started_at"
    )
    again = ctx.expect_status(
        session.post(
            progress,
            {
                "status": "running",
                "action_progress": {"name": "only", "status": "running", "progress": 0.5},
            },
        ),
        200,
        "a second running report",
    )
    ctx.expect(
        again["started_at"] == started and again["progress"][0]["started_at"] == action_started,
        f"a later report re-stamped started_at: run {started!r} → {again['started_at']!r}, "
        f"action {action_started!r} → {again['progress'][0]['started_at']!r}",
    )
    session.post(progress, {"action_progress": {"name": "only", "status": "completed"}})
    action = ctx.get_run(run_id)["progress"][0]
    ctx.expect(
        action["completed_at"] is not None,
        "the action's first terminal status did not stamp its completed_at",
    )
    done = ctx.expect_status(
        session.patch(ctx.run_path(run_id), {"status": "failed", "error": "on purpose"}),
        200,
        "PATCH status=failed",
    )
    completed = done["completed_at"]
    ctx.expect(completed is not None, "moving to failed did not stamp completed_at")
    ctx.expect(done["started_at"] == started, "PATCH to a terminal state changed started_at")
    session.post(progress, {"status": "completed"})
    session.patch(ctx.run_path(run_id), {"status": "failed"})  # unchanged: no transition
    final = ctx.get_run(run_id)
    ctx.expect(
        final["completed_at"] == completed and final["started_at"] == started,
        f"completed_at was re-stamped: {completed!r} → {final['completed_at']!r}",
    )
