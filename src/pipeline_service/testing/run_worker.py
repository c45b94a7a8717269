"""`run_worker`: execute a run's actions in the calling process, synchronously."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline_service.runner.actions import ActionOutcome, ActionTask, run_action
from pipeline_service.runner.runner import RunControl, Runner
from pipeline_service.wire import TERMINAL_RUN_STATUSES

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.types import Run


def run_worker(
    client: PipelineServiceClient,
    run_id: str,
    *,
    work_root: str | Path | None = None,
    import_paths: Sequence[str] = (),
) -> Run:
    """Execute run `run_id` as a worker would, but in this process, and return the final run.

    The run moves to `running`; each action is imported from its entrypoint (the current
    directory, `sys.path` and `import_paths`), gets an ActionContext, and reports progress,
    metrics and logs through `client` (what it prints and logs too, as a worker captures it);
    checkpoints are recorded and the run ends `completed`
    or `failed` (with the action's error and traceback in the run's log). A run that already
    ended is returned as it is. Exceptions of an action never propagate: they fail the run.
    """
    from pipeline_service.client import PipelineServiceClient

    if not isinstance(client, PipelineServiceClient):
        raise TypeError(
            "run_worker needs a PipelineServiceClient; from async code, call it in a thread: "
            "await asyncio.to_thread(run_worker, pipeline_service_client, run_id)"
        )
    run = client.get_run(run_id)
    if run["status"] in TERMINAL_RUN_STATUSES:
        return run
    if run["status"] == "pending":
        run = client.update_run(run_id, status="running")
    control = RunControl()

    def execute(task: ActionTask, control: RunControl) -> ActionOutcome:
        return run_action(
            task, client, lambda: control.must_abort, flush_interval=0.05, capture=True
        )

    with tempfile.TemporaryDirectory(prefix="pipeline-service-run-") as scratch:
        runner = Runner(
            client,
            execute,
            work_root=Path(work_root) if work_root is not None else Path(scratch),
            import_paths=import_paths,
            check_imports=True,
        )
        runner.run(run, control)
        return client.get_run(run_id)
