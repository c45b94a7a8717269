"""Action progress: merged into its entry, found by name or index, never lost under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pipeline_service.conformance.context import CheckContext
from pipeline_service.conformance.http import Exchange
from pipeline_service.conformance.registry import Depth, Tier, check

REPORTERS = 8


@check("progress.merge", area="progress", tier=Tier.CORE)
def merge(ctx: CheckContext) -> None:
    """An `action_progress` update merges into the action's entry: fields not sent are kept.

    After reporting status, progress, step, message and metrics for an action, a report
    that sends only `progress` leaves every other field as it was. GET /progress shows the same
    entry as the run.
    """
    run = ctx.new_run("merge", actions=("fetch", "train"))
    path = ctx.run_path(run["id"], "/progress")
    full = {
        "name": "train",
        "status": "running",
        "progress": 0.3,
        "progress_step": "epoch",
        "message": "warming up",
        "metrics": {"loss": 0.5},
    }
    ctx.expect_status(ctx.session.post(path, {"action_progress": full}), 200, "a full report")
    first = ctx.last()
    reply = ctx.expect_status(
        ctx.session.post(path, {"action_progress": {"name": "train", "progress": 0.4}}),
        200,
        "a report with only `progress`",
    )
    partial = ctx.last()
    entry = next((e for e in reply["progress"] if e.get("name") == "train"), None)
    ctx.expect(entry is not None, "the run has no progress entry named 'train'")
    assert entry is not None
    lost = {
        key: (value, entry.get(key))
        for key, value in {**full, "progress": 0.4}.items()
        if entry.get(key) != value
    }
    ctx.expect(
        not lost,
        "fields not sent were not kept (sent, now): "
        + ", ".join(f"{key} {old!r} → {new!r}" for key, (old, new) in lost.items()),
        first,
        partial,
    )
    untouched = next(e for e in reply["progress"] if e.get("name") == "fetch")
    ctx.expect(
        untouched.get("status") == "pending",
        f"reporting on 'train' changed 'fetch' to {untouched.get('status')!r}",
        partial,
    )
    polled = ctx.expect_status(ctx.session.get(path), 200, "GET /progress")
    ctx.expect(
        polled["progress"] == reply["progress"],
        "GET /progress does not show the entries the report returned",
    )


@check("progress.unknown-action", area="progress", tier=Tier.CORE)
def unknown_action(ctx: CheckContext) -> None:
    """An `action_progress` naming no action of the run, or an out-of-range index, is 422.

    The entry is found by `current_action_index` when sent, else by name; an index past the
    last action, a name that is not the action at that index, or an unknown name is refused
    (never silently dropped) and the run is unchanged.
    """
    run = ctx.new_run("unknown-action", actions=("a", "b"))
    path = ctx.run_path(run["id"], "/progress")
    for body, what in (
        ({"action_progress": {"name": "nope", "progress": 0.5}}, "an unknown action name"),
        (
            {"current_action_index": 5, "action_progress": {"name": "a", "progress": 0.5}},
            "an index past the last action",
        ),
        (
            {"current_action_index": 1, "action_progress": {"name": "a", "progress": 0.5}},
            "a name that is not the action at that index",
        ),
        (
            {"action_progress": {"name": "a", "progress": 1.5}},
            "progress above 1 without a total",
        ),
    ):
        ctx.expect_status(ctx.session.post(path, body), 422, what)
    after = ctx.get_run(run["id"])
    ctx.expect(
        [e.get("progress") for e in after["progress"]] == [0, 0],
        f"refused reports changed the run's progress: {after['progress']!r}",
    )


@check("progress.concurrent", area="progress", tier=Tier.CORE)
def concurrent(ctx: CheckContext) -> None:
    """No update is lost when 8 reporters post progress for the same run at the same time.

    Each reporter owns one action of an 8-action run and reports it several times, all
    reporters starting together; afterwards every action shows its reporter's last report.
    """
    names = [f"step{i}" for i in range(REPORTERS)]
    run = ctx.new_run("concurrent", actions=names)
    path = ctx.run_path(run["id"], "/progress")
    rounds = 3 if ctx.options.depth is Depth.QUICK else 6
    barrier = threading.Barrier(REPORTERS)
    refused: list[str] = []

    def report(name: str) -> None:
        with httpx.Client(base_url=ctx.session.base_url, timeout=30) as http:
            barrier.wait(timeout=30)
            for n in range(1, rounds + 1):
                body = {"action_progress": {"name": name, "progress": n, "total": rounds}}
                response = http.post(path, json=body, headers=ctx.session.auth_headers())
                if response.status_code != 200:
                    refused.append(f"{name}: {response.status_code} {response.text[:100]}")

    with ThreadPoolExecutor(REPORTERS) as pool:
        list(pool.map(report, names))
    example = Exchange(
        "POST",
        f"{ctx.session.base_url}{path}",
        {**ctx.session.auth_headers(), "Content-Type": "application/json"},
        f'{{"action_progress":{{"name":"step0","progress":{rounds},"total":{rounds}}}}}',
        None,
        token=ctx.session.token,
    )
    ctx.expect(not refused, f"concurrent reports were refused: {refused[:3]}", example)
    after = ctx.get_run(run["id"])
    by_name: dict[str, Any] = {e.get("name"): e for e in after["progress"]}
    lost = [name for name in names if by_name.get(name, {}).get("progress") != rounds]
    ctx.expect(
        not lost,
        f"{len(lost)} of {REPORTERS} concurrent reporters lost their update "
        f"(expected progress {rounds}): "
        + ", ".join(f"{n}={by_name.get(n, {}).get('progress')!r}" for n in lost)
        + f" — {REPORTERS} such requests (one per action) at once, then",
        example,
        ctx.last(),
    )
