"""What the fork server imports and builds before forking action processes: shared by all."""

from pipeline_service.runner.process import shared_ssl_context

shared_ssl_context()
