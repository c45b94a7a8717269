"""Non-finite numbers: refused anywhere in a body, never stored or served."""

from __future__ import annotations

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check

NON_FINITE = ("1e400", "-1E999", "NaN", "Infinity", "-Infinity")


@check("numbers.non-finite", area="numbers", tier=Tier.CORE)
def non_finite(ctx: CheckContext) -> None:
    """Numbers that overflow a double (`1e400`) and `NaN`/`Infinity` are refused with 400/422.

    Tried in free-form objects and numeric fields alike: run `params` (POST .../runs/), run
    `result` (PATCH), action `metrics` and `progress` (POST /progress) and checkpoint
    `params_snapshot`; none may be accepted, and the run keeps its previous values.
    """
    pipeline = ctx.create_pipeline("non-finite", actions=("only",))
    run = ctx.create_run(pipeline)
    run_id = run["id"]
    for literal in NON_FINITE:
        attempts = (
            (
                "POST",
                f"{API}/pipelines/{pipeline['id']}/runs/",
                f'{{"params": {{"x": {literal}}}}}',
            ),
            ("PATCH", ctx.run_path(run_id), f'{{"result": {{"x": {literal}}}}}'),
            (
                "POST",
                ctx.run_path(run_id, "/progress"),
                f'{{"action_progress": {{"name": "only", "metrics": {{"loss": {literal}}}}}}}',
            ),
            (
                "POST",
                ctx.run_path(run_id, "/progress"),
                f'{{"action_progress": {{"name": "only", "progress": {literal}, "total": 1e308}}}}',
            ),
            (
                "POST",
                ctx.run_path(run_id, "/checkpoints/"),
                f'{{"action_name": "only", "action_index": 0, '
                f'"params_snapshot": {{"x": [{literal}]}}}}',
            ),
        )
        for method, path, content in attempts:
            response = ctx.session.request(method, path, content=content)
            ctx.expect(
                response.status_code in (400, 422),
                f"{literal} in {method} {path} got {response.status_code}, not 400/422",
            )
    after = ctx.get_run(run_id)
    ctx.expect(after["result"] is None, f"the run's result became {after['result']!r}")
    ctx.expect(
        after["progress"][0].get("metrics") in ({}, None),
        f"the action's metrics became {after['progress'][0].get('metrics')!r}",
    )
    checkpoints = ctx.expect_status(
        ctx.session.get(ctx.run_path(run_id, "/checkpoints/")), 200, "listing checkpoints"
    )
    ctx.expect(not checkpoints, f"{len(checkpoints)} checkpoint(s) stored with such numbers")
    runs = ctx.expect_status(
        ctx.session.get(f"{API}/pipelines/{pipeline['id']}/runs/"), 200, "listing runs"
    )
    ctx.expect(len(runs) == 1, f"{len(runs) - 1} run(s) created with such params")
