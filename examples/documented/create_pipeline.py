"""Documented example (create_pipeline()) of PipelineServiceClient, runnable.

Only the import line differs from the documentation; the base URL comes from
$PIPELINE_SERVICE_URL.
"""

import os

from pipeline_service import PipelineServiceClient

BASE_URL = os.environ.get("PIPELINE_SERVICE_URL", "http://localhost:8100")

client = PipelineServiceClient(BASE_URL)

pipeline = client.create_pipeline(
    name="YOLO Training Pipeline",
    actions=[
        {"name": "download", "entrypoint": "plugin.download.DownloadAction"},
        {"name": "convert", "entrypoint": "plugin.convert.ConvertAction"},
        {"name": "train", "entrypoint": "plugin.train.TrainAction"},
    ],
    description="End-to-end YOLO training pipeline",
)

print(f"Created pipeline: {pipeline['id']}")
