"""Several `pipeline-service serve` processes on one PostgreSQL database behave as one service."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pipeline_service.server.storage.postgres.listener import LISTENER_APPLICATION_NAME
from tests.sample import API
from tests.support.processes import free_port, subprocess_env, wait_until
from tests.support.sse import SSEReader, open_stream

pytestmark = pytest.mark.slow

TOKEN = "replica-test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
LEASE_SECONDS = 3


class Processes:
    """Replicas (`serve --workers 0`) and workers as subprocesses, killed at teardown."""

    def __init__(self, dsn: str, logs: Path) -> None:
        self.dsn = dsn
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}-{len(self.started)}.log").open("wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=subprocess_env()
            )
        self.started.append(process)
        return process

    def replica(self) -> tuple[str, subprocess.Popen[bytes]]:
        """A replica on the database: its URL once it is healthy, and its process."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self._spawn(
            "replica",
            [
                sys.executable, "-m", "pipeline_service", "serve",
                "--db", self.dsn, "--port", str(port), "--token", TOKEN,
                "--workers", "0", "--log-level", "warning",
            ],
        )  # fmt: skip

        def healthy() -> bool:
            assert process.poll() is None, "the replica exited"
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, "the replica to answer /health")
        return url, process

    def worker(self, url: str, lease_seconds: float = LEASE_SECONDS) -> subprocess.Popen[bytes]:
        return self._spawn(
            "worker",
            [
                sys.executable, "-m", "pipeline_service", "worker", "--url", url,
                "--token", TOKEN, "--lease-seconds", str(lease_seconds), "--poll-interval", "0.1",
            ],
        )  # fmt: skip

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
        for process in self.started:
            process.wait(timeout=30)


@pytest.fixture
def processes(postgres_dsn: str, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(postgres_dsn, tmp_path)
    yield started
    started.stop_all()


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers=HEADERS, timeout=30)


def new_run(http: httpx.Client, actions: list[dict[str, Any]] | None = None, **body: Any) -> str:
    actions = actions or [{"name": "a", "entrypoint": "m.A"}]
    pipeline = http.post(f"{API}/pipelines/", json={"name": "replicas", "actions": actions})
    assert pipeline.status_code == 201, pipeline.text
    run = http.post(f"{API}/pipelines/{pipeline.json()['id']}/runs/", json=body)
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    return run_id


def report(http: httpx.Client, run_id: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"{API}/runs/{run_id}/progress", json=body)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def stream(url: str, run_id: str, kind: str = "progress") -> SSEReader:
    return open_stream(f"{url}{API}/runs/{run_id}/{kind}/stream", headers=HEADERS)


def test_subscribers_on_one_replica_see_every_change_made_through_another(
    processes: Processes,
) -> None:
    (a, _), (b, _) = processes.replica(), processes.replica()
    with client(a) as http:
        run_id = new_run(http)
        subscribers = [stream(b, run_id) for _ in range(3)]
        logs = stream(b, run_id, "logs")
        try:
            for subscriber in subscribers:
                assert subscriber.next(timeout=10).id == "1"
            for step in range(1, 21):
                action = {"name": "a", "progress": step, "total": 20}
                status = "completed" if step == 20 else "running"
                http.post(f"{API}/runs/{run_id}/logs/", json={"entries": [{"message": f"{step}"}]})
                version = step + 1
                report(http, run_id, status=status, action_progress=action)
                for subscriber in subscribers:
                    frame = subscriber.next(timeout=10)
                    assert frame.id == str(version), "a change was skipped or repeated"
                    assert frame.json()["progress"][0]["progress"] == step
                assert frame.event == ("completed" if step == 20 else "progress")
            for subscriber in subscribers:
                assert subscriber.ends_within(10) is None
            lines = [logs.next(timeout=10) for _ in range(20)]
            assert [(f.id, f.json()["message"]) for f in lines] == [
                (str(i), str(i)) for i in range(1, 21)
            ]
            assert logs.next(timeout=10).event == "end"
        finally:
            for reader in [*subscribers, logs]:
                reader.close()


