"""Listing: newest first, paged with skip/limit, limits enforced."""

from __future__ import annotations

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check
from pipeline_service.wire import MAX_PAGE_ITEMS


@check("lists.paging", area="lists", tier=Tier.CORE)
def paging(ctx: CheckContext) -> None:
    """Lists come newest first and page with `skip`/`limit`; a limit out of 1–1000 is 422.

    A pipeline's runs (GET /pipelines/{id}/runs/) are listed newest first, every page of
    `skip`/`limit` continues the one before, and GET /pipelines/ lists the kit's pipelines
    newest first among the others.
    """
    pipelines = [ctx.create_pipeline(f"list-{i}") for i in range(3)]
    runs = [ctx.create_run(pipelines[0]) for _ in range(5)]
    runs_path = f"{API}/pipelines/{pipelines[0]['id']}/runs/"
    listed = ctx.expect_status(ctx.session.get(runs_path), 200, "listing a pipeline's runs")
    newest_first = [run["id"] for run in reversed(runs)]
    ctx.expect(
        [run.get("id") for run in listed] == newest_first,
        "a pipeline's runs are not listed newest first",
    )
    paged: list[str] = []
    for skip in (0, 2, 4):
        page = ctx.expect_status(
            ctx.session.get(runs_path, params={"skip": skip, "limit": 2}), 200, "a page of runs"
        )
        paged.extend(run.get("id") for run in page)
    ctx.expect(paged == newest_first, "pages of skip/limit do not continue one another")
    everything = ctx.expect_status(
        ctx.session.get(f"{API}/pipelines/", params={"limit": MAX_PAGE_ITEMS}),
        200,
        "listing pipelines",
    )
    mine = {pipeline["id"] for pipeline in pipelines}
    order = [p.get("id") for p in everything if p.get("id") in mine]
    ctx.expect(
        order == [pipeline["id"] for pipeline in reversed(pipelines)],
        "pipelines are not listed newest first",
    )
    for limit in (0, MAX_PAGE_ITEMS + 1):
        ctx.expect_status(
            ctx.session.get(f"{API}/runs/", params={"limit": limit}), 422, f"limit={limit}"
        )
    ctx.expect_status(ctx.session.get(f"{API}/runs/", params={"skip": -1}), 422, "skip=-1")
