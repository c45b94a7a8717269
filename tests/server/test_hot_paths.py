"""The shortcuts of the hot paths give what the plain code gave: the nesting check read from the
text, ids made in batches, log records and answers written by orjson."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import JSONResponse
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Match

from pipeline_service.server import EmbeddedServer, Settings, create_app, routing
from pipeline_service.server import app as app_module
from pipeline_service.server.responses import FastJSONResponse
from pipeline_service.server.routes import logs as logs_routes
from pipeline_service.server.routes import progress as progress_routes
from pipeline_service.server.routing import nests_deeper
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.sqlite import store as sqlite_store
from pipeline_service.wire import LogRecord
from tests.sample import ACTIONS, API

# Texts full of what could fool a reading of the text: brackets, quotes, backslashes.
TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\\\"ab\u00e9\n'), max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=40,
)


def depth(value: Any) -> int:
    """How deep objects and arrays nest in value (the outermost is level 1), by walking it."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@given(JSON_VALUES, st.booleans(), st.integers(min_value=1, max_value=6))
def test_the_nesting_read_from_the_text_is_the_nesting_of_the_value(
    value: Any, ascii_only: bool, limit: int
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nests_deeper(body, limit) == (depth(value) > limit)


def test_nesting_at_the_limit_passes_and_one_level_more_does_not() -> None:
    for limit in (1, 5, 64):
        at_limit = json.dumps(json.loads("[" * limit + '"]\\\\\\""' + "]" * limit)).encode()
        assert not nests_deeper(at_limit, limit)
        assert nests_deeper(b"[" + at_limit + b"]", limit)


def test_ids_made_in_a_batch_are_distinct_random_uuids() -> None:
    ids = documents.new_ids(5000) + documents.new_ids(1)
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    assert documents.new_ids(0) == []


def _record(message: str) -> LogRecord:
    return {
        "id": documents.new_id(),
        "run_id": "r",
        "seq": 2**53,
        "action_name": None,
        "level": "info",
        "message": message,
        "timestamp": "2026-12-03T00:00:00Z",
    }


def test_a_log_record_is_stored_as_encode_stores_it() -> None:
    """ASCII JSON in every case (what the storage needs): orjson's where it is ASCII, the json
    module's for text beyond ASCII, NUL and a lone surrogate."""
    for message in (
        "plain",
        'quotes " and \\ and \n',
        "\u00e9t\u00e9 \U0001f600",
        "\x00",
        "\udc80",
    ):
        record = _record(message)
        stored = documents.encode_log(record)
        assert stored.isascii()
        assert json.loads(stored) == record
        assert stored == documents.encode(record)


def test_fast_answers_hold_the_json_value_of_plain_ones() -> None:
    for content in (
        [_record("plain"), _record("\u00e9")],
        {"a": 1.5e-7, "b": [2**63 - 1, None, True], "c": "\u2028"},
        {"big": 2**70},  # beyond orjson: written by the json module
    ):
        fast = bytes(FastJSONResponse(content).body)
        plain = bytes(JSONResponse(content).body)
        assert json.loads(fast) == json.loads(plain) == content


LONG_ID = "r" * 256
PROGRESS = {"current_action_index": 1, "action_progress": {"name": "convert", "progress": 0.5}}
# (path run id or None for the test's run, headers, raw body, content type): ordinary requests
# and each kind of refusal the lean handler of report_progress hands to the full one.
CASES: list[tuple[str | None, dict[str, str], bytes, str]] = [
    (None, {}, json.dumps(PROGRESS).encode(), "application/json"),
    (None, {"Lease-Token": "0"}, json.dumps(PROGRESS).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, json.dumps(PROGRESS).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, json.dumps(PROGRESS).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, b'{"status": "running"}', "application/json"),
    (None, {"Lease-Token": "abc"}, b"{}", "application/json"),
    (None, {"Lease-Token": "-1"}, b"{}", "application/json"),
    (None, {"Lease-Token": "9007199254740993"}, b"{}", "application/json"),
    (None, {"Lease-Token": "9007199254740991"}, b"{}", "application/json"),
    (None, {"Idempotency-Key": "has space"}, b"{}", "application/json"),
    (None, {"Idempotency-Key": "k" * 256}, b"{}", "application/json"),
    (None, {}, b"{not json", "application/json"),
    (None, {}, b"[]", "application/json"),
    (None, {}, b'{"surprise": 1}', "application/json"),
    (None, {}, b'{"action_progress": {"name": "convert", "progress": -1}}', "application/json"),
    (None, {}, b'{"current_action_index": "1"}', "application/json"),
    (None, {}, b"{}", "text/plain"),
    ("no-such-run", {}, b"{}", "application/json"),
    (LONG_ID, {}, b"{}", "application/json"),
]


def _comparable(response: httpx.Response, run_id: str) -> tuple[int, Any]:
    """A response without what differs from run to run (ids, times)."""
    body = response.json()
    if response.status_code != 200:
        return response.status_code, json.loads(json.dumps(body).replace(run_id, "RUN"))
    return 200, {
        "status": body["status"],
        "current_action_index": body["current_action_index"],
        "progress": [(a["name"], a["status"], a["progress"]) for a in body["progress"]],
    }


def test_the_lean_progress_handler_answers_as_the_full_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case, sent once with the lean handler and once without it (each time to a fresh
    run), gets the same answer."""
    answers: dict[bool, list[tuple[int, Any]]] = {}
    with EmbeddedServer(tmp_path / "lean.db") as server, httpx.Client(base_url=server.url) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
        for lean in (True, False):
            if not lean:
                monkeypatch.delitem(routing._FAST_PATHS, progress_routes.report_progress)
                monkeypatch.setattr(server.app, "ahead_routes", None)  # no lean handler there
            run_id = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
            answers[lean] = []
            for path_id, headers, body, content_type in CASES:
                response = http.post(
                    f"{API}/runs/{path_id or run_id}/progress",
                    content=body,
                    headers={**headers, "Content-Type": content_type},
                )
                answers[lean].append(_comparable(response, run_id))
    assert answers[True] == answers[False]
    statuses = [status for status, _ in answers[True]]
    assert statuses[:13] == [200, 200, 200, 200, 409, 422, 422, 422, 409, 422, 422, 400, 422]
    assert statuses[13:] == [422, 422, 422, 415, 404, 422]


ENTRIES = {"entries": [{"message": "a", "action_name": "convert"}, {"message": "naïve ☃"}]}
# The same for append_logs.
LOG_CASES: list[tuple[str | None, dict[str, str], bytes, str]] = [
    (None, {}, json.dumps(ENTRIES).encode(), "application/json"),
    (None, {"Lease-Token": "0"}, json.dumps(ENTRIES).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, json.dumps(ENTRIES).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, json.dumps(ENTRIES).encode(), "application/json"),
    (None, {"Idempotency-Key": "k-1"}, b'{"entries": []}', "application/json"),
    (None, {"Lease-Token": "abc"}, b'{"entries": []}', "application/json"),
    (None, {"Idempotency-Key": "has space"}, b'{"entries": []}', "application/json"),
    (
        None,
        {},
        b'{"entries": [{"message": "t", "timestamp": "2026-01-02T03:04:05+01:00"}]}',
        "application/json",
    ),
    (None, {}, b'{"entries": [{"message": "t", "timestamp": "yesterday"}]}', "application/json"),
    (None, {}, b'{"entries": [{"message": 1}]}', "application/json"),
    (None, {}, b'{"entries": [{"message": "m", "level": "loud"}]}', "application/json"),
    (None, {}, b'{"entries": [{"message": "m", "extra": 1}]}', "application/json"),
    (None, {}, b'{"entries": [{"message": "m"}], "more": 1}', "application/json"),
    (None, {}, json.dumps({"entries": [{"message": "m"}] * 10_001}).encode(), "application/json"),
    (None, {}, b"{not json", "application/json"),
    (None, {}, b"[]", "application/json"),
    (None, {}, b'{"entries": []}', "text/plain"),
    ("no-such-run", {}, b'{"entries": []}', "application/json"),
    (LONG_ID, {}, b'{"entries": []}', "application/json"),
]


def _comparable_logs(response: httpx.Response, run_id: str) -> tuple[int, Any]:
    """A response without what differs from run to run (ids, times)."""
    body = response.json()
    if response.status_code != 201:
        return response.status_code, json.loads(json.dumps(body).replace(run_id, "RUN"))
    return 201, [(r["seq"], r["level"], r["action_name"], r["message"]) for r in body]


def test_the_lean_log_handler_answers_as_the_full_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case, sent once with the lean append_logs handler and once without it (each time to
    a fresh run), gets the same answer."""
    answers: dict[bool, list[tuple[int, Any]]] = {}
    with EmbeddedServer(tmp_path / "lean.db") as server, httpx.Client(base_url=server.url) as http:
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
        for lean in (True, False):
            if not lean:
                monkeypatch.delitem(routing._FAST_PATHS, logs_routes.append_logs)
                monkeypatch.setattr(server.app, "ahead_routes", None)  # no lean handler there
            run_id = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
            answers[lean] = []
            for path_id, headers, body, content_type in LOG_CASES:
                response = http.post(
                    f"{API}/runs/{path_id or run_id}/logs/",
                    content=body,
                    headers={**headers, "Content-Type": content_type},
                )
                answers[lean].append(_comparable_logs(response, run_id))
    assert answers[True] == answers[False]
    statuses = [status for status, _ in answers[True]]
    assert statuses[:10] == [201, 201, 201, 201, 409, 422, 422, 201, 422, 422]
    assert statuses[10:] == [422, 422, 422, 413, 400, 422, 415, 404, 422]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (a, b, c) VALUES (:a, :b, :c)",
        "INSERT INTO t (a, b, c) VALUES (:c, :a, :b)",
        "INSERT INTO t (a, b, c) VALUES (:a, :a, 'x')",
        "INSERT INTO t (a, b, c) VALUES (:b, 1, 2)",
    ],
)
def test_many_rows_bound_by_position_are_the_rows_bound_by_name(sql: str) -> None:
    """The SQLite backend binds the parameter sets of `many` by position (faster): the rows
    written are the ones binding by name writes."""
    rows = [{"a": i, "b": f"b{i}", "c": None if i % 2 else i / 2} for i in range(5)]
    written = []
    for positional in (False, True):
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (a, b, c)")
        if positional:
            text, values = sqlite_store._positional(sql)
            conn.executemany(text, map(values, rows))
        else:
            conn.executemany(sql, rows)
        written.append(conn.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall())
        conn.close()
    assert written[0] == written[1]
    assert len(written[0]) == len(rows)


