"""Actions of a hypothetical user project, executed by `run_worker` in the plugin tests."""

from __future__ import annotations

import logging
import sys
from typing import Any

from pipeline_service.runner import ActionContext


class Count:
    """Counts to params["n"], reporting progress; returns the total for the next action."""

    def run(self, context: ActionContext) -> dict[str, Any]:
        n = int(context.params["n"])
        for i in range(1, n + 1):
            context.set_progress(i, total=n, step="item")
        context.set_metrics(counted=n)
        context.log(f"counted {n}")
        return {"counted": n}


def double(context: ActionContext) -> dict[str, Any]:
    """A function action: doubles what the action before counted."""
    return {"doubled": 2 * context.params["counted"]}


def explode(context: ActionContext) -> None:
    raise RuntimeError("the user's action failed")


def chatty(context: ActionContext) -> None:
    """Prints and logs, as user code does, without the context."""
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    logging.getLogger("user.project").warning("logged a warning")
