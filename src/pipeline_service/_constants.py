"""Every default of the client, in one place (plain values: the command line imports this
without httpx)."""

from __future__ import annotations

from pipeline_service.vocabulary import MAX_PAGE_ITEMS

ENV_BASE_URL = "PIPELINE_SERVICE_URL"
ENV_TOKEN = "PIPELINE_SERVICE_TOKEN"

DEFAULT_BASE_URL = "http://localhost:8100"
API_PREFIX = "/api/v1"  # of every path; dropped from a base URL given with it
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0

# Streams: a stream with no bytes (heartbeats included) for this long is treated as dropped.
DEFAULT_STREAM_IDLE_TIMEOUT = 45.0
DEFAULT_STREAM_MAX_RECONNECTS = 5

# health_check() answers within ~3 s even when the server hangs: connect + read stay under that.
HEALTH_CHECK_TIMEOUT = 2.0
HEALTH_CHECK_CONNECT_TIMEOUT = 1.0
HEALTH_CHECK_DEADLINE = 3.0

# Seconds a Retry-After may ask for before the client computes its own delay instead.
MAX_RETRY_AFTER = 60.0

# Streams reconnect after a drop with capped exponential backoff (a server's `retry:` is the base).
STREAM_RECONNECT_INITIAL_DELAY = 0.25
STREAM_RECONNECT_MAX_DELAY = 5.0

# wait_for_completion polls at this interval when the progress stream cannot be used.
POLL_INTERVAL = 1.0

USER_AGENT_PREFIX = "pipeline-service-python"
LOGGER_NAME = "pipeline_service"

# Checkpoints asked for at a time by get_checkpoints (the server's largest page).
CHECKPOINT_PAGE = MAX_PAGE_ITEMS

# A worker's lease on its run, and its wait between claims (here, not in the runner, so that the
# command line's options need not import the runner).
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_POLL_INTERVAL = 0.5
