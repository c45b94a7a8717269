"""Extensions beyond the v1 core: Idempotency-Key replay, the bearer token, limits, cancel."""

from __future__ import annotations

import shlex
import uuid

from pipeline_service.conformance.context import API, CheckContext
from pipeline_service.conformance.registry import CheckFailed, Depth, NotApplicable, Tier, check
from pipeline_service.wire import MAX_LOG_BATCH


@check("idempotency.replay", area="idempotency", tier=Tier.EXTENSION)
def replay(ctx: CheckContext) -> None:
    """The same Idempotency-Key replays the first response; with another body it is 409.

    Two POST /pipelines/ with one key give the same status and body and create one pipeline;
    the same key with a different body is 409. The same holds for POST .../runs/.
    """
    key = ctx.name(f"key-{uuid.uuid4()}")
    body = ctx.pipeline_body("idempotent", ("only",))
    headers = {"Idempotency-Key": key}
    first = ctx.session.post(f"{API}/pipelines/", body, headers=headers)
    created = ctx.expect_status(first, 201, "the first request with a key")
    ctx.pipelines.append(created["id"])
    second = ctx.session.post(f"{API}/pipelines/", body, headers=headers)
    replayed = ctx.last()
    if second.status_code == 201 and second.json().get("id") != created["id"]:
        ctx.pipelines.append(second.json()["id"])
    ctx.expect(
        second.status_code == first.status_code and second.json() == created,
        f"the replay answered {second.status_code} {second.text[:200]} instead of the first "
        f"response (201, pipeline {created['id']})",
        replayed,
    )
    other = ctx.session.post(
        f"{API}/pipelines/", {**body, "name": ctx.name("other")}, headers=headers
    )
    if other.status_code == 201:
        ctx.pipelines.append(other.json()["id"])
    ctx.expect_status(other, 409, "the same key with another body")
    run_key = {"Idempotency-Key": ctx.name(f"key-{uuid.uuid4()}")}
    runs_path = f"{API}/pipelines/{created['id']}/runs/"
    run = ctx.expect_status(
        ctx.session.post(runs_path, {"params": {"n": 1}}, headers=run_key), 201, "a run with a key"
    )
    again = ctx.expect_status(
        ctx.session.post(runs_path, {"params": {"n": 1}}, headers=run_key), 201, "its replay"
    )
    ctx.expect(again == run, "replaying the run's POST gave another run", ctx.last())
    ctx.touch(run)
    runs = ctx.expect_status(ctx.session.get(runs_path), 200, "listing the pipeline's runs")
    ctx.expect(len(runs) == 1, f"replays created {len(runs)} runs, not 1")


@check("auth.token", area="auth", tier=Tier.EXTENSION)
def token(ctx: CheckContext) -> None:
    """With a token, /api/v1 without it (or with a wrong one) is 401; /health stays open.

    Needs `--token`: without one the kit cannot tell an open server from a misconfigured one.
    The scheme name is case-insensitive (`bearer` works as well as `Bearer`).
    """
    if not ctx.options.token:
        raise NotApplicable("no --token given: the target is assumed to run without one")
    ctx.expect_status(ctx.session.get(f"{API}/pipelines/", auth=False), 401, "no token")
    ctx.expect_status(
        ctx.session.get(
            f"{API}/pipelines/", auth=False, headers={"Authorization": "Bearer wrong-token"}
        ),
        401,
        "a wrong token",
    )
    ctx.expect_status(
        ctx.session.post(
            f"{API}/pipelines/",
            ctx.pipeline_body("no-token", ("only",)),
            auth=False,
        ),
        401,
        "a write without the token",
    )
    ctx.expect_status(
        ctx.session.get(
            f"{API}/pipelines/",
            auth=False,
            headers={"Authorization": f"bearer {ctx.options.token}"},
        ),
        200,
        "the token with a lower-case scheme",
    )
    ctx.expect_status(ctx.session.get("/health", auth=False), 200, "/health without a token")


