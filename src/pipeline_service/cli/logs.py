"""`pipeline-service logs RUN_ID`: print a run's logs, or follow them live until the run ends."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from pipeline_service.cli._common import (
    STATUS_STYLES,
    check_choice,
    format_time,
    lost_connection,
    parse_time,
    print_document,
    print_error,
    print_json,
    reconnect_notice,
    stderr_console,
    stdout_console,
    usage_error,
)
from pipeline_service.cli.arguments import RunIdArgument
from pipeline_service.cli.command import Session, client_command
from pipeline_service.cli.examples import examples
from pipeline_service.cli.exit_codes import EXIT_INTERRUPTED, EXIT_LOST
from pipeline_service.cli.resolve import resolve_run
from pipeline_service.vocabulary import LOG_LEVELS, MAX_LOG_PAGE_ITEMS

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient

# How each of the service's levels (wire.LOG_LEVELS) is shown.
LEVEL_STYLES = {
    "debug": "dim",
    "info": "",
    "success": "green",
    "warning": "yellow",
    "danger": "bold magenta",
    "error": "red",
    "critical": "bold white on red",
}
PAGE_SIZE = MAX_LOG_PAGE_ITEMS  # the most the server returns per request
RELATIVE_TIME = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXAMPLES = examples(
    "pipeline-service logs 0b53d409 --level warning",
    "pipeline-service logs 0b53d409 -f --tail 20",
    "pipeline-service logs 0b53d409 --since 10m --action train",
)


@client_command(
    output=True, json_help="Print JSON: one array, or one object per line with --follow."
)
def logs(
    session: Session,
    run_ref: RunIdArgument,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep printing new lines as they arrive until the run ends."
        ),
    ] = False,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            "-l",
            metavar="LEVEL",
            help=f"Only lines of this level or more severe: {', '.join(LOG_LEVELS)}.",
        ),
    ] = None,
    tail: Annotated[
        int | None,
        typer.Option(
            "--tail", "-n", min=0, metavar="N", help="Only the last N lines (then follow, with -f)."
        ),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", "-a", metavar="ACTION", help="Only this action's lines."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="Only lines after TIME: an RFC 3339 timestamp (offset-less is UTC), "
            "or a duration ago such as 30s, 5m, 2h, 1d.",
        ),
    ] = None,
) -> None:
    """Print a run's log lines, oldest first; with --follow, until the run ends.

    Times are local; --json keeps the service's UTC timestamps.
    """
    from pipeline_service.errors import PipelineServiceError

    fmt = session.fmt
    if fmt == "yaml" and follow:
        usage_error("-o yaml cannot follow; use --json for one object per line")
    check_choice("--level", level, LOG_LEVELS)
    after = parse_since(since) if since is not None else None
    console = stdout_console()
    with session.client() as client:
        run_id = resolve_run(client, run_ref)["id"]
        found = client.iter_logs(run_id, action_name=action, since=after, page_size=PAGE_SIZE)
        records: Iterable[Any] = at_least(found, level)
        if tail is not None:
            records = deque(records, maxlen=tail)
        if not follow:
            if fmt in ("json", "yaml"):
                print_document(list(records), fmt)
                return
            for record in records:
                print_record(console, record)
            return
        last_seq: int | None = None
        try:
            if tail is not None:
                for record in records:
                    last_seq = record.get("seq", last_seq)
                    _show(console, record, fmt)
                if last_seq is None and tail == 0:
                    last_seq = _last_seq(client, run_id)
            followed = client.follow_logs(run_id, action_name=action, after_seq=last_seq)
            with reconnect_notice(session.url):
                for record in at_least(followed, level):
                    if after is not None and not _is_after(record, after):
                        continue
                    _show(console, record, fmt)
        except PipelineServiceError as error:
            reason = lost_connection(error, session.url)
            if reason is None:
                raise
            print_error(f"lost the logs of run {run_id} before it ended: {reason}")
            raise typer.Exit(EXIT_LOST) from None
        except KeyboardInterrupt:
            status = client.get_run(run_id)["status"]
            stderr_console().print(
                f"Stopped following the logs of run {run_id} (it is {status} and left as it is).",
                markup=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        if fmt != "json":
            status = client.get_run(run_id)["status"]
            stderr_console().print(
                f"-- run {run_id} {status} --", style=STATUS_STYLES.get(status, ""), markup=False
            )


def at_least(records: Iterable[Any], level: str | None) -> Iterator[Any]:
    """The records of `level` or more severe (all of them without a level)."""
    if level is None:
        yield from records
        return
    floor = LOG_LEVELS.index(level)
    for record in records:
        value = str(record.get("level"))
        # A level this client does not know yet is shown: it may well matter.
        if value not in LOG_LEVELS or LOG_LEVELS.index(value) >= floor:
            yield record


def _show(console: Console, record: Mapping[str, Any], fmt: str) -> None:
    if fmt == "json":
        print_json(record, lines=True)
    else:
        print_record(console, record)


def _last_seq(client: PipelineServiceClient, run_id: str) -> int | None:
    last = None
    for record in client.iter_logs(run_id, page_size=PAGE_SIZE):
        last = record.get("seq", last)
    return last


def parse_since(value: str) -> datetime:
    """`--since`: an RFC 3339 timestamp or a duration ago (`30s`, `5m`, `2h`, `1d`)."""
    match = RELATIVE_TIME.match(value.strip())
    if match:
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(seconds=float(amount) * UNIT_SECONDS[unit])
    moment = parse_time(value.strip())
    if moment is None:
        usage_error(
            f"--since must be a timestamp like 2026-01-01T12:00:00Z or a duration like 5m, "
            f"not {value!r}"
        )
    return moment


def _is_after(record: Mapping[str, Any], moment: datetime) -> bool:
    stamp = parse_time(record.get("timestamp"))
    return stamp is None or stamp > moment


def format_log_time(value: str | None) -> str:
    """`2026-01-01 13:00:00.123 CET` (local time), or the raw value if it does not parse."""
    return format_time(value, millis=True)


def format_record(record: Mapping[str, Any]) -> str:
    """One log line: time, level, [action], message."""
    level = str(record.get("level", "info"))
    action = record.get("action_name")
    where = f"[{action}] " if action else ""
    return (
        f"{format_log_time(record.get('timestamp'))} {level.upper():<8} {where}{record['message']}"
    )


def print_record(console: Console, record: Mapping[str, Any]) -> None:
    """Print a record, coloured by its level on a terminal."""
    style = LEVEL_STYLES.get(str(record.get("level")), "")
    if console.is_terminal:
        console.print(Text(format_record(record), style=style))
    else:
        typer.echo(format_record(record))


def register(app: typer.Typer) -> None:
    """Add the `logs` command to `app`."""
    app.command("logs", epilog=EXAMPLES)(logs)
