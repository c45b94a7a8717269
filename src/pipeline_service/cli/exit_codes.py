"""The exit statuses of every command (a watch ends with the one of the run's outcome)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # also: the run failed
EXIT_USAGE = 2  # bad input, and only that
EXIT_LOST = 3  # a watch lost the run before it ended (--timeout, stream gone)
EXIT_CANCELLED = 4  # the run was cancelled
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES_HELP = (
    "Exit status: 0 success (a watched run completed), 1 error or the run failed, "
    "2 bad input, 3 lost the run before it ended, 4 the run was cancelled, 130 interrupted."
)
