"""PostgreSQL under faults: races the database resolves, a metrics snapshot, the database's
clock, connections terminated, the database stopped and started under requests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.storage.changes import LogsAppended
from pipeline_service.server.storage.postgres.cluster import ThrowawayCluster
from pipeline_service.server.storage.postgres.listener import MAX_FRESH_BYTES, ChangeFeed
from tests.postgres_support import unavailable
from tests.sample import ACTIONS, API


@pytest.fixture
def server(postgres_dsn: str, tmp_path: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(postgres_dsn, artifacts=tmp_path / "artifacts") as started:
        yield started


@pytest.fixture
def http(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + API, timeout=60) as client:
        yield client


def new_pipeline(http: httpx.Client) -> str:
    response = http.post("/pipelines/", json={"name": "faults", "actions": ACTIONS})
    assert response.status_code == 201, response.text
    pipeline_id: str = response.json()["id"]
    return pipeline_id


def in_thread(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def wait_for_lock_waiters(dsn: str, count: int) -> None:
    """Until `count` sessions of the server wait for a lock."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(600):
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone() or (0,)
            if waiting >= count:
                return
            conn.execute("SELECT pg_sleep(0.05)")
    raise AssertionError("the server's statements never waited for the lock")


def test_a_run_created_while_its_pipeline_is_deleted_is_not_replayed(
    http: httpx.Client, postgres_dsn: str
) -> None:
    """The delete stalls between reading the pipeline's runs and deleting it (the test holds a
    lock it needs); a run created meanwhile must not survive as an Idempotency-Key replaying a
    run that the delete cascaded away."""
    pipeline_id = new_pipeline(http)
    key = {"Idempotency-Key": "race-1"}
    with psycopg.connect(postgres_dsn) as blocker:
        blocker.execute("LOCK TABLE artifacts IN ACCESS EXCLUSIVE MODE")
        deleting, deleted = in_thread(lambda: http.delete(f"/pipelines/{pipeline_id}"))
        wait_for_lock_waiters(postgres_dsn, 1)
        creating, created = in_thread(
            lambda: http.post(f"/pipelines/{pipeline_id}/runs/", json={}, headers=key)
        )
        creating.join(2)  # it either finishes now (it needs nothing locked) or waits for the delete
        blocker.rollback()
    deleting.join(60)
    creating.join(60)
    assert deleted[0].status_code == 204, deleted[0].text
    replay = http.post(f"/pipelines/{pipeline_id}/runs/", json={}, headers=key)
    if created[0].status_code == 201:  # committed before the delete: deleted with it
        assert http.get(f"/runs/{created[0].json()['id']}").status_code == 404
    else:
        assert created[0].status_code == 404, created[0].text
    assert replay.status_code == 404, replay.text


def test_run_timestamps_and_leases_come_from_one_transaction_clock(http: httpx.Client) -> None:
    """A claim stamps the run's started_at and its lease in one transaction: on the database's
    clock, the lease ends exactly lease_seconds after the run started."""
    pipeline_id = new_pipeline(http)
    assert http.post(f"/pipelines/{pipeline_id}/runs/", json={}).status_code == 201
    claim = http.post("/runs/claim", json={"worker_id": "w", "lease_seconds": 30})
    assert claim.status_code == 200, claim.text
    started = datetime.fromisoformat(claim.json()["run"]["started_at"])
    expires = datetime.fromisoformat(claim.json()["lease_expires_at"])
    assert expires - started == timedelta(seconds=30)


