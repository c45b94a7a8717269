"""The lease keeper: a renewal that hangs or fails never lets a worker outlive its lease."""

from __future__ import annotations

import socket
import time

from pipeline_service import PipelineServiceClient
from pipeline_service.conformance.checks.logs import MIN_LOG_GRACE
from pipeline_service.runner.runner import RunControl
from pipeline_service.runner.worker import MAX_RENEW_INTERVAL, LeaseKeeper, lease_margin
from pipeline_service.server.settings import DEFAULT_LOG_GRACE

LEASE = 1.5


def test_a_service_that_never_answers_loses_the_lease_within_a_lease_period() -> None:
    """Connections are accepted (by the kernel) but never answered: each renewal is bounded,
    and once no renewal succeeded for a whole lease period the action must stop."""
    black_hole = socket.create_server(("127.0.0.1", 0), backlog=64)
    url = f"http://127.0.0.1:{black_hole.getsockname()[1]}"
    control = RunControl(lease_token=1)
    try:
        with PipelineServiceClient(url, timeout=30) as client:
            started = time.monotonic()
            keeper = LeaseKeeper(client, "r1", "w1", control, lease_seconds=LEASE, interval=0.2)
            with keeper:
                assert control.lost.wait(LEASE * 4), "the lease was never given up"
            assert time.monotonic() - started < LEASE * 4
            assert not control.cancelled.is_set()
    finally:
        black_hole.close()


def test_a_cancellation_s_closing_line_fits_in_any_log_grace() -> None:
    """The worker logs a cancelled run's closing line once a renewal tells it (the renewal
    interval), before the kill grace: that must leave room for the request within the
    shortest log grace the API allows (the conformance kit checks servers against it), and the
    reference server's grace must be at least that."""
    assert MAX_RENEW_INTERVAL <= MIN_LOG_GRACE / 2
    assert DEFAULT_LOG_GRACE >= MIN_LOG_GRACE


def test_the_safety_margin_is_a_quarter_of_the_lease_at_most_two_seconds() -> None:
    assert lease_margin(2.0) == 0.5
    assert lease_margin(30.0) == 2.0
    assert lease_margin(3600.0) == 2.0
