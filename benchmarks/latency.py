"""2. Progress latency: report_progress returning → the matching stream event arriving.

For 1, 10 and 100 subscribers (in a helper process of their own, so the server and not the
benchmark's GIL is measured; each reads its stream with a minimal socket reader, cheap enough
that arrival times show the server's fan-out and not the reading process's parsing; the same
is then done with 100 httpx-sse subscribers parsing every event, and with 1 subscriber using
AsyncPipelineServiceClient), the benchmark process reports progress every 100 ms with a unique
marker in the first action's message, notes when each report_progress call returned, and the
helper notes when each subscriber received the event carrying that marker. Both use
CLOCK_MONOTONIC, which is system-wide on Linux. A negative latency would mean the event beat
the HTTP answer (the server fans the change out before it writes the answer), so latencies are
also given from the moment report_progress was called, a stricter figure; the targets are
checked on both. The share counts reports that reached a subscriber as an event of their own
(the server may coalesce changes for a subscriber that falls behind).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._harness import Helper, Results, percentile
from pipeline_service import PipelineServiceClient

SECTION = "2 latency"
P50_TARGET_MS = 5.0
P99_TARGET_MS = 50.0
REPORT_INTERVAL = 0.1


def _measure(
    client: PipelineServiceClient,
    url: str,
    pipeline_id: str,
    subscribers: int,
    reports: int,
    via: str,
) -> dict[str, Any]:
    run_id = client.create_run(pipeline_id)["id"]
    helper = Helper("_subscribers", url, run_id, str(subscribers), "latency", via)
    try:
        helper.wait_ready()
        time.sleep(0.2)
        returned: dict[str, float] = {}
        sent: dict[str, float] = {}
        start = time.monotonic() + REPORT_INTERVAL
        for k in range(reports):
            delay = start + k * REPORT_INTERVAL - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            marker = f"m{k}"
            sent[marker] = time.monotonic()
            client.report_progress(
                run_id,
                current_action_index=0,
                action_progress={"name": "a0", "message": marker, "progress": k / reports},
            )
            returned[marker] = time.monotonic()
        time.sleep(0.2)
        client.update_run(run_id, status="completed")
        answer = helper.result()
    finally:
        helper.kill()
    from_return = [
        (arrivals[marker] - at) * 1000
        for arrivals in answer["arrivals"]
        for marker, at in returned.items()
        if marker in arrivals
    ]
    from_send = [
        (arrivals[marker] - at) * 1000
        for arrivals in answer["arrivals"]
        for marker, at in sent.items()
        if marker in arrivals
    ]
    if not from_return:
        raise RuntimeError(f"no progress event reached the {subscribers} subscriber(s)")
    delivered = sum(1 for a in answer["arrivals"] for marker in returned if marker in a)
    return {
        "p50": percentile(from_return, 50),
        "p99": percentile(from_return, 99),
        "send_p50": percentile(from_send, 50),
        "send_p99": percentile(from_send, 99),
        "share": 100 * delivered / (reports * subscribers),
        "connect": answer["connect_seconds"],
    }


def run(
    results: Results,
    url: str,
    client: PipelineServiceClient,
    pipeline_id: str,
    *,
    levels: tuple[int, ...],
    reports: int,
) -> None:
    print(f"[{SECTION}] {levels} subscribers, {reports} reports every 100 ms", flush=True)
    top = max(levels)
    for subscribers in levels:
        figures = _measure(client, url, pipeline_id, subscribers, reports, "socket")
        label = f"{subscribers} subscriber{'s' if subscribers > 1 else ''} (socket reader)"
        _add(results, label, figures, subscribers == top)
    figures = _measure(client, url, pipeline_id, top, reports, "raw")
    _add(results, f"{top} subscribers (httpx-sse, JSON parsed)", figures, False)
    figures = _measure(client, url, pipeline_id, 1, reports, "client")
    _add(results, "1 subscriber (AsyncPipelineServiceClient)", figures, False)


def _add(results: Results, label: str, figures: dict[str, Any], targets: bool) -> None:
    # The figure is measured from the call's return; the one from its start is stricter
    # (it adds the request itself and, with many subscribers, the fan-out before the answer).
    p50, p99 = (P50_TARGET_MS, P99_TARGET_MS) if targets else (None, None)
    results.add(SECTION, f"{label}: p50 after return", figures["p50"], "ms", at_most=p50)
    results.add(SECTION, f"{label}: p99 after return", figures["p99"], "ms", at_most=p99)
    results.add(SECTION, f"{label}: p50 after call start", figures["send_p50"], "ms", at_most=p50)
    results.add(SECTION, f"{label}: p99 after call start", figures["send_p99"], "ms", at_most=p99)
    results.add(SECTION, f"{label}: own event per change", figures["share"], "%")
