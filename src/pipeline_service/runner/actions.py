"""Loading an action from its entrypoint and running it once, in the current process."""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_service.runner.capture import capture_output
from pipeline_service.runner.checkpoints import ActionCheckpoints
from pipeline_service.runner.context import ActionContext
from pipeline_service.runner.reporter import ActionReporter, LogBatch

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.types import ActionResources, RanOn, RuntimeEnv

ActionCallable = Callable[[ActionContext], object]

_EXPECTED_FORM = "expected 'package.module.Name' or 'package.module:Name'"


class EntrypointError(Exception):
    """An entrypoint that cannot be turned into a callable action."""


class ActionResultError(Exception):
    """An action that returned something other than a JSON-serialisable dict or None."""


@dataclass(frozen=True)
class ActionTask:
    """Everything needed to run one action of a run (picklable, sent to child processes)."""

    run_id: str
    action_name: str
    action_index: int
    entrypoint: str
    params: dict[str, Any]
    work_dir: str
    import_paths: tuple[str, ...] = ()
    lease_token: int | None = None  # sent with every write; None: the run is not leased
    resources: ActionResources | None = None  # what the action asks for (Ray executor)
    runtime_env: RuntimeEnv | None = None  # its pipeline's code shipping (Ray executor)
    ran_on_reported: bool = False  # where it runs went with its start (the worker knew)
    first_logs: LogBatch | None = None  # the worker's lines, sent before the action's own


@dataclass(frozen=True)
class ActionOutcome:
    """What running an action gave: a result, or an error with its traceback; where it ran
    (`ran_on`, reported with the outcome: an action that ends before its first progress report
    has not said so yet)."""

    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    total: float | None = None
    duration: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    ran_on: RanOn | None = None
    first_logs_sent: bool | None = None  # the task's first_logs: see ActionReporter

    @property
    def ok(self) -> bool:
        return self.error is None


def bundled_examples_path() -> Path | None:
    """The directory holding the bundled example `plugin` package, if this install has it.

    A wheel carries it inside the package (`pipeline_service/examples`); a source checkout
    has it at the repository root (`examples/`).
    """
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "examples", package_dir.parent.parent / "examples"):
        if (candidate / "plugin" / "__init__.py").is_file():
            return candidate
    return None


def default_import_paths() -> tuple[str, ...]:
    """Where workers import actions from: the current directory first, the bundled examples last."""
    paths = [str(Path.cwd())]
    examples = bundled_examples_path()
    if examples is not None:
        paths.append(str(examples))
    return tuple(paths)


def _split_entrypoint(entrypoint: str) -> tuple[str, str]:
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        raise EntrypointError(f"Bad entrypoint {entrypoint!r}: {_EXPECTED_FORM}")
    if entrypoint.count(":") > 1:
        raise EntrypointError(f"Bad entrypoint {entrypoint!r}: {_EXPECTED_FORM}")
    if ":" in entrypoint:
        module_name, attribute = entrypoint.split(":")
    else:
        module_name, _, attribute = entrypoint.rpartition(".")
    parts = [*module_name.split("."), attribute]
    if not module_name or not all(part.isidentifier() for part in parts):
        raise EntrypointError(f"Bad entrypoint {entrypoint!r}: {_EXPECTED_FORM}")
    return module_name, attribute


def load_action(entrypoint: str) -> ActionCallable:
    """Resolve an entrypoint to a callable taking the context.

    A class is instantiated with no arguments and its `run` method returned; a function is
    returned as it is. Every way this can go wrong raises EntrypointError naming the entrypoint.
    """
    module_name, attribute = _split_entrypoint(entrypoint)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EntrypointError(_not_found(entrypoint, module_name, exc.name, str(exc))) from exc
    except Exception as exc:
        raise EntrypointError(
            f"Bad entrypoint {entrypoint!r}: importing module {module_name!r} raised "
            f"{_describe(exc)}"
        ) from exc
    try:
        target = getattr(module, attribute)
    except AttributeError:
        raise EntrypointError(
            f"Bad entrypoint {entrypoint!r}: module {module_name!r} has no attribute {attribute!r}"
        ) from None
    if inspect.isclass(target):
        run = getattr(target, "run", None)
        if not callable(run):
            raise EntrypointError(
                f"Bad entrypoint {entrypoint!r}: class {attribute!r} has no run(context) method"
            )
        try:
            instance = target()
        except Exception as exc:
            raise EntrypointError(
                f"Bad entrypoint {entrypoint!r}: {attribute}() raised {_describe(exc)}"
            ) from exc
        bound: ActionCallable = getattr(instance, "run")  # noqa: B009  (checked on the class)
        return bound
    if callable(target):
        function: ActionCallable = target
        return function
    raise EntrypointError(
        f"Bad entrypoint {entrypoint!r}: {attribute!r} is neither a class nor a function "
        f"(found {type(target).__name__})"
    )


