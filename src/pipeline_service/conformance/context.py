"""What a check gets: the session on the target, the options, and helpers that create data in
the kit's own namespace (pipeline names starting with the run's prefix) and remember it for
cleanup.

The target's workers never run the kit's runs: its pipelines have `dedicated_workers` (only
claims naming them take their runs, and only the kit knows their ids), every run is touched as
soon as it is created (workers only take runs nobody updated) unless a check needs it claimable,
and every entrypoint names a module that does not exist.
"""

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
ABSENT_MODULE = "conformance_kit_no_such_module"
ENTRYPOINT = f"{ABSENT_MODULE}.Action"  # no worker can import it


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
        # Whether the target knows `dedicated_workers` (None: not asked yet). A server of the v1
        # core API has no workers, and refuses the field.
        self.dedicated: bool | None = None
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

    def name(self, label: str) -> str:
        """`<namespace><label>`: the name of something the kit creates (a pipeline, a worker id,
        an Idempotency-Key), carrying the kit's prefix exactly once."""
        return f"{self.namespace}{label}"

    def pipeline_body(self, label: str, actions: Sequence[str] = ("first", "second")) -> Any:
        """The body creating the kit's pipeline `<namespace><label>`: dedicated workers when the
        target knows them (asked by creating a first pipeline if need be), every entrypoint
        importable nowhere."""
        if self.dedicated is None:
            self.create_pipeline("first", ("only",))
        return self._pipeline_body(label, actions, dedicated=bool(self.dedicated))

    def _pipeline_body(self, label: str, actions: Sequence[str], *, dedicated: bool) -> Any:
        body: dict[str, Any] = {
            "name": self.name(label),
            "description": "Created by the conformance kit (pipeline-service conformance).",
            "actions": [{"name": name, "entrypoint": ENTRYPOINT} for name in actions],
        }
        if dedicated:
            body["dedicated_workers"] = True
        return body

    def create_pipeline(self, label: str, actions: Sequence[str] = ("first", "second")) -> Any:
        """A pipeline named `<namespace><label>` with the given action names."""
        body = self._pipeline_body(label, actions, dedicated=self.dedicated is not False)
        response = self.session.post(f"{API}/pipelines/", body)
        if self.dedicated is None:
            # The first pipeline tells whether the target knows `dedicated_workers`.
            if response.status_code in (400, 422):
                plain = self._pipeline_body(label, actions, dedicated=False)
                response = self.session.post(f"{API}/pipelines/", plain)
                if response.status_code == 201:
                    self.dedicated = False
            elif response.status_code == 201:
                self.dedicated = True
        pipeline = self.expect_status(response, 201, "creating a pipeline")
        self.pipelines.append(pipeline["id"])
        return pipeline

    def create_run(self, pipeline: Any, *, touch: bool = True) -> Any:
        """A run of one of the kit's pipelines, touched at once (its `current_action` set) so
        that workers of a target without dedicated workers leave it to the kit too: they only
        take runs nobody updated. `touch=False` leaves it claimable, by claims naming its
        pipeline."""
        run = self.expect_status(
            self.session.post(
                f"{API}/pipelines/{quote(pipeline['id'], safe='')}/runs/",
                {"params": {"conformance_kit": True}},
            ),
            201,
            "creating a run",
        )
        return run if not touch else self.touch(run)

    def touch(self, run: Any) -> Any:
        """Update a pending run without changing what it holds (its first action becomes its
        `current_action`): workers only take runs nobody updated. Returns the run."""
        first = run["progress"][0]["name"] if run.get("progress") else None
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
