"""Running the selected checks against a target and collecting a Report."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from pipeline_service import hosts
from pipeline_service.conformance.context import CheckContext, Options
from pipeline_service.conformance.registry import (
    Check,
    CheckFailed,
    NotApplicable,
    all_checks,
    select,
)
from pipeline_service.conformance.report import Outcome, Report, Result


class TargetRefused(Exception):
    """The target may not be checked (not loopback without the test-deployment flag)."""


def is_loopback(url: str) -> bool:
    """True when every address the URL's host resolves to is a loopback address."""
    host = urlsplit(url).hostname
    if not host:
        return False
    return hosts.is_loopback(host)


def check_target(url: str, *, allow_remote: bool) -> None:
    """Refuse a URL that is not http(s) on loopback, unless told it is a test deployment."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise TargetRefused(f"{url!r} is not an http:// or https:// URL")
    if not is_loopback(url) and not allow_remote:
        raise TargetRefused(
            f"{url} is not a loopback address. The kit creates and deletes data of its own; "
            "pass --test-deployment if this server is a test deployment you may write to."
        )


def run_checks(
    options: Options,
    *,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Run the checks `options` select, in order, then delete what they created."""
    selected = select(
        all_checks(), depth=options.depth, core_only=options.core_only, only=options.only
    )
    report = Report(target=options.base_url, depth=options.depth.name.lower(), seed=options.seed)
    report.core_only = options.core_only
    ctx = CheckContext(options)
    ctx.selected = {item.id for item in selected}
    try:
        _probe(ctx, report)
        if report.unreachable is None:
            for item in selected:
                result = _run_one(ctx, item)
                report.results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        report.cleanup_problems = ctx.cleanup()
        ctx.close()
    return report


def _probe(ctx: CheckContext, report: Report) -> None:
    try:
        response = ctx.session.get("/health", auth=False)
    except httpx.HTTPError as exc:
        report.unreachable = f"cannot reach {ctx.options.base_url}: {exc}"
        return
    if response.status_code != 200:
        report.unreachable = f"GET /health answered {response.status_code}: {response.text[:200]}"


def _run_one(ctx: CheckContext, item: Check) -> Result:
    started = time.monotonic()
    created_before = len(ctx.pipelines)
    with ctx.fresh_history():
        try:
            item.function(ctx)
        except CheckFailed as failure:
            outcome, message, steps = Outcome.FAILED, failure.message, failure.steps
        except NotApplicable as reason:
            outcome, message, steps = Outcome.SKIPPED, str(reason), []
        except httpx.HTTPError as exc:
            last = ctx.last()
            outcome = Outcome.FAILED
            message = f"the request failed: {type(exc).__name__}: {exc}"
            steps = [last.curl()] if last is not None else []
        except Exception as exc:  # a check that breaks is a failure to report, not a crash
            last = ctx.last()
            outcome = Outcome.ERROR
            message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            steps = [last.curl()] if last is not None else []
        else:
            outcome, message, steps = Outcome.PASSED, ctx.note, []
    kept: list[str] = []
    if outcome in (Outcome.FAILED, Outcome.ERROR) and ctx.options.keep_failed:
        kept = ctx.pipelines[created_before:]  # left for replaying the reproduction lines
        del ctx.pipelines[created_before:]
    return Result(
        check_id=item.id,
        area=item.area,
        tier=item.tier.value,
        title=item.title,
        description=item.description,
        outcome=outcome,
        message=message,
        reproduce=steps,
        duration=time.monotonic() - started,
        kept_pipelines=kept,
    )