def server_backends(dsn: str) -> list[int]:
    """The server's sessions on the database (pool, listener, health)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE 'pipeline-service%'"
        ).fetchall()
    return [row[0] for row in rows]


def terminate(dsn: str, pids: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(600):
            (left,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone() or (0,)
            if left == 0:
                return
            conn.execute("SELECT pg_sleep(0.05)")
    raise AssertionError("the terminated sessions did not end")


def test_no_request_fails_after_every_server_connection_was_terminated(
    http: httpx.Client, postgres_dsn: str
) -> None:
    """A restart or fail-over ends every pooled connection; requests sent once the database is
    back must not meet the dead ones (each runs again on another connection, or a new one)."""
    pipeline_id = new_pipeline(http)
    with ThreadPoolExecutor(10) as pool:  # several pooled connections, all idle afterwards
        warm = list(pool.map(lambda _: http.get(f"/pipelines/{pipeline_id}"), range(40)))
    assert {response.status_code for response in warm} == {200}
    pids = server_backends(postgres_dsn)
    assert len(pids) >= 3
    terminate(postgres_dsn, pids)
    statuses = []
    for _ in range(12):
        statuses.append(http.get(f"/pipelines/{pipeline_id}").status_code)
        statuses.append(http.post(f"/pipelines/{pipeline_id}/runs/", json={}).status_code)
        statuses.append(http.get("/runs/", params={"limit": 5}).status_code)
    assert statuses == [200, 201, 200] * 12
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: http.post("/pipelines/", json=PIPELINE), range(20)))
    assert {response.status_code for response in answers} == {201}


PIPELINE = {"name": "faults", "actions": ACTIONS}


def test_health_answers_while_the_pool_is_taken(
    server: EmbeddedServer, http: httpx.Client, postgres_dsn: str
) -> None:
    """Every pooled connection waits for a row lock the test holds: /health does not queue
    behind them (it has a connection of its own)."""
    pipeline_id = new_pipeline(http)
    run_id = http.post(f"/pipelines/{pipeline_id}/runs/", json={}).json()["id"]
    body = {"action_progress": {"name": "train", "progress": 0.5}}
    with psycopg.connect(postgres_dsn) as blocker:
        blocker.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (run_id,))
        with ThreadPoolExecutor(POOL_SIZE) as pool:
            reports = [
                pool.submit(http.post, f"/runs/{run_id}/progress", json=body)
                for _ in range(POOL_SIZE)
            ]
            wait_for_lock_waiters(postgres_dsn, POOL_SIZE)
            with httpx.Client(base_url=server.url, timeout=HANG) as probe:
                for _ in range(3):
                    health = probe.get("/health")
                    assert health.status_code == 200, health.text
            blocker.rollback()
            assert {future.result().status_code for future in reports} == {200}


POOL_SIZE = 10  # PostgresStorage's default
HANG = 10.0  # an answer slower than this is a hang


@pytest.fixture
def own_cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL server of the test's own, to stop and start."""
    try:
        cluster = ThrowawayCluster().start()
    except (OSError, RuntimeError) as exc:
        unavailable(f"PostgreSQL unavailable: {exc}")
        raise AssertionError("unreachable") from exc
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_requests_fail_fast_while_the_database_is_down_and_succeed_once_it_is_back(
    own_cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    """Database stopped: every request is a 503 with Retry-After (none hangs until the pool's
    old 30 s wait); started again: writes succeed within seconds, /health is 200 again."""
    with (
        EmbeddedServer(own_cluster.dsn(), artifacts=tmp_path / "artifacts") as server,
        httpx.Client(base_url=server.url + API, timeout=HANG) as http,
    ):
        pipeline_id = new_pipeline(http)
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda _: http.get(f"/pipelines/{pipeline_id}"), range(30)))
        own_cluster.halt()
        try:
            with ThreadPoolExecutor(18) as pool:
                down = list(
                    pool.map(
                        lambda i: (
                            http.post(f"/pipelines/{pipeline_id}/runs/", json={})
                            if i % 2
                            else http.get(f"/pipelines/{pipeline_id}")
                        ),
                        range(18),
                    )
                )
            for response in down:
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "1"
            health = httpx.get(server.url + "/health", timeout=HANG)
            assert health.status_code == 503
        finally:
            own_cluster.resume()
        attempts = 0
        while True:  # each attempt is answered at once; the deadline only catches a hang
            attempts += 1
            created = http.post(f"/pipelines/{pipeline_id}/runs/", json={})
            if created.status_code == 201:
                break
            assert created.status_code == 503, created.text
            assert attempts < 100, "writes did not succeed again"
            time.sleep(0.1)
        for _ in range(100):
            if httpx.get(server.url + "/health", timeout=HANG).status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("/health did not come back")


class CountingFeed(ChangeFeed):
    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, lambda change: None, frozenset, self._no_read)
        self.failures: list[str] = []

    async def _no_read(self, plan: Any) -> Any:
        raise AssertionError("nothing is watched: nothing is read")

    def _lost(self, exc: BaseException) -> None:
        self.failures.append(str(exc))
        super()._lost(exc)


@pytest.mark.slow
def test_the_listener_backs_off_when_listen_itself_fails(own_cluster: ThrowawayCluster) -> None:
    """On a hot standby (a fail-over left the replica's URL pointing at one), connecting works
    and LISTEN fails: the listener tries again less and less often, not every 50 ms."""
    with ThrowawayCluster(primary=own_cluster) as standby:
        feed = CountingFeed(standby.dsn())

        async def listen_for(seconds: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(feed.listen(), seconds)

        asyncio.run(listen_for(3.0))
    assert feed.failures, "LISTEN never failed"
    assert all("recovery" in failure for failure in feed.failures), feed.failures[0]
    # 50 ms, doubling up to 2 s: 6 attempts in 3 s (every 50 ms would be 60).
    assert len(feed.failures) <= 8, len(feed.failures)
    assert not feed.listening.is_set()


def test_what_a_replica_keeps_for_its_listener_is_bounded_in_bytes() -> None:
    """While the listener is behind or down, the documents a replica committed are kept for it
    up to MAX_FRESH_BYTES, however few (and large) they are."""
    feed = CountingFeed("postgresql://unused")
    feed._watched_now = {"run"}
    message = "m" * 100_000
    for batch in range(200):  # 200 batches of 10 records of 100 kB: 200 MB
        records: list[Any] = [
            {"seq": batch * 10 + i + 1, "message": message, "run_id": "run"} for i in range(10)
        ]
        feed.keep_fresh([LogsAppended("run", records)])
        kept = sum(len(record["message"]) for value, _ in feed._fresh.values() for record in value)
        assert kept <= MAX_FRESH_BYTES
    assert feed._fresh, "recent documents are kept"
