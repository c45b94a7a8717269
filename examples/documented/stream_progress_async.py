"""Documented example (stream_progress_async()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL and the run id from argv[1] (or $RUN_ID).
"""

import asyncio
import os
import sys

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")
RUN_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUN_ID", "run-456")

client = PipelineServiceClient(BASE_URL)


async def main() -> None:
    async for progress in client.stream_progress_async(RUN_ID):
        print(f"Status: {progress.status}")

        if progress.status in ("completed", "failed"):
            break


asyncio.run(main())
