"""Documented example (Context Manager) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL.
"""

import os

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")

with PipelineServiceClient(BASE_URL) as client:
    # The documentation elides the arguments (`create_pipeline(...)`); these are its own.
    pipeline = client.create_pipeline(
        name="YOLO Training Pipeline",
        actions=[{"name": "train", "entrypoint": "plugin.train.TrainAction"}],
    )
    run = client.create_run(pipeline["id"])
    print(f"Run ID: {run['id']}")
