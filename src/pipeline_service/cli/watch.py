"""The live view of a run (`runs watch`, `runs create --watch`): one bar per action until it ends.

On a terminal, a rich live display; otherwise plain lines (status changes, and progress at most
every few seconds per action); with `--json`, every progress event as one JSON line. The exit
status says how the run ended.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, Self

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from pipeline_service.cli._common import (
    NOT_RUN,
    STATUS_STYLES,
    describe_error,
    elapsed_seconds,
    enum_value,
    format_amount,
    format_duration,
    format_metrics,
    lost_connection,
    print_error,
    print_json,
    reconnect_notice,
    shown_action_status,
    stderr_console,
    stdout_console,
)
from pipeline_service.cli.exit_codes import (
    EXIT_CANCELLED,
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_LOST,
    EXIT_OK,
)

if TYPE_CHECKING:
    from rich.spinner import Spinner

    from pipeline_service import ActionProgress, PipelineProgress, PipelineServiceClient

OUTCOME_EXIT_CODES = {
    "completed": EXIT_OK,
    "failed": EXIT_ERROR,
    "cancelled": EXIT_CANCELLED,
}

ICONS = {
    "completed": "✓",
    "failed": "✗",
    "skipped": "-",
    "pending": "·",
    "cancelled": "⊘",
    "not run": "·",
}

PLAIN_PROGRESS_INTERVAL = 2.0
"""Plain output prints an action's progress at most this often (status changes always)."""

EXIT_STATUS_HELP = EXIT_CODES_HELP

PENDING_HINT_AFTER = 5.0
"""A watch says that no worker has claimed the run when it stays pending this long."""


class ProgressView(Protocol):
    """Something that shows successive states of a run."""

    def __enter__(self) -> ProgressView: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def update(self, progress: PipelineProgress) -> None:
        """Show `progress`, the newest state of the run."""

    def note(self, text: str) -> None:
        """Show a hint about the run (on stderr, or under the live display)."""


def pending_hint(run_id: str, url: str) -> str:
    """What to say about a run no worker has claimed."""
    return (
        f"no worker has claimed run {run_id} yet: start one with "
        f"`pipeline-service worker --url {url}` (or run `pipeline-service serve`, "
        "which starts one)"
    )


def watch_run(
    client: PipelineServiceClient, run_id: str, *, url: str, as_json: bool, timeout: float | None
) -> int:
    """Show the run live until it ends; return the exit status for its outcome.

    Errors before watching starts (no such run, server unreachable) propagate as usual.
    """
    from pipeline_service.errors import APITimeoutError, PipelineServiceError

    last = client.get_progress(run_id)
    console = stdout_console()
    view: ProgressView
    if as_json:
        view = JsonView()
    elif console.is_terminal:
        view = LiveView(console)
    else:
        view = PlainView()

    def hint_if_still_pending() -> None:
        if enum_value(last.status) == "pending":
            view.note(pending_hint(run_id, url))

    timer = threading.Timer(PENDING_HINT_AFTER, hint_if_still_pending)
    timer.daemon = True
    try:
        with view:
            if last.is_terminal or not as_json:  # JSON lines come from the stream, with versions
                view.update(last)
            if not last.is_terminal:
                timer.start()
                with reconnect_notice(url):
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
            else lost_connection(error, url) or describe_error(error, url)
        )
        if enum_value(last.status) == "pending":
            reason = f"{reason}; {pending_hint(run_id, url)}"
        print_error(f"lost run {run_id} while it was {enum_value(last.status)}: {reason}")
        return EXIT_LOST
    finally:
        timer.cancel()
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
    return OUTCOME_EXIT_CODES.get(status, EXIT_ERROR)


def _failed_action_error(progress: PipelineProgress) -> str | None:
    return next((a.error for a in progress.actions if a.error), None)


def _elapsed(progress: PipelineProgress, now: datetime | None = None) -> str:
    seconds = elapsed_seconds(progress.started_at, progress.completed_at or now)
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


def action_seconds(action: ActionProgress, now: datetime | None = None) -> float | None:
    """How long the action has run (or ran), None before it started."""
    if action.started_at is None:
        return None
    return elapsed_seconds(action.started_at, action.completed_at or now)


def action_eta(action: ActionProgress, now: datetime | None = None) -> float | None:
    """Seconds left for a running action counting units of work, at its rate so far."""
    seconds = action_seconds(action, now)
    if (
        enum_value(action.status) != "running"
        or action.total is None
        or not seconds
        or action.progress <= 0
    ):
        return None
    return (action.total - action.progress) * seconds / action.progress


