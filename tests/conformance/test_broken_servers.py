"""The kit against servers with one fault each: the right check reports it, with a curl line."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from pipeline_service.conformance import Depth, Options, Outcome, run_checks
from pipeline_service.conformance.report import area_summary, print_report
from pipeline_service.server import EmbeddedServer

from .faults import broken_server

# Checks a fault of another area must leave holding.
UNRELATED = ("runs.transitions", "runs.timestamps", "logs.levels")

# fault → the check that must report it
FAULTS = {
    "lost-update": "progress.concurrent",
    "stream-without-ids": "stream.framing",
    "500-on-bad-body": "errors.bad-body",
    "replaced-progress": "progress.merge",
    "missing-terminal-event": "stream.terminal",
    "slash-redirect": "http.slash-twins",
    "no-head": "http.head",
    "oldest-first": "lists.paging",
    "truncated-log-batch": "limits.log-batch",
    "stale-replay": "stream.order",
    "metric-points-reversed": "metrics.history",
    "unchecked-artifact-digest": "artifacts.integrity",
    "resumed-from-filter-ignored": "lineage.resume",
    "any-body-is-json": "network.content-type",
    "any-host": "network.host",
    "no-next-link-logs": "network.log-pages",
    "no-next-link-lists": "network.list-pages",
    "stale-lease-accepted": "leases.fencing",
    "no-log-grace": "logs.closing-lines",
    "seq-out-of-commit-order": "logs.cursor",
}


@pytest.fixture
def start_broken(tmp_path: Path) -> Iterator[Callable[[str], EmbeddedServer]]:
    servers: list[EmbeddedServer] = []

    def start(fault: str) -> EmbeddedServer:
        server = broken_server(fault, tmp_path / f"{fault}.db")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def options(url: str, only: tuple[str, ...], *, keep_failed: bool = False) -> Options:
    return Options(
        keep_failed=keep_failed,
        base_url=url,
        depth=Depth.QUICK,
        only=only,
        heartbeat_timeout=5,
        event_timeout=5,
        max_body_bytes=1024 * 1024,
    )


@pytest.mark.slow  # every fault of the catalogue, each a server and a run of the kit
@pytest.mark.parametrize(("fault", "check_id"), FAULTS.items())
def test_fault_is_reported_by_its_check(
    start_broken: Callable[[str], EmbeddedServer], fault: str, check_id: str
) -> None:
    server = start_broken(fault)
    report = run_checks(options(server.url, (check_id, *UNRELATED)))
    assert not report.ok
    results = {result.check_id: result for result in report.results}
    failed = results[check_id]
    assert failed.outcome is Outcome.FAILED, (failed.outcome, failed.message)
    assert failed.reproduce, "no reproduction line"
    assert all(line.startswith(("curl ", "python3 -c ")) for line in failed.reproduce)
    assert all("curl -sS" in line for line in failed.reproduce)
    assert server.url in failed.reproduce[-1]
    # the fault does not make unrelated checks fail
    for unrelated in UNRELATED:
        assert results[unrelated].outcome is Outcome.PASSED, results[unrelated].message


def test_lost_update_report_names_the_lost_reporters(
    start_broken: Callable[[str], EmbeddedServer],
) -> None:
    server = start_broken("lost-update")
    report = run_checks(options(server.url, ("progress.concurrent",)))
    (result,) = report.results
    assert "concurrent reporters lost their update" in result.message
    assert any("/progress" in line and "step0" in line for line in result.reproduce)
    assert result.kept_pipelines == []
    assert httpx.get(f"{server.url}/api/v1/pipelines/").json() == []  # cleaned up


def test_keep_failed_leaves_the_failing_checks_data(
    start_broken: Callable[[str], EmbeddedServer],
) -> None:
    server = start_broken("replaced-progress")
    report = run_checks(options(server.url, ("progress.", "runs.transitions"), keep_failed=True))
    results = {result.check_id: result for result in report.results}
    (kept,) = results["progress.merge"].kept_pipelines
    assert results["runs.transitions"].kept_pipelines == []
    remaining = httpx.get(f"{server.url}/api/v1/pipelines/").json()
    assert [pipeline["id"] for pipeline in remaining] == [kept]
    # replaying the reproduction lines against the kept run shows the fault again
    first, partial = (replay(line) for line in results["progress.merge"].reproduce)
    assert first.json()["progress"][1]["message"] == "warming up"
    assert partial.json()["progress"][1]["message"] is None


def replay(curl: str) -> httpx.Response:
    """Send the request a reproduction line describes (curl's -X, -H and --data-binary)."""
    words = shlex.split(curl)
    assert words[:2] == ["curl", "-sS"], curl
    method, url, headers, body = "GET", "", {}, None
    items = iter(words[2:])
    for word in items:
        if word == "-X":
            method = next(items)
        elif word == "-H":
            name, _, value = next(items).partition(": ")
            headers[name] = value
        elif word == "--data-binary":
            body = next(items)
        elif not word.startswith("-"):
            url = word
    return httpx.request(method, url, headers=headers, content=body)


@pytest.mark.slow
def test_reference_server_passes_the_same_checks(tmp_path: Path) -> None:
    """Control: without a fault, the checks the faults trip all hold."""
    with EmbeddedServer(tmp_path / "ok.db", heartbeat_interval=0.2) as server:
        report = run_checks(options(server.url, tuple(FAULTS.values())))
    assert report.ok, [(r.check_id, r.message) for r in report.results if not r.holds]
    assert {r.check_id for r in report.results} == set(FAULTS.values())


def test_command_line_exits_non_zero_with_a_reproduction(
    start_broken: Callable[[str], EmbeddedServer], tmp_path: Path
) -> None:
    server = start_broken("500-on-bad-body")
    report_file = tmp_path / "report.json"
    junit_file = tmp_path / "junit.xml"
    command = [
        sys.executable, "-m", "pipeline_service.conformance", server.url,
        "--quick", "--check", "errors.", "--check", "runs.transitions",
        "--json", str(report_file), "--junit", str(junit_file),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ errors.bad-body" in result.stdout
    assert f"reproduce: curl -sS -X POST {server.url}/api/v1/pipelines/" in result.stdout
    assert "errors: 0/1 hold" in result.stdout
    assert "runs: 1/1 hold" in result.stdout
    document = json.loads(report_file.read_text())
    assert document["ok"] is False
    assert document["summary"]["failed"] == 1
    (check,) = [c for c in document["checks"] if c["check_id"] == "errors.bad-body"]
    assert check["tier"] == "core"
    assert check["reproduce"][0].startswith("curl ")
    failures = ET.parse(junit_file).getroot().findall(".//failure")
    assert len(failures) == 1
    assert "reproduce: curl" in (failures[0].text or "")


NEW_FAULTS = ("stale-lease-accepted", "no-log-grace", "seq-out-of-commit-order")


@pytest.mark.slow
@pytest.mark.parametrize("fault", NEW_FAULTS)
def test_command_line_names_the_check_a_fault_breaks(
    start_broken: Callable[[str], EmbeddedServer], fault: str
) -> None:
    """The command line against each fault: the check that catches it is marked failed under its
    area, with a curl line reproducing it, and the exit code is 1."""
    server = start_broken(fault)
    check_id = FAULTS[fault]
    area = check_id.split(".")[0]
    command = [
        sys.executable, "-m", "pipeline_service.conformance", server.url,
        "--quick", "--check", check_id, "--event-timeout", "5",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{area}: 0/1 hold" in result.stdout
    assert f"✗ {check_id}" in result.stdout
    assert "reproduce: curl -sS" in result.stdout
    assert server.url in result.stdout.split("reproduce:")[1]


def test_a_target_without_dedicated_workers_is_checked_all_the_same(
    start_broken: Callable[[str], EmbeddedServer],
) -> None:
    """A server that refuses `dedicated_workers` (as a v1-core one does) still gets every
    check: the kit creates its pipelines without the field and touches its runs."""
    server = start_broken("no-dedicated-workers")
    report = run_checks(options(server.url, ("leases.fencing", "idempotency.", *UNRELATED)))
    assert report.ok, [(r.check_id, r.message) for r in report.results if not r.holds]
    assert httpx.get(f"{server.url}/api/v1/pipelines/").json() == []  # cleaned up


def test_an_area_whose_checks_were_all_skipped_says_skipped(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "skip.db") as server:
        report = run_checks(options(server.url, ("auth.", "runs.transitions")))
    console = Console(record=True, width=200)
    print_report(console, report)
    lines = console.export_text().splitlines()
    assert "auth: skipped" in lines
    assert "runs: 1/1 hold" in lines
    assert lines[-1] == "1 passed, 0 failed, 1 skipped"
    assert area_summary(report.results) == "1/1 hold, 1 skipped"
