"""The live view of a run (`runs watch`, `runs create --watch`): one bar per action until it ends.

On a terminal, a rich live display; otherwise plain lines (status changes, and progress at most
every few seconds per action); with `--json`, every progress event as one JSON line. The exit
status says how the run ended.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol, Self

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from pipeline_service import ActionProgress, PipelineProgress, PipelineServiceClient
from pipeline_service.cli._common import (
    EXIT_INTERRUPTED,
    STATUS_STYLES,
    describe_error,
    elapsed_seconds,
    enum_value,
    format_amount,
    format_duration,
    format_metrics,
    print_error,
    print_json,
    stderr_console,
    stdout_console,
)
from pipeline_service.errors import APITimeoutError, PipelineServiceError

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 2
EXIT_LOST = 3  # the watch started, then lost the run (stream cut short, --timeout) before it ended

OUTCOME_EXIT_CODES = {
    "completed": EXIT_COMPLETED,
    "failed": EXIT_FAILED,
    "cancelled": EXIT_CANCELLED,
}

ICONS = {"completed": "✓", "failed": "✗", "skipped": "-", "pending": "·", "cancelled": "⊘"}

PLAIN_PROGRESS_INTERVAL = 2.0
"""Plain output prints an action's progress at most this often (status changes always)."""

EXIT_STATUS_HELP = (
    "Exit status: 0 the run completed, 1 it failed, 2 it was cancelled, "
    "3 the run was lost before it ended, 130 interrupted (the run is left alone)."
)


class ProgressView(Protocol):
    """Something that shows successive states of a run."""

    def __enter__(self) -> ProgressView: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def update(self, progress: PipelineProgress) -> None:
        """Show `progress`, the newest state of the run."""


def watch_run(
    client: PipelineServiceClient, run_id: str, *, url: str, as_json: bool, timeout: float | None
) -> int:
    """Show the run live until it ends; return the exit status for its outcome.

    Errors before watching starts (no such run, server unreachable) propagate as usual.
    """
    last = client.get_progress(run_id)
    console = stdout_console()
    view: ProgressView
    if as_json:
        view = JsonView()
    elif console.is_terminal:
        view = LiveView(console)
    else:
        view = PlainView()
    try:
        with view:
            if last.is_terminal or not as_json:  # JSON lines come from the stream, with versions
                view.update(last)
            if not last.is_terminal:
                for progress in client.stream_progress(run_id, timeout=timeout):
                    last = progress
                    view.update(progress)
    except KeyboardInterrupt:
        stderr_console().print(
            f"Stopped watching run {run_id} (it is {enum_value(last.status)} and left as it is).",
            markup=False,
        )
        return EXIT_INTERRUPTED
    except PipelineServiceError as error:
        reason = (
            f"stopped watching after {timeout:g} s"
            if isinstance(error, APITimeoutError) and timeout is not None
            else describe_error(error, url)
        )
        print_error(f"lost run {run_id} while it was {enum_value(last.status)}: {reason}")
        return EXIT_LOST
    if not last.is_terminal:
        print_error(f"the stream of run {run_id} ended while it was {enum_value(last.status)}")
        return EXIT_LOST
    return report_outcome(last, as_json=as_json)


def report_outcome(progress: PipelineProgress, *, as_json: bool) -> int:
    """Say how the run ended (the error on stderr for a failure); return the exit status."""
    status = enum_value(progress.status)
    took = elapsed_seconds(progress.started_at, progress.completed_at)
    after = f" after {format_duration(took)}" if took is not None else ""
    if status == "failed":
        where = f" in action {progress.current_action!r}" if progress.current_action else ""
        error = progress.error or _failed_action_error(progress) or "no error given"
        print_error(f"run {progress.run_id} failed{where}{after}: {error}", one_line=False)
    elif not as_json:
        verb = "completed in" if status == "completed" else f"{status} after"
        line = (
            f"Run {progress.run_id} {verb} {format_duration(took)}"
            if took is not None
            else (f"Run {progress.run_id} {status}")
        )
        stdout_console().print(line, style=STATUS_STYLES.get(status, ""), markup=False)
    return OUTCOME_EXIT_CODES.get(status, EXIT_FAILED)


def _failed_action_error(progress: PipelineProgress) -> str | None:
    return next((a.error for a in progress.actions if a.error), None)


def _elapsed(progress: PipelineProgress) -> str:
    seconds = elapsed_seconds(progress.started_at, progress.completed_at)
    return format_duration(seconds) if seconds is not None else "-:--:--"


