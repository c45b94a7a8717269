"""What a check gets: the session on the target, the options, and helpers that create data in
the kit's own namespace (pipeline names starting with the run's prefix) and remember it for
cleanup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from pipeline_service.conformance.http import Exchange, Session
from pipeline_service.conformance.registry import CheckFailed, Depth
from pipeline_service.wire import DEFAULT_MAX_BODY_BYTES

API = "/api/v1"
NAME_PREFIX = "conformance-kit-"
ENTRYPOINT = "conformance_kit.no_such_module.Action"


@dataclass(frozen=True)
class Options:
    """How the kit runs (see `pipeline-service conformance --help`)."""

    base_url: str
    token: str | None = None
    depth: Depth = Depth.STANDARD
    core_only: bool = False
    seed: int = 0
    only: Sequence[str] = ()
    heartbeat_timeout: float = 20.0
    event_timeout: float = 10.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # the reference server's default
    keep_failed: bool = False


class CheckContext:
    """Shared by the checks of one run; `session.history` is reset before each check."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.session = Session(options.base_url, options.token)
        self.namespace = f"{NAME_PREFIX}{uuid.uuid4().hex[:8]}-"
        self.pipelines: list[str] = []
        self.shared: dict[str, Any] = {}
        self.selected: set[str] = set()
        self.note = ""  # what a passing check wants to say (e.g. how many requests it sent)

    # --- failing with a reproduction ------------------------------------------------------

    def fail(self, message: str, *exchanges: Exchange | None) -> CheckFailed:
        """A CheckFailed with curl lines for `exchanges` (default: the last request sent)."""
        chosen = [e for e in exchanges if e is not None] or self.session.history[-1:]
        return CheckFailed(message, [exchange.curl() for exchange in chosen])

    def last(self) -> Exchange | None:
        return self.session.history[-1] if self.session.history else None

    def expect(self, condition: bool, message: str, *exchanges: Exchange | None) -> None:
        if not condition:
            raise self.fail(message, *exchanges)

    def expect_status(
        self, response: httpx.Response, expected: int | Sequence[int], what: str
    ) -> Any:
        """Fail unless the status is one of `expected`; returns the JSON body (or None)."""
        allowed = (expected,) if isinstance(expected, int) else tuple(expected)
        exchange = self.last()
        if response.status_code not in allowed:
            shown = " or ".join(str(code) for code in allowed)
            raise self.fail(
                f"{what}: expected {shown}, got {response.status_code} {_excerpt(response)}",
                exchange,
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise self.fail(
                f"{what}: the body is not JSON: {_excerpt(response)}", exchange
            ) from None

    # --- the kit's own data ---------------------------------------------------------------

    def create_pipeline(self, label: str, actions: Sequence[str] = ("first", "second")) -> Any:
        """A pipeline named `<namespace><label>` with the given action names."""
        body = {
            "name": f"{self.namespace}{label}",
            "description": "Created by the conformance kit (pipeline-service conformance).",
            "actions": [{"name": name, "entrypoint": ENTRYPOINT} for name in actions],
        }
        pipeline = self.expect_status(
            self.session.post(f"{API}/pipelines/", body), 201, "creating a pipeline"
        )
        self.pipelines.append(pipeline["id"])
        return pipeline

    def create_run(self, pipeline: Any) -> Any:
        """A run of one of the kit's pipelines, touched at once (its `current_action` set) so
        that workers of the target leave it to the kit: they only take runs nobody updated."""
        run = self.expect_status(
            self.session.post(
                f"{API}/pipelines/{quote(pipeline['id'], safe='')}/runs/",
                {"params": {"conformance_kit": True}},
            ),
            201,
            "creating a run",
        )
        first = pipeline["actions"][0]["name"]
        return self.expect_status(
            self.session.patch(self.run_path(run["id"]), {"current_action": first}),
            200,
            "updating a pending run",
        )

    def new_run(self, label: str, actions: Sequence[str] = ("first", "second")) -> Any:
        """A fresh pipeline of the kit and a pending run of it."""
        return self.create_run(self.create_pipeline(label, actions))

    @staticmethod
    def run_path(run_id: str, tail: str = "") -> str:
        return f"{API}/runs/{quote(run_id, safe='')}{tail}"

    def get_run(self, run_id: str) -> Any:
        return self.expect_status(self.session.get(self.run_path(run_id)), 200, "reading a run")

    @contextmanager
    def fresh_history(self) -> Iterator[None]:
        self.session.history = []
        self.note = ""
        yield

    def cleanup(self) -> list[str]:
        """Delete every pipeline the kit created (their runs go with them); returns problems."""
        problems = []
        for pipeline_id in self.pipelines:
            try:
                response = self.session.delete(f"{API}/pipelines/{quote(pipeline_id, safe='')}")
            except httpx.HTTPError as exc:
                problems.append(f"deleting pipeline {pipeline_id}: {exc}")
                continue
            if response.status_code not in (204, 404):
                problems.append(f"deleting pipeline {pipeline_id}: {response.status_code}")
        self.pipelines.clear()
        return problems

    def close(self) -> None:
        self.session.close()


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"
