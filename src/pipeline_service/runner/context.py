"""ActionContext: what an action receives when it runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_service.runner.checkpoints import ActionCheckpoints, FileArg, SavedCheckpoint
    from pipeline_service.runner.reporter import ActionReporter
    from pipeline_service.types import RanOn


class ActionContext:
    """The run and action an action belongs to, and its channel back to the service.

    `params` holds the run's params merged with the dict results of the actions before;
    `work_dir` is the run's working directory (created, shared by its actions); `ran_on` says
    where the action runs (executor, node, task id).
    Progress, metrics and logs are sent in the background (progress coalesced, logged metrics
    and log lines batched, every one kept), so calling them in a tight loop is cheap. Long
    actions should check `cancelled` and return early, and may `save_checkpoint` as they go:
    run again (resumed, or taken over after their worker died), they find it in
    `last_checkpoint` and continue from there.
    """

    def __init__(
        self,
        *,
        run_id: str,
        action_name: str,
        action_index: int,
        params: dict[str, Any],
        work_dir: Path,
        reporter: ActionReporter,
        cancelled: Callable[[], bool],
        checkpoints: ActionCheckpoints | None = None,
        ran_on: RanOn | None = None,
    ) -> None:
        self.run_id = run_id
        """The id of the run this action belongs to."""
        self.action_name = action_name
        """This action's name in its pipeline."""
        self.action_index = action_index
        """This action's position in its pipeline, from 0."""
        self.params = params
        """The run's params merged with the dict results of the actions before this one."""
        self.work_dir = work_dir
        """The run's working directory (`<work root>/<run id>`), created, shared by its actions."""
        self._reporter = reporter
        self._cancelled = cancelled
        self._checkpoints = checkpoints
        self.ran_on = ran_on
        """Where this action runs: {"executor": "process" or "ray", "node", "task_id"} (a Ray
        task's id, a process id), or None when run in place (tests, `run_worker`)."""

    def set_progress(
        self,
        current: float,
        total: float | None = None,
        step: str | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress: `current` of `total` units, or a fraction in [0, 1] without a total.

        `total`, `step` and `message` keep their previous value when not given. A value out of
        range raises ValueError at once (the service would refuse it).
        """
        self._reporter.set_progress(current, total, step, message)

    def log(self, message: object, level: str = "info") -> None:
        """Add a line to the run's log, tagged with this action."""
        self._reporter.log(message, level)

    def set_metrics(self, **metrics: Any) -> None:
        """Set the action's current metrics (merged with those set before): the values shown
        beside its progress, sent with the next progress report (coalesced)."""
        self._reporter.set_metrics(metrics)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Log one point per metric at `step` (epoch, iteration…; one more than the last step
        when not given, 0 first): every call is kept, however fast, sent in batches in the
        background. NaN and ±inf are recorded as null with one warning naming the metric (they
        never raise); a value that is not a number is TypeError."""
        self._reporter.log_metrics(metrics, step)

    def save_checkpoint(
        self,
        state: dict[str, Any] | None = None,
        *,
        step: int | None = None,
        files: FileArg | Sequence[FileArg] | None = None,
    ) -> SavedCheckpoint:
        """Save where this action is: a JSON `state`, a `step` (epoch, iteration…) and `files`
        (paths of files or directories), uploaded to the service's artifact store.

        Returns once the files and the record are stored (fenced by the worker's lease); it
        then is `last_checkpoint`. Files whose bytes did not change since the latest checkpoint
        are not uploaded again. A state that is not JSON (or holds NaN/inf) is ValueError, a
        missing file FileNotFoundError, both before anything is sent; a store or service that
        refuses or fails is CheckpointError, and the latest checkpoint stays the one before.
        """
        return self._require_checkpoints().save(state, step=step, files=files)

    @property
    def last_checkpoint(self) -> SavedCheckpoint | None:
        """The latest in-action checkpoint of this action in this run (a resumed run includes
        the one it resumed), or None: `.state`, `.step`, and `.path`, a directory in this
        worker's work dir holding its files (downloaded when not already there)."""
        return self._require_checkpoints().latest()

    def _require_checkpoints(self) -> ActionCheckpoints:
        if self._checkpoints is None:
            raise RuntimeError("this context has no connection to the service's checkpoints")
        return self._checkpoints

    @property
    def cancelled(self) -> bool:
        """True once the run has been cancelled (or its lease lost): stop working and return."""
        return self._cancelled()

    def __repr__(self) -> str:
        return (
            f"ActionContext(run_id={self.run_id!r}, action_name={self.action_name!r}, "
            f"action_index={self.action_index}, work_dir={str(self.work_dir)!r})"
        )
