"""The kit's schemathesis phase: it finds a server error, it keeps off other people's data, and
nothing it creates is for the target's workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_service.conformance import Depth, Options, Outcome, run_checks
from pipeline_service.conformance.checks.schema import Guard
from pipeline_service.conformance.context import ABSENT_MODULE, ENTRYPOINT, CheckContext
from pipeline_service.server import EmbeddedServer
from pipeline_service.spec import spec_path

from .faults import broken_server

SCHEMA = schemathesis.openapi.from_path(spec_path())


@pytest.mark.slow
def test_fuzzer_reports_a_server_error_with_a_curl_line(tmp_path: Path) -> None:
    with broken_server("500-on-bad-body", tmp_path / "fuzz.db") as server:
        report = run_checks(
            Options(base_url=server.url, depth=Depth.QUICK, seed=5, only=("schema.stateless",))
        )
    (result,) = report.results
    assert result.outcome is Outcome.FAILED
    assert "Server error" in result.message
    assert result.reproduce
    assert all(line.startswith("curl ") and server.url in line for line in result.reproduce)


def test_guard_sends_writes_on_foreign_data_elsewhere(tmp_path: Path) -> None:
    with (
        EmbeddedServer(tmp_path / "guard.db") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        foreign = http.post(
            "/api/v1/pipelines/",
            json={"name": "not the kit's", "actions": [{"name": "a", "entrypoint": "m.f"}]},
        ).json()
        foreign_run = http.post(f"/api/v1/pipelines/{foreign['id']}/runs/", json={}).json()
        ctx = CheckContext(Options(base_url=server.url))
        home = ctx.create_pipeline("home")
        guard = Guard(ctx, home["id"])
        schema = schemathesis.openapi.from_path(spec_path())
        try:
            delete = schema["/api/v1/runs/{run_id}"]["DELETE"].Case(
                path_parameters={"run_id": foreign_run["id"]}
            )
            guard.before_call(delete)
            assert delete.path_parameters["run_id"] != foreign_run["id"]
            mine = schema["/api/v1/pipelines/{pipeline_id}"]["DELETE"].Case(
                path_parameters={"pipeline_id": home["id"]}
            )
            guard.before_call(mine)
            assert mine.path_parameters["pipeline_id"] == home["id"]
            read = schema["/api/v1/runs/{run_id}"]["GET"].Case(
                path_parameters={"run_id": foreign_run["id"]}
            )
            guard.before_call(read)
            assert read.path_parameters["run_id"] == foreign_run["id"]
            claim = schema["/api/v1/runs/claim"]["POST"].Case(body={"worker_id": "fuzz"})
            guard.before_call(claim)
            assert claim.body == {"worker_id": "fuzz", "pipeline_id": home["id"]}
        finally:
            guard.close()
            ctx.cleanup()
            ctx.close()
        assert http.get(f"/api/v1/runs/{foreign_run['id']}").status_code == 200


class AnswerReads:
    """GET /api/v1/runs/{run_id} of each run in `faults` is answered with its status there
    (0: never answered)."""

    def __init__(self, app: ASGIApp, faults: dict[str, int]) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        run_id = scope["path"].removeprefix("/api/v1/runs/") if scope["type"] == "http" else ""
        if scope["type"] == "http" and scope["method"] == "GET" and run_id in self.faults:
            if self.faults[run_id] == 0:  # no answer: wait until the client gives up
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
            await send(
                {"type": "http.response.start", "status": self.faults[run_id], "headers": []}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, CheckContext, Guard]]:
    server = EmbeddedServer(tmp_path / "guard.db")
    with server:
        ctx = CheckContext(Options(base_url=server.url))
        guard = Guard(ctx, ctx.create_pipeline("home")["id"], timeout=0.5)
        try:
            yield server, ctx, guard
        finally:
            guard.close()
            ctx.cleanup()
            ctx.close()


@pytest.mark.parametrize("status", [401, 429, 500, 503, 0])
def test_guard_fails_closed(tmp_path: Path, status: int) -> None:
    """Unless the target says 404, an id is somebody else's: a write to it goes elsewhere
    (here the id exists; the answers to its probe are faults: 0 is no answer in time)."""
    faults: dict[str, int] = {}
    server = EmbeddedServer(tmp_path / "closed.db")
    server.app.add_middleware(AnswerReads, faults=faults)
    with server, httpx.Client(base_url=server.url) as http:
        foreign = http.post(
            "/api/v1/pipelines/",
            json={"name": "not the kit's", "actions": [{"name": "a", "entrypoint": "m.f"}]},
        ).json()
        run = http.post(f"/api/v1/pipelines/{foreign['id']}/runs/", json={}).json()
        faults[run["id"]] = status
        ctx = CheckContext(Options(base_url=server.url))
        guard = Guard(ctx, ctx.create_pipeline("home")["id"], timeout=0.5)
        try:
            case = SCHEMA["/api/v1/runs/{run_id}"]["DELETE"].Case(
                path_parameters={"run_id": run["id"]}
            )
            guard.before_call(case)
            assert case.path_parameters["run_id"] != run["id"]
            assert case.path_parameters["run_id"].startswith("conformance-kit-absent-")
            absent = SCHEMA["/api/v1/runs/{run_id}"]["DELETE"].Case(
                path_parameters={"run_id": "no-such-run"}
            )
            guard.before_call(absent)  # a definite 404: nobody's, left as generated
            assert absent.path_parameters["run_id"] == "no-such-run"
        finally:
            guard.close()
            ctx.cleanup()
            ctx.close()
        del faults[run["id"]]
        assert http.get(f"/api/v1/runs/{run['id']}").status_code == 200


def claim(guard: Guard, body: dict[str, Any]) -> Any:
    case = SCHEMA["/api/v1/runs/claim"]["POST"].Case(body=body)
    guard.before_call(case)
    return case.body


def test_claims_are_pinned_to_the_kits_pipeline_valid_or_not(
    guarded: tuple[EmbeddedServer, CheckContext, Guard],
) -> None:
    _, _, guard = guarded
    home = guard.home_pipeline
    assert claim(guard, {"worker_id": "w"}) == {"worker_id": "w", "pipeline_id": home}
    assert claim(guard, {"worker_id": "w", "pipeline_id": None})["pipeline_id"] == home
    # invalid elsewhere: pinned all the same
    assert claim(guard, {"worker_id": "", "pipeline_id": "other"})["pipeline_id"] == home
    assert claim(guard, {"lease_seconds": 0})["pipeline_id"] == home
    assert claim(guard, {"worker_id": "w", "x": 1})["pipeline_id"] == home
    # the pipeline_id is the invalid part: left so (no pipeline has such an id)
    assert claim(guard, {"worker_id": "w", "pipeline_id": 5})["pipeline_id"] == 5
    assert claim(guard, {"worker_id": "w", "pipeline_id": "p" * 256})["pipeline_id"] == "p" * 256


def pipeline_body(guard: Guard, body: dict[str, Any], method: str = "POST") -> Any:
    path = "/api/v1/pipelines/" if method == "POST" else "/api/v1/pipelines/{pipeline_id}"
    params = {} if method == "POST" else {"pipeline_id": guard.home_pipeline}
    case = SCHEMA[path][method].Case(body=body, path_parameters=params)
    guard.before_call(case)
    return case.body


def test_pipelines_get_the_prefix_once_dedicated_workers_and_dead_entrypoints(
    guarded: tuple[EmbeddedServer, CheckContext, Guard],
) -> None:
    _, ctx, guard = guarded
    actions = [
        {"name": "a", "entrypoint": "plugin.train.TrainAction"},
        {"name": "b", "entrypoint": "os:system"},
        {"name": "c", "entrypoint": "not an entrypoint"},
        {"name": "d", "entrypoint": "m." + "x" * 1200},
        {"name": "e"},
    ]
    body = pipeline_body(guard, {"name": "fuzzed", "actions": actions})
    assert body["name"] == f"{ctx.namespace}fuzzed"
    assert body["dedicated_workers"] is True
    entrypoints = [action.get("entrypoint") for action in body["actions"]]
    assert entrypoints[:3] == [ENTRYPOINT, ENTRYPOINT, "not an entrypoint"]
    assert entrypoints[3].startswith(f"{ABSENT_MODULE}.")
    assert len(entrypoints[3]) == 1202
    assert entrypoints[4] is None
    # a name that already carries a kit prefix (the fuzzer reuses names) gets it once
    again = pipeline_body(guard, {"name": f"{ctx.namespace}fuzzed", "actions": actions[:1]})
    assert again["name"] == f"{ctx.namespace}fuzzed"
    other = pipeline_body(guard, {"name": "conformance-kit-0f0f0f0f-x", "actions": actions[:1]})
    assert other["name"] == f"{ctx.namespace}0f0f0f0f-x"
    # invalid names stay invalid; so does an invalid dedicated_workers
    assert pipeline_body(guard, {"name": "", "actions": actions[:1]})["name"] == ""
    assert pipeline_body(guard, {"name": "n" * 256})["name"] == "n" * 256
    assert pipeline_body(guard, {"dedicated_workers": "x"})["dedicated_workers"] == "x"
    # renaming or reopening one of the kit's pipelines keeps it the kit's
    update = pipeline_body(guard, {"name": "renamed", "dedicated_workers": False}, "PUT")
    assert update == {"name": f"{ctx.namespace}renamed", "dedicated_workers": True}
    long = pipeline_body(guard, {"name": "y" * 255})["name"]
    assert long.startswith(ctx.namespace)
    assert len(long) == 255


def test_runs_the_fuzzer_creates_are_touched_at_once(
    guarded: tuple[EmbeddedServer, CheckContext, Guard],
) -> None:
    server, _, guard = guarded
    with httpx.Client(base_url=server.url) as http:
        created = http.post(f"/api/v1/pipelines/{guard.home_pipeline}/runs/", json={})
        case = SCHEMA["/api/v1/pipelines/{pipeline_id}/runs/"]["POST"].Case(
            path_parameters={"pipeline_id": guard.home_pipeline}, body={}
        )
        guard.after_call(case, created)
        run = http.get(f"/api/v1/runs/{created.json()['id']}").json()
        assert run["current_action"] == "first"
        assert run["id"] in guard.owned
        # neither a worker of any pipeline nor one of this pipeline takes it
        assert http.post("/api/v1/runs/claim", json={"worker_id": "w"}).status_code == 204
        named = {"worker_id": "w", "pipeline_id": guard.home_pipeline}
        assert http.post("/api/v1/runs/claim", json=named).status_code == 204
