"""Pages cost the server a bounded amount of memory whatever is stored: a log page over large
records, and concurrent list pages over runs with the largest params the server takes. The
server runs in a process of its own; its peak RSS (VmHWM, reset before the reads) is measured."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pipeline_service.wire import DEFAULT_MAX_FIELD_BYTES, MAX_PAGE_BYTES
from tests.sample import ACTIONS, API

from .conftest import Database

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
RECORD = 100_000  # the largest log message
RECORDS = 600  # 60 MB of messages: one unbounded page would hold them all
RUNS = 40  # runs with params at the field limit: 40 MiB, ten pages of 4 MiB
MAX_GROWTH = 80 * MiB

SERVE = """
import sys
from pipeline_service.server import EmbeddedServer
server = EmbeddedServer(sys.argv[1], max_body_bytes=64 * 1024 * 1024).start()
print(server.url, flush=True)
sys.stdin.read()  # until the test closes stdin
server.stop()
"""


@pytest.fixture
def server_process(new_database: Database) -> Iterator[tuple[str, int]]:
    with new_database("page-memory") as db:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdin is not None
        try:
            url = process.stdout.readline().strip()
            assert url.startswith("http://"), url
            yield url, process.pid
        finally:
            process.stdin.close()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def reset_peak(pid: int) -> int:
    """Reset the process's peak RSS to its current RSS (Linux: clear_refs 5); returns it."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status(pid, "VmRSS")


def post_json(http: httpx.Client, path: str, value: object) -> httpx.Response:
    data = json.dumps(value).encode()
    return http.post(path, content=data, headers={"content-type": "application/json"})


def test_a_log_page_over_large_records_is_bounded(server_process: tuple[str, int]) -> None:
    url, pid = server_process
    with httpx.Client(base_url=url + API, timeout=120) as http:
        pid_ = http.post("/pipelines/", json={"name": "logs", "actions": ACTIONS}).json()["id"]
        rid = http.post(f"/pipelines/{pid_}/runs/", json={}).json()["id"]
        for start in range(0, RECORDS, 100):
            entries = [{"message": f"{start + i:05d}" + "m" * (RECORD - 5)} for i in range(100)]
            assert post_json(http, f"/runs/{rid}/logs/", {"entries": entries}).status_code == 201
        baseline = reset_peak(pid)
        page = http.get(f"/runs/{rid}/logs/", params={"limit": 10_000})
        growth = status(pid, "VmHWM") - baseline
        assert page.status_code == 200
        records = page.json()
        assert 0 < len(records) < RECORDS
        assert len(page.content) <= MAX_PAGE_BYTES + 2 * RECORD
        assert page.links["next"]["url"].endswith(f"after_seq={records[-1]['seq']}")
    assert growth < MAX_GROWTH, f"the server grew by {growth / MiB:.0f} MiB for one page"


def test_concurrent_list_pages_over_the_largest_params_are_bounded(
    server_process: tuple[str, int],
) -> None:
    url, pid = server_process
    params = {"blob": "p" * (DEFAULT_MAX_FIELD_BYTES - 20)}
    with httpx.Client(base_url=url + API, timeout=120) as http:
        pipeline = http.post("/pipelines/", json={"name": "big", "actions": ACTIONS}).json()
        for _ in range(RUNS):
            created = post_json(http, f"/pipelines/{pipeline['id']}/runs/", {"params": params})
            assert created.status_code == 201, created.text
        too_big = post_json(
            http,
            f"/pipelines/{pipeline['id']}/runs/",
            {"params": {"blob": "p" * DEFAULT_MAX_FIELD_BYTES}},
        )
        assert too_big.status_code == 422
        baseline = reset_peak(pid)
        with ThreadPoolExecutor(3) as pool:
            pages = list(pool.map(lambda _: http.get("/runs/", params={"limit": 100}), range(3)))
        growth = status(pid, "VmHWM") - baseline
        claimed = http.post("/runs/claim", json={"worker_id": "w"})  # the largest run is taken
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["run"]["params"] == params
    for page in pages:
        assert page.status_code == 200
        assert 0 < len(page.json()) < RUNS
        assert "next" in page.links
    assert growth < MAX_GROWTH, f"the server grew by {growth / MiB:.0f} MiB for three pages"
