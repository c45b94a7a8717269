"""The benchmarks keep working: their tiny mode runs end to end and prints every figure.

No timing is asserted (machines are shared and noisy): only that each benchmark ran and
produced finite numbers, with sanity checks that hold on any machine.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._harness import Results, ratio
from pipeline_service.server.storage.postgres.cluster import find_bin_dir

ROOT = Path(__file__).resolve().parents[1]
NOT_RAY = "overhead,latency,throughput,memory,runner,backends,outage,startup,runs_stream"

# A figure every section must print (by the start of its name).
EXPECTED = {
    "1 overhead": [
        "get_run sync: client / raw httpx time",
        "report_progress sync: client / raw httpx time",
        "get_run async: client / raw httpx time",
        "report_progress async: client / raw httpx time",
    ],
    "2 latency": [
        "2 subscribers (socket reader): p50",
        "2 subscribers (httpx-sse, JSON parsed): p50",
        "1 subscriber (AsyncPipelineServiceClient): p50",
    ],
    "3 throughput": [
        "/health, 1 client(s): req/s",
        "report_progress, 8 client(s): req/s",
        "get_run, 1 client(s): req/s",
        "append_logs, batch 1000: entries/s",
    ],
    "4 memory": ["2,000-event stream, sync client: RSS growth", "server, 20 idle streams: RSS"],
    "5 runner": [
        "3-action no-op run, worker",
        "no-op action in a worker, ms per action",
        "requests per 3-action run, worker",
        "set_progress × 10,000: report_progress requests",
    ],
    "9 startup": [
        "python -c pass (the interpreter alone): wall time",
        "pipeline-service --version: wall time",
        "pipeline-service --help: wall time",
        "pipeline-service completion of `ru`: wall time",
    ],
    "10 runs stream": [
        "report_progress, 8 clients, no runs stream",
        "report_progress, 8 clients, 2 runs streams open",
        "report sent → event, 2 runs streams: p99",
        "events received / expected",
    ],
}
# Printed only where PostgreSQL can run (always under CI, which installs it).
POSTGRES_EXPECTED = {
    "6 backends": [
        "SQLite report_progress, 8 client(s): req/s",
        "PostgreSQL report_progress, 8 client(s): req/s",
        "PostgreSQL get_run, 1 client(s): req/s",
        "PostgreSQL append_logs, batch 100: entries/s",
        "PostgreSQL report_progress, 8 client(s): database CPU per req",
        "PostgreSQL append_logs, batch 1000: database CPU per batch",
        "PostgreSQL push, 2 subscribers on the other replica: p99",
        "4 subscribers over two replicas: p99",
    ],
    "7 outage": [
        "database down, 4 concurrent requests: slowest answer",
        "database back: first write after it started",
        "connections terminated: failed of the next 12 requests",
    ],
}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_benchmarks_print_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        # The ray section runs in tests/ray (Ray needs the loopback-only network namespace).
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out), "--only", NOT_RAY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=290,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    figures = json.loads(out.read_text())["figures"]
    assert figures
    for figure in figures:
        # A ratio to a CPU reading of 0 (possible in so short a run) is "n/a", not a crash.
        unmeasured = figure["unit"] == "×" and math.isnan(figure["value"])
        assert math.isfinite(figure["value"]) or unmeasured, figure
        assert figure["name"] in result.stdout  # the table shows it
        if " CPU per " in figure["name"]:  # a target in entries/s is not a CPU figure's
            assert not figure["target"], figure
    names = {(f["section"], f["name"]) for f in figures}
    expected = dict(EXPECTED)
    if find_bin_dir() is not None or os.environ.get("CI"):
        expected.update(POSTGRES_EXPECTED)
    for section, prefixes in expected.items():
        for prefix in prefixes:
            assert any(s == section and n.startswith(prefix) for s, n in names), (section, prefix)
    by_name = {f["name"]: f["value"] for f in figures}
    # Sanity that holds on any machine: the changes reached the subscribers...
    assert by_name["2 subscribers (socket reader): own event per change"] > 0
    # ...the coalescing reporter sent far fewer requests than set_progress calls...
    assert 1 <= by_name["set_progress × 10,000: report_progress requests sent"] < 1000
    # ...and the streams were consumed whole (the benchmark checks the count itself).
    assert by_name["2,000-event stream, async client: events/s"] > 0


def test_a_ratio_to_a_zero_reading_is_not_available(capsys: pytest.CaptureFixture[str]) -> None:
    """A CPU reading can be 0 clock ticks: the ratio to it is n/a, not a ZeroDivisionError."""
    assert ratio(3.0, 1.5) == 2.0
    assert math.isnan(ratio(3.0, 0.0))
    results = Results()
    results.add("3 throughput", "report_progress: server CPU ÷ /health's", ratio(1.0, 0.0), "×")
    assert "report_progress: server CPU ÷ /health's: n/a ×" in capsys.readouterr().out
    assert "|   n/a | ×" in results.table()
