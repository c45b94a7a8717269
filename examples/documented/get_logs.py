"""Documented example (get_logs()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and the run id from argv[1] (or $RUN_ID).
"""

import os
import sys
from datetime import datetime, timedelta

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
RUN_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUN_ID", "run-456")

client = PipelineServiceClient(BASE_URL)

# All logs
logs = client.get_logs(RUN_ID)

# Filter by action
train_logs = client.get_logs(RUN_ID, action_name="train")

# Filter by level
errors = client.get_logs(RUN_ID, level="error")

# Logs since timestamp
recent = client.get_logs(
    RUN_ID,
    since=datetime.now() - timedelta(hours=1),
)
print(len(logs), len(train_logs), len(errors), len(recent))
