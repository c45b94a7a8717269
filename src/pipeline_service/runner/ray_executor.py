"""Running each action as a Ray task (`pipeline-service worker --executor ray`, extra `ray`).

The leased worker stays the orchestrator (claims, lease renewals, fencing, checkpoints after
each action, resume); Ray only executes. Each action is one Ray task with `max_retries=0`
(retrying is the service's business) that asks Ray for exactly the action's `resources` and
ships the worker's and the pipeline's `runtime_env` (local directories uploaded by the worker,
as `ray.init` does for a job). The task talks to the service itself, with the run's lease
token, exactly as a child process does: progress, logs, metrics, print() and `logging`
capture, in-action checkpoints, and its result back to the worker.

When the lease is lost, or less than its safety margin is left, the task is killed at once
(`force=True`, no grace): the run may be another worker's now.

Stopping (the run is cancelled, the worker aborts): `ray.cancel(ref)`, which
the task turns into `context.cancelled` (it handles the SIGINT Ray sends instead of raising
KeyboardInterrupt), then `ray.cancel(ref, force=True)` — the task's process is killed — once
the grace period has passed. A worker that dies takes its tasks with it: a Ray task is owned
by the driver that submitted it, and Ray kills a dead driver's running tasks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pipeline_service.runner.actions import ActionOutcome, ActionTask
from pipeline_service.runner.process import ClientSettings, run_isolated
from pipeline_service.runner.runner import RunControl
from pipeline_service.runner.stopping import ActionStopper
from pipeline_service.types import ActionResources, RanOn, RuntimeEnv

if TYPE_CHECKING:
    from ray import ObjectRef

_POLL_INTERVAL = 0.05

logger = logging.getLogger(__name__)


class RayUnavailableError(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def ray_options(resources: ActionResources | None) -> dict[str, Any]:
    """The Ray task options that request an action's `resources` (Ray's defaults otherwise)."""
    options: dict[str, Any] = {}
    if not resources:
        return options
    if "cpus" in resources:
        options["num_cpus"] = resources["cpus"]
    if "gpus" in resources:
        options["num_gpus"] = resources["gpus"]
    if "memory" in resources:
        options["memory"] = resources["memory"]
    if resources.get("custom"):
        options["resources"] = dict(resources["custom"])
    return options


def merge_runtime_envs(
    base: Mapping[str, Any] | None, pipeline: RuntimeEnv | None
) -> dict[str, Any]:
    """The worker's runtime_env (`--ray-runtime-env`) with the pipeline's over it: its
    `working_dir` and `py_modules` replace the worker's, its `env_vars` add to them."""
    merged = dict(base or {})
    for key, value in (pipeline or {}).items():
        if value is None:
            continue
        if key == "env_vars":
            merged["env_vars"] = {**merged.get("env_vars", {}), **value}  # type: ignore[dict-item]
        else:
            merged[key] = value
    return merged


def load_runtime_env(value: str) -> dict[str, Any]:
    """A runtime_env from JSON text or from a JSON file's path; ValueError saying what is wrong."""
    text, where = value, "--ray-runtime-env"
    if not value.lstrip().startswith("{"):
        try:
            with open(value, encoding="utf-8") as file:
                text, where = file.read(), value
        except OSError as exc:
            raise ValueError(
                f"--ray-runtime-env: {value!r} is neither a JSON object nor a readable file "
                f"({exc.strerror})"
            ) from None
    try:
        env = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(env, dict):
        raise ValueError(f"{where}: a runtime_env is a JSON object, not {type(env).__name__}")
    return env


def _describe_shipped(runtime_env: Mapping[str, Any]) -> str:
    shipped = {k: runtime_env[k] for k in ("working_dir", "py_modules") if runtime_env.get(k)}
    if not shipped:
        return "no code was shipped with the task (no working_dir or py_modules in runtime_env)"
    return "shipped with the task: " + ", ".join(f"{k}={v!r}" for k, v in shipped.items())


@contextlib.contextmanager
def _sigint_sets(cancelled: threading.Event) -> Iterator[None]:
    """While the action runs, the SIGINT of `ray.cancel(ref)` sets `cancelled` (the action sees
    `context.cancelled`) instead of raising KeyboardInterrupt in it."""
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: cancelled.set())
    except ValueError:  # not the main thread (a threaded actor): Ray's KeyboardInterrupt stays
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _action_task(
    task: ActionTask,
    settings: ClientSettings,
    flush_interval: float,
    runtime_env: dict[str, Any],
) -> ActionOutcome:
    """The body of the Ray task: run the action, reporting to the service directly."""
    import ray

    context = ray.get_runtime_context()
    ran_on: RanOn = {
        "executor": "ray",
        "node": context.get_node_id(),
        "task_id": context.get_task_id(),
    }
    hint = (
        f"{_describe_shipped(runtime_env)}; looked for it on Ray node {ran_on['node']} in "
        f"{os.getcwd()!r} and on sys.path {sys.path!r}"
    )
    cancelled = threading.Event()
    with _sigint_sets(cancelled):
        return run_isolated(
            task,
            settings,
            cancelled.is_set,
            flush_interval=flush_interval,
            ran_on=ran_on,
            import_hint=hint,
        )