def _routed(routes: list[Any], method: str, path: str) -> str | None:
    """The name of the route a request goes to: the first that matches fully, else the first
    that matches its path (405), as the router chooses."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(route.name)
        if match == Match.PARTIAL and partial is None:
            partial = str(route.name)
    return partial


def test_hot_routes_tried_first_route_every_request_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """report_progress and append_logs are tried right after /health, yet every path of every
    route (its parameters filled in several ways, with and without a trailing slash) goes, for
    every method, to the route it went to in the declared order."""
    reordered = create_app(Settings(db_path=tmp_path / "hot.db")).router.routes
    monkeypatch.setattr(app_module, "hot_routes_first", lambda app: None)
    declared = create_app(Settings(db_path=tmp_path / "declared.db")).router.routes
    names = [getattr(route, "name", None) for route in reordered]
    assert names[1:5] == [
        "get_health",
        "get_health_twin",
        "report_progress",
        "report_progress_twin",
    ]
    assert (
        names.index("append_logs")
        < 10
        < [getattr(r, "name", None) for r in declared].index("append_logs")
    )
    paths = {"/", "/api/v1/runs/x/progress/stream", "/api/v1/runs/x/y/logs", "/nothing"}
    for route in declared:
        for fill in ("x", "progress", "logs", "a/b", "1"):
            path = re.sub(r"\{[^}]*\}", fill, getattr(route, "path", "/"))
            paths |= {path, path.rstrip("/") or "/", path + "/"}
    for path in sorted(paths):
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            assert _routed(reordered, method, path) == _routed(declared, method, path), (
                method,
                path,
            )


def test_a_report_writes_back_only_the_columns_it_changed(tmp_path: Path) -> None:
    """A run's columns follow its document through reports that change them (status) and
    those that do not; the UPDATE of a report that leaves them names none of them."""
    statements: list[str] = []
    with (
        EmbeddedServer(tmp_path / "columns.db") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        pipeline = http.post(f"{API}/pipelines/", json={"name": "p", "actions": ACTIONS}).json()
        run_id = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
        store = server.app.state.storage
        assert store._writer is not None
        store._writer.submit(lambda conn: conn.set_trace_callback(statements.append), (), raw=True)
        for body, status in (
            ({"status": "running"}, "running"),
            (PROGRESS, "running"),
            ({"status": "completed"}, "completed"),
        ):
            statements.clear()
            assert http.post(f"{API}/runs/{run_id}/progress", json=body).status_code == 200
            listed = http.get(f"{API}/runs/", params={"status": status}).json()
            assert [run["id"] for run in listed] == [run_id]
            updates = [s for s in statements if s.startswith("UPDATE runs SET doc=")]
            assert len(updates) == 1
            assert ("status=" in updates[0]) == (body is not PROGRESS), updates[0]
