"""The lease keeper: a renewal that hangs or fails never lets a worker outlive its lease."""

from __future__ import annotations

import socket
import time

from pipeline_service import PipelineServiceClient
from pipeline_service.runner.runner import RunControl
from pipeline_service.runner.worker import LeaseKeeper

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
