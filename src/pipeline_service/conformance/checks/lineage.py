"""Lineage: a resumed run names the run it resumed, which can list the runs that resumed it."""

from __future__ import annotations

from urllib.parse import quote

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check


@check("lineage.resume", area="lineage", tier=Tier.EXTENSION)
def resume(ctx: CheckContext) -> None:
    """A run created with `resume_from` carries `resumed_from`; `?resumed_from=` lists it.

    `from_action` is kept on the new run; a `from_action` the pipeline lacks is 422, and so is
    `from_action` without `resume_from`. A run without lineage has both fields null.
    """
    pipeline = ctx.create_pipeline("lineage", actions=("fetch", "train"))
    runs_path = f"{API}/pipelines/{quote(pipeline['id'], safe='')}/runs/"
    earlier = ctx.create_run(pipeline)
    ctx.expect(
        earlier.get("resumed_from", "absent") is None and earlier.get("from_action", "x") is None,
        f"a fresh run has resumed_from {earlier.get('resumed_from', 'absent')!r} and "
        f"from_action {earlier.get('from_action', 'absent')!r}, not null",
    )
    ctx.expect_status(
        ctx.session.post(
            f"{API}/pipelines/{quote(pipeline['id'], safe='')}/runs/",
            {"resume_from": earlier["id"], "from_action": "deploy"},
        ),
        422,
        "from_action naming no action of the pipeline",
    )
    ctx.expect_status(
        ctx.session.post(runs_path, {"from_action": "fetch"}),
        422,
        "from_action without resume_from",
    )
    later = ctx.expect_status(
        ctx.session.post(runs_path, {"resume_from": earlier["id"], "from_action": "fetch"}),
        201,
        "resuming the run from its first action",
    )
    ctx.expect(
        later.get("resumed_from") == earlier["id"] and later.get("from_action") == "fetch",
        f"the resumed run has resumed_from {later.get('resumed_from')!r} and from_action "
        f"{later.get('from_action')!r}",
    )
    listed = ctx.expect_status(
        ctx.session.get(f"{API}/runs/", params={"resumed_from": earlier["id"]}),
        200,
        "listing the runs that resumed it",
    )
    ids = [run.get("id") for run in listed]
    ctx.expect(ids == [later["id"]], f"?resumed_from= listed {ids}, not [{later['id']!r}]")
