"""Executing runs: action entrypoints, the context actions get, the runner and workers.

An action is named in a pipeline by its entrypoint, `package.module.Name` or
`package.module:Name`: a class (instantiated without arguments, then `run(context)` is called)
or a function (`fn(context)`). It gets an ActionContext and returns a JSON-serialisable dict
(merged into the params of the actions after it, and stored in its checkpoint) or None::

    class TrainAction:
        def run(self, context: ActionContext) -> dict[str, Any]:
            for epoch in range(1, context.params["epochs"] + 1):
                if context.cancelled:
                    return {}
                ...
                context.set_progress(epoch, context.params["epochs"], step="epoch")
                context.set_metrics(loss=loss)
            context.log("done")
            return {"model_path": str(context.work_dir / "model.json")}

`pipeline-service worker` (or `serve`, which runs workers of its own) executes the runs.
"""

from pipeline_service.runner.actions import ActionOutcome, ActionTask, EntrypointError, load_action
from pipeline_service.runner.checkpoints import CheckpointError, SavedCheckpoint
from pipeline_service.runner.context import ActionContext
from pipeline_service.runner.runner import RunControl, RunEnd, Runner
from pipeline_service.runner.worker import Worker, WorkerPool

__all__ = [
    "ActionContext",
    "ActionOutcome",
    "ActionTask",
    "CheckpointError",
    "EntrypointError",
    "RunControl",
    "RunEnd",
    "Runner",
    "SavedCheckpoint",
    "Worker",
    "WorkerPool",
    "load_action",
]
