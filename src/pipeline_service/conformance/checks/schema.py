"""Schema fuzzing with schemathesis, from the packaged openapi.yaml.

Every operation is fuzzed (examples from the spec, then generated positive and negative data;
at standard depth and above, the coverage phase too), then the stateful phase chains
operations along the spec's links (create a pipeline → run it → report → checkpoint → log…).
All of schemathesis's checks apply (no 5xx, responses match their schemas, invalid data
refused, valid data accepted…), with the cross-field rules the spec documents in prose taken
into account. Generation is seeded by `--seed`, so a run is reproducible.

The fuzzer never touches other data: a request that would change (PUT, PATCH, POST, DELETE) a
pipeline or run the kit did not create is sent to an id that does not exist instead (and so is
one whose id the target did not answer 404 for: the guard fails closed); claims are restricted to
the kit's own pipelines, valid or not; created pipelines are named with the kit's prefix and
deleted at the end.

The target's workers never run what the fuzzer creates: its pipelines get `dedicated_workers`
(where the target knows it) and entrypoints that name a module that does not exist, and each
run it creates is touched at once (workers only take runs nobody updated).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from pipeline_service.conformance.context import (
    ABSENT_MODULE,
    API,
    ENTRYPOINT,
    NAME_PREFIX,
    CheckContext,
)
from pipeline_service.conformance.http import TOKEN_PLACEHOLDER
from pipeline_service.conformance.registry import CheckFailed, Depth, Tier, check
from pipeline_service.spec import load_spec, spec_path

EXTENSION_OPERATIONS = frozenset(
    {
        "cancel_run",
        "claim_run",
        "renew_lease",
        "release_lease",
        "stream_logs",
        "stream_runs",
        "get_metrics",
        "append_metrics",
        "list_run_events",
        "list_artifacts",
        "upload_artifact",
        "download_artifact",
        "head_artifact",
    }
)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What schemathesis's coverage phase names the undeclared property it adds to a location.
_UNDECLARED_HEADERS = frozenset(
    {"x-schemathesis-unknown-property", "schemathesis-unknown-property", "unknown-property-0"}
)

# Cross-field rules JSON Schema cannot express, so schema-valid data can be rightly refused (422):
# action names unique within a pipeline; `resume_from` naming an earlier run of the same
# pipeline; `action_progress` naming an action of the run, with `progress` in [0, 1] without
# `total`, in 0..total with it; `from_action` naming an action of the pipeline after completed
# ones; a checkpoint's `artifacts` naming artifacts of the run; an artifact path that stays in
# its run. A log batch over 10,000 entries is 413 (a limit, not a validation error). Streams
# are read for a bounded time.
RULES_TOML = """
[[operations]]
include-operation-id = [
    "create_pipeline", "update_pipeline", "create_run", "report_progress", "create_checkpoint",
    "upload_artifact", "download_artifact", "head_artifact",
]
checks.positive_data_acceptance.enabled = false

[[operations]]
include-operation-id = ["append_logs", "append_metrics"]
checks.negative_data_rejection.expected-statuses = [400, 401, 404, 409, 413, 422]

[[operations]]
include-operation-id = ["stream_progress", "stream_logs", "stream_runs"]
request-timeout = 2.0
"""

# (max examples per operation, stateful steps, phases) by depth
_BUDGET = {
    Depth.QUICK: (4, 6, ["examples", "fuzzing", "stateful"]),
    Depth.STANDARD: (20, 10, ["examples", "coverage", "fuzzing", "stateful"]),
    Depth.DEEP: (100, 20, ["examples", "coverage", "fuzzing", "stateful"]),
}


@dataclass
class Finding:
    operation: str
    title: str
    message: str
    curl: str


@dataclass
class FuzzOutcome:
    """What one schemathesis run found, split by the check it belongs to."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)
    scenarios: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _operation_ids() -> dict[str, str]:
    """`METHOD /path` → operationId, from the spec."""
    labels = {}
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                labels[f"{method.upper()} {path}"] = operation["operationId"]
    return labels


def _schema(name: str) -> Any:
    return load_spec()["components"]["schemas"][name]


