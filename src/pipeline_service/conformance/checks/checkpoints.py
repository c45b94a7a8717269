"""Checkpoints: ordered by action, the latest by index, the newest per action."""

from __future__ import annotations

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Tier, check


@check("checkpoints.order", area="checkpoints", tier=Tier.CORE)
def order(ctx: CheckContext) -> None:
    """Checkpoints list by `action_index` then age; `latest` and per-action reads pick right.

    GET /checkpoints/ orders by action_index, then created_at; GET /checkpoints/latest is the
    one with the highest action_index (ties: the newest); GET /checkpoints/{action} is that
    action's newest; an action without a checkpoint is 404.
    """
    run = ctx.new_run("checkpoints", actions=("fetch", "train", "export"))
    path = ctx.run_path(run["id"], "/checkpoints/")
    made = []
    for action, index, marker in (
        ("train", 1, "train-1"),
        ("fetch", 0, "fetch-1"),
        ("train", 1, "train-2"),
    ):
        made.append(
            ctx.expect_status(
                ctx.session.post(
                    path, {"action_name": action, "action_index": index, "result": {"m": marker}}
                ),
                201,
                f"creating the {marker} checkpoint",
            )
        )
    listed = ctx.expect_status(ctx.session.get(path), 200, "listing checkpoints")
    markers = [(c.get("result") or {}).get("m") for c in listed]
    ctx.expect(
        markers == ["fetch-1", "train-1", "train-2"],
        f"checkpoints listed as {markers}, not by action_index then age",
    )
    latest = ctx.expect_status(
        ctx.session.get(ctx.run_path(run["id"], "/checkpoints/latest")), 200, "the latest"
    )
    ctx.expect(
        (latest.get("result") or {}).get("m") == "train-2",
        f"/checkpoints/latest is {latest.get('result')}, not the newest of the highest index",
    )
    fetch = ctx.expect_status(
        ctx.session.get(ctx.run_path(run["id"], "/checkpoints/fetch")), 200, "fetch's newest"
    )
    ctx.expect(fetch["id"] == made[1]["id"], f"/checkpoints/fetch is {fetch.get('result')}")
    ctx.expect_status(
        ctx.session.get(ctx.run_path(run["id"], "/checkpoints/export")),
        404,
        "an action without a checkpoint",
    )
