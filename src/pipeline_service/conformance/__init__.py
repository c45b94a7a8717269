"""The conformance kit: checks that any server speaking openapi.yaml behaves as the API says.

Two tiers of checks:

* **v1 core API** (`core`): the operations every Pipeline Service has — health, pipelines,
  runs, progress (polled and streamed), checkpoints and logs — with the semantics this API
  gives them: validated status transitions, progress merged per action and never lost,
  timestamps stamped once, pushed progress streams with ids, heartbeats and resume, checkpoint
  and list order, paths answered as listed, bad input refused with a clear 4xx.
* **extensions** (`extension`): what a server may add on top — `Idempotency-Key` replay, the
  bearer token, run cancellation, workers' claims and leases (lease fencing), body and batch
  limits, log `seq` cursors (also while written) and the log stream (with its grace for closing
  lines), the metric history, trailing-slash twins, `HEAD`.

The kit touches nothing but what it creates, and the target's workers never run its runs (see
`context` and the fuzzer's guard in `checks/schema`).

`run_checks(Options(base_url=...))` runs them and returns a Report; the command line is
`pipeline-service conformance URL`.

The names below are imported on first use, so that the command line (which registers
`conformance.cli`) does not load the kit, and with it the client, to show its help.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_service.conformance.context import Options
    from pipeline_service.conformance.registry import Depth, Tier, all_checks
    from pipeline_service.conformance.report import Outcome, Report, Result
    from pipeline_service.conformance.runner import run_checks

_HOMES = {
    "Depth": ".registry",
    "Options": ".context",
    "Outcome": ".report",
    "Report": ".report",
    "Result": ".report",
    "Tier": ".registry",
    "all_checks": ".registry",
    "run_checks": ".runner",
}

__all__ = [
    "Depth",
    "Options",
    "Outcome",
    "Report",
    "Result",
    "Tier",
    "all_checks",
    "run_checks",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