class Guard:
    """Keeps the fuzzer inside the kit's own data and remembers what it created."""

    def __init__(self, ctx: CheckContext, home_pipeline: str, *, timeout: float = 30) -> None:
        self.ctx = ctx
        self.home_pipeline = home_pipeline
        self.owned: set[str] = {home_pipeline}
        self.foreign: set[str] = set()
        self.lock = threading.Lock()
        self.http = httpx.Client(
            base_url=ctx.session.base_url, headers=ctx.session.auth_headers(), timeout=timeout
        )
        self.labels = _operation_ids()
        entrypoint = _schema("ActionDefinition")["properties"]["entrypoint"]
        self.entrypoint_pattern = re.compile(entrypoint["pattern"])
        self.entrypoint_max = int(entrypoint["maxLength"])
        name = _schema("PipelineCreate")["properties"]["name"]
        self.name_lengths = (int(name["minLength"]), int(name["maxLength"]))
        claimed = _schema("ClaimRequest")["properties"]["pipeline_id"]
        self.pipeline_id_max = int(claimed["maxLength"])

    def _is_foreign(self, kind: str, identifier: str) -> bool:
        """False only when the kit created this pipeline or run, or the target answers a
        definite 404 for it: anything else (200, 401, 429, 5xx, no answer) might be somebody
        else's."""
        if identifier in self.owned:
            return False
        if identifier in self.foreign:
            return True
        try:
            status = self.http.get(f"{API}/{kind}/{quote(identifier, safe='')}").status_code
        except httpx.HTTPError:
            status = None
        if status == 404:
            return False
        with self.lock:
            self.foreign.add(identifier)
        return True

    def before_call(self, case: Any) -> None:
        operation = self.labels.get(case.operation.label)
        params = case.path_parameters or {}
        if case.method.upper() in MUTATING:
            for name, kind in (("pipeline_id", "pipelines"), ("run_id", "runs")):
                value = params.get(name)
                if isinstance(value, str) and self._is_foreign(kind, value):
                    params[name] = f"{NAME_PREFIX}absent-{uuid.uuid4().hex}"
        body = case.body
        if not isinstance(body, dict):
            return
        if operation == "claim_run":
            self._pin_claim(body)
        elif operation in ("create_pipeline", "update_pipeline"):
            self._own_pipeline(body)

    def _pin_claim(self, body: dict[str, Any]) -> None:
        """A claim, valid or not, names the kit's own pipeline, unless `pipeline_id` is itself
        the invalid part (then no pipeline has that id)."""
        value = body.get("pipeline_id")
        valid = value is None or (isinstance(value, str) and len(value) <= self.pipeline_id_max)
        if valid and value not in self.owned:
            body["pipeline_id"] = self.home_pipeline

    def _own_pipeline(self, body: dict[str, Any]) -> None:
        """The kit's name prefix (once), dedicated workers, entrypoints importable nowhere:
        each changed only where it stays as valid or invalid as the fuzzer made it."""
        name = body.get("name")
        shortest, longest = self.name_lengths
        if isinstance(name, str) and shortest <= len(name) <= longest:
            while name.startswith(NAME_PREFIX):  # the fuzzer reuses names it was answered
                mine = name.startswith(self.ctx.namespace)
                name = name[len(self.ctx.namespace if mine else NAME_PREFIX) :]
            body["name"] = self.ctx.name(name)[:longest]
        if self.ctx.dedicated and isinstance(body.get("dedicated_workers", True), bool):
            body["dedicated_workers"] = True
        actions = body.get("actions")
        for action in actions if isinstance(actions, list) else ():
            if isinstance(action, dict) and isinstance(action.get("entrypoint"), str):
                action["entrypoint"] = self._dead_entrypoint(action["entrypoint"])

    def _dead_entrypoint(self, entrypoint: str) -> str:
        """An entrypoint naming a module that does not exist, valid exactly when `entrypoint`
        is (one of another form is left: no worker imports it, and the target refuses it)."""
        if not self.entrypoint_pattern.fullmatch(entrypoint):
            return entrypoint
        if len(entrypoint) <= self.entrypoint_max:
            return ENTRYPOINT
        return f"{ABSENT_MODULE}.{'A' * (len(entrypoint) - len(ABSENT_MODULE) - 1)}"

    def after_call(self, case: Any, response: Any) -> None:
        operation = self.labels.get(case.operation.label)
        if response.status_code not in (200, 201) or operation not in (
            "create_pipeline",
            "create_run",
        ):
            return
        try:
            created = response.json()
        except ValueError:
            return
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            return
        with self.lock:
            self.owned.add(created["id"])
            if operation == "create_pipeline":
                self.ctx.pipelines.append(created["id"])
        if operation == "create_run":
            self._touch(created)

    def _touch(self, run: dict[str, Any]) -> None:
        """Update a run the fuzzer created at once, so that no worker takes it."""
        progress = run.get("progress")
        first = progress[0].get("name") if isinstance(progress, list) and progress else None
        with contextlib.suppress(httpx.HTTPError):  # the run's pipeline is dedicated anyway
            self.http.patch(
                f"{API}/runs/{quote(run['id'], safe='')}", json={"current_action": first}
            )

    def close(self) -> None:
        self.http.close()


