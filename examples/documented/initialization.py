"""Documented example (Initialization) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL.
"""

import os

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")

client = PipelineServiceClient(
    base_url=BASE_URL,  # Pipeline service URL
    timeout=30.0,  # Request timeout in seconds
)
