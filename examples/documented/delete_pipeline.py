"""Documented example (delete_pipeline()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and the pipeline id from argv[1] (or $PIPELINE_ID).
"""

import os
import sys

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
PIPELINE_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PIPELINE_ID", "pipeline-123")

client = PipelineServiceClient(BASE_URL)

client.delete_pipeline(PIPELINE_ID)
