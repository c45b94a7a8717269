"""The hot writes (report_progress, append_logs) served ahead of the FastAPI stack
(ahead.ServiceApp): the plain request gets the bytes the stack gives, every error the write
raises is answered as the stack answers it (without running the write again), and everything
that is not plain still goes through the stack, with its body."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.ahead import ServiceApp
from tests.sample import ACTIONS, API
from tests.server.test_stream_routes import StackCounter

TOKEN = "s3cret-token"
MAX_BODY = 2000
PROGRESS = json.dumps(
    {"current_action_index": 1, "action_progress": {"name": "convert", "progress": 0.5}}
).encode()
ENTRIES = json.dumps({"entries": [{"message": "a", "action_name": "convert"}, {"message": "b"}]})
# What differs between two runs: ids, times (then the length of the body).
_VOLATILE = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"
    rb"|^(date|content-length): [^\r]*\r\n",
    re.IGNORECASE | re.MULTILINE,
)


class Server:
    """An EmbeddedServer whose stack counts the requests through it, with a run made for each
    way of answering (ahead or through the stack)."""

    def __init__(self, tmp_path: Path, **options: Any) -> None:
        self.counts: list[str] = []
        self.server = EmbeddedServer(tmp_path / "writes.db", **options)
        self.server.app.add_middleware(StackCounter, counts=self.counts)
        self.headers = {"Authorization": f"Bearer {TOKEN}"} if options.get("token") else {}

    def new_run(self) -> str:
        with httpx.Client(base_url=self.server.url, headers=self.headers) as http:
            body = {"name": "written", "actions": ACTIONS}
            pipeline = http.post(f"{API}/pipelines/", json=body).json()
            run_id: str = http.post(f"{API}/pipelines/{pipeline['id']}/runs/", json={}).json()["id"]
            return run_id

    def exchange(
        self, method: str, target: str, body: bytes, headers: Mapping[str, str | None]
    ) -> bytes:
        """The bytes of the answer to one request sent on a fresh connection (a header of
        value None left out; a small body in two parts, a moment apart)."""
        headers = {"Host": f"127.0.0.1:{self.server.port}", **headers}
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers.items() if value is not None]
        if body and "Transfer-Encoding" not in headers:
            lines.append(f"Content-Length: {len(body)}")
        split = 5 if len(body) < MAX_BODY else len(body)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=20) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:split])
            if body[split:]:
                time.sleep(0.01)
                sock.sendall(body[split:])
            data = b""
            while True:
                head, end, rest = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                if end and (method == "HEAD" or (length and len(rest) >= int(length[1]))):
                    return data
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk

    def both_ways(
        self, path: str, body: bytes, method: str = "POST", **headers: str | None
    ) -> tuple[bytes, list[str]]:
        """The answer ahead of the stack (to a run of its own when path holds RUN) and which
        requests went through the stack then, the answer asserted to be the stack's own (to
        another run), but for ids and times."""
        app = self.server.app
        assert isinstance(app, ServiceApp)
        answers = []
        counted = []
        for ahead in (True, False):
            run_id = self.new_run()
            target = path.replace("RUN", run_id)
            self.counts.clear()
            routes = app.ahead_routes
            if not ahead:
                app.ahead_routes = None
            try:
                answer = self.exchange(method, target, body, {**self.headers, **headers})
            finally:
                app.ahead_routes = routes
            counted.append(list(self.counts))
            answers.append(_VOLATILE.sub(b"~", answer.replace(run_id.encode(), b"RUN")))
        assert answers[0] == answers[1]
        assert counted[1], "the stack way did not go through the stack"
        return answers[0], counted[0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    served = Server(tmp_path, max_body_bytes=MAX_BODY)
    with served.server:
        yield served


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_plain_writes_get_the_stacks_bytes_without_the_stack(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        (f"{API}/runs/RUN/progress", PROGRESS, json_type, 200),
        (f"{API}/runs/RUN/progress/", PROGRESS, json_type, 200),
        (
            f"{API}/runs/RUN/progress",
            PROGRESS,
            {"Content-Type": "application/json; charset=UTF-8"},
            200,
        ),
        (f"{API}/runs/RUN/progress", PROGRESS, {**json_type, "Idempotency-Key": "k-1"}, 200),
        (f"{API}/runs/RUN/progress", PROGRESS, {**json_type, "Lease-Token": "0"}, 200),
        (f"{API}/runs/RUN/logs/", ENTRIES.encode(), json_type, 201),
        (f"{API}/runs/RUN/logs", ENTRIES.encode(), {**json_type, "Idempotency-Key": "k-2"}, 201),
        # Errors of the write itself: answered ahead, as the stack answers them.
        (f"{API}/runs/no-such-run/progress", PROGRESS, json_type, 404),
        (f"{API}/runs/no-such-run/logs/", ENTRIES.encode(), json_type, 404),
        (
            f"{API}/runs/RUN/progress",
            PROGRESS,
            {**json_type, "Lease-Token": "5"},
            409,
        ),
        (
            f"{API}/runs/RUN/logs/",
            ENTRIES.encode(),
            {**json_type, "Lease-Token": "5"},
            409,
        ),
    ]
    with caplog.at_level(logging.INFO, logger="pipeline_service.server"):
        for path, body, headers, status in cases:
            caplog.clear()
            answer, through_stack = server.both_ways(path, body, **headers)
            assert _status(answer) == status, (path, headers, answer)
            assert through_stack == [], f"{path} {headers} went through the stack"
            lines = [
                line
                for r in caplog.records
                if r.name == "pipeline_service.server"
                and f'"POST {API}/runs/' in (line := r.getMessage())
            ]
            assert len(lines) == 2, lines  # one per way
            assert all(f'"POST {API}/runs/' in line and f'" {status} ' in line for line in lines)


def test_a_replayed_write_answers_the_first_answer_and_writes_once(server: Server) -> None:
    run_id = server.new_run()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "once"}
    target = f"{API}/runs/{run_id}/logs/"
    server.counts.clear()
    first = server.exchange("POST", target, ENTRIES.encode(), headers)
    again = server.exchange("POST", target, ENTRIES.encode(), headers)
    assert _status(first) == 201
    assert first.partition(b"\r\n\r\n")[2] == again.partition(b"\r\n\r\n")[2]
    assert server.counts == []
    logs = httpx.get(f"{server.server.url}{API}/runs/{run_id}/logs/").json()
    assert [record["message"] for record in logs] == ["a", "b"]


def test_what_is_not_plain_goes_through_the_stack_with_its_body(server: Server) -> None:
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, bytes, dict[str, str], int]] = [
        ("POST", f"{API}/runs/RUN/progress", b"{not json", json_type, 400),
        ("POST", f"{API}/runs/RUN/progress", b'{"surprise": 1}', json_type, 422),
        ("POST", f"{API}/runs/RUN/logs/", b'{"entries": [{"message": 1}]}', json_type, 422),
        ("POST", f"{API}/runs/RUN/progress", PROGRESS, {**json_type, "Lease-Token": "abc"}, 422),
        ("POST", f"{API}/runs/{'r' * 256}/progress", PROGRESS, json_type, 422),
        ("POST", f"{API}/runs/RUN/progress", PROGRESS, {"Content-Type": "text/plain"}, 415),
        ("POST", f"{API}/runs/RUN/progress", PROGRESS, {}, 415),
        (  # the first Content-Type counts
            "POST",
            f"{API}/runs/RUN/progress",
            PROGRESS,
            {"Content-Type": "text/plain", "content-type": "application/json"},
            415,
        ),
        ("POST", f"{API}/runs/RUN/progress", PROGRESS + b" " * MAX_BODY, json_type, 413),
        ("POST", f"{API}/runs/a%2Fb/progress", PROGRESS, json_type, 404),
        ("POST", f"{API}/runs/RUN/progress", PROGRESS, {**json_type, "Host": "evil.test"}, 421),
        (
            "POST",
            f"{API}/runs/RUN/progress",
            PROGRESS,
            {**json_type, "Origin": "http://evil.test"},
            403,
        ),
        (
            "POST",
            f"{API}/runs/RUN/progress",
            b"%x\r\n%s\r\n0\r\n\r\n".replace(b"%x", b"%x" % len(PROGRESS)).replace(b"%s", PROGRESS),
            {**json_type, "Transfer-Encoding": "chunked"},
            200,
        ),
        ("HEAD", f"{API}/runs/RUN/progress", b"", {}, 200),
        ("OPTIONS", f"{API}/runs/RUN/progress", b"", {}, 405),
    ]
    for method, path, body, headers, status in cases:
        answer, through_stack = server.both_ways(path, body, method, **headers)
        assert _status(answer) == status, (method, path, headers, answer)
        assert through_stack, f"{method} {path} {headers} did not go through the stack"


def test_the_bearer_token_is_checked_as_the_stack_checks_it(tmp_path: Path) -> None:
    served = Server(tmp_path, token=TOKEN)
    with served.server:
        path, json_type = f"{API}/runs/RUN/progress", {"Content-Type": "application/json"}
        for authorization in (None, "Bearer wrong", "Basic x"):
            answer, through_stack = served.both_ways(
                path, PROGRESS, **json_type, Authorization=authorization
            )
            assert _status(answer) == 401, answer
            assert b"www-authenticate: Bearer" in answer
            assert through_stack
        answer, through_stack = served.both_ways(path, PROGRESS, **json_type)
        assert _status(answer) == 200
        assert through_stack == []


def test_an_unexpected_error_of_a_write_is_the_stacks_500(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in storage (injected: it cannot be produced for real) gets the JSON 500 of the
    stack, logged, on a connection that stays usable."""
    storage = server.server.app.state.storage

    async def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(storage, "report_progress", broken)
    with caplog.at_level(logging.INFO, logger="pipeline_service.server"):
        answer, through_stack = server.both_ways(
            f"{API}/runs/RUN/progress", PROGRESS, **{"Content-Type": "application/json"}
        )
    assert _status(answer) == 500
    assert answer.endswith(b'{"detail":"internal server error"}')
    assert through_stack == []
    errors = [r for r in caplog.records if r.getMessage().startswith("unhandled error on POST")]
    assert len(errors) == 2
    assert all(r.exc_info for r in errors)
