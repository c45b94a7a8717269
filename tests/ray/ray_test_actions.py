"""Actions of the Ray tests (imported by the Ray tasks from this directory, the workers' cwd)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from pipeline_service.runner import ActionContext


def report(context: ActionContext) -> dict[str, Any]:
    """Prints, logs and reports progress; returns where it ran."""
    assert context.ran_on is not None
    task_id = context.ran_on["task_id"]
    print(f"print from {context.action_name} in Ray task {task_id}")
    logging.getLogger("ray-test").info("logging from %s", context.action_name)
    for step in range(1, 4):
        context.set_progress(step, 3, step="part")
    return {f"{context.action_name}_task": task_id, f"{context.action_name}_pid": os.getpid()}


def hold_licence(context: ActionContext) -> dict[str, Any]:
    """Holds the cluster's one `licence` for a while; returns when it held it (wall clock)."""
    started = time.time()
    time.sleep(context.params["hold"])
    return {"held_from": started, "held_until": time.time()}


def ignore_cancellation(context: ActionContext) -> None:
    """Writes its pid, notes when it sees `cancelled`, and keeps running regardless."""
    Path(context.params["pid_file"]).write_text(str(os.getpid()))
    noted = False
    while True:
        if context.cancelled and not noted:
            Path(context.params["saw_cancel"]).write_text("yes")
            noted = True
        time.sleep(0.05)


def block_first_time(context: ActionContext) -> dict[str, Any]:
    """The first attempt writes its pid and blocks; a later one returns at once."""
    attempts = Path(context.params["attempts"])
    count = len(attempts.read_text().splitlines()) if attempts.exists() else 0
    with attempts.open("a") as file:
        file.write(f"{os.getpid()}\n")
    if count == 0:
        while True:
            time.sleep(0.05)
    return {"attempt": count + 1}


def count(context: ActionContext) -> dict[str, Any]:
    """Appends its name to a file (how often it ran)."""
    with Path(context.params["ran"]).open("a") as file:
        file.write(f"{context.action_name}\n")
    return {}
