"""Documented example (report_progress()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and the run id from argv[1] (or $RUN_ID).
"""

import os
import sys

from pipeline_service import ActionProgress, PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
RUN_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUN_ID", "run-456")

client = PipelineServiceClient(BASE_URL)

# Basic progress update
client.report_progress(
    run_id=RUN_ID,
    current_action="train",
    current_action_index=2,
    status="running",
)

# With detailed action progress
client.report_progress(
    run_id=RUN_ID,
    current_action="train",
    action_progress=ActionProgress(
        name="train",
        status="running",
        progress=50,
        total=100,
        metrics={"loss": 0.25, "accuracy": 0.87},
    ),
)