@check("limits.log-batch", area="limits", tier=Tier.EXTENSION)
def log_batch(ctx: CheckContext) -> None:
    """A log batch of more than 10,000 entries is 413, and nothing of it is stored."""
    run = ctx.new_run("log-batch")
    path = ctx.run_path(run["id"], "/logs/")
    response = ctx.session.post(path, {"entries": [{"message": "x"}] * (MAX_LOG_BATCH + 1)})
    ctx.session.history.pop()  # not kept: the body is too large to show
    sent = _generated_body_curl(
        ctx, path, f'{{"entries": [{{"message": "x"}}] * {MAX_LOG_BATCH + 1}}}'
    )
    if response.status_code != 413:
        raise CheckFailed(
            f"a batch of {MAX_LOG_BATCH + 1} entries got {response.status_code}, not 413", [sent]
        )
    stored = ctx.expect_status(ctx.session.get(path, params={"limit": 1}), 200, "reading logs")
    if stored:
        raise CheckFailed(
            "part of the refused batch was stored", [sent, ctx.session.history[-1].curl()]
        )


@check("limits.body-size", area="limits", tier=Tier.EXTENSION, depth=Depth.STANDARD)
def body_size(ctx: CheckContext) -> None:
    """A request body larger than the server's limit (`--max-body-bytes`) is 413, not stored."""
    limit = ctx.options.max_body_bytes
    valid = ctx.pipeline_body("too-large", ("only",))  # valid but for its size
    body = {**valid, "description": "x" * (limit + 1)}
    response = ctx.session.post(f"{API}/pipelines/", body)
    ctx.session.history.pop()  # not kept: the body is too large to show
    if response.status_code == 201:
        ctx.pipelines.append(response.json()["id"])
    if response.status_code != 413:
        curl = _generated_body_curl(
            ctx,
            f"{API}/pipelines/",
            f"{{**{valid!r}, 'description': 'x' * {limit + 1}}}",
        )
        raise CheckFailed(f"a body over {limit} bytes got {response.status_code}, not 413", [curl])


def _generated_body_curl(ctx: CheckContext, path: str, expression: str) -> str:
    """A reproduction line for a body too large to show: python3 prints it, curl POSTs it."""
    script = f"import json; print(json.dumps({expression}))"
    auth = ' -H "Authorization: Bearer $PIPELINE_SERVICE_TOKEN"' if ctx.options.token else ""
    return (
        f"python3 -c {shlex.quote(script)} | curl -sS -X POST "
        f"{shlex.quote(ctx.session.base_url + path)} "
        f"-H 'Content-Type: application/json'{auth} --data-binary @-"
    )


@check("runs.cancel", area="runs", tier=Tier.EXTENSION)
def cancel(ctx: CheckContext) -> None:
    """POST /runs/{id}/cancel cancels a pending or running run; a completed one is 409.

    Cancelling stamps `completed_at`; cancelling a cancelled run again is 200 and changes
    nothing; cancelling a completed or failed run is 409.
    """
    run = ctx.new_run("cancel")
    path = ctx.run_path(run["id"], "/cancel")
    cancelled = ctx.expect_status(ctx.session.post(path), 200, "cancelling a pending run")
    ctx.expect(cancelled["status"] == "cancelled", f"cancel gave {cancelled['status']!r}")
    ctx.expect(cancelled["completed_at"] is not None, "cancelling did not stamp completed_at")
    again = ctx.expect_status(ctx.session.post(path), 200, "cancelling it again")
    ctx.expect(again == cancelled, "cancelling a cancelled run changed it")
    done = ctx.new_run("cancel-done")
    ctx.session.patch(ctx.run_path(done["id"]), {"status": "completed"})
    ctx.expect_status(
        ctx.session.post(ctx.run_path(done["id"], "/cancel")), 409, "cancelling a completed run"
    )
