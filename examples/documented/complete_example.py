"""Documented example (Complete Example) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL.
"""

import os

from pipeline_service import (
    ActionProgress,  # noqa: F401 - imported by the documented example
    PipelineServiceClient,
)

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")

with PipelineServiceClient(BASE_URL) as client:
    # Create pipeline
    pipeline = client.create_pipeline(
        name="Training Pipeline",
        actions=[
            {"name": "download", "entrypoint": "plugin.download.DownloadAction"},
            {"name": "train", "entrypoint": "plugin.train.TrainAction"},
        ],
    )

    # Start run
    run = client.create_run(
        pipeline["id"],
        params={"dataset": 123, "epochs": 50},
    )

    # Monitor progress
    for progress in client.stream_progress(run["id"], timeout=3600):
        print(f"[{progress.status}] {progress.current_action}")

        if progress.current_action:
            for action in progress.actions:
                if action.name == progress.current_action:
                    print(f"  Progress: {action.progress}/{action.total}")

        if progress.status in ("completed", "failed", "cancelled"):
            break

    # Get final result
    final_run = client.get_run(run["id"])
    if final_run["status"] == "completed":
        print(f"Result: {final_run.get('result')}")
    else:
        print(f"Error: {final_run.get('error')}")
