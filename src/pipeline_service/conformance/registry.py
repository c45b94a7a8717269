"""The checks: each has an id, an area, a tier (v1 core API or extension) and a docstring that
says what it verifies. `@check(...)` registers a function taking a CheckContext."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_service.conformance.context import CheckContext


class Tier(enum.StrEnum):
    """Whether a check belongs to the v1 core API or to an extension (see the package doc)."""

    CORE = "core"
    EXTENSION = "extension"


class Depth(enum.IntEnum):
    """How thorough a run is; a check runs in every mode at or above its own depth."""

    QUICK = 1
    STANDARD = 2
    DEEP = 3


class CheckFailed(Exception):
    """What a check expected did not hold. `steps` are curl lines reproducing it."""

    def __init__(self, message: str, steps: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.steps = list(steps)


class NotApplicable(Exception):
    """The check cannot run against this target with these options (e.g. no token given)."""


CheckFunction = Callable[["CheckContext"], None]


@dataclass(frozen=True)
class Check:
    id: str
    area: str
    tier: Tier
    title: str
    description: str
    function: CheckFunction
    depth: Depth = Depth.QUICK


REGISTRY: dict[str, Check] = {}
# The order areas are reported in; an area not listed here comes after these, in the order its
# first check was registered (the schema fuzzing stays last).
AREAS = (
    "runs", "progress", "streams", "checkpoints", "logs", "metrics", "lists", "numbers", "errors",
    "http", "idempotency", "leases", "auth", "limits", "network", "artifacts", "lineage",
)  # fmt: skip
LAST_AREAS = ("schema",)


def check(
    check_id: str, *, area: str, tier: Tier, depth: Depth = Depth.QUICK
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; the first docstring line is its title, the rest its description."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"duplicate check id {check_id!r}")
        doc = inspect.cleandoc(function.__doc__ or check_id)
        title, _, description = doc.partition("\n")
        REGISTRY[check_id] = Check(
            check_id, area, tier, title.strip(), description.strip(), function, depth
        )
        return function

    return register


def all_checks() -> list[Check]:
    """Every registered check, area by area (see AREAS), in registration order within an area
    (the check modules are imported here)."""
    from pipeline_service.conformance import checks  # noqa: F401  (registers them)

    registered = list(dict.fromkeys(item.area for item in REGISTRY.values()))
    middle = [area for area in registered if area not in AREAS + LAST_AREAS]
    order = [*AREAS, *middle, *LAST_AREAS]
    return sorted(REGISTRY.values(), key=lambda item: order.index(item.area))


def select(
    checks: Iterable[Check],
    *,
    depth: Depth,
    core_only: bool,
    only: Sequence[str] = (),
) -> list[Check]:
    """The checks a run executes: up to `depth`, core only if asked, or those named in `only`
    (ids or id prefixes such as `progress.`)."""
    selected = []
    for item in checks:
        if core_only and item.tier is not Tier.CORE:
            continue
        if only:
            if not any(item.id == name or item.id.startswith(name) for name in only):
                continue
        elif item.depth > depth:
            continue
        selected.append(item)
    return selected