def test_the_runs_stream_on_one_replica_sees_runs_created_through_another(
    processes: Processes,
) -> None:
    """Runs created, changed and deleted through both replicas at once reach a runs stream on
    one of them, each change once, in increasing order; resumed on the other replica from
    an id of the first, nothing is missed."""
    urls = [processes.replica()[0], processes.replica()[0]]
    with client(urls[0]) as http:
        pipeline = http.post(
            f"{API}/pipelines/",
            json={"name": "list", "actions": [{"name": "a", "entrypoint": "m.A"}]},
        )
        pipeline_id = pipeline.json()["id"]
    query = f"{API}/runs/stream?pipeline_id={pipeline_id}"
    made: list[str] = []

    def writer(index: int) -> None:
        with client(urls[index % 2]) as http:
            for _ in range(5):
                run = http.post(f"{API}/pipelines/{pipeline_id}/runs/", json={}).json()
                made.append(run["id"])

    with open_stream(f"{urls[1]}{query}", headers=HEADERS) as reader:
        assert reader.next(timeout=10).event == "sync"
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        frames = [reader.next_event(timeout=10) for _ in range(20)]
        assert [f.event for f in frames] == ["created"] * 20
        assert sorted(f.json()["id"] for f in frames) == sorted(made)
        ids = [int(f.id or "") for f in frames]
        assert ids == sorted(set(ids)), "a change was repeated or out of order"
        cursor = frames[9].id
        with client(urls[0]) as http:
            report(http, made[0], status="running")
            assert http.delete(f"{API}/runs/{made[1]}").status_code == 204
        changed = reader.next_event(timeout=10)
        assert (changed.event, changed.json()["id"]) == ("changed", made[0])
        deleted = reader.next_event(timeout=10)
        assert (deleted.event, deleted.json()["id"]) == ("deleted", made[1])
    with open_stream(
        f"{urls[0]}{query}", headers={**HEADERS, "Last-Event-ID": str(cursor)}
    ) as resumed:
        missed = []
        while (frame := resumed.next_event(timeout=10)).event != "sync":
            missed.append(frame)
    # Every run created after the cursor, and the one changed since, in its current state.
    expected = ({f.json()["id"] for f in frames[10:]} | {made[0]}) - {made[1]}
    assert {f.json()["id"] for f in missed if f.event != "deleted"} == expected
    assert {f.json()["id"] for f in missed if f.event == "deleted"} == {made[1]}


def test_a_run_leaving_a_filter_through_one_replica_is_sent_left_by_the_other(
    processes: Processes,
) -> None:
    urls = [processes.replica()[0], processes.replica()[0]]
    with client(urls[0]) as http:
        run_id = new_run(http, labels={"team": "nlp"})
        with open_stream(f"{urls[1]}{API}/runs/stream?label=team%3Dnlp", headers=HEADERS) as reader:
            assert reader.next(timeout=10).event == "sync"
            report(http, run_id, status="running")
            changed = reader.next_event(timeout=10)
            assert (changed.event, changed.json()["id"]) == ("changed", run_id)
            patched = http.patch(f"{API}/runs/{run_id}", json={"labels": {"team": "cv"}})
            assert patched.status_code == 200, patched.text
            left = reader.next_event(timeout=10)
            assert (left.event, left.json()["id"]) == ("left", run_id)
            assert left.json()["labels"] == {"team": "cv"}


def test_eight_writers_on_two_replicas_lose_no_update(processes: Processes) -> None:
    urls = [processes.replica()[0], processes.replica()[0]]
    actions = [{"name": f"a{i}", "entrypoint": "m.A"} for i in range(8)]
    with client(urls[0]) as http:
        run_id = new_run(http, actions)
    reports = 20
    errors: list[str] = []

    def writer(index: int) -> None:
        with client(urls[index % 2]) as http:
            for step in range(1, reports + 1):
                action = {"name": f"a{index}", "progress": step, "total": reports}
                response = http.post(
                    f"{API}/runs/{run_id}/progress",
                    json={"action_progress": {**action, "metrics": {"step": step}}},
                )
                if response.status_code != 200:
                    errors.append(response.text)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with client(urls[1]) as http:
        final = http.get(f"{API}/runs/{run_id}").json()
    assert [entry["progress"] for entry in final["progress"]] == [reports] * 8
    assert [entry["metrics"] for entry in final["progress"]] == [{"step": reports}] * 8


def test_workers_on_two_replicas_run_each_action_exactly_once(
    processes: Processes, tmp_path: Path
) -> None:
    urls = [processes.replica()[0], processes.replica()[0]]
    marker = tmp_path / "marker.txt"
    actions = [
        {"name": "first", "entrypoint": "runner_test_actions.step"},
        {"name": "second", "entrypoint": "runner_test_actions.step"},
    ]
    with client(urls[0]) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "many", "actions": actions}).json()
        runs = [
            http.post(
                f"{API}/pipelines/{pipeline['id']}/runs/",
                json={"params": {"marker": str(marker)}},
            ).json()["id"]
            for _ in range(20)
        ]
        # A long lease: this test is about claims across replicas. With a 3 s lease a renewal
        # delayed by a loaded machine legitimately hands an action to another worker, which then
        # starts it again (the old one stopped first), as the killed-replica test below expects.
        for url in urls:
            processes.worker(url, lease_seconds=30)
            processes.worker(url, lease_seconds=30)

        def all_completed() -> bool:
            listed = http.get(f"{API}/pipelines/{pipeline['id']}/runs/?limit=100").json()
            assert not any(run["status"] == "failed" for run in listed), listed
            return all(run["status"] == "completed" for run in listed)

        wait_until(all_completed, 180, "every run to complete")
    lines = Counter(marker.read_text().splitlines())
    for run_id in runs:
        for action in ("first", "second"):
            assert lines[f"start {run_id} {action}"] == 1, (run_id, action)
            assert lines[f"done {run_id} {action}"] == 1, (run_id, action)


