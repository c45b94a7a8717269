"""Running each action in a child process, so a crashing or leaking action cannot hurt the worker.

Children come from a fork server (fast: it has the client and the main script's imports
preloaded) where the platform has one, else they are spawned. As with any use of
multiprocessing, a script that starts workers must guard its entry point with
`if __name__ == "__main__":`. The executor keeps one child started ahead ("warm": its client
built, waiting for a task on its command pipe), so an action does not wait for a process to
start; each child still runs exactly one action, and a warm child whose worker goes away exits.

A child reports progress and logs with a client of its own, sends its outcome back through a
pipe, ignores Ctrl-C (the worker decides when to stop), and listens on a second pipe for
cancellation and for when its worker's lease ends, exiting at once when that pipe closes because
the worker died, and when the lease's end (less half the safety margin) passes without a
renewal because the worker is frozen (SIGSTOP, a debugger, a paused VM). Both processes read
the same system-wide monotonic clock.

Each child leads a session (and so a process group) of its own: whatever the action starts
belongs to it, and ending an action ends the whole group — when it finishes, is cancelled or
loses its lease, and when its worker dies — so nothing it started keeps running while another
worker resumes the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import NoReturn

import httpx

from pipeline_service.client import PipelineServiceClient
from pipeline_service.runner.actions import ActionOutcome, ActionTask, run_action
from pipeline_service.runner.runner import RunControl
from pipeline_service.runner.stopping import ActionStopper
from pipeline_service.types import RanOn

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.05
_CANCEL = b"cancel"
_STOP_BY = b"stop-by "
_EXIT_ORPHANED = 70
_EXIT_LEASE_ENDED = 71


@dataclass(frozen=True)
class ClientSettings:
    """How a child process (or a Ray task) reaches the service."""

    base_url: str
    token: str | None = None
    timeout: float = 30.0

    @contextlib.contextmanager
    def connect(self) -> Iterator[PipelineServiceClient]:
        """A client for these settings (its TLS settings built once per process), closed
        on the way out."""
        with (
            httpx.Client(verify=shared_ssl_context()) as http,
            PipelineServiceClient(
                self.base_url, self.timeout, token=self.token, http_client=http
            ) as client,
        ):
            yield client


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS settings of the children's clients, built once (loading CA certificates is slow).

    The fork server builds it before forking (see `_preload`), so children get it for free.
    """
    return httpx.create_ssl_context()


def run_isolated(
    task: ActionTask,
    settings: ClientSettings,
    cancelled: Callable[[], bool],
    *,
    flush_interval: float,
    ran_on: RanOn,
    import_hint: str | None = None,
    client: PipelineServiceClient | None = None,
) -> ActionOutcome:
    """Run `task` here, in a process of its own (a child process, a Ray task): with a client of
    its own (`client`, built ahead, else one built now), its output captured into the run's
    logs (see `run_action`). A client that fails is the action's failure, reported like any
    other."""
    try:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(settings.connect())
            return run_action(
                task,
                client,
                cancelled,
                flush_interval=flush_interval,
                capture=True,
                ran_on=ran_on,
                import_hint=import_hint,
            )
    except Exception as exc:
        return ActionOutcome(
            error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(), ran_on=ran_on
        )


def _modules_of_main() -> list[str]:
    """The modules the main script imported names from.

    Every child re-runs the main script as `__mp_main__` (that is how multiprocessing makes the
    parent's functions importable; the fork server of Python 3.11 does not do it once for all).
    With these modules preloaded in the fork server, that re-run finds its imports done.
    """
    main = sys.modules.get("__main__")
    names = set()
    for value in list(vars(main).values()) if main is not None else []:
        try:
            name = value.__name__ if isinstance(value, types.ModuleType) else value.__module__
        except Exception:  # objects without (or with odd) module attributes
            continue
        if isinstance(name, str) and name in sys.modules and not name.startswith("__"):
            names.add(name)
    return sorted(names)


def _mp_context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # The fork server preloads the client (this module) and what the main script needs,
        # so each child starts in milliseconds.
        preload = ["__main__", *_modules_of_main(), "pipeline_service.runner._preload"]
        context.set_forkserver_preload(preload)
        return context
    return multiprocessing.get_context("spawn")


def end_process_group(pgid: int) -> None:
    """SIGKILL every process of the group `pgid` (gone already: nothing to do)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _end_action(exit_code: int) -> NoReturn:
    """End this action at once: every process it started, then this one."""
    if hasattr(os, "getpgrp") and os.getpgrp() == os.getpid():
        end_process_group(os.getpid())
    os._exit(exit_code)


class _StopBy:
    """When the action must be over: the worker's lease ends then, and the worker extends it
    with each renewal. A watchdog thread ends the action if that time passes: a worker that is
    frozen (SIGSTOP, a debugger, a paused VM) cannot stop it, and its lease will go to another
    worker."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._when: float | None = None

    def extend(self, when: float) -> None:
        with self._changed:
            if self._when is None or when > self._when:
                self._when = when
            self._changed.notify()

    def watch(self) -> None:
        with self._changed:
            while True:
                left = None if self._when is None else self._when - time.monotonic()
                if left is not None and left <= 0:
                    _end_action(_EXIT_LEASE_ENDED)
                self._changed.wait(left)


