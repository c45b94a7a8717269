"""The plain facts of the wire: status and level names, and the limits (openapi.yaml's).

Nothing but constants, so that what must load fast (the command line's options and help) can
use them without pydantic; `wire` re-exports them with the record shapes.
"""

from typing import Final, Literal

RunStatusName = Literal["pending", "running", "completed", "failed", "cancelled"]
ActionStatusName = Literal["pending", "running", "completed", "failed", "skipped", "cancelled"]
LogLevelName = Literal["debug", "info", "success", "warning", "danger", "error", "critical"]

RUN_STATUSES: Final[tuple[RunStatusName, ...]] = (
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
)
ACTION_STATUSES: Final[tuple[ActionStatusName, ...]] = (
    "pending",
    "running",
    "completed",
    "failed",
    "skipped",
    "cancelled",
)
LOG_LEVELS: Final[tuple[LogLevelName, ...]] = (
    "debug",
    "info",
    "success",
    "warning",
    "danger",
    "error",
    "critical",
)

# A run in one of these never changes again; an action in one of these is over.
TERMINAL_RUN_STATUSES: Final = frozenset({"completed", "failed", "cancelled"})
TERMINAL_ACTION_STATUSES: Final = frozenset({"completed", "failed", "skipped", "cancelled"})

# At most this many log entries in one POST /runs/{id}/logs (LogBatch.entries maxItems).
MAX_LOG_BATCH: Final = 10_000

# Labels of a run or pipeline: at most this many (more: 422).
MAX_LABELS: Final = 32

# A label selector (`?label=`) holds at most this many requirements, and a set (`in (…)`) at
# most this many values (more: 422).
MAX_SELECTOR_REQUIREMENTS: Final = 20
MAX_SELECTOR_VALUES: Final = 32

# A metric batch (POST /runs/{id}/metrics) holds at most this many entries; more: 413.
MAX_METRIC_BATCH: Final = 10_000

# A server left at its default keeps every point of a logged metric up to this many; beyond it,
# the series is thinned (the first, the newest and an even spread between).
MAX_STEP_POINTS: Final = 10_000

# Larger request bodies are refused with 413 by a server left at its default (`--max-body-bytes`).
DEFAULT_MAX_BODY_BYTES: Final = 32 * 1024 * 1024

# A free-form field (params, result, metrics, params_snapshot, an error text) larger than this,
# as UTF-8 JSON, is refused with 422 by a server left at its default (`--max-field-bytes`).
DEFAULT_MAX_FIELD_BYTES: Final = 1024 * 1024

# Objects and arrays in a request body nest at most this deep (the body is level 1); deeper: 422.
MAX_JSON_DEPTH: Final = 64

# A page (list or log records) ends once its items' encoded size reaches this: a page cut short
# carries `Link: <URL>; rel="next"`.
MAX_PAGE_BYTES: Final = 4 * 1024 * 1024

# The largest `limit` a list request may ask for (items of one page), and a log or event read.
MAX_PAGE_ITEMS: Final = 1000
MAX_LOG_PAGE_ITEMS: Final = 10_000
