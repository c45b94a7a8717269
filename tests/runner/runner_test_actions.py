"""Actions the runner tests execute (imported by workers' child processes from this directory).

`step` is the workhorse: it appends "start/done <run> <action>" lines to `params["marker"]`, so a
test can count exactly how often each action ran, and can sleep, fail until a file exists, or
wait for cancellation, as its params say.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _mark(context: Any, event: str) -> None:
    marker = context.params.get("marker")
    if marker:
        with open(marker, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {context.run_id} {context.action_name}\n")


def step(context: Any) -> dict[str, Any]:
    _mark(context, "start")
    params = context.params
    duration = float(params.get("sleep", {}).get(context.action_name, 0))
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < duration:
        if context.cancelled:
            _mark(context, "cancelled")
            return {}
        context.set_progress(elapsed / duration)
        time.sleep(0.02)
    if params.get("fail_at") == context.action_name and not Path(params["fix_path"]).exists():
        raise RuntimeError(f"input missing: {params['fix_path']}")
    context.log(f"{context.action_name} ran with order={params.get('order', [])}")
    context.set_metrics(index=context.action_index)
    _mark(context, "done")
    return {"order": [*params.get("order", []), context.action_name]}


class ClassStep:
    """A class entrypoint doing what `step` does."""

    def run(self, context: Any) -> dict[str, Any]:
        return step(context)


def describe_context(context: Any) -> dict[str, Any]:
    return {
        "run_id": context.run_id,
        "action_name": context.action_name,
        "action_index": context.action_index,
        "params": context.params,
        "work_dir": str(context.work_dir),
        "work_dir_exists": context.work_dir.is_dir(),
        "cancelled": context.cancelled,
    }


def overshoot(context: Any) -> None:
    context.set_progress(5)


def boom(context: Any) -> None:
    raise ValueError("boom")


def returns_list(context: Any) -> list[int]:
    return [1, 2, 3]


def returns_unserialisable(context: Any) -> dict[str, Any]:
    return {"when": object()}


def crash(context: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def progress_flood(context: Any) -> dict[str, int]:
    total = 1_000_000
    for done in range(1, total + 1):
        context.set_progress(done, total, step="items")
    return {"items": total}


def log_every_call(context: Any) -> None:
    for number in range(int(context.params.get("lines", 10))):
        context.log(f"line {number}", level="debug")


def ignore_cancel(context: Any) -> None:
    _mark(context, "start")
    time.sleep(float(context.params.get("sleep", 30)))
    _mark(context, "done")


class NoRun:
    """A class without a run method."""


class NeedsArguments:
    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, context: Any) -> None:
        return None


NOT_CALLABLE = 42


def start_sleeper(context: Any) -> dict[str, Any]:
    """Starts `sleep 600` and leaves it running; returns once cancelled."""
    import subprocess

    sleeper = subprocess.Popen(["sleep", "600"])
    Path(context.params["pid_file"]).write_text(str(sleeper.pid))
    _mark(context, "start")
    while not context.cancelled:
        time.sleep(0.02)
    _mark(context, "cancelled")
    return {}
