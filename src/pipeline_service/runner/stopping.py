"""When an executor stops the action it runs: at once when the lease ends, after a grace period
when the run is cancelled or the worker aborts. Shared by the process and Ray executors, which
differ only in how they ask an action to stop and how they kill it."""

from __future__ import annotations

import time
from collections.abc import Callable

from pipeline_service.runner.actions import ActionOutcome, ActionTask
from pipeline_service.runner.runner import RunControl


class ActionStopper:
    """Checked by an executor each time it polls its running action.

    `check` kills the action at once (`kill`) when the lease ended: the run may be another
    worker's now. When the action must abort, it asks it once (`ask`: the action's
    `context.cancelled` turns true), then kills it once `grace_period` has passed. Either way
    it gives the outcome to report; None while the action may go on.
    """

    def __init__(
        self, task: ActionTask, control: RunControl, grace_period: float, started: float
    ) -> None:
        self.name = task.action_name
        self._control = control
        self._grace_period = grace_period
        self._started = started
        self._asked_at: float | None = None

    def check(self, ask: Callable[[], object], kill: Callable[[], object]) -> ActionOutcome | None:
        name = self.name
        if self._control.lease_ended():
            kill()
            return self.unfinished(f"Action {name!r} was stopped: its lease ended")
        if self._control.must_abort:
            now = time.monotonic()
            if self._asked_at is None:
                self._asked_at = now
                ask()
            elif now - self._asked_at > self._grace_period:
                kill()
                return self.unfinished(f"Action {name!r} was stopped")
        return None

    def unfinished(self, error: str) -> ActionOutcome:
        """The outcome of an action that did not finish: `error`, and how long it ran."""
        return ActionOutcome(error=error, duration=time.monotonic() - self._started)