def _listen_to_worker(
    commands: Connection,
    task_taken: threading.Event,
    cancelled: threading.Event,
    stop_by: _StopBy,
) -> None:
    """Once the task is taken, set `cancelled` or move `stop_by` when the worker says so; if
    the worker is gone, end the whole action (this process and everything it started) at
    once."""
    task_taken.wait()
    try:
        while True:
            command = commands.recv_bytes()
            if command == _CANCEL:
                cancelled.set()
            elif command.startswith(_STOP_BY):
                stop_by.extend(float(command[len(_STOP_BY) :]))
    except (EOFError, OSError):  # the worker closed its end: it died, or no longer waits
        _end_action(_EXIT_ORPHANED)


def _connect_ahead(
    settings: ClientSettings, stack: contextlib.ExitStack
) -> PipelineServiceClient | None:
    """The child's client, built while it waits for its task; None if building it failed (it
    is built again with the task, and a failure then is the action's)."""
    try:
        return stack.enter_context(settings.connect())
    except Exception:
        return None


def _child_main(
    settings: ClientSettings,
    commands: Connection,
    results: Connection,
    flush_interval: float,
) -> None:
    """Get ready (a session of its own, its threads, its client), wait for the one task to run
    (it comes with when its lease ends), run it and send back its outcome."""
    if hasattr(os, "setsid"):
        os.setsid()  # a session and process group of its own: see end_process_group
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cancelled = threading.Event()
    stop_by = _StopBy()
    task_taken = threading.Event()
    threading.Thread(
        target=_listen_to_worker,
        args=(commands, task_taken, cancelled, stop_by),
        name="worker-link",
        daemon=True,
    ).start()
    threading.Thread(target=stop_by.watch, name="lease-watchdog", daemon=True).start()
    with contextlib.ExitStack() as stack:
        client = _connect_ahead(settings, stack)
        try:
            task: ActionTask
            stop_by_when: float | None
            task, stop_by_when = commands.recv()  # here, not through the listener: no wake-up
        except (EOFError, OSError):  # never given a task: the worker died, or no longer needs us
            _end_action(_EXIT_ORPHANED)
        if stop_by_when is not None:
            stop_by.extend(stop_by_when)
        task_taken.set()
        outcome = run_isolated(
            task,
            settings,
            cancelled.is_set,
            flush_interval=flush_interval,
            ran_on=_ran_on(os.getpid()),
            client=client,
        )
        results.send(outcome)  # before closing the client: the worker waits for this
        results.close()


def _ran_on(pid: int) -> RanOn:
    """Where an action runs: the child process `pid` on this machine."""
    return {"executor": "process", "node": socket.gethostname(), "task_id": str(pid)}


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


@dataclass
class _Child:
    """A child process and the worker's ends of its two pipes."""

    process: BaseProcess
    commands: Connection
    results: Connection

    def cancel(self) -> None:
        """Ask the action to stop (its `context.cancelled` turns true)."""
        with contextlib.suppress(OSError):  # a child exiting: the next wait sees it
            self.commands.send_bytes(_CANCEL)

    def stop(self) -> None:
        """Close the pipes (a child without a task exits) and end its process group."""
        self.commands.close()
        self.results.close()
        pid = self.process.pid
        if pid is not None:  # the child and whatever it started and left behind
            end_process_group(pid)
        if self.process.is_alive():
            self.process.kill()

    def reap(self) -> None:
        """Wait for the stopped process to be gone and release what it holds."""
        self.process.join()
        self.process.close()


