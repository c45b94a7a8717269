"""What the fork server imports and builds before forking action processes: shared by all.

httpx imports its transport (httpcore, h11) only when a client is built, and IDNA encoding on
the first request: done here, every child would otherwise import them again (~20 ms).
"""

import encodings.idna  # noqa: F401

import httpcore  # noqa: F401

from pipeline_service.runner.process import shared_ssl_context

shared_ssl_context()