def _detail(action: ActionProgress) -> str:
    """Step, message, metrics and error of an action, as one phrase."""
    parts = [
        f"[{action.progress_step}]" if action.progress_step else "",
        action.message or "",
        format_metrics(action.metrics),
        f"error: {action.error}" if action.error else "",
    ]
    return " ".join(part for part in parts if part)


class _PrintingView:
    """A view that only prints: nothing to set up or tear down around the watch."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


class JsonView(_PrintingView):
    """Every progress event as one JSON object per line."""

    def update(self, progress: PipelineProgress) -> None:
        """Print the event."""
        print_json(progress.model_dump(mode="json"), lines=True)


class PlainView(_PrintingView):
    """Plain lines for logs and pipes: status changes, throttled progress."""

    def __init__(self, interval: float = PLAIN_PROGRESS_INTERVAL) -> None:
        self._interval = interval
        self._run_status: str | None = None
        self._shown: dict[str, tuple[str, str]] = {}  # action -> (status, line) last printed
        self._shown_at: dict[str, float] = {}

    def update(self, progress: PipelineProgress) -> None:
        """Print what changed since the last line."""
        elapsed = _elapsed(progress)
        status = enum_value(progress.status)
        run_line = None
        if status != self._run_status:
            self._run_status = status
            run_line = f"[{elapsed}] run {progress.run_id}: {status}"
        if run_line and not progress.is_terminal:
            typer.echo(run_line)
        now = time.monotonic()
        for action in progress.actions:
            action_status = enum_value(action.status)
            line = " ".join(
                part
                for part in (
                    f"{action.name}: {action_status}",
                    format_amount(action.progress, action.total),
                    _detail(action),
                )
                if part
            )
            shown = self._shown.get(action.name)
            if shown is None and action_status == "pending":
                self._shown[action.name] = (action_status, line)
                continue
            if shown is not None and shown[1] == line:
                continue
            status_changed = shown is None or shown[0] != action_status
            if status_changed or now - self._shown_at.get(action.name, 0.0) >= self._interval:
                self._shown[action.name] = (action_status, line)
                self._shown_at[action.name] = now
                typer.echo(f"[{elapsed}] {line}")
        if run_line and progress.is_terminal:
            typer.echo(run_line)


class LiveView:
    """A rich live display: a header with the run's state and elapsed time, one bar per action."""

    def __init__(self, console: Console) -> None:
        self._progress: PipelineProgress | None = None
        self._spinners: dict[str, Spinner] = {}
        self._live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def update(self, progress: PipelineProgress) -> None:
        """Redraw with `progress`."""
        self._progress = progress
        self._live.refresh()

    def _render(self) -> RenderableType:
        progress = self._progress
        if progress is None:
            return Text("Connecting…", style="dim")
        status = enum_value(progress.status)
        header = Text.assemble(
            ("Run ", "bold"),
            (progress.run_id, "bold"),
            "  ",
            (status, STATUS_STYLES.get(status, "")),
            "  elapsed ",
            (_elapsed(progress), "bold"),
            f"  {progress.fraction * 100:.0f}% overall",
        )
        table = Table.grid(padding=(0, 1))
        for _ in range(6):
            table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for action in progress.actions:
            action_status = enum_value(action.status)
            style = STATUS_STYLES.get(action_status, "")
            fraction = action.fraction
            table.add_row(
                self._icon(action.name, action_status),
                Text(action.name, style="bold"),
                Text(action_status, style=style),
                ProgressBar(
                    total=1.0,
                    completed=fraction,
                    width=30,
                    complete_style="red" if action_status == "failed" else "bar.complete",
                ),
                Text(format_amount(action.progress, action.total), style=style),
                Text(f"[{action.progress_step}]" if action.progress_step else "", style="dim"),
                Text(_detail_without_step(action), style="red" if action.error else ""),
            )
        return Group(header, table)

    def _icon(self, name: str, status: str) -> RenderableType:
        if status == "running":
            return self._spinners.setdefault(name, Spinner("dots", style="cyan"))
        return Text(ICONS.get(status, "?"), style=STATUS_STYLES.get(status, ""))


def _detail_without_step(action: ActionProgress) -> str:
    parts = [
        action.message or "",
        format_metrics(action.metrics),
        f"error: {action.error}" if action.error else "",
    ]
    return " ".join(part for part in parts if part)
