"""Run labels as rows (`run_labels`: run, key, value), so that selectors filter in the database.

The run's document holds its labels; these rows mirror them, written with the document when a
run is created or its labels change. Each requirement of a selector (`server/labels.py`) is an
EXISTS / NOT EXISTS over the run's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline_service.server.labels import Requirement
from pipeline_service.server.storage.plans import Plan, Query


def store(run_id: str, labels: Mapping[str, str], *, replace: bool) -> Plan[None]:
    """Write the run's label rows (after deleting the old ones when `replace`)."""
    if replace:
        yield Query("DELETE FROM run_labels WHERE run_id=:run_id", {"run_id": run_id})
    if labels:
        yield Query(
            "INSERT INTO run_labels (run_id, key, value) VALUES (:run_id, :key, :value)",
            many=[{"run_id": run_id, "key": k, "value": v} for k, v in labels.items()],
        )


def where(selector: tuple[Requirement, ...], params: dict[str, Any]) -> list[str]:
    """SQL conditions on `runs` for the selector's requirements, their parameters added to
    params."""
    conditions = []
    for n, requirement in enumerate(selector):
        params[f"label_key_{n}"] = requirement.key
        test = f"run_labels.run_id = runs.id AND run_labels.key = :label_key_{n}"
        if requirement.values:
            names = []
            for m, value in enumerate(requirement.values):
                params[f"label_value_{n}_{m}"] = value
                names.append(f":label_value_{n}_{m}")
            test += f" AND run_labels.value IN ({', '.join(names)})"
        negated = requirement.operator in ("!=", "notin", "!exists")
        exists = f"EXISTS (SELECT 1 FROM run_labels WHERE {test})"
        conditions.append(f"NOT {exists}" if negated else exists)
    return conditions
