"""GET /runs/stream: one event per run created, changed or deleted, filtered, resumable."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest

from pipeline_service.server import EmbeddedServer, events
from pipeline_service.server.storage.run_changes import Before, RunChange, RunFilter
from pipeline_service.wire import RunSummary
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


def test_a_run_leaving_the_status_filter_is_sent_left_once(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    query = f"?pipeline_id={pipeline['id']}"
    before_stream = make_run(pipeline["id"])  # the feed learns of it by its changes only
    with (
        stream(live_server, query) as everything,
        stream(live_server, f"{query}&status_filter=running") as running,
    ):
        assert everything.next(10).event == "sync"
        assert running.next(10).event == "sync"
        never = make_run(pipeline["id"])
        # Once the unfiltered stream has it, the feed knows it was created pending.
        assert frames_until(everything, about(never["id"]))[-1].event == "created"
        # Each change read before the next (the feed reads storage after a burst: a run
        # changed twice in one burst is read once, its state before unknown).
        report(client, before_stream["id"], status="running")
        seen = frames_until(running, about(before_stream["id"]))
        report(client, before_stream["id"], status="completed")
        seen += frames_until(running, about(before_stream["id"]))
        report(client, never["id"], status="failed", error="boom")
        patched = client.patch(f"{API}/runs/{before_stream['id']}", json={"labels": {"a": "b"}})
        assert patched.status_code == 200, patched.text
        sentinel = make_run(pipeline["id"])
        report(client, sentinel["id"], status="running")
        seen += frames_until(running, about(sentinel["id"]))
        all_seen = frames_until(everything, about(sentinel["id"], "changed"))
    assert [(f.event, f.json()["id"], f.json()["status"]) for f in seen] == [
        ("changed", before_stream["id"], "running"),
        ("left", before_stream["id"], "completed"),  # once: its label edit is not sent
        ("changed", sentinel["id"], "running"),
    ]
    assert int(seen[1].id or "") > int(seen[0].id or "")
    assert "left" not in {f.event for f in all_seen}  # an unfiltered stream never sends it


def test_a_run_whose_labels_leave_the_selector_is_sent_left(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    with stream(live_server, f"?pipeline_id={pipeline['id']}&label=team=nlp") as reader:
        assert reader.next(10).event == "sync"
        run = make_run(pipeline["id"], labels={"team": "nlp"})
        assert frames_until(reader, about(run["id"]))[-1].event == "created"
        patched = client.patch(f"{API}/runs/{run['id']}", json={"labels": {"team": "vision"}})
        assert patched.status_code == 200, patched.text
        seen = frames_until(reader, about(run["id"]))
        # Changed while out of the selector: nothing; back in: changed.
        patched = client.patch(f"{API}/runs/{run['id']}", json={"labels": {"team": "speech"}})
        assert patched.status_code == 200, patched.text
        back = client.patch(f"{API}/runs/{run['id']}", json={"labels": {"team": "nlp"}})
        assert back.status_code == 200, back.text
        seen += frames_until(reader, about(run["id"]))
    assert [(f.event, f.json()["labels"]) for f in seen] == [
        ("left", {"team": "vision"}),
        ("changed", {"team": "nlp"}),
    ]


def test_resume_over_a_leave_sends_left_in_the_catch_up(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    pipeline = make_pipeline()
    query = f"?pipeline_id={pipeline['id']}&status_filter=running"
    with stream(live_server, query) as reader:
        assert reader.next(10).event == "sync"
        run = make_run(pipeline["id"])
        report(client, run["id"], status="running")
        changed = frames_until(reader, about(run["id"]))[-1]
        assert changed.event == "changed"
    report(client, run["id"], status="completed")
    created = make_run(pipeline["id"])  # created not matching: never `left`
    with stream(live_server, query, last_event_id=changed.id) as reader:
        missed = frames_until(reader, lambda frame: frame.event == "sync")
    assert [(f.event, f.json().get("id")) for f in missed[:-1]] == [("left", run["id"])]
    assert missed[0].json()["status"] == "completed"
    assert created["id"] not in {f.json().get("id") for f in missed}


def test_resume_over_a_leave_then_a_deletion_sends_deleted(
    live_server: EmbeddedServer, client: httpx.Client, make_pipeline: Factory, make_run: Factory
) -> None:
    """The run left the filter and was deleted while the client was away: the tombstone does
    not match (completed), but the client may still hold the run."""
    pipeline = make_pipeline()
    query = f"?pipeline_id={pipeline['id']}&status_filter=running"
    with stream(live_server, query) as reader:
        assert reader.next(10).event == "sync"
        run = make_run(pipeline["id"])
        report(client, run["id"], status="running")
        changed = frames_until(reader, about(run["id"]))[-1]
    report(client, run["id"], status="completed")
    assert client.delete(f"{API}/runs/{run['id']}").status_code == 204
    with stream(live_server, query, last_event_id=changed.id) as reader:
        missed = frames_until(reader, lambda frame: frame.event == "sync")
    assert [(f.event, f.json().get("id")) for f in missed[:-1]] == [("deleted", run["id"])]


def test_which_changes_take_a_run_out_of_a_filtered_stream() -> None:
    running = RunFilter(status="running", pipeline_id="p")

    def change(version: int | None, status: str, before: str | None) -> RunChange:
        if version is None:
            found = RunChange(1, removed={"id": "r", "pipeline_id": "p"}, status=status)
        else:
            summary = {"id": "r", "pipeline_id": "p", "version": version}
            found = RunChange(1, summary=cast(RunSummary, summary), status=status)
        found.before = None if before is None else Before(before, {})
        return found

    assert running.drops(change(3, "completed", "running"))
    assert running.drops(change(3, "completed", None))  # unknown: maybe
    assert not running.drops(change(3, "failed", "completed"))  # already out
    assert not running.drops(change(1, "pending", None))  # created out of it
    assert running.drops(change(None, "completed", "running"))  # deletion: `deleted`
    assert not running.drops(change(None, "completed", "completed"))
    assert not RunFilter(pipeline_id="p").drops(change(3, "completed", None))
    other = RunFilter(status="running", pipeline_id="q")
    assert not other.drops(change(3, "completed", "running"))


def test_the_feed_knows_a_run_before_a_change_only_from_its_previous_version() -> None:
    seen = events.LastSeen(limit=2)

    def changed(seq: int, run_id: str, version: int, status: str) -> RunChange:
        change = RunChange(seq, summary=cast(RunSummary, {"id": run_id, "version": version}))
        change.status = status
        seen.note(change)
        return change

    assert changed(1, "a", 1, "pending").before is None
    assert changed(2, "a", 2, "running").before == Before("pending", {})
    assert changed(3, "a", 4, "failed").before is None  # version 3 was missed: unknown
    assert changed(4, "a", 5, "failed").before == Before("failed", {})
    changed(5, "b", 1, "pending")
    changed(6, "c", 1, "pending")  # beyond the limit: "a", the oldest, is forgotten
    assert len(seen) == 2
    assert changed(7, "a", 6, "completed").before is None
    gone = RunChange(8, removed={"id": "c", "pipeline_id": "p"})
    seen.note(gone)
    assert gone.before == Before("pending", {})
    assert changed(9, "c", 2, "running").before is None  # forgotten on deletion
