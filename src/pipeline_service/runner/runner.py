"""Executing a run's actions in order, checkpointing after each, resuming from checkpoints."""

from __future__ import annotations

import enum
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline_service.errors import ConflictError, PipelineServiceError
from pipeline_service.runner.actions import ActionOutcome, ActionTask, missing_module
from pipeline_service.runner.delivery import LeaseExpired, deliver, is_lease_lost, new_key
from pipeline_service.runner.held_logs import HeldLogs
from pipeline_service.runner.reporter import LogBatch, log_entry
from pipeline_service.wire import TERMINAL_RUN_STATUSES

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.types import ActionDefinition, Checkpoint, RanOn, Run

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RunEnd(enum.StrEnum):
    """How executing a run ended, from the worker's point of view."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"  # the lease was lost or the run ended elsewhere: someone else owns it now
    INTERRUPTED = "interrupted"  # the worker is stopping: the run waits for another worker


@dataclass(eq=False)
class RunControl:
    """Signals from the worker to a run being executed (set from other threads), the lease
    token its writes carry (None: the run is not leased) and when the lease ends.

    `lease_expires` is a `time.monotonic()` time, measured from before the request that took or
    last renewed the lease (so never later than the service's own expiry); the worker stops
    acting for the run `margin` seconds before it.
    """

    lease_token: int | None = None
    _: KW_ONLY
    lease_expires: float | None = None
    margin: float = 0.0
    cancelled: threading.Event = field(init=False, default_factory=threading.Event)
    lost: threading.Event = field(init=False, default_factory=threading.Event)
    stop_after_action: threading.Event = field(init=False, default_factory=threading.Event)
    abort: threading.Event = field(init=False, default_factory=threading.Event)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    _cancel_listeners: list[Callable[[], None]] = field(
        init=False, repr=False, default_factory=list
    )

    @property
    def must_abort(self) -> bool:
        """True when the action in progress has to be stopped now."""
        return self.cancelled.is_set() or self.lost.is_set() or self.abort.is_set()

    def time_left(self) -> float | None:
        """Seconds the worker may still act for the run (its lease's end less the margin;
        negative once past), or None when the run is not leased."""
        if self.lease_expires is None:
            return None
        return self.lease_expires - self.margin - time.monotonic()

    def lease_ended(self) -> bool:
        """True (and `lost` set) once the lease is lost or less than its margin is left: the
        run may be another worker's now, so the action must be killed at once, without grace."""
        left = self.time_left()
        if self.lost.is_set() or (left is not None and left <= 0):
            self.lost.set()
            return True
        return False

    def extend_lease(self, expires: float) -> None:
        """The lease was renewed: it now ends at `expires` (monotonic)."""
        with self._lock:
            if self.lease_expires is None or expires > self.lease_expires:
                self.lease_expires = expires

    def cancel(self) -> None:
        """The run was cancelled: flag it and tell the listeners (once)."""
        with self._lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            listeners = list(self._cancel_listeners)
        for listener in listeners:
            listener()

    @contextmanager
    def listening_for_cancel(self, listener: Callable[[], None]) -> Iterator[None]:
        """Call `listener` (from the thread that cancels) if the run is cancelled meanwhile."""
        with self._lock:
            self._cancel_listeners.append(listener)
        try:
            yield
        finally:
            with self._lock:
                self._cancel_listeners.remove(listener)


ActionExecutor = Callable[[ActionTask, RunControl], ActionOutcome]
"""Runs one action (for a worker: in a child process or a Ray task) and gives its outcome."""


class ResumeError(Exception):
    """A run's checkpoints do not match its pipeline's actions."""


@dataclass(frozen=True)
class ResumePlan:
    """Where a run starts: the first action to execute, its params, the results so far."""

    start_index: int
    params: dict[str, Any]
    results: dict[str, Any]


def plan_resume(
    actions: Sequence[ActionDefinition], run: Run, checkpoints: Sequence[Checkpoint]
) -> ResumePlan:
    """Find where a run continues: after its latest completed checkpoint, if it has one, and
    never after the run's `from_action` (that action and those after it run again)."""
    names = [action["name"] for action in actions]
    from_action = run.get("from_action")
    if from_action is not None and from_action not in names:
        raise ResumeError(f"cannot resume from action {from_action!r}: the pipeline has none")
    kept = checkpoints
    if from_action is not None:
        kept = [c for c in checkpoints if c["action_index"] < names.index(from_action)]
    completed: dict[int, Checkpoint] = {}
    for checkpoint in kept:  # ordered by action_index, then created_at: newest wins
        if checkpoint["status"] == "completed":
            completed[checkpoint["action_index"]] = checkpoint
    if not completed:
        return ResumePlan(0, dict(run["params"] or {}), {})
    last_index = max(completed)
    latest = completed[last_index]
    if last_index >= len(actions) or actions[last_index]["name"] != latest["action_name"]:
        expected = actions[last_index]["name"] if last_index < len(actions) else None
        raise ResumeError(
            f"cannot resume: checkpoint of action {latest['action_name']!r} at index "
            f"{last_index} does not match the pipeline's action at that index ({expected!r})"
        )
    # The run's params win over the params the checkpoint recorded (a resumed run carries the
    # fix); the results of the completed actions then apply in order, as in an unbroken run.
    params = {**(latest["params_snapshot"] or {}), **(run["params"] or {})}
    results: dict[str, Any] = {}
    for index in sorted(completed):
        results.update(completed[index]["result"] or {})
    params.update(results)
    return ResumePlan(last_index + 1, params, results)


class _RunTerminated(Exception):
    """The run was moved to a terminal status by someone else while it was executing."""


class Runner:
    """Executes claimed runs, reporting only through the client.

    Each action runs through `execute` (a worker runs it in a child process or a Ray task);
    with `check_imports`, where `execute` imports the actions from this machine's
    `import_paths`, a run whose actions' modules are not all there fails before its first
    action. After an action completes, a checkpoint records its result and the params it ran
    with; a failure stores "Type: message" as the run's error and the traceback as an error
    log. Unless the executor `honours_resources`, a run whose actions ask for resources is told
    once, in its log, that they run without them. With `next_ran_on` (an executor that knows
    where its next action will run), an action's start says where it runs.

    Every write the runner makes is delivered (see `delivery`): resent under one
    Idempotency-Key while it fails transiently, as long as the lease lasts. A write that
    cannot be delivered in time ends the run as LOST: the lease ran out, it is not ours.
    Writes go through `writer` (by default `client`): a client without retries of its own
    keeps each attempt within the lease.
    """

    def __init__(
        self,
        client: PipelineServiceClient,
        execute: ActionExecutor,
        *,
        work_root: Path,
        import_paths: Sequence[str] = (),
        honours_resources: bool = False,
        writer: PipelineServiceClient | None = None,
        check_imports: bool = False,
        next_ran_on: Callable[[], RanOn | None] | None = None,
        hold_logs_for: float = 0.5,
    ) -> None:
        self._client = client
        self._next_ran_on = next_ran_on
        self._writer = client if writer is None else writer
        self._execute = execute
        self._honours_resources = honours_resources
        self._work_root = work_root
        self._import_paths = tuple(import_paths)
        self._check_imports = check_imports
        self._held = HeldLogs(hold_logs_for)  # log lines going out with a later request

    def run(self, run: Run, control: RunControl) -> RunEnd:
        """Execute `run` (already claimed and `running`) until it ends or must stop."""
        try:
            return self._run(run, control)
        except _RunTerminated:
            return self._ended_elsewhere(run["id"], control)
        except LeaseExpired as exc:
            logger.warning("run %s: %s; leaving it", run["id"], exc)
            control.lost.set()
            return RunEnd.LOST
        finally:
            self._send_held(run["id"], control)

    def _write(
        self,
        control: RunControl,
        what: str,
        method: Callable[..., T],
        *args: Any,
        key: str | None = None,
        **kwargs: Any,
    ) -> T:
        """Deliver one logical write (a method of the client taking `idempotency_key`,
        `lease_token` and `timeout`) under one key (`key`, else a new one): see
        `delivery.deliver`."""
        key = new_key() if key is None else key

        def time_left() -> float | None:
            return 0.0 if control.lost.is_set() else control.time_left()

        return deliver(
            lambda timeout: method(
                *args,
                idempotency_key=key,
                lease_token=control.lease_token,
                timeout=timeout,
                **kwargs,
            ),
            what,
            time_left,
        )

    def _run(self, run: Run, control: RunControl) -> RunEnd:
        run_id = run["id"]
        pipeline = self._client.get_pipeline(run["pipeline_id"])
        actions = pipeline["actions"]
        try:
            plan = plan_resume(actions, run, self._client.get_checkpoints(run_id))
        except ResumeError as exc:
            return self._fail(run_id, None, str(exc), None, control)
        for index in range(plan.start_index, len(actions) if self._check_imports else 0):
            # Every action to run must import before the first one starts: not hours later.
            problem = missing_module(actions[index]["entrypoint"], self._import_paths)
            if problem is not None:
                return self._fail(run_id, (actions[index]["name"], index), problem, None, control)
        work_dir = Path(run["work_dir"] or self._work_root / run_id)  # each run its own
        params, results = plan.params, plan.results
        if plan.start_index:
            self._skip(run, actions[: plan.start_index], control)
        if not self._honours_resources:
            self._note_resources(run_id, actions[plan.start_index :], control)
        for index in range(plan.start_index, len(actions)):
            action = actions[index]
            if control.must_abort:
                return self._ended_elsewhere(run_id, control)
            if control.stop_after_action.is_set():
                return RunEnd.INTERRUPTED
            name = action["name"]
            ran_on = None if self._next_ran_on is None else self._next_ran_on()
            with self._guard(run_id, control):
                entry = {"name": name, "status": "running", "progress": 0}
                self._report_action(run_id, index, entry, control, ran_on)
                if self._held.due():
                    self._send(run_id, control, self._held.take())
            started = f"Action {name!r} started ({action['entrypoint']})"
            first_logs = self._held.give_to_action(log_entry(started, "info", name))
            task = ActionTask(
                run_id=run_id,
                action_name=name,
                action_index=index,
                entrypoint=action["entrypoint"],
                params=params,
                work_dir=str(work_dir),
                import_paths=self._import_paths,
                lease_token=control.lease_token,
                resources=action.get("resources"),
                runtime_env=pipeline.get("runtime_env"),
                ran_on_reported=ran_on is not None,
                first_logs=first_logs,
            )
            announced = threading.Event()
            announce = functools.partial(self._announce_cancel, run_id, name, control, announced)
            with control.listening_for_cancel(announce):
                if control.cancelled.is_set():
                    announce()
                outcome = self._execute(task, control)
            self._held.action_ended(first_logs, outcome.first_logs_sent)
            if control.must_abort:
                return self._stopped_during(run_id, name, index, control, announced)
            if not outcome.ok:
                error = str(outcome.error)
                return self._fail(
                    run_id, (name, index), error, outcome.traceback, control, outcome.ran_on
                )
            result = outcome.result or {}
            with self._guard(run_id, control):
                # Correct on its own (progress and total together), whatever reached the
                # service from the action before.
                completed = {
                    "name": name,
                    "status": "completed",
                    "progress": outcome.total or 1.0,
                    "total": outcome.total,
                    "metrics": outcome.metrics,
                }
                self._report_action(run_id, index, completed, control, outcome.ran_on)
                self._write(
                    control,
                    f"recording the checkpoint of action {name!r} of run {run_id}",
                    self._writer.create_checkpoint,
                    run_id,
                    name,
                    index,
                    status="completed",
                    params_snapshot=params,
                    result=result,
                    artifacts_path=str(work_dir),
                )
                done = f"Action {name!r} completed in {outcome.duration:.2f} s"
                self._log(run_id, name, done, control, hold=True)
            params = {**params, **result}
            results.update(result)
        with self._guard(run_id, control):
            self._send_held(run_id, control)
            self._write(
                control,
                f"completing run {run_id}",
                self._writer.update_run,
                run_id,
                status="completed",
                result=results,
            )
        return RunEnd.COMPLETED

    def _report_action(
        self,
        run_id: str,
        index: int,
        entry: dict[str, Any],
        control: RunControl,
        ran_on: RanOn | None = None,
        *,
        current: bool = True,
    ) -> None:
        """Report the progress `entry` of the action at `index` (with where it runs, when
        known; as the run's current action unless not `current`)."""
        if ran_on is not None:
            entry = {**entry, "ran_on": dict(ran_on)}
        name = entry["name"]
        self._write(
            control,
            f"reporting action {name!r} of run {run_id} {entry['status']}",
            self._writer.report_progress,
            run_id,
            current_action_index=index,
            action_progress=entry,
            **({"current_action": name} if current else {}),
        )

    def _note_resources(
        self, run_id: str, actions: Sequence[ActionDefinition], control: RunControl
    ) -> None:
        asking = [
            f"{a['name']!r} {json.dumps(a['resources'])}" for a in actions if a.get("resources")
        ]
        if asking:
            message = (
                f"Resource requests ({', '.join(asking)}) are honoured by the Ray executor only "
                "(`pipeline-service worker --executor ray`); this worker runs the actions as "
                "child processes without reserving anything"
            )
            with self._guard(run_id, control):
                self._log(run_id, None, message, control, level="warning")

    def _skip(self, run: Run, skipped: Sequence[ActionDefinition], control: RunControl) -> None:
        states = [state.get("status") for state in run["progress"]]
        for index, action in enumerate(skipped):
            name = action["name"]
            if index < len(states) and states[index] in ("completed", "skipped"):
                continue  # already reported by the worker that ran it (or skipped it) before
            with self._guard(run["id"], control):
                entry = {"name": name, "status": "skipped"}
                self._report_action(run["id"], index, entry, control, current=False)
        names = ", ".join(repr(action["name"]) for action in skipped)
        with self._guard(run["id"], control):
            self._log(run["id"], None, f"Resuming from checkpoint: skipping {names}", control)

    def _fail(
        self,
        run_id: str,
        action: tuple[str, int] | None,
        error: str,
        traceback: str | None,
        control: RunControl,
        ran_on: RanOn | None = None,
    ) -> RunEnd:
        with self._guard(run_id, control):
            if action is not None:
                name, index = action
                failed = {"name": name, "status": "failed", "error": error}
                self._report_action(run_id, index, failed, control, ran_on)
            where = f"Action {action[0]!r} failed" if action else "Run failed"
            message = f"{where}: {error}"
            if traceback:
                message = f"{message}\n{traceback.rstrip()}"
            self._log(run_id, action[0] if action else None, message, control, level="error")
            self._write(
                control,
                f"failing run {run_id}",
                self._writer.update_run,
                run_id,
                status="failed",
                error=error,
            )
        return RunEnd.FAILED

    def _announce_cancel(
        self, run_id: str, name: str, control: RunControl, announced: threading.Event
    ) -> None:
        """The closing line of a cancelled run, sent as soon as the worker learns of the
        cancellation (before the action is stopped, which may take the kill grace): log
        followers, who wait a short grace after the run ended, get it."""
        if announced.is_set():
            return
        announced.set()
        try:
            message = f"Run cancelled during action {name!r}"
            self._log(run_id, name, message, control, level="warning")
        except (PipelineServiceError, LeaseExpired) as exc:
            logger.info("could not log the cancellation of run %s: %s", run_id, exc)

    def _stopped_during(
        self, run_id: str, name: str, index: int, control: RunControl, announced: threading.Event
    ) -> RunEnd:
        end = self._ended_elsewhere(run_id, control)
        if end is RunEnd.CANCELLED:
            self._announce_cancel(run_id, name, control, announced)
            try:  # best effort: the run is terminal already, the action's entry may stay as is
                entry = {"name": name, "status": "cancelled"}
                self._report_action(run_id, index, entry, control, current=False)
            except (PipelineServiceError, LeaseExpired) as exc:
                logger.info("could not mark action %r of run %s cancelled: %s", name, run_id, exc)
        return end

    def _ended_elsewhere(self, run_id: str, control: RunControl) -> RunEnd:
        if control.cancelled.is_set():
            return RunEnd.CANCELLED
        if control.lost.is_set():
            return RunEnd.LOST
        if control.abort.is_set():
            return RunEnd.INTERRUPTED
        try:
            status = self._client.get_run(run_id)["status"]
        except PipelineServiceError:
            return RunEnd.LOST
        return RunEnd.CANCELLED if status == "cancelled" else RunEnd.LOST

    @contextmanager
    def _guard(self, run_id: str, control: RunControl) -> Iterator[None]:
        """Turn a 409 on a run that someone else moved to a terminal status, or whose lease
        another worker holds now (the lost flag is set then), into _RunTerminated."""
        try:
            yield
        except ConflictError as exc:
            if is_lease_lost(exc):
                control.lost.set()
                raise _RunTerminated(run_id) from None
            try:
                status = self._client.get_run(run_id)["status"]
            except PipelineServiceError:
                status = None
            if status in TERMINAL_RUN_STATUSES:
                raise _RunTerminated(run_id) from None
            raise

    def _log(
        self,
        run_id: str,
        action_name: str | None,
        message: str,
        control: RunControl,
        level: str = "info",
        *,
        hold: bool = False,
    ) -> None:
        """Add a line to the run's log, after the lines held before it; a line `hold`ing (an
        action's "completed") goes with a later request instead (see `held_logs`)."""
        entry = log_entry(message, level, action_name)
        if hold:
            self._held.hold(entry)
        else:
            self._send(run_id, control, self._held.take(entry))

    def _send(self, run_id: str, control: RunControl, batches: list[LogBatch]) -> None:
        for batch in batches:
            self._write(
                control,
                f"logging to run {run_id}",
                self._writer.append_logs,
                run_id,
                batch.entries,
                key=batch.key,
            )

    def _send_held(self, run_id: str, control: RunControl) -> None:
        """Send the held log lines now (none: nothing to do). A failure is only logged: the
        run is not ours any more, and the write after this one (if any) learns so too."""
        try:
            self._send(run_id, control, self._held.take())
        except (PipelineServiceError, LeaseExpired) as exc:
            logger.info("could not send the last log lines of run %s: %s", run_id, exc)
