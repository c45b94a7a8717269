"""Bad requests: a clear 4xx with a JSON `detail`, never a 500 or a crash."""

from __future__ import annotations

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import Tier, check


@check("errors.bad-body", area="errors", tier=Tier.CORE)
def bad_body(ctx: CheckContext) -> None:
    """Malformed or ill-typed bodies get 400/422 with a JSON `{"detail": ...}`, never a 500.

    Sent to POST /pipelines/, POST /runs/{id}/progress and POST /runs/{id}/logs/: a body that
    is not JSON, a JSON array instead of an object, a field of the wrong type, a missing
    required field, and an unknown field.
    """
    run = ctx.new_run("bad-body")
    targets = (
        f"{API}/pipelines/",
        ctx.run_path(run["id"], "/progress"),
        ctx.run_path(run["id"], "/logs/"),
    )
    bodies = (
        ('{"name": ', "a truncated JSON document"),
        ("[1, 2, 3]", "a JSON array"),
        ('{"name": 5, "actions": "many", "entries": 7, "status": 12}', "wrong types"),
        ('{"unexpected_field": true}', "an unknown field and no required one"),
    )
    for path in targets:
        for content, what in bodies:
            response = ctx.session.request("POST", path, content=content)
            if path == targets[0] and response.status_code == 201:
                ctx.pipelines.append(response.json()["id"])  # wrongly created: still cleaned up
            ctx.expect(
                response.status_code in (400, 422),
                f"{what} to {path} got {response.status_code}, not 400/422: "
                f"{response.text[:200]!r}",
            )
            try:
                detail = response.json().get("detail")
            except (ValueError, AttributeError):
                detail = None
            ctx.expect(
                isinstance(detail, (str, list)) and bool(detail),
                f"{what} to {path}: the error is not JSON with a `detail`: {response.text[:200]!r}",
            )