@contextmanager
def _hooks(guard: Guard, schema: Any) -> Iterator[None]:
    import schemathesis
    from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

    def before_call(context: Any, case: Any, **kwargs: Any) -> None:
        guard.before_call(case)

    def after_call(context: Any, case: Any, response: Any) -> None:
        guard.after_call(case, response)

    schemathesis.hook(before_call)
    schema.hook(after_call)
    try:
        yield
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)
        schema.hooks.unregister(after_call)


def _config_toml(ctx: CheckContext) -> str:
    examples, steps, phases = _BUDGET[ctx.options.depth]
    if "schema.stateful" not in ctx.selected:
        phases = [phase for phase in phases if phase != "stateful"]
    if not {"schema.stateless", "schema.extensions"} & ctx.selected:
        phases = [phase for phase in phases if phase == "stateful"]
    # A JSON string is a valid TOML basic string: quotes and backslashes stay harmless.
    lines = [f"base-url = {json.dumps(ctx.session.base_url)}", f"seed = {ctx.options.seed}"]
    if ctx.session.token:
        lines += ["[headers]", f"Authorization = {json.dumps(f'Bearer {ctx.session.token}')}"]
    lines += ["[output.sanitization]", "enabled = false"]  # the token is hidden by _collect
    lines += ["[generation]", f"max-examples = {examples}", 'database = "none"']
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        lines += [f"[phases.{phase}]", f"enabled = {'true' if phase in phases else 'false'}"]
    lines.append(f"max-steps = {steps}")  # belongs to the last table: [phases.stateful]
    return "\n".join(lines) + "\n" + RULES_TOML


def run_fuzzer(ctx: CheckContext) -> FuzzOutcome:
    """Run schemathesis once against the target (cached for the three schema checks)."""
    if "schema" not in ctx.shared:
        try:
            ctx.shared["schema"] = _fuzz(ctx)
        except Exception as exc:  # reported by each schema check, not retried by each
            ctx.shared["schema"] = exc
    outcome = ctx.shared["schema"]
    if isinstance(outcome, Exception):
        raise outcome
    assert isinstance(outcome, FuzzOutcome)
    return outcome


def _fuzz(ctx: CheckContext) -> FuzzOutcome:
    try:
        import schemathesis
        from schemathesis.config import SchemathesisConfig
        from schemathesis.engine import events, from_schema
    except ImportError:
        raise CheckFailed(
            "schemathesis is not installed: pip install 'pipeline-service[conformance]'"
        ) from None
    labels = _operation_ids()
    schema: Any = schemathesis.openapi.from_path(
        spec_path(), config=SchemathesisConfig.from_str(_config_toml(ctx))
    )
    if "schema.extensions" not in ctx.selected:
        schema = schema.exclude(operation_id=sorted(EXTENSION_OPERATIONS))
    elif not {"schema.stateless", "schema.stateful"} & ctx.selected:
        schema = schema.include(operation_id=sorted(EXTENSION_OPERATIONS))
    home = ctx.create_pipeline("fuzz-home", actions=("first", "second"))
    guard = Guard(ctx, home["id"])
    outcome = FuzzOutcome()
    try:
        with _hooks(guard, schema):
            for event in from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    _collect(outcome, event, labels, ctx.session.token)
                elif isinstance(event, events.NonFatalError):
                    outcome.errors.append(f"{event.label}: {event.info.format().strip()[:500]}")
                elif isinstance(event, events.FatalError):
                    outcome.errors.append(f"schemathesis stopped: {event.exception}")
    finally:
        guard.close()
    return outcome


