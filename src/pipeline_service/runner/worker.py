"""Workers: claim runs from the service, hold their leases, and execute them.

A worker claims one run at a time (atomically, with a lease), renews the lease while it works
and learns from each renewal whether the run was cancelled. Each action runs in a child process
(`executor="process"`) or as a Ray task (`executor="ray"`, see `ray_executor`).
A run whose worker dies returns to the queue when its lease expires, and the next worker resumes
it from its latest checkpoint.

Every write for the run carries the claim's lease token, so once another worker has claimed the
run the old worker's writes are refused. The lease is counted from before the claim (and each
renewal) was sent, so the worker's reckoning never ends later than the service's. A worker kills
the action in progress at once when a write or a renewal says the lease is lost, or when less
than the safety margin (`lease_margin`) is left without a renewal; the action's own process
also stops itself by then if its worker is frozen (see `process`). Two workers therefore never
run one action at the same time, as long as their clocks run at the same rate.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_service._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_POLL_INTERVAL,
    ENV_BASE_URL,
    ENV_TOKEN,
)
from pipeline_service._lifecycle import Closing, Running
from pipeline_service.client import PipelineServiceClient
from pipeline_service.errors import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PipelineServiceError,
)
from pipeline_service.runner.actions import default_import_paths
from pipeline_service.runner.delivery import is_lease_lost, is_transient
from pipeline_service.runner.process import ChildProcessExecutor, ClientSettings
from pipeline_service.runner.runner import RunControl, RunEnd, Runner
from pipeline_service.types import Run

if TYPE_CHECKING:
    from pipeline_service.runner.ray_executor import RayExecutor

logger = logging.getLogger(__name__)

MAX_RENEW_INTERVAL = 1.0
EXECUTORS = ("process", "ray")
MAX_LEASE_MARGIN = 2.0
LEASE_MARGIN_SHARE = 0.25
_MAX_BACKOFF = 10.0


def default_work_root() -> Path:
    """Where runs without a work_dir of their own get one: <tmp>/pipeline-service/runs/<run id>."""
    return Path(tempfile.gettempdir()) / "pipeline-service" / "runs"


def lease_margin(lease_seconds: float) -> float:
    """The safety margin of a lease: a worker stops acting for a run (and kills its action at
    once) this long before the lease ends by its own reckoning."""
    return min(MAX_LEASE_MARGIN, lease_seconds * LEASE_MARGIN_SHARE)


class LeaseKeeper(Running):
    """Renews a run's lease in the background; flags cancellation and a lost lease on `control`.

    Each renewal that succeeds moves `control.lease_expires` to a lease period after the moment
    the request was sent. The lease counts as lost when a renewal is refused, and also when
    less than the margin is left without a renewal: by the lease's end the service may hand the
    run to another worker. No attempt may outlast that point (each is bounded by the time left,
    and not retried by the client: the loop tries again).
    """

    def __init__(
        self,
        client: PipelineServiceClient,
        run_id: str,
        worker_id: str,
        control: RunControl,
        *,
        lease_seconds: float,
        interval: float,
    ) -> None:
        self._client = client.with_options(max_retries=0)
        self._run_id = run_id
        self._worker_id = worker_id
        self._control = control
        self._lease_seconds = lease_seconds
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{run_id}", daemon=True)

    def _left(self) -> float:
        left = self._control.time_left()
        return self._lease_seconds if left is None else left

    def _loop(self) -> None:
        control = self._control
        if control.lease_expires is None:
            control.extend_lease(time.monotonic() + self._lease_seconds)
        while not self._done.wait(max(0.0, min(self._interval, self._left()))):
            left = self._left()
            if left <= 0:
                logger.warning(
                    "no renewal of the lease on run %s in time (%.2f s before it ends); "
                    "stopping its action",
                    self._run_id,
                    control.margin,
                )
                control.lost.set()
                return
            sent = time.monotonic()
            try:
                lease = self._client.renew_lease(
                    self._run_id,
                    self._worker_id,
                    lease_seconds=self._lease_seconds,
                    lease_token=control.lease_token,
                    timeout=left,
                )
            except (ConflictError, NotFoundError) as exc:
                logger.warning("lost the lease on run %s: %s", self._run_id, exc)
                control.lost.set()
                return
            except PipelineServiceError as exc:
                logger.warning("could not renew the lease on run %s: %s", self._run_id, exc)
                continue
            control.extend_lease(sent + self._lease_seconds)
            status = lease["status"]
            if status == "cancelled":
                logger.info("run %s was cancelled", self._run_id)
                control.cancel()
                return
            if status in ("completed", "failed"):
                control.lost.set()
                return

    def start(self) -> None:
        """Start renewing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (and wait for a renewal under way)."""
        self._done.set()
        self._thread.join()


class Worker(Closing):
    """Claims runs and executes them, one at a time, until stopped.

    `stop()` finishes the action in progress, then gives the run back (another worker resumes it
    from its checkpoint); `stop(force=True)` also stops the action in progress. With
    `executor="ray"`, actions run as Ray tasks on the cluster at `ray_address` (None: a local
    Ray), each shipped with `ray_runtime_env` and its pipeline's `runtime_env`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        worker_id: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        renew_interval: float | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        pipeline_id: str | None = None,
        work_root: Path | None = None,
        import_paths: Sequence[str] | None = None,
        grace_period: float = 2.0,
        flush_interval: float = 0.5,
        executor: str = "process",
        ray_address: str | None = None,
        ray_runtime_env: Mapping[str, Any] | None = None,
    ) -> None:
        if executor not in EXECUTORS:
            raise ValueError(
                f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}"
            )
        if executor != "ray" and (ray_address is not None or ray_runtime_env is not None):
            raise ValueError("ray_address and ray_runtime_env need executor='ray'")
        base_url = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        token = token if token is not None else os.environ.get(ENV_TOKEN)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease_seconds = lease_seconds
        self._renew_interval = renew_interval or min(lease_seconds / 3, MAX_RENEW_INTERVAL)
        self._poll_interval = poll_interval
        self._pipeline_id = pipeline_id
        settings = ClientSettings(base_url, token)
        self._executor: ChildProcessExecutor | RayExecutor
        if executor == "ray":
            from pipeline_service.runner.ray_executor import RayExecutor

            self._executor = RayExecutor(
                settings,
                address=ray_address,
                runtime_env=ray_runtime_env,
                grace_period=grace_period,
                flush_interval=flush_interval,
            )
        else:
            self._executor = ChildProcessExecutor(
                settings, grace_period=grace_period, flush_interval=flush_interval
            )
        self._client = PipelineServiceClient(base_url, token=token)  # once Ray could be reached
        self._work_root = work_root or default_work_root()
        self._runner = Runner(
            self._client,
            self._executor,
            work_root=self._work_root,
            import_paths=default_import_paths() if import_paths is None else import_paths,
            honours_resources=self._executor.honours_resources,
            # The runner resends its writes itself, for as long as the lease lasts.
            writer=self._client.with_options(max_retries=0),
            # Ray tasks import the actions on the cluster, maybe from a shipped runtime_env.
            check_imports=executor == "process",
            next_ran_on=(
                self._executor.next_ran_on
                if isinstance(self._executor, ChildProcessExecutor)
                else None
            ),
            hold_logs_for=flush_interval,  # as long as an action's own lines may wait
        )
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # stop() may run in a signal handler of the same thread
        self._force = False
        self._control: RunControl | None = None

    def stop(self, *, force: bool = False) -> None:
        """Ask the worker to stop (safe from any thread and from signal handlers)."""
        self._stopping.set()
        with self._lock:
            self._force = self._force or force
            if self._control is not None:
                self._control.stop_after_action.set()
                if self._force:
                    self._control.abort.set()

    def run(self, *, max_runs: int | None = None) -> int:
        """Claim and execute runs until stopped (or `max_runs` were executed); returns how many."""
        executed = 0
        backoff = self._poll_interval
        while not self._stopping.is_set() and (max_runs is None or executed < max_runs):
            try:
                claimed = self.run_once()
            except AuthenticationError:
                raise  # a wrong token stays wrong: retrying would only hide it
            except APIConnectionError as exc:
                logger.warning("service unreachable (%s); retrying in %.1f s", exc, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            except PipelineServiceError as exc:
                logger.error("claiming a run failed: %s", exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = self._poll_interval
            if claimed:
                executed += 1
            else:
                self._stopping.wait(self._poll_interval)
        return executed

    def run_once(self) -> bool:
        """Claim one run and execute it; False when no run was waiting."""
        # The lease is counted from before the claim was sent: never later than the service's.
        sent = time.monotonic()
        claim = self._client.claim_run(
            self.worker_id, lease_seconds=self._lease_seconds, pipeline_id=self._pipeline_id
        )
        if claim is None:
            return False
        run = claim["run"]
        run_id = run["id"]
        control = RunControl(
            claim.get("lease_token"),
            lease_expires=sent + self._lease_seconds,
            margin=lease_margin(self._lease_seconds),
        )
        with self._lock:
            self._control = control
            if self._stopping.is_set():
                control.stop_after_action.set()
            if self._force:
                control.abort.set()
        logger.info("worker %s claimed run %s", self.worker_id, run_id)
        try:
            with LeaseKeeper(
                self._client,
                run_id,
                self.worker_id,
                control,
                lease_seconds=self._lease_seconds,
                interval=self._renew_interval,
            ):
                end = self._execute(run, control)
        finally:
            with self._lock:
                self._control = None
        logger.info("run %s: %s", run_id, end.value)
        if end is not RunEnd.LOST:
            self._release(run_id, control.lease_token)
        elif run["work_dir"] is None:
            self._forget_if_deleted(run_id)
        return True

    def _forget_if_deleted(self, run_id: str) -> None:
        """Remove the work dir this worker made for a run deleted while it executed it (a run
        deleted after it ended keeps its directory: no worker learns of that)."""
        try:
            self._client.get_run(run_id)
        except NotFoundError:
            shutil.rmtree(self._work_root / run_id, ignore_errors=True)
            logger.info("run %s was deleted; removed its work dir", run_id)
        except PipelineServiceError:
            pass  # cannot tell: keep the directory

    def _execute(self, run: Run, control: RunControl) -> RunEnd:
        run_id = run["id"]
        try:
            return self._runner.run(run, control)
        except Exception as exc:  # anything but a transient failure would fail again
            if is_transient(exc):
                # A read (the pipeline, its checkpoints) failed: no action ran this time.
                logger.error("run %s interrupted: %s; giving it back", run_id, exc)
                return RunEnd.INTERRUPTED
            if is_lease_lost(exc):
                logger.warning("lost the lease on run %s: %s", run_id, exc)
                return RunEnd.LOST
            logger.exception("run %s could not be executed", run_id)
            try:
                self._client.update_run(
                    run_id,
                    status="failed",
                    error=f"Worker error: {type(exc).__name__}: {exc}",
                    lease_token=control.lease_token,
                )
            except PipelineServiceError as failed:
                return RunEnd.LOST if is_lease_lost(failed) else RunEnd.INTERRUPTED
            return RunEnd.FAILED

    def _release(self, run_id: str, lease_token: int | None) -> None:
        try:
            self._client.release_lease(run_id, self.worker_id, lease_token=lease_token)
        except PipelineServiceError as exc:
            logger.warning("could not release the lease on run %s: %s", run_id, exc)

    def close(self) -> None:
        """Close the worker's client (and its connection to Ray)."""
        self._client.close()
        self._executor.close()


class WorkerPool(Running):
    """Workers in background threads of this process (for `serve --workers N` and `demo`)."""

    def __init__(
        self, base_url: str, count: int, *, token: str | None = None, **options: Any
    ) -> None:
        """`options` go to each Worker (`executor="ray"`, `ray_address`…)."""
        self._workers = [Worker(base_url, token=token, **options) for _ in range(count)]
        self._threads = [
            threading.Thread(target=worker.run, name=f"worker-{index}", daemon=True)
            for index, worker in enumerate(self._workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, *, force: bool = True, timeout: float = 10.0) -> None:
        """Stop every worker (by default aborting the actions in progress) and wait for them."""
        for worker in self._workers:
            worker.stop(force=force)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        for worker in self._workers:
            worker.close()