def missing_module(entrypoint: str, import_paths: Sequence[str] = ()) -> str | None:
    """Why the module of `entrypoint` cannot be found on `sys.path` and `import_paths` (None
    when it can), found without importing it: so a worker can refuse a run before its first
    action rather than fail at a later one."""
    try:
        module_name, _ = _split_entrypoint(entrypoint)
    except EntrypointError as exc:
        return str(exc)
    if module_name in sys.modules:
        return None
    parts = module_name.split(".")
    if parts[0] in sys.builtin_module_names:
        return None
    search: Sequence[str] | None = [*sys.path, *import_paths]
    for depth, part in enumerate(parts):
        spec = importlib.machinery.PathFinder.find_spec(part, search)
        if spec is None:
            name = ".".join(parts[: depth + 1])
            return _not_found(entrypoint, module_name, name, f"No module named {name!r}")
        search = spec.submodule_search_locations
        if search is None and depth < len(parts) - 1:
            name = ".".join(parts[: depth + 2])
            reason = f"No module named {name!r}; {parts[depth]!r} is not a package"
            return _not_found(entrypoint, module_name, name, reason)
    return None


def _not_found(entrypoint: str, module_name: str, missing: str | None, reason: str) -> str:
    """The error for an entrypoint whose module (or one it imports) is not found."""
    message = f"Bad entrypoint {entrypoint!r}: cannot import module {module_name!r} ({reason})"
    top = module_name.split(".")[0]
    if missing is None or not module_name.startswith(missing):
        return f"{message}; install what it imports where the worker runs"
    if missing != top:
        return message
    python_path = os.environ.get("PYTHONPATH") or "(not set)"
    return (
        f"{message}. Looked in the directory {Path.cwd()} and PYTHONPATH={python_path} (and "
        f"the installed packages): start the worker from the directory that holds {top!r}, "
        "or add that directory to PYTHONPATH"
    )


def output_prefix(task: ActionTask) -> str:
    """What each line an action prints starts with in the worker's console: `[run8 action] `."""
    return f"[{task.run_id[:8]} {task.action_name}] "


def _describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _check_result(action_name: str, result: object) -> dict[str, Any] | None:
    if result is None:
        return None
    if not isinstance(result, dict):
        raise ActionResultError(
            f"Action {action_name!r} returned {type(result).__name__}; "
            "an action must return a dict or None"
        )
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ActionResultError(
            f"Action {action_name!r} returned a dict that is not JSON-serialisable ({exc})"
        ) from None
    return {str(key): value for key, value in result.items()}


def use_import_paths(paths: Sequence[str]) -> None:
    """Let imports find modules in `paths` too (appended to sys.path once each)."""
    for path in paths:
        if path not in sys.path:
            sys.path.append(path)


def run_action(
    task: ActionTask,
    client: PipelineServiceClient,
    cancelled: Callable[[], bool],
    *,
    flush_interval: float = 0.5,
    capture: bool = False,
    ran_on: RanOn | None = None,
    import_hint: str | None = None,
) -> ActionOutcome:
    """Load and run one action, reporting its progress, metrics and logs through `client`.

    With `capture` (for a process of its own), what the action prints to stdout and stderr and
    logs with `logging` goes to the run's logs too. `ran_on` (where this runs) goes with every
    progress report and with the outcome, and is the context's `ran_on`; `import_hint` is added
    to the error of an entrypoint that cannot be loaded (what was shipped, where it was looked
    for). Never raises
    for anything the action does: failures come back as an ActionOutcome with the error
    ("Type: message") and the traceback.
    """
    started = time.monotonic()
    use_import_paths(task.import_paths)
    work_dir = Path(task.work_dir)
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return ActionOutcome(
            error=f"Cannot create the work dir {str(work_dir)!r}: {_describe(exc)}",
            duration=time.monotonic() - started,
            ran_on=ran_on,
        )
    with ActionReporter(
        client,
        task.run_id,
        task.action_name,
        task.action_index,
        flush_interval=flush_interval,
        lease_token=task.lease_token,
        ran_on=ran_on,
        ran_on_reported=task.ran_on_reported,
        first_logs=task.first_logs,
    ) as reporter:
        lease_lost = reporter.lease_lost
        checkpoints = ActionCheckpoints(client, task, on_lease_lost=lease_lost.set)
        context = ActionContext(
            run_id=task.run_id,
            action_name=task.action_name,
            action_index=task.action_index,
            params=dict(task.params),
            work_dir=work_dir,
            reporter=reporter,
            cancelled=lambda: cancelled() or lease_lost.is_set(),
            checkpoints=checkpoints,
            ran_on=ran_on,
        )
        captured: AbstractContextManager[None] = (
            capture_output(reporter.log, output_prefix(task)) if capture else nullcontext()
        )
        result: dict[str, Any] | None = None
        error: str | None = None
        trace: str | None = None
        try:
            with captured:
                action = load_action(task.entrypoint)
                result = _check_result(task.action_name, action(context))
        except (EntrypointError, ActionResultError) as exc:
            hint = import_hint if isinstance(exc, EntrypointError) else None
            error, trace = (f"{exc}; {hint}" if hint else str(exc)), traceback.format_exc()
        except (Exception, SystemExit) as exc:  # the action's own failure
            error, trace = _describe(exc), traceback.format_exc()
    return ActionOutcome(
        result=result,
        error=error,
        traceback=trace,
        total=reporter.total,
        duration=time.monotonic() - started,
        metrics=reporter.metrics,
        ran_on=ran_on,
        first_logs_sent=reporter.first_logs_sent,  # known once the reporter is closed
    )