class RayExecutor:
    """An ActionExecutor running each action as a Ray task on a cluster (or a local Ray).

    `address`: None starts a local Ray in this process (unless Ray's `RAY_ADDRESS` names a
    cluster); `auto`, `HOST:PORT` or `ray://…` connects to a running cluster (token
    authentication through Ray's own variables: `RAY_AUTH_TOKEN` or `RAY_AUTH_TOKEN_PATH`).
    `runtime_env` is shipped with every task, the pipeline's own `runtime_env` over it.
    """

    name = "ray"
    honours_resources = True

    def __init__(
        self,
        settings: ClientSettings,
        *,
        address: str | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        grace_period: float = 2.0,
        flush_interval: float = 0.5,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise RayUnavailableError(
                "the Ray executor needs Ray: pip install 'pipeline-service[ray]'"
            ) from None
        self._ray = ray
        self._settings = settings
        self._runtime_env = dict(runtime_env or {})
        self._grace_period = grace_period
        self._flush_interval = flush_interval
        self._started_ray = False
        if not ray.is_initialized():
            self._connect(address)
            self._started_ray = True
        self._remote = ray.remote(_action_task)

    def _connect(self, address: str | None) -> None:
        options: dict[str, Any] = {"address": address, "logging_level": "WARNING"}
        if address is None and not os.environ.get("RAY_ADDRESS"):  # Ray's own variable
            options["include_dashboard"] = False
        try:
            self._ray.init(**options)
        except Exception as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray"
            raise RayUnavailableError(f"cannot start or reach {where}: {exc}") from exc

    def close(self) -> None:
        """Disconnect from Ray (stopping the local Ray this executor started)."""
        if self._started_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._started_ray = False

    def __call__(self, task: ActionTask, control: RunControl) -> ActionOutcome:
        started = time.monotonic()
        runtime_env = merge_runtime_envs(self._runtime_env, task.runtime_env)
        options: dict[str, Any] = {
            "max_retries": 0,
            "name": f"{task.action_name} (run {task.run_id})",
            **ray_options(task.resources),
        }
        if runtime_env:
            try:
                options["runtime_env"] = self._shipped(runtime_env)
            except Exception as exc:  # a missing directory, a package too large, no Ray node
                return ActionOutcome(
                    error=(
                        f"Action {task.action_name!r}: cannot ship its runtime_env "
                        f"{runtime_env!r} to Ray: {type(exc).__name__}: {exc}"
                    ),
                    duration=time.monotonic() - started,
                )
        ref = self._remote.options(**options).remote(
            task, self._settings, self._flush_interval, runtime_env
        )
        stopper = ActionStopper(task, control, self._grace_period, started)
        finished = False
        try:
            outcome = self._wait(ref, stopper)
            finished = True
            return outcome
        finally:
            if not finished:  # the worker itself is failing: leave nothing running
                self._ray.cancel(ref, force=True)

    def _shipped(self, runtime_env: dict[str, Any]) -> dict[str, Any]:
        """`runtime_env` with its local `working_dir` and `py_modules` uploaded to the cluster
        (as `ray.init` does for a job: Ray takes local directories at the job level only).
        Ray names a package by the hash of its content, so unchanged code is not sent again."""
        from ray._private.runtime_env.py_modules import upload_py_modules_if_needed
        from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

        node = self._ray._private.worker.global_worker.node
        if node is None:
            raise RuntimeError(
                "a Ray Client (ray://) cannot upload local directories per task; give URIs "
                "(s3://…, https://…/x.zip) or connect with a cluster address"
            )
        scratch_dir = node.get_runtime_env_dir_path()
        env = upload_py_modules_if_needed(
            dict(runtime_env), include_gitignore=True, scratch_dir=scratch_dir, logger=logger
        )
        shipped: dict[str, Any] = upload_working_dir_if_needed(
            env, include_gitignore=True, scratch_dir=scratch_dir, logger=logger
        )
        return shipped

    def _wait(self, ref: ObjectRef[ActionOutcome], stopper: ActionStopper) -> ActionOutcome:
        ray = self._ray
        while True:
            ready, _ = ray.wait([ref], timeout=_POLL_INTERVAL)
            if ready:
                return self._outcome(ref, stopper)
            # Asked to stop, the task's context.cancelled turns true; killed, its process ends.
            stopped = stopper.check(lambda: ray.cancel(ref), lambda: ray.cancel(ref, force=True))
            if stopped is not None:
                return stopped

    def _outcome(self, ref: ObjectRef[ActionOutcome], stopper: ActionStopper) -> ActionOutcome:
        exceptions = self._ray.exceptions
        name = stopper.name
        try:
            outcome: ActionOutcome = self._ray.get(ref)
            return outcome
        except exceptions.TaskCancelledError:
            error = f"Action {name!r} was stopped"
        except exceptions.RuntimeEnvSetupError as exc:
            error = f"Action {name!r}: Ray could not set up its runtime_env: {exc}"
        except exceptions.RayError as exc:
            error = f"Action {name!r} crashed on Ray: {type(exc).__name__}: {exc}"
        return stopper.unfinished(error)
