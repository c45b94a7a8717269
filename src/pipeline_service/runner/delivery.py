"""Delivering a worker's writes: transient failures are retried under the lease, a lost lease
is recognised.

A write that records an outcome (an action's failed/completed report, its checkpoint, the run's
final PATCH, the worker's closing log lines) must not be confused with a lost service: it is
resent under the same Idempotency-Key (so it is applied once) while it fails transiently, until
it is acknowledged, refused (409: the lease was lost), or the lease is about to run out. Only
then does the worker give the run back.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from pipeline_service._request import is_retryable_status, retry_delay
from pipeline_service.errors import APIConnectionError, APIStatusError, ConflictError

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Seconds a write of a run without a lease (run in-process, e.g. by `run_worker`) is retried.
UNLEASED_DELIVERY_SECONDS = 30.0
# Backoff between resends (a Retry-After the service sends is honoured instead).
FIRST_RESEND_DELAY = 0.1
MAX_RESEND_DELAY = 2.0
# Longest wait for one attempt's answer (less when the lease has less left).
ATTEMPT_TIMEOUT = 30.0


class LeaseExpired(Exception):
    """A write could not be delivered before the lease ran out: the run may be another
    worker's by now, so this worker must stop and leave it."""


def is_lease_lost(exc: BaseException) -> bool:
    """True for the 409 a fenced write gets: another worker claimed the run since."""
    return isinstance(exc, ConflictError) and "lease" in str(exc.detail).lower()


def is_transient(exc: BaseException) -> bool:
    """A failure that says nothing about the write itself: no answer (connection error,
    timeout), 408, 429, or a 5xx. Sent again, the write may well succeed."""
    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and is_retryable_status(exc.status_code)


def resend_delay(exc: BaseException, attempt: int) -> float:
    """Seconds before resend number `attempt`: the service's Retry-After, else a short backoff."""
    response = getattr(exc, "response", None)
    return retry_delay(attempt, response, initial=FIRST_RESEND_DELAY, maximum=MAX_RESEND_DELAY)


def new_key() -> str:
    """An Idempotency-Key for one logical write (kept for every resend of it)."""
    return uuid.uuid4().hex


def deliver(
    send: Callable[[float], T],
    what: str,
    time_left: Callable[[], float | None],
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """`send(timeout)` until it is acknowledged, resending while it fails transiently.

    `time_left()` gives the seconds the worker may still write (its lease's end, less the safety
    margin), or None without a lease (then UNLEASED_DELIVERY_SECONDS). Each attempt is bounded
    by what is left; LeaseExpired once nothing is. Anything but a transient failure (a 409
    included) is raised at once. `send` must carry the same Idempotency-Key on every call.
    """
    window_end = time.monotonic() + UNLEASED_DELIVERY_SECONDS

    def left() -> float:
        value = time_left()
        return window_end - time.monotonic() if value is None else value

    attempt = 0
    while True:
        remaining = left()
        if remaining <= 0:
            raise LeaseExpired(f"{what}: not acknowledged before the lease ran out")
        try:
            return send(min(ATTEMPT_TIMEOUT, remaining))
        except Exception as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            delay = resend_delay(exc, attempt)
            if delay >= left():
                raise LeaseExpired(
                    f"{what}: not acknowledged before the lease ran out (last: {exc})"
                ) from exc
            logger.warning("%s failed (%s); resending in %.2f s", what, exc, delay)
            sleep(delay)