def overall_fraction(progress: PipelineProgress, now: datetime | None = None) -> float:
    """How far the run is, each action weighted by how long it takes (or is expected to).

    A finished action weighs its duration, a running one its elapsed time plus its ETA (known
    where it has a total); the others weigh the mean of those. Before any of that is known,
    every action weighs the same.
    """
    if enum_value(progress.status) == "completed":
        return 1.0
    if not progress.actions:
        return 0.0
    done = ("completed", "skipped")
    weights: list[float | None] = []
    for action in progress.actions:
        status = enum_value(action.status)
        seconds = action_seconds(action, now)
        eta = action_eta(action, now)
        if status == "completed" and seconds:
            weights.append(seconds)
        elif seconds and eta is not None:
            weights.append(seconds + eta)
        else:
            weights.append(None)
    known = [w for w in weights if w]
    fallback = sum(known) / len(known) if known else 1.0
    total = sum(w or fallback for w in weights)
    reached = sum(
        (w or fallback) * (1.0 if enum_value(a.status) in done else a.fraction)
        for w, a in zip(weights, progress.actions, strict=True)
    )
    return min(1.0, reached / total) if total else 0.0


class _PrintingView:
    """A view that only prints: nothing to set up or tear down around the watch."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def note(self, text: str) -> None:
        """Print the hint on stderr."""
        stderr_console().print(f"note: {text}", style="yellow", markup=False)


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
            action_status = shown_action_status(enum_value(action.status), status)
            line = " ".join(
                part
                for part in (
                    f"{action.name}: {action_status}",
                    format_amount(action.progress, action.total, action_status),
                    _detail(action),
                )
                if part
            )
            if action_status == NOT_RUN:
                continue  # plain lines say what happened; the run's own line says it ended
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
    """A rich live display: a header with the run's state and elapsed time, one row per action
    (bar, amount, elapsed time, ETA, details cut to the terminal's width)."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live

        self._console = console
        self._progress: PipelineProgress | None = None
        self._note: str | None = None
        self._spinners: dict[str, Spinner] = {}
        self._live = Live(
            console=console,
            get_renderable=self.render,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info and exc_info[0] is KeyboardInterrupt:
            # The terminal echoed ^C where the cursor was: erase the display and draw its last
            # frame once, rather than leave a second copy of the header behind.
            self._live.transient = True
            self._live.stop()
            self._console.print(self.render())
            return
        self._live.stop()

    def update(self, progress: PipelineProgress) -> None:
        """Redraw with `progress`."""
        self._progress = progress
        self._live.refresh()

    def note(self, text: str) -> None:
        """Show the hint under the header."""
        self._note = text
        self._live.refresh()

    def render(self) -> RenderableType:
        """The current frame."""
        from rich.progress_bar import ProgressBar

        progress = self._progress
        if progress is None:
            return Text("Connecting…", style="dim")
        now = datetime.now(UTC)
        status = enum_value(progress.status)
        header = Text.assemble(
            ("Run ", "bold"),
            (progress.run_id, "bold"),
            "  ",
            (status, STATUS_STYLES.get(status, "")),
            f"  {overall_fraction(progress, now) * 100:.0f}%",
            "  elapsed ",
            (_elapsed(progress, now), "bold"),
            no_wrap=True,
            overflow="ellipsis",
        )
        parts: list[RenderableType] = [header]
        if self._note and status == "pending":
            parts.append(Text(self._note, style="yellow"))
        table = Table.grid(padding=(0, 1))
        for _ in range(7):
            table.add_column(no_wrap=True)
        # The details give way first (cut with an ellipsis, never wrapped into a strip).
        table.add_column(overflow="ellipsis")
        bar_width = max(10, min(30, self._console.width // 5))
        for action in progress.actions:
            action_status = shown_action_status(enum_value(action.status), status)
            style = STATUS_STYLES.get(action_status, "")
            seconds = action_seconds(action, now)
            eta = action_eta(action, now)
            table.add_row(
                self._icon(action.name, action_status),
                Text(action.name, style="bold"),
                Text(action_status, style=style),
                ProgressBar(
                    total=1.0,
                    completed=action.fraction,
                    width=bar_width,
                    complete_style="red" if action_status == "failed" else "bar.complete",
                ),
                Text(format_amount(action.progress, action.total, action_status), style=style),
                Text(format_duration(seconds) if seconds is not None else "", style="dim"),
                Text(f"ETA {format_duration(eta)}" if eta is not None else "", style="dim"),
                Text(
                    _detail(action),
                    style="red" if action.error else "",
                    no_wrap=True,
                    overflow="ellipsis",
                ),
            )
        parts.append(table)
        return Group(*parts)

    def _icon(self, name: str, status: str) -> RenderableType:
        from rich.spinner import Spinner

        if status == "running":
            return self._spinners.setdefault(name, Spinner("dots", style="cyan"))
        return Text(ICONS.get(status, "?"), style=STATUS_STYLES.get(status, ""))
