"""Documented example (update_run()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and two run ids from argv.
"""

import os
import sys

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
# The two documented updates are alternatives (a finished run cannot change again), so each
# gets its own run: argv[1] (or $RUN_ID) is marked completed, argv[2] (or $FAILED_RUN_ID) failed.
RUN_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUN_ID", "run-456")
FAILED_RUN_ID = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("FAILED_RUN_ID", "run-456")

client = PipelineServiceClient(BASE_URL)

# Mark as completed
client.update_run(
    run_id=RUN_ID,
    status="completed",
    result={"accuracy": 0.95, "model_path": "/models/best.pt"},
)

# Mark as failed
client.update_run(
    run_id=FAILED_RUN_ID,
    status="failed",
    error="Out of memory during training",
)
