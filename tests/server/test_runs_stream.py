"""GET /runs/stream: one event per run created, changed or deleted, filtered, resumable."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer, events
from tests.sample import ACTIONS, API
from tests.support.sse import Frame, SSEReader, open_stream

Factory = Callable[..., dict[str, Any]]
ServerFactory = Callable[..., EmbeddedServer]


def stream(server: EmbeddedServer, query: str = "", last_event_id: str | None = None) -> SSEReader:
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    return open_stream(f"{server.url}{API}/runs/stream{query}", headers)


def frames_until(reader: SSEReader, done: Callable[[Frame], bool], limit: int = 50) -> list[Frame]:
    """Frames (pings left out) until one for which done() holds, that one included."""
    seen: list[Frame] = []
    for _ in range(limit):
        frame = reader.next(10)
        if frame.event is None and frame.data is None:
            continue
        seen.append(frame)
        if done(frame):
            return seen
    raise AssertionError(f"no such frame among {seen}")


def about(run_id: str, event: str | None = None) -> Callable[[Frame], bool]:
    def check(frame: Frame) -> bool:
        data = frame.json() if frame.data else {}
        return data.get("id") == run_id and (event is None or frame.event == event)

    return check


def report(client: httpx.Client, run_id: str, **body: Any) -> None:
    response = client.post(f"{API}/runs/{run_id}/progress", json=body)
    assert response.status_code == 200, response.text


def test_created_changed_deleted_with_summaries_and_ids(
    live_server: EmbeddedServer, client: httpx.Client, make_run: Factory
) -> None:
    with stream(live_server) as reader:
        sync = reader.next(10)
        assert sync.event == "sync"
        assert sync.retry is not None
        assert sync.retry > 0
        start = int(sync.id or "")
        run = make_run(labels={"team": "nlp"})
        created = frames_until(reader, about(run["id"]))[-1]
        assert created.event == "created"
        assert int(created.id or "") > start
        summary = created.json()
        assert summary == {
            "id": run["id"],
            "pipeline_id": run["pipeline_id"],
            "status": "pending",
            "current_action": None,
            "current_action_index": 0,
            "actions": len(run["progress"]),
            "actions_done": 0,
            "action_progress": None,
            "error": None,
            "labels": {"team": "nlp"},
            "created_at": run["created_at"],
            "started_at": None,
            "completed_at": None,
            "version": 1,
        }
        first = run["progress"][0]["name"]
        report(
            client,
            run["id"],
            status="running",
            current_action=first,
            action_progress={"name": first, "status": "running", "progress": 0.25},
        )
        changed = frames_until(reader, about(run["id"]))[-1]
        assert changed.event == "changed"
        assert int(changed.id or "") > int(created.id or "")
        assert changed.json()["status"] == "running"
        assert changed.json()["current_action"] == first
        assert changed.json()["action_progress"] == 0.25
        assert changed.json()["version"] == 2
        assert client.delete(f"{API}/runs/{run['id']}").status_code == 204
        deleted = frames_until(reader, about(run["id"]))[-1]
        assert deleted.event == "deleted"
        assert deleted.json() == {"id": run["id"], "pipeline_id": run["pipeline_id"]}
        assert int(deleted.id or "") > int(changed.id or "")


def test_filters_by_status_pipeline_and_labels(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    selector = "team=nlp,stage!=dev"
    query = f"?pipeline_id={pipeline['id']}&label={selector}"
    with (
        stream(live_server, query) as by_labels,
        stream(live_server, "?status_filter=running") as by_status,
    ):
        assert by_labels.next(10).event == "sync"
        assert by_status.next(10).event == "sync"
        other_pipeline = make_run(labels={"team": "nlp"})
        dev = make_run(pipeline["id"], labels={"team": "nlp", "stage": "dev"})
        wanted = make_run(pipeline["id"], labels={"team": "nlp"})
        seen = frames_until(by_labels, about(wanted["id"]))
        assert [f.json()["id"] for f in seen] == [wanted["id"]]
        report(client, dev["id"], status="running")
        report(client, other_pipeline["id"], status="running")
        running = frames_until(by_status, about(other_pipeline["id"]))
        assert [f.json()["id"] for f in running] == [dev["id"], other_pipeline["id"]]
        assert all(f.json()["status"] == "running" for f in running)
        assert client.delete(f"{API}/runs/{wanted['id']}").status_code == 204
        gone = frames_until(by_labels, about(wanted["id"]))
        assert [(f.event, f.json()["id"]) for f in gone] == [("deleted", wanted["id"])]


def test_bad_filters_are_422_naming_the_problem(live_server: EmbeddedServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        bad = http.get(f"{API}/runs/stream", params={"label": "team in nlp"})
        assert bad.status_code == 422
        assert "in" in bad.text
        assert http.get(f"{API}/runs/stream", params={"status_filter": "nope"}).status_code == 422
        assert http.get(f"{API}/runs/stream", params={"pipeline_id": ""}).status_code == 422


def test_resume_by_last_event_id_sends_what_was_missed_coalesced(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    query = f"?pipeline_id={pipeline['id']}"
    with stream(live_server, query) as reader:
        cursor = reader.next(10).id
    assert cursor is not None
    changed = make_run(pipeline["id"])
    report(client, changed["id"], status="running")
    report(client, changed["id"], status="completed")
    created = make_run(pipeline["id"])
    removed = make_run(pipeline["id"])
    assert client.delete(f"{API}/runs/{removed['id']}").status_code == 204
    with stream(live_server, query, last_event_id=cursor) as reader:
        missed = frames_until(reader, lambda frame: frame.event == "sync")
    assert [(f.event, f.json().get("id")) for f in missed[:-1]] == [
        ("changed", changed["id"]),  # its creation and two changes: one event, as it is now
        ("created", created["id"]),
        ("deleted", removed["id"]),
    ]
    assert missed[0].json()["status"] == "completed"
    ids = [int(f.id or "") for f in missed]
    assert ids == sorted(ids)
    assert ids[-1] == ids[-2]  # sync: caught up at the last change sent
    # From there on: nothing old again, the next change only.
    with stream(live_server, query, last_event_id=str(ids[-1])) as reader:
        assert reader.next(10).event == "sync"
        report(client, created["id"], status="running")
        again = frames_until(reader, about(created["id"]))
        assert [f.event for f in again] == ["changed"]
    # From 0: every run there is, in its current state.
    with stream(live_server, query, last_event_id="0") as reader:
        everything = frames_until(reader, lambda frame: frame.event == "sync")
    assert {f.json()["id"] for f in everything[:-1]} >= {changed["id"], created["id"]}


def test_a_cursor_older_than_the_deletions_kept_gets_reset(
    server_factory: ServerFactory, backend: str
) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS})
        pipeline_id = pipeline.json()["id"]
        runs = [http.post(f"{API}/pipelines/{pipeline_id}/runs/", json={}).json() for _ in range(3)]
        with stream(server) as reader:
            cursor = reader.next(10).id
        assert cursor is not None
        assert http.delete(f"{API}/runs/{runs[0]['id']}").status_code == 204
        # A day passes: deleting another run forgets the first deletion.
        age_tombstones(server, backend)
        assert http.delete(f"{API}/runs/{runs[1]['id']}").status_code == 204
        with stream(server, last_event_id=cursor) as reader:
            reset = reader.next(10)
            assert reset.event == "reset"
            assert "list the runs" in reset.json()["detail"]
            # Live changes follow the reset.
            http.post(f"{API}/runs/{runs[2]['id']}/progress", json={"status": "running"})
            after = frames_until(reader, about(runs[2]["id"]))
            assert [f.event for f in after] == ["changed"]
            assert int(after[0].id or "") > int(reset.id or "")


def age_tombstones(server: EmbeddedServer, backend: str) -> None:
    """Make the tombstones kept look two days old (the server deletes them by age)."""
    db = str(server.db_path)
    if backend == "sqlite":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE run_tombstones SET deleted_at = deleted_at - 2 * 86400")
    else:
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("UPDATE run_tombstones SET deleted_at = deleted_at - interval '2 days'")


def test_a_subscriber_past_its_queue_reads_storage_without_gaps(
    live_server: EmbeddedServer,
    client: httpx.Client,
    make_pipeline: Factory,
    make_run: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pipeline deleted with more runs than a subscriber may queue: the subscriber forgets
    them and reads them back from storage, each once, in order."""
    monkeypatch.setattr(events, "MAX_QUEUED_RUN_CHANGES", 3)
    pipeline = make_pipeline()
    runs = [make_run(pipeline["id"])["id"] for _ in range(8)]
    with stream(live_server, f"?pipeline_id={pipeline['id']}") as reader:
        assert reader.next(10).event == "sync"
        assert client.delete(f"{API}/pipelines/{pipeline['id']}").status_code == 204
        latest = make_run()  # another pipeline's: filtered out
        gone = [reader.next(10) for _ in runs]
    assert [f.event for f in gone] == ["deleted"] * len(runs)
    assert sorted(f.json()["id"] for f in gone) == sorted(runs)
    ids = [int(f.id or "") for f in gone]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert latest["id"] not in {f.json()["id"] for f in gone}


def test_a_list_says_where_its_stream_resumes(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    listed = make_run(pipeline["id"])
    for path in (f"{API}/runs/", f"{API}/pipelines/{pipeline['id']}/runs/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Change-Seq"].isdigit()
    seq = client.get(f"{API}/pipelines/{pipeline['id']}/runs/").headers["Change-Seq"]
    report(client, listed["id"], status="running")  # after the list: the stream sends it
    later = make_run(pipeline["id"])
    with stream(live_server, f"?pipeline_id={pipeline['id']}", last_event_id=seq) as reader:
        missed = frames_until(reader, lambda frame: frame.event == "sync")
    assert [(f.event, f.json()["id"]) for f in missed[:-1]] == [
        ("changed", listed["id"]),
        ("created", later["id"]),
    ]
