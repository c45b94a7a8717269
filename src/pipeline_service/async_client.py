"""AsyncPipelineServiceClient: the async client of the Pipeline Service API.

The source of its blocking twin: `client.py` is generated from this file by
scripts/unasync.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Self

import anyio
import httpx

from . import _constants as C
from . import _operations as ops
from ._async_artifacts import AsyncArtifactMethods
from ._async_request import AsyncRequester
from ._async_streaming import aiter_events
from ._conveniences import AsyncConveniences
from ._lifecycle import AsyncClosing
from ._request import Call, ClientConfig, deadline_after, time_left
from .errors import NotFoundError, StreamError
from .models import ActionProgress, LogEntry, PipelineProgress, RunChange, RunStatus
from .streaming import LogEvents, ProgressEvents, RunsEvents
from .types import (
    NOT_GIVEN,
    Checkpoint,
    Lease,
    LogRecord,
    NotGiven,
    Pipeline,
    Run,
    RunClaim,
    RunEvent,
    RunMetrics,
)
from .wire import MAX_LOG_BATCH, MAX_METRIC_BATCH

__all__ = ["AsyncPipelineServiceClient"]


class AsyncPipelineServiceClient(AsyncClosing, AsyncConveniences, AsyncArtifactMethods):
    """Client for the Pipeline Service API: pipelines, runs, progress, checkpoints and logs.

    `base_url` defaults to $PIPELINE_SERVICE_URL, then http://localhost:8100; `token` to
    $PIPELINE_SERVICE_TOKEN (sent as a bearer token). `timeout` is the default per-request
    timeout in seconds (every method takes its own `timeout=` too). Requests that are safe to
    repeat are retried `max_retries` times on connection errors, timeouts, 408, 429 and 5xx.
    Streams reconnect when no byte arrives for `stream_idle_timeout` seconds, at most
    `stream_max_reconnects` times in a row.

        async with AsyncPipelineServiceClient("http://localhost:8100") as client:
            run = await client.create_run(pipeline["id"])
    """

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        *,
        token: str | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        stream_idle_timeout: float = C.DEFAULT_STREAM_IDLE_TIMEOUT,
        stream_max_reconnects: int = C.DEFAULT_STREAM_MAX_RECONNECTS,
    ) -> None:
        injected_url = str(http_client.base_url) if http_client is not None else ""
        owns_http = http_client is None
        config = ClientConfig.from_arguments(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            stream_idle_timeout=stream_idle_timeout,
            stream_max_reconnects=stream_max_reconnects,
            default_base_url=injected_url or None,
        )
        if http_client is None:
            http_client = httpx.AsyncClient(
                base_url=config.base_url, timeout=config.httpx_timeout()
            )
        self._requester = AsyncRequester(http_client, config)
        self._owns_http = owns_http

    @property
    def base_url(self) -> str:
        """The service's base URL."""
        return self._requester.config.base_url

    @property
    def max_retries(self) -> int:
        """How often a request that is safe to repeat is retried."""
        return self._requester.config.max_retries

    @property
    def timeout(self) -> float:
        """The default per-request timeout, in seconds."""
        return self._requester.config.timeout

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        stream_idle_timeout: float | None = None,
        stream_max_reconnects: int | None = None,
    ) -> Self:
        """A client sharing this one's connections with other settings, e.g. for one call:
        `client.with_options(max_retries=0).get_run(run_id)`."""
        config = self._requester.config
        return type(self)(
            config.base_url,
            config.timeout if timeout is None else timeout,
            # "" rather than None: no token stays no token, whatever the environment says now.
            token=config.token or "",
            max_retries=config.max_retries if max_retries is None else max_retries,
            http_client=self._requester.http,
            stream_idle_timeout=(
                config.stream_idle_timeout if stream_idle_timeout is None else stream_idle_timeout
            ),
            stream_max_reconnects=(
                config.stream_max_reconnects
                if stream_max_reconnects is None
                else stream_max_reconnects
            ),
        )

    # --- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (an injected httpx client is left to its owner)."""
        if self._owns_http:
            await self._requester.http.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # --- pipelines -------------------------------------------------------------------------

    async def create_pipeline(
        self,
        name: str,
        actions: Sequence[Mapping[str, Any]],
        description: str | None = None,
        *,
        dedicated_workers: bool = False,
        runtime_env: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Pipeline:
        """Create a pipeline from its ordered action definitions ({"name", "entrypoint"},
        optionally "resources").

        With `dedicated_workers`, only workers claiming for this pipeline (`Worker(...,
        pipeline_id=...)`, `pipeline-service worker --pipeline`) run it. `runtime_env`
        ({"working_dir", "env_vars", "py_modules"}) is shipped with its actions by the Ray
        executor. `labels`: `{key: value}` texts to find it by.
        """
        call = ops.create_pipeline(
            name,
            actions=actions,
            description=description,
            dedicated_workers=dedicated_workers,
            runtime_env=runtime_env,
            idempotency_key=idempotency_key,
            labels=labels,
        )
        return await self._requester.request(call, timeout=timeout)

    async def get_pipeline(self, pipeline_id: str, *, timeout: float | None = None) -> Pipeline:
        """A pipeline by id (NotFoundError if there is none)."""
        return await self._requester.request(ops.get_pipeline(pipeline_id), timeout=timeout)

    async def list_pipelines(
        self, skip: int = 0, limit: int = 100, *, timeout: float | None = None
    ) -> list[Pipeline]:
        """One page of pipelines, newest first."""
        return await self._requester.request(
            ops.list_pipelines(skip=skip, limit=limit), timeout=timeout
        )

    def iter_pipelines(
        self, *, page_size: int = 100, timeout: float | None = None
    ) -> AsyncIterator[Pipeline]:
        """Every pipeline, newest first, fetched page by page."""
        return self._requester.paged(
            lambda skip: ops.list_pipelines(skip=skip, limit=page_size), page_size, timeout
        )

    async def update_pipeline(
        self,
        pipeline_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        actions: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        dedicated_workers: bool | NotGiven = NOT_GIVEN,
        runtime_env: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        labels: Mapping[str, str] | NotGiven = NOT_GIVEN,
        timeout: float | None = None,
    ) -> Pipeline:
        """Change a pipeline; only the fields given are sent (`labels` replace its labels)."""
        call = ops.update_pipeline(
            pipeline_id,
            name=name,
            description=description,
            actions=actions,
            dedicated_workers=dedicated_workers,
            runtime_env=runtime_env,
            labels=labels,
        )
        return await self._requester.request(call, timeout=timeout)

    async def delete_pipeline(self, pipeline_id: str, *, timeout: float | None = None) -> None:
        """Delete a pipeline with its runs, their checkpoints and logs."""
        await self._requester.request(ops.delete_pipeline(pipeline_id), timeout=timeout)

    # --- runs ------------------------------------------------------------------------------

    async def create_run(
        self,
        pipeline_id: str,
        params: Mapping[str, Any] | None = None,
        work_dir: str | None = None,
        *,
        resume_from: str | None = None,
        from_action: str | None = None,
        labels: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Start a run (status `pending`); `resume_from` continues an earlier run's checkpoints
        (with `from_action`: that action and those after it run again). `labels`: `{key:
        value}` texts to find it by (`list_runs(label="team=nlp")`)."""
        call = ops.create_run(
            pipeline_id,
            params=params,
            work_dir=work_dir,
            resume_from=resume_from,
            from_action=from_action,
            idempotency_key=idempotency_key,
            labels=labels,
        )
        return await self._requester.request(call, timeout=timeout)

    async def resume_run(
        self,
        run_id: str,
        params: Mapping[str, Any] | None = None,
        *,
        from_action: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Start a new run of `run_id`'s pipeline that continues after its latest checkpoint
        (an action that saved in-action checkpoints continues from its latest one).

        The params given win; those not given keep the earlier run's values. `from_action`
        runs that action and those after it again, reusing the checkpoints before it; without
        it, resuming a run whose actions all completed is a ConflictError.
        """
        earlier = await self.get_run(run_id, timeout=timeout)
        return await self.create_run(
            earlier["pipeline_id"],
            params,
            resume_from=run_id,
            from_action=from_action,
            idempotency_key=idempotency_key,
            timeout=timeout,
        )

    async def get_run(self, run_id: str, *, timeout: float | None = None) -> Run:
        """A run by id (NotFoundError if there is none)."""
        return await self._requester.request(ops.get_run(run_id), timeout=timeout)

    async def list_runs(
        self,
        status: str | None = None,
        skip: int = 0,
        limit: int = 100,
        *,
        resumed_from: str | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> list[Run]:
        """One page of runs, newest first, optionally only those in `status` (and only those
        that resumed the run `resumed_from`, and those whose labels match the selector `label`:
        `"team=nlp,stage!=dev"`, `"stage in (dev, test)"`, `"!experimental"`)."""
        call = ops.list_runs(status, skip=skip, limit=limit, resumed_from=resumed_from, label=label)
        return await self._requester.request(call, timeout=timeout)

    def iter_runs(
        self,
        status: str | None = None,
        *,
        resumed_from: str | None = None,
        label: str | None = None,
        page_size: int = 100,
        timeout: float | None = None,
    ) -> AsyncIterator[Run]:
        """Every run (optionally only those in `status`, that resumed `resumed_from`, or whose
        labels match the selector `label`), newest first, page by page."""
        return self._requester.paged(
            lambda skip: ops.list_runs(
                status, skip=skip, limit=page_size, resumed_from=resumed_from, label=label
            ),
            page_size,
            timeout,
        )

    def stream_runs(
        self,
        status: str | None = None,
        *,
        pipeline_id: str | None = None,
        label: str | None = None,
        last_event_id: str | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[RunChange]:
        """Changes of the runs list as they commit (Server-Sent Events), optionally only of
        the runs in `status`, of the pipeline `pipeline_id`, or whose labels match the
        selector `label`: one RunChange per run created, changed or deleted, and `left` when
        a run stops matching the status or the selector (drop it). It starts at the
        present with a `sync` change (list the runs, then apply the changes), or after
        `last_event_id` (a RunChange's `seq`) with what changed since, then `sync`. It never
        ends by itself; a dropped connection is resumed where it stopped (a `reset` change
        means the runs must be listed again). `timeout` bounds the whole stream
        (APITimeoutError); StreamError if it cannot be resumed."""
        return aiter_events(
            self._requester,
            ops.stream_runs_kwargs(status, pipeline_id=pipeline_id, label=label),
            RunsEvents(last_event_id),
            timeout=timeout,
            what="runs stream",
        )

    async def list_pipeline_runs(
        self, pipeline_id: str, skip: int = 0, limit: int = 100, *, timeout: float | None = None
    ) -> list[Run]:
        """One page of a pipeline's runs, newest first."""
        call = ops.list_pipeline_runs(pipeline_id, skip=skip, limit=limit)
        return await self._requester.request(call, timeout=timeout)

    def iter_pipeline_runs(
        self, pipeline_id: str, *, page_size: int = 100, timeout: float | None = None
    ) -> AsyncIterator[Run]:
        """Every run of a pipeline, newest first, page by page."""
        return self._requester.paged(
            lambda skip: ops.list_pipeline_runs(pipeline_id, skip=skip, limit=page_size),
            page_size,
            timeout,
        )

    async def update_run(
        self,
        run_id: str,
        status: str | None = None,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        *,
        current_action: str | None = None,
        current_action_index: int | None = None,
        idempotency_key: str | None = None,
        lease_token: int | None = None,
        labels: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Change a run's status, result, error or labels (replaced whole); only the arguments
        given are sent. A worker passes its claim's `lease_token` (ConflictError once the lease
        was lost); with an `idempotency_key` the change is applied once however often it is
        resent (and the client retries it)."""
        if status is not None:
            ops.run_status(status, "update_run")
        data = ops.given(
            status=status,
            result=result,
            error=error,
            current_action=current_action,
            current_action_index=current_action_index,
            labels=labels,
        )
        call = ops.update_run(run_id, data, key=idempotency_key, lease_token=lease_token)
        return await self._requester.request(call, timeout=timeout)

    async def delete_run(self, run_id: str, *, timeout: float | None = None) -> None:
        """Delete a run with its checkpoints and logs."""
        await self._requester.request(ops.delete_run(run_id), timeout=timeout)

    async def cancel_run(self, run_id: str, *, timeout: float | None = None) -> Run:
        """Cancel a pending or running run (ConflictError if it already completed or failed)."""
        return await self._requester.request(ops.cancel_run(run_id), timeout=timeout)

    async def wait_for_completion(self, run_id: str, timeout: float | None = None) -> Run:
        """Wait until the run is completed, failed or cancelled; return the final run.

        `timeout` bounds the whole wait (APITimeoutError when it passes).
        """
        deadline = deadline_after(timeout)
        what = f"Waiting for run {run_id!r}"
        try:
            # The stream ends by itself after the terminal state (and so closes its response).
            async for _ in self.stream_progress(run_id, timeout):
                pass
        except StreamError:
            while not await self._is_over(run_id, time_left(deadline, what)):
                left = time_left(deadline, what)
                await anyio.sleep(C.POLL_INTERVAL if left is None else min(C.POLL_INTERVAL, left))
        return await self.get_run(run_id, timeout=time_left(deadline, what))

    # --- progress --------------------------------------------------------------------------

    async def report_progress(
        self,
        run_id: str,
        current_action: str | None = None,
        current_action_index: int | None = None,
        status: str | None = None,
        action_progress: ActionProgress | Mapping[str, Any] | None = None,
        error: str | None = None,
        *,
        idempotency_key: str | None = None,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Report progress: the fields given change; `action_progress` merges into its action.
        A worker passes its claim's `lease_token` (ConflictError once the lease was lost); with
        an `idempotency_key` the report is applied once however often it is resent (and the
        client retries it)."""
        if status is not None:
            ops.run_status(status, "report_progress")
        data = ops.given(
            current_action=current_action,
            current_action_index=current_action_index,
            status=status,
            # Only the fields the caller set (`jsonable` leaves out unset fields): the server
            # merges, so defaults must not overwrite what it holds.
            action_progress=None if action_progress is None else ops.entry(action_progress),
            error=error,
        )
        call = ops.report_progress(run_id, data, key=idempotency_key, lease_token=lease_token)
        return await self._requester.request(call, timeout=timeout)

    async def get_progress(self, run_id: str, *, timeout: float | None = None) -> PipelineProgress:
        """The run's current progress."""
        return await self._requester.request(ops.get_progress(run_id), timeout=timeout)

    def stream_progress(
        self, run_id: str, timeout: float | None = None, *, last_event_id: str | None = None
    ) -> AsyncIterator[PipelineProgress]:
        """Live progress (Server-Sent Events): the current state at once, then each change,
        ending after the terminal state. Resumes dropped connections; `timeout` bounds the
        whole stream (APITimeoutError); StreamError if it cannot be resumed."""
        return aiter_events(
            self._requester,
            ops.stream_progress_kwargs(run_id),
            ProgressEvents(run_id, last_event_id),
            timeout=timeout,
            what=f"progress stream of run {run_id!r}",
        )

    # --- metrics ---------------------------------------------------------------------------

    async def get_metrics(self, run_id: str, *, timeout: float | None = None) -> RunMetrics:
        """The history of each action's numeric metrics (a bounded series per action), and the
        metrics each action logged (`logged`: every point with its step, one series per name)."""
        return await self._requester.request(ops.get_metrics(run_id), timeout=timeout)

    async def append_metrics(
        self,
        run_id: str,
        points: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> int:
        """Store logged metric points, each `{action_name, step, values: {name: number}}`
        (`timestamp` optional): every value a point, none merged. NaN and ±inf are stored as
        null. Returns how many entries were stored."""
        if isinstance(points, str | bytes) or not isinstance(points, Sequence):
            raise TypeError("points must be a list of dicts")
        entries = [ops.metric_entry(p) for p in points]
        # The server takes at most MAX_METRIC_BATCH entries a request: more take several.
        batches = [
            entries[i : i + MAX_METRIC_BATCH] for i in range(0, len(entries), MAX_METRIC_BATCH)
        ]
        calls = ops.append_metrics.batched(
            run_id, "points", batches, key=idempotency_key, lease_token=lease_token
        )
        accepted = 0
        for call in calls:
            accepted += (await self._requester.request(call, timeout=timeout))["accepted"]
        return accepted

    # --- events ----------------------------------------------------------------------------

    async def list_run_events(
        self, run_id: str, *, after: int = 0, limit: int = 1000, timeout: float | None = None
    ) -> list[RunEvent]:
        """What happened to the run, oldest first: created, claimed (by which worker), taken
        over, each action started and ended, checkpoints, cancel, its end (`limit` events after
        the event id `after`; pages the server cut at its byte cap are continued)."""
        return await self._requester.collect(
            lambda start, count: ops.list_run_events(run_id, after=start, limit=count),
            limit,
            after=after,
            cursor="id",
            timeout=timeout,
        )

    # --- checkpoints -----------------------------------------------------------------------

    async def create_checkpoint(
        self,
        run_id: str,
        action_name: str,
        action_index: int,
        status: str = "completed",
        params_snapshot: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
        artifacts_path: str | None = None,
        *,
        step: int | None = None,
        state: Mapping[str, Any] | None = None,
        artifacts: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> Checkpoint:
        """Record a checkpoint of an action, to resume from after a failure: after the action
        (`completed`), or inside it (`running`, with the `step`, `state` and the paths of
        uploaded `artifacts` it continues from)."""
        if isinstance(artifacts, str):
            raise TypeError("artifacts must be a list of artifact paths, not a string")
        data = ops.given(
            action_name=action_name,
            action_index=action_index,
            status=status,
            params_snapshot=params_snapshot,
            result=result,
            artifacts_path=artifacts_path,
            step=step,
            state=state,
            artifacts=None if artifacts is None else list(artifacts),
        )
        call = ops.create_checkpoint(run_id, data, key=idempotency_key, lease_token=lease_token)
        return await self._requester.request(call, timeout=timeout)

    async def get_checkpoints(
        self, run_id: str, *, timeout: float | None = None
    ) -> list[Checkpoint]:
        """A run's checkpoints, by action_index then creation time (all of them, page by page)."""
        pages = self._requester.paged(
            lambda skip: ops.list_checkpoints(run_id, skip=skip, limit=C.CHECKPOINT_PAGE),
            C.CHECKPOINT_PAGE,
            timeout,
        )
        checkpoints: list[Checkpoint] = []
        async for checkpoint in pages:
            checkpoints.append(checkpoint)
        return checkpoints

    async def get_latest_checkpoint(
        self, run_id: str, *, timeout: float | None = None
    ) -> Checkpoint | None:
        """The checkpoint with the highest action_index, or None if the run has none."""
        return await self._checkpoint_or_none(run_id, ops.get_latest_checkpoint(run_id), timeout)

    async def get_checkpoint_by_action(
        self, run_id: str, action_name: str, *, timeout: float | None = None
    ) -> Checkpoint | None:
        """The newest checkpoint of one action, or None if it has none."""
        if action_name == "latest":  # shadowed by /checkpoints/latest on the wire
            checkpoints = await self.get_checkpoints(run_id, timeout=timeout)
            return ops.newest_checkpoint_named(checkpoints, action_name=action_name)
        call = ops.get_checkpoint_by_action(run_id, action_name=action_name)
        return await self._checkpoint_or_none(run_id, call, timeout)

    # --- logs ------------------------------------------------------------------------------

    async def append_logs(
        self,
        run_id: str,
        entries: Sequence[LogEntry | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> list[LogRecord]:
        """Store log entries (in order); returns the stored records."""
        # The server takes at most MAX_LOG_BATCH entries a request: larger batches take several.
        batches = ops.log_batches(entries, size=MAX_LOG_BATCH)
        calls = ops.append_logs.batched(
            run_id, "entries", batches, key=idempotency_key, lease_token=lease_token
        )
        records: list[LogRecord] = []
        for call in calls:
            stored = await self._requester.request(call, timeout=timeout)
            records.extend(stored)
        return records

    async def get_logs(
        self,
        run_id: str,
        action_name: str | None = None,
        level: str | None = None,
        since: datetime | str | None = None,
        limit: int = 1000,
        *,
        after_seq: int | None = None,
        timeout: float | None = None,
    ) -> list[LogRecord]:
        """A run's log records, oldest first, filtered by action, level, time (strictly after
        `since`; naive is UTC) or `seq` (after `after_seq`): `limit` of them unless fewer are
        left (pages the server cut at its byte cap are continued)."""
        return await self._requester.collect(
            lambda start, count: ops.get_logs(
                run_id,
                action_name=action_name,
                level=level,
                since=since,
                limit=count,
                after_seq=start,
            ),
            limit,
            after=after_seq,
            cursor="seq",
            timeout=timeout,
        )

    async def iter_logs(
        self,
        run_id: str,
        action_name: str | None = None,
        level: str | None = None,
        since: datetime | str | None = None,
        *,
        after_seq: int | None = None,
        page_size: int = 1000,
        timeout: float | None = None,
    ) -> AsyncIterator[LogRecord]:
        """Every log record of the run so far (filtered as by `get_logs`), oldest first, fetched
        page by page after the `seq` of the last one."""
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        while True:
            page = await self.get_logs(
                run_id,
                action_name=action_name,
                level=level,
                since=since,
                limit=page_size,
                after_seq=after_seq,
                timeout=timeout,
            )
            for record in page:
                after_seq = record.get("seq")
                yield record
            # A record without `seq` is from a server of the v1 core API, which knows no cursor:
            # its one page is all there is.
            if len(page) < page_size or after_seq is None:
                return

    def follow_logs(
        self,
        run_id: str,
        *,
        action_name: str | None = None,
        level: str | None = None,
        after_seq: int | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[LogRecord]:
        """A run's log records as they are stored, ending once the run is over and every
        record was sent. Resumes dropped connections without gap or duplicate; `timeout`
        bounds the whole stream (APITimeoutError); StreamError if it cannot be resumed."""
        return aiter_events(
            self._requester,
            ops.stream_logs_kwargs(
                run_id, action_name=action_name, level=level, after_seq=after_seq
            ),
            LogEvents(run_id, after_seq),
            timeout=timeout,
            what=f"log stream of run {run_id!r}",
        )

    # --- health and workers ----------------------------------------------------------------

    async def health_check(self) -> bool:
        """True if the service and its storage are usable; never raises, answers within ~3 s."""
        try:
            health = await self._requester.request(
                ops.health(),
                timeout=httpx.Timeout(
                    C.HEALTH_CHECK_TIMEOUT, connect=C.HEALTH_CHECK_CONNECT_TIMEOUT
                ),
                max_retries=0,
                deadline=C.HEALTH_CHECK_DEADLINE,
            )
        except Exception:
            return False
        return health.get("status") == "healthy"

    async def claim_run(
        self,
        worker_id: str,
        lease_seconds: float = 30.0,
        pipeline_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> RunClaim | None:
        """Claim the oldest runnable run with a lease (it becomes `running`); None if none waits."""
        call = ops.claim_run(worker_id, lease_seconds=lease_seconds, pipeline_id=pipeline_id)
        return await self._requester.request(call, timeout=timeout)

    async def renew_lease(
        self,
        run_id: str,
        worker_id: str,
        lease_seconds: float = 30.0,
        *,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> Lease:
        """Extend a lease (ConflictError if it was lost); its `status` shows a cancellation."""
        call = ops.renew_lease(
            run_id, worker_id=worker_id, lease_seconds=lease_seconds, lease_token=lease_token
        )
        return await self._requester.request(call, timeout=timeout)

    async def release_lease(
        self,
        run_id: str,
        worker_id: str,
        *,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> None:
        """Give a lease back so another worker can claim the run at once."""
        call = ops.release_lease(run_id, worker_id=worker_id, lease_token=lease_token)
        await self._requester.request(call, timeout=timeout)

    # --- helpers ---------------------------------------------------------------------------

    async def _checkpoint_or_none(
        self, run_id: str, call: Call[Checkpoint], timeout: float | None
    ) -> Checkpoint | None:
        """What `call` answers, or None for a 404 of a run that exists (NotFoundError if the
        run itself is missing)."""
        try:
            return await self._requester.request(call, timeout=timeout)
        except NotFoundError:
            await self.get_run(run_id, timeout=timeout)
            return None

    async def _is_over(self, run_id: str, timeout: float | None) -> bool:
        run = await self.get_run(run_id, timeout=timeout)
        return RunStatus(run["status"]).is_terminal
