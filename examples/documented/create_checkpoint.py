"""Documented example (create_checkpoint()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and the run id from argv[1] (or $RUN_ID).
"""

import os
import sys

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
RUN_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUN_ID", "run-456")

client = PipelineServiceClient(BASE_URL)

checkpoint = client.create_checkpoint(
    run_id=RUN_ID,
    action_name="train",
    action_index=2,
    status="completed",
    params_snapshot={"epochs": 100, "batch_size": 16},
    result={"best_accuracy": 0.95},
    artifacts_path="/workspace/checkpoints/epoch_50",
)
print(checkpoint["id"])