class ChildProcessExecutor:
    """An ActionExecutor running each action in a fresh child process.

    When the run is cancelled or the worker aborts, the child's `cancelled` turns true; a child
    still running `grace_period` seconds later is killed. When the lease is lost, or less than
    its margin is left, the child is killed at once: the run may be another worker's now. The
    child knows when the lease ends (half the margin before it, told again after each renewal)
    and ends itself then if its worker could not. Actions' resource requests are not reserved
    (`honours_resources`: the Runner says so in the run's log).
    """

    name = "process"
    honours_resources = False

    def __init__(
        self,
        settings: ClientSettings,
        *,
        grace_period: float = 2.0,
        flush_interval: float = 0.5,
    ) -> None:
        self._settings = settings
        self._grace_period = grace_period
        self._flush_interval = flush_interval
        self._context = _mp_context()
        self._lock = threading.Lock()
        self._warm: _Child | None = None
        self._stopped: list[_Child] = []  # reaped after the next action starts: off its path
        self._warming: threading.Thread | None = None  # starting the next warm child
        self._closed = False

    def _start_child(self) -> _Child:
        commands_in, commands_out = self._context.Pipe(duplex=False)
        results_in, results_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main,
            args=(self._settings, commands_in, results_out, self._flush_interval),
            name="action",
            daemon=True,
        )
        process.start()
        commands_in.close()
        results_out.close()
        return _Child(process, commands_out, results_in)

    def _hand_over(self, task: ActionTask, stop_by: float | None) -> _Child:
        """A child running `task` (told when its lease ends: `stop_by`): the warm one, else (it
        died meanwhile) a new one; then the next child is started in the background, to be
        warm for the next action."""
        self._wait_for_warm_up()
        with self._lock:
            child, self._warm = self._warm, None
        try:
            if child is None:
                raise OSError("no warm child")
            child.commands.send((task, stop_by))
        except OSError:  # gone (or never started): a fresh one, which says where it runs
            if child is not None:
                child.stop()
                child.reap()
            child = self._start_child()
            child.commands.send((dataclasses.replace(task, ran_on_reported=False), stop_by))
        if not self._closed:
            self._warming = threading.Thread(target=self._warm_up, name="warm-child", daemon=True)
            self._warming.start()
        return child

    def next_ran_on(self) -> RanOn | None:
        """Where the next action will run (the warm child, which takes it), for its start to
        say so; None when the next child is still being started (not waited for here)."""
        warming = self._warming
        if warming is not None and warming.is_alive():
            return None
        if warming is None and self._warm is None:  # the first action: its child, started now
            self._warm_up()
        with self._lock:
            pid = None if self._warm is None else self._warm.process.pid
        return None if pid is None else _ran_on(pid)

    def _warm_up(self) -> None:
        """Reap the finished children and start the next one: waiting for the fork server off
        the action's path."""
        self._reap_stopped()
        try:
            child = self._start_child()
        except Exception:  # the next action starts a child of its own, and reports if it fails
            logger.exception("could not start a child process ahead")
            return
        with self._lock:
            if not self._closed:
                self._warm = child
                return
        child.stop()
        child.reap()

    def _wait_for_warm_up(self) -> None:
        warming = self._warming
        if warming is not None:
            warming.join()

    def _reap_stopped(self) -> None:
        with self._lock:
            stopped, self._stopped = self._stopped, []
        for child in stopped:
            child.reap()

    def close(self) -> None:
        """End the warm child (it has no task: it exits at once); from now on each action's
        child is started when the action is."""
        with self._lock:
            self._closed = True
        self._wait_for_warm_up()
        with self._lock:
            warm, self._warm = self._warm, None
        if warm is not None:
            warm.stop()
            warm.reap()
        self._reap_stopped()

    def __call__(self, task: ActionTask, control: RunControl) -> ActionOutcome:
        stopper = ActionStopper(task, control, self._grace_period, time.monotonic())
        stop_by = _stop_by(control)
        child = self._hand_over(task, stop_by)
        try:
            return self._wait(child, control, stopper, stop_by)
        finally:
            child.stop()  # ended now; reaped later
            with self._lock:
                self._stopped.append(child)

    def _wait(
        self, child: _Child, control: RunControl, stopper: ActionStopper, stop_by: float | None
    ) -> ActionOutcome:
        stop_by_sent = stop_by  # told with the task
        while True:
            stop_by_sent = self._tell_stop_by(child.commands, control, stop_by_sent)
            ready = multiprocessing.connection.wait(
                [child.results, child.process.sentinel], _POLL_INTERVAL
            )
            if ready:
                try:
                    if child.results.poll():
                        outcome: ActionOutcome = child.results.recv()
                        return outcome
                except EOFError:
                    pass  # the child died before sending its outcome
                child.process.join(1.0)
                exit_ = _describe_exit(child.process.exitcode)
                return stopper.unfinished(f"Action {stopper.name!r} crashed: its process {exit_}")
            stopped = stopper.check(child.cancel, child.process.kill)
            if stopped is not None:
                return stopped

    @staticmethod
    def _tell_stop_by(
        commands: Connection, control: RunControl, sent: float | None
    ) -> float | None:
        """Tell the child when its lease ends (when it changed): what it was told last."""
        stop_by = _stop_by(control)
        if stop_by is not None and stop_by != sent:
            with contextlib.suppress(OSError):  # a child exiting: the next wait sees it
                commands.send_bytes(_STOP_BY + repr(stop_by).encode())
            return stop_by
        return sent


def _stop_by(control: RunControl) -> float | None:
    """When the child must have ended its action (its worker could not stop it): half the
    safety margin before the lease ends; None for a run without a lease."""
    if control.lease_expires is None:
        return None
    return control.lease_expires - control.margin / 2
