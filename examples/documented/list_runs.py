"""Documented example (list_runs()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL.
"""

import os

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")

client = PipelineServiceClient(BASE_URL)

# All runs
runs = client.list_runs()

# Filter by status
running = client.list_runs(status="running")
completed = client.list_runs(status="completed")
print(len(runs), len(running), len(completed))
