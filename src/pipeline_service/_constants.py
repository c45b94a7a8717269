"""Every default of the client, in one place."""

from __future__ import annotations

import httpx

ENV_BASE_URL = "PIPELINE_SERVICE_URL"
ENV_TOKEN = "PIPELINE_SERVICE_TOKEN"

DEFAULT_BASE_URL = "http://localhost:8100"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0

# Streams: a stream with no bytes (heartbeats included) for this long is treated as dropped.
DEFAULT_STREAM_IDLE_TIMEOUT = 45.0
DEFAULT_STREAM_MAX_RECONNECTS = 5

HEALTH_CHECK_TIMEOUT = httpx.Timeout(3.0)
