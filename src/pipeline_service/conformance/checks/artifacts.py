"""Artifacts: files of a run, uploaded as bytes, listed, downloaded whole, never escaping it."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.registry import Tier, check

OCTET_STREAM = {"Content-Type": "application/octet-stream"}


def _put(
    ctx: CheckContext, run_id: str, path: str, data: bytes, headers: dict[str, str] | None = None
) -> Any:
    return ctx.session.request(
        "PUT",
        ctx.run_path(run_id, f"/artifacts/{quote(path, safe='')}"),
        content=data,
        headers={**OCTET_STREAM, **(headers or {})},
    )


def _listed(ctx: CheckContext, run_id: str) -> list[Any]:
    listed: list[Any] = ctx.expect_status(
        ctx.session.get(ctx.run_path(run_id, "/artifacts")), 200, "listing the artifacts"
    )
    return listed


@check("artifacts.round-trip", area="artifacts", tier=Tier.EXTENSION)
def round_trip(ctx: CheckContext) -> None:
    """An uploaded file is listed and downloaded byte for byte; resending it changes nothing.

    PUT /runs/{id}/artifacts/{path} with `application/octet-stream` is 201 with the Artifact
    (normalised path, size, sha256); the list has it; GET gives the bytes with Content-Length,
    `ETag` and `Content-SHA256`; HEAD the same headers without a body; the same bytes again
    are 200 with the same record, and the list still holds one artifact.
    """
    run = ctx.new_run("artifacts")
    data = b"conformance kit artifact\n" * 100
    digest = hashlib.sha256(data).hexdigest()
    created = ctx.expect_status(
        _put(ctx, run["id"], "./models//model.bin", data, {"Content-SHA256": digest}),
        201,
        "uploading an artifact",
    )
    expected = {"path": "models/model.bin", "size": len(data), "sha256": digest}
    got = {key: created.get(key) for key in expected}
    ctx.expect(got == expected, f"the upload answered {got}, not {expected}")
    listed = _listed(ctx, run["id"])
    ctx.expect([a.get("path") for a in listed] == ["models/model.bin"], f"listed: {listed}")
    path = ctx.run_path(run["id"], "/artifacts/models%2Fmodel.bin")
    response = ctx.session.get(path)
    if response.status_code != 200:
        ctx.expect_status(response, 200, "downloading it")
    ctx.expect(response.content == data, "the download's bytes differ from the upload's")
    headers = {
        "content-length": str(len(data)),
        "etag": f'"{digest}"',
        "content-sha256": digest,
    }
    shown = {name: response.headers.get(name) for name in headers}
    ctx.expect(shown == headers, f"the download's headers are {shown}, not {headers}")
    head = ctx.session.request("HEAD", path)
    ctx.expect(
        head.status_code == 200
        and head.content == b""
        and head.headers.get("etag") == f'"{digest}"',
        f"HEAD answered {head.status_code} with {len(head.content)} bytes, ETag "
        f"{head.headers.get('etag')}",
    )
    again = ctx.expect_status(
        _put(ctx, run["id"], "models/model.bin", data), 200, "resending the same bytes"
    )
    ctx.expect(again == created, f"the resend answered {again}, not the stored {created}")
    ctx.expect(len(_listed(ctx, run["id"])) == 1, "the resend added an artifact")


@check("artifacts.paths", area="artifacts", tier=Tier.EXTENSION)
def paths(ctx: CheckContext) -> None:
    """A path that would leave its run (`..`, absolute, NUL, a backslash) is 422; nothing stays.

    Each is refused on upload (and on download), and the run's list stays empty.
    """
    run = ctx.new_run("artifact-paths")
    for bad in ("../escape", "a/../../escape", "/etc/passwd", "a\x00b", "a\\b", "C:/x"):
        ctx.expect_status(_put(ctx, run["id"], bad, b"x"), 422, f"uploading to {bad!r}")
        ctx.expect_status(
            ctx.session.get(ctx.run_path(run["id"], f"/artifacts/{quote(bad, safe='')}")),
            422,
            f"downloading {bad!r}",
        )
    listed = _listed(ctx, run["id"])
    ctx.expect(listed == [], f"refused uploads left artifacts: {listed}")


@check("artifacts.integrity", area="artifacts", tier=Tier.EXTENSION)
def integrity(ctx: CheckContext) -> None:
    """Bytes that do not match `Content-SHA256` are 422, a JSON body 415; nothing is kept.

    A missing artifact is 404, and so is an upload to a run that does not exist.
    """
    run = ctx.new_run("artifact-integrity")
    ctx.expect_status(
        _put(ctx, run["id"], "a.bin", b"abc", {"Content-SHA256": "0" * 64}),
        422,
        "bytes that do not match their Content-SHA256",
    )
    ctx.expect_status(
        ctx.session.request(
            "PUT", ctx.run_path(run["id"], "/artifacts/a.bin"), json_body={"not": "bytes"}
        ),
        415,
        "a JSON body",
    )
    listed = _listed(ctx, run["id"])
    ctx.expect(listed == [], f"refused uploads left artifacts: {listed}")
    ctx.expect_status(
        ctx.session.get(ctx.run_path(run["id"], "/artifacts/a.bin")), 404, "a missing artifact"
    )
    ctx.expect_status(
        _put(ctx, f"conformance-no-such-run-{run['id']}", "a.bin", b"abc"),
        404,
        "an upload to a run that does not exist",
    )


@check("artifacts.checkpoints", area="artifacts", tier=Tier.EXTENSION)
def checkpoints(ctx: CheckContext) -> None:
    """An in-action checkpoint lists artifacts, which then never change; unknown ones are 422.

    POST /checkpoints/ with `status` running, `step`, `state` and `artifacts` comes back with
    them; each listed artifact gets the checkpoint's id; other bytes to its path are 409; a
    checkpoint naming an artifact the run does not have is 422.
    """
    run = ctx.new_run("artifact-checkpoints", actions=("train",))
    ctx.expect_status(_put(ctx, run["id"], "train/step-3/w.bin", b"weights-3"), 201, "upload")
    body = {
        "action_name": "train",
        "action_index": 0,
        "status": "running",
        "step": 3,
        "state": {"epoch": 3, "best": 0.25},
        "artifacts": ["train/step-3/w.bin"],
    }
    saved = ctx.expect_status(
        ctx.session.post(ctx.run_path(run["id"], "/checkpoints/"), body),
        201,
        "an in-action checkpoint",
    )
    got = {key: saved.get(key) for key in ("status", "step", "state", "artifacts")}
    wanted = {key: body[key] for key in got}
    ctx.expect(got == wanted, f"the checkpoint came back as {got}, not {wanted}")
    listed = _listed(ctx, run["id"])
    ctx.expect(
        [a.get("checkpoint_id") for a in listed] == [saved["id"]],
        f"the artifact's checkpoint_id is not the checkpoint's: {listed}",
    )
    ctx.expect_status(
        _put(ctx, run["id"], "train/step-3/w.bin", b"other bytes"),
        409,
        "other bytes to an artifact a checkpoint lists",
    )
    ctx.expect_status(
        ctx.session.post(
            ctx.run_path(run["id"], "/checkpoints/"), {**body, "artifacts": ["train/nothing"]}
        ),
        422,
        "a checkpoint naming an artifact the run does not have",
    )


@check("artifacts.deleted-with-run", area="artifacts", tier=Tier.EXTENSION)
def deleted_with_run(ctx: CheckContext) -> None:
    """Deleting a run deletes its artifacts: afterwards they are 404."""
    run = ctx.new_run("artifact-delete")
    ctx.expect_status(_put(ctx, run["id"], "a.txt", b"bye"), 201, "uploading an artifact")
    ctx.expect_status(ctx.session.delete(ctx.run_path(run["id"])), 204, "deleting the run")
    ctx.expect_status(
        ctx.session.get(ctx.run_path(run["id"], "/artifacts/a.txt")), 404, "the artifact"
    )
    ctx.expect_status(ctx.session.get(ctx.run_path(run["id"], "/artifacts")), 404, "the list")
