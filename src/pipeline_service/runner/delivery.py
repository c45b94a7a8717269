"""Delivering a worker's writes: transient failures are retried, a lost lease is recognised."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from pipeline_service.errors import (
    APIConnectionError,
    ConflictError,
    InternalServerError,
    RateLimitError,
)

T = TypeVar("T")

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (APIConnectionError, InternalServerError, RateLimitError)
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)


def is_lease_lost(exc: BaseException) -> bool:
    """True for the 409 a fenced write gets: another worker claimed the run since."""
    return isinstance(exc, ConflictError) and "lease" in str(exc.detail).lower()


def retry_transient(
    send: Callable[[], T],
    what: str,
    *,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """send(), again after each delay while it fails with a transient error (connection
    error, timeout, 429, 5xx); the last failure is raised. Anything else is raised at once."""
    for delay in delays:
        try:
            return send()
        except TRANSIENT_ERRORS as exc:
            logger.warning("%s failed (%s); retrying in %.2f s", what, exc, delay)
            sleep(delay)
    return send()
