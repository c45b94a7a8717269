"""The kit against a server whose workers poll for runs: they claim none of the kit's runs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from pipeline_service.conformance import Depth, Options, all_checks, run_checks
from tests.support.processes import lines_of, subprocess_env, wait_until

pytestmark = pytest.mark.slow

CLAIMED = re.compile(r"worker (\S+) claimed run (\S+)")


class Output:
    """The lines a process writes to stderr, read on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines = lines_of(process.stderr)  # the pipe is closed at its end
        self.seen: list[str] = []

    def drain(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return self.seen

    def claimed(self) -> set[str]:
        """Ids of the runs this process's workers claimed so far."""
        return {match.group(2) for line in self.drain() if (match := CLAIMED.search(line))}


@contextmanager
def started(command: list[str], cwd: Path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**subprocess_env(), "COLUMNS": "1000"},  # a log line is one line, not wrapped
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    output = Output(process)
    try:
        yield process, output
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        wait_until(lambda: process.stderr is None or process.stderr.closed, 30, "stderr's end")


def test_the_targets_workers_claim_none_of_the_kits_runs(database: str, tmp_path: Path) -> None:
    """`serve --workers 1` and a separate `pipeline-service worker` polling every 0.05 s while
    every quick check runs (on PostgreSQL all but the schema fuzzing): no claim takes a run
    of the kit, and a run created afterwards by somebody else is claimed (the workers were
    polling all along)."""
    quick = {c.id for c in all_checks() if c.depth is Depth.QUICK}
    if database.startswith("postgres"):
        quick = {check_id for check_id in quick if not check_id.startswith("schema.")}
    serve = [
        sys.executable, "-m", "pipeline_service", "serve", "--port", "0", "--db", database,
        "--workers", "1", "--heartbeat-interval", "0.2",
        "--artifacts", str(tmp_path / "artifacts"),  # PostgreSQL has no default store
    ]  # fmt: skip
    with started(serve, tmp_path) as (_, served):
        first = served.lines.get(timeout=60)
        match = re.search(r"serving on (http://\S+)", first)
        assert match, first
        url = match.group(1)
        worker = [
            sys.executable, "-m", "pipeline_service", "worker", "--url", url,
            "--poll-interval", "0.05",
        ]  # fmt: skip
        with started(worker, tmp_path) as (_, polling):
            wait_until(lambda: any("serving" in line for line in polling.drain()), 60, "the worker")
            report = run_checks(
                Options(
                    base_url=url,
                    depth=Depth.QUICK,
                    seed=3,
                    heartbeat_timeout=5,
                    only=tuple(sorted(quick)),
                )
            )
            assert report.ok, [(r.check_id, r.message) for r in report.results if not r.holds]
            assert {r.check_id for r in report.results} == quick
            with httpx.Client(base_url=url, timeout=30) as http:
                pipeline = http.post(
                    "/api/v1/pipelines/",
                    json={"name": "ordinary", "actions": [{"name": "a", "entrypoint": "no.A"}]},
                ).json()
                run = http.post(f"/api/v1/pipelines/{pipeline['id']}/runs/", json={}).json()
                wait_until(
                    lambda: run["id"] in served.claimed() | polling.claimed(),
                    60,
                    "a worker to claim an ordinary run",
                )
            assert served.claimed() | polling.claimed() == {run["id"]}