def test_same_idempotency_key_on_both_replicas_creates_one_object(processes: Processes) -> None:
    urls = [processes.replica()[0], processes.replica()[0]]
    body = {"name": "once", "actions": [{"name": "a", "entrypoint": "m.A"}]}
    keys = [f"key-{i}" for i in range(10)]
    for key in keys:
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def send(
            url: str,
            key: str = key,
            barrier: threading.Barrier = barrier,
            answers: list[httpx.Response] = answers,
        ) -> None:
            with client(url) as http:
                barrier.wait()
                answers.append(
                    http.post(f"{API}/pipelines/", json=body, headers={"Idempotency-Key": key})
                )

        threads = [threading.Thread(target=send, args=(url,)) for url in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [answer.status_code for answer in answers] == [201, 201]
        assert answers[0].json() == answers[1].json()
    with client(urls[0]) as http:
        assert len(http.get(f"{API}/pipelines/").json()) == len(keys)


def terminate_listeners(dsn: str) -> int:
    """pg_terminate_backend every replica's listening connection; how many were."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (LISTENER_APPLICATION_NAME,),
        ).fetchall()
    return len(rows)


def test_killing_the_listener_connection_loses_no_event(processes: Processes) -> None:
    (a, _), (b, _) = processes.replica(), processes.replica()
    with client(a) as http, stream(b, new_run(http)) as progress:
        run_id = progress.next(timeout=10).json()["run_id"]
        with stream(b, run_id, "logs") as logs:
            for step in range(1, 6):
                assert terminate_listeners(processes.dsn) >= 1
                # Committed while the listeners are gone: only the re-read can deliver these.
                http.post(f"{API}/runs/{run_id}/logs/", json={"entries": [{"message": f"{step}"}]})
                report(http, run_id, action_progress={"name": "a", "progress": step / 10})
                frame = progress.next(timeout=15)
                assert (frame.id, frame.json()["progress"][0]["progress"]) == (
                    str(step + 1),
                    step / 10,
                )
                line = logs.next(timeout=15)
                assert (line.id, line.json()["message"]) == (str(step), str(step))
            with client(b) as other:
                wait_until(lambda: other.get("/health").status_code == 200, 30, "B healthy again")


def test_runs_of_a_killed_replica_are_reclaimed_through_the_other(
    processes: Processes, tmp_path: Path
) -> None:
    (a, replica_a), (b, _) = processes.replica(), processes.replica()
    marker = tmp_path / "marker.txt"
    actions = [{"name": "slow", "entrypoint": "runner_test_actions.step"}]
    with client(b) as http:
        run_id = new_run(http, actions, params={"marker": str(marker), "sleep": {"slow": 8}})
        processes.worker(a)
        wait_until(
            lambda: (
                http.get(f"{API}/runs/{run_id}").json()["status"] == "running" and marker.exists()
            ),
            60,
            "the worker on A to start the run",
        )
        replica_a.send_signal(signal.SIGKILL)
        replica_a.wait(timeout=30)
        processes.worker(b)
        wait_until(
            lambda: http.get(f"{API}/runs/{run_id}").json()["status"] == "completed",
            90,
            "the run to complete through B",
        )
    lines = marker.read_text().splitlines()
    assert lines.count(f"done {run_id} slow") == 1, lines


def test_log_cursors_stay_gap_free_with_writers_on_both_replicas(processes: Processes) -> None:
    urls = [processes.replica()[0], processes.replica()[0]]
    with client(urls[0]) as http:
        run_id = new_run(http)
    followers = [stream(url, run_id, "logs") for url in urls]
    batches, size = 20, 5

    def writer(url: str) -> None:
        with client(url) as http:
            for batch in range(batches):
                entries = [{"message": f"{url} {batch}.{i}"} for i in range(size)]
                response = http.post(f"{API}/runs/{run_id}/logs/", json={"entries": entries})
                assert response.status_code == 201, response.text

    try:
        threads = [threading.Thread(target=writer, args=(url,)) for url in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = 2 * batches * size
        for follower in followers:
            ids = [follower.next(timeout=15).id for _ in range(total)]
            assert ids == [str(seq) for seq in range(1, total + 1)]
    finally:
        for follower in followers:
            follower.close()
