"""Paths as clients call them: no redirects, trailing-slash twins, HEAD wherever GET."""

from __future__ import annotations

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check


@check("http.no-redirects", area="http", tier=Tier.CORE)
def no_redirects(ctx: CheckContext) -> None:
    """Every path is answered directly in the form the API lists it: never a 3xx redirect.

    Existing clients call the paths literally (trailing slashes included) and do not follow
    redirects; each listed GET path of the kit's own pipeline and run answers 200 itself.
    """
    run = ctx.new_run("no-redirects")
    for path in _listed_paths(ctx, run):
        response = ctx.session.get(path)
        ctx.expect(
            response.status_code == 200,
            f"GET {path} answered {response.status_code}"
            + (f" (to {response.headers.get('location')})" if response.is_redirect else ""),
        )


@check("http.slash-twins", area="http", tier=Tier.EXTENSION)
def slash_twins(ctx: CheckContext) -> None:
    """Each path is also answered with the trailing slash added or removed, without a redirect."""
    run = ctx.new_run("slash-twins")
    for path in _listed_paths(ctx, run):
        twin = path[:-1] if path.endswith("/") else f"{path}/"
        response = ctx.session.get(twin)
        ctx.expect(
            response.status_code == 200,
            f"GET {twin} (the twin of {path}) answered {response.status_code}",
        )


@check("http.head", area="http", tier=Tier.EXTENSION)
def head(ctx: CheckContext) -> None:
    """HEAD is answered wherever GET is: the same status, and no body."""
    run = ctx.new_run("head")
    for path in ["/health", *_listed_paths(ctx, run)]:
        response = ctx.session.request("HEAD", path)
        ctx.expect(
            response.status_code == 200,
            f"HEAD {path} answered {response.status_code}, GET answers 200",
        )
        ctx.expect(not response.content, f"HEAD {path} sent a body")


def _listed_paths(ctx: CheckContext, run: dict[str, str]) -> list[str]:
    pipeline = f"{API}/pipelines/{run['pipeline_id']}"
    return [
        f"{API}/pipelines/",
        pipeline,
        f"{pipeline}/runs/",
        f"{API}/runs/",
        ctx.run_path(run["id"]),
        ctx.run_path(run["id"], "/progress"),
        ctx.run_path(run["id"], "/checkpoints/"),
        ctx.run_path(run["id"], "/logs/"),
    ]