def _collect(outcome: FuzzOutcome, event: Any, labels: dict[str, str], token: str | None) -> None:
    recorder = event.recorder
    if event.phase.value == "stateful":
        key = "schema.stateful"
    else:
        operation = labels.get(recorder.label, "")
        key = "schema.extensions" if operation in EXTENSION_OPERATIONS else "schema.stateless"
    outcome.scenarios[key] = outcome.scenarios.get(key, 0) + len(recorder.cases)
    seen = {(f.operation, f.title) for f in outcome.findings.get(key, [])}
    for case_id, nodes in recorder.checks.items():
        node_case = recorder.cases.get(case_id)
        for node in nodes:
            info = node.failure_info
            if info is None:
                continue
            if node.name == "negative_data_rejection" and _only_an_unknown_header(node_case):
                continue
            failure = info.failure
            operation = getattr(failure, "operation", "") or recorder.label
            title = failure.title or node.name
            if (operation, title) in seen:
                continue
            seen.add((operation, title))
            outcome.findings.setdefault(key, []).append(
                Finding(operation, title, failure.message.strip(), _hide(info.code_sample, token))
            )


def _only_an_unknown_header(node: Any) -> bool:
    """True for a case whose one invalid part is a header the spec does not declare: HTTP lets
    any request carry such headers (proxies add them), so a server rightly ignores them."""
    case = getattr(node, "value", None)
    meta = getattr(case, "meta", None)
    if case is None or meta is None:
        return False
    headers = {name.lower() for name in (case.headers or {})}
    if not headers & _UNDECLARED_HEADERS:
        return False
    negative = {
        location.name for location, info in meta.components.items() if info.mode.is_negative
    }
    return negative <= {"HEADER"}


def _hide(curl: str, token: str | None) -> str:
    """The curl line with the token left to the shell, as in the other checks' lines."""
    if not token:
        return curl
    return curl.replace(
        f"'Authorization: Bearer {token}'", f'"Authorization: Bearer {TOKEN_PLACEHOLDER}"'
    )


def _verdict(ctx: CheckContext, key: str) -> None:
    outcome = run_fuzzer(ctx)
    findings = outcome.findings.get(key, [])
    if outcome.errors and key == "schema.stateless":
        raise CheckFailed("schemathesis could not run: " + "; ".join(outcome.errors[:3]))
    if not outcome.scenarios.get(key):
        raise CheckFailed("schemathesis generated no request for these operations")
    ctx.note = f"{outcome.scenarios[key]} generated requests"
    if findings:
        shown = findings[:5]
        summary = "; ".join(f"{f.operation}: {f.title}" for f in shown)
        more = f" (+{len(findings) - 5} more)" if len(findings) > 5 else ""
        details = "\n".join(
            f"{f.operation}: {f.title}: {f.message.splitlines()[0] if f.message else ''}"
            for f in shown
        )
        raise CheckFailed(
            f"{len(findings)} problem(s): {summary}{more}\n{details}",
            [f.curl for f in shown],
        )


@check("schema.stateless", area="schema", tier=Tier.CORE)
def stateless(ctx: CheckContext) -> None:
    """Every v1 core operation, fuzzed from the spec: answers match the spec, never a 5xx.

    Examples from the spec, generated valid data (which must be accepted, except where a
    cross-field rule of the spec refuses it) and invalid data (which must be refused with a
    4xx); each response must carry a status and a body the spec allows for it.
    """
    _verdict(ctx, "schema.stateless")


@check("schema.extensions", area="schema", tier=Tier.EXTENSION)
def extensions(ctx: CheckContext) -> None:
    """The extension operations (cancel, claim, lease, log stream, metrics), fuzzed the same way.

    The artifact operations (list, upload, download, HEAD) are fuzzed here too.
    """
    _verdict(ctx, "schema.extensions")


@check("schema.stateful", area="schema", tier=Tier.CORE)
def stateful(ctx: CheckContext) -> None:
    """Sequences along the spec's links hold too: pipeline → run → progress → checkpoint → logs.

    Each answer is checked as in the stateless phase, with ids taken from earlier answers.
    """
    _verdict(ctx, "schema.stateful")
