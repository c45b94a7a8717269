"""`pipeline-service logs RUN_ID`: print a run's logs, or follow them live until the run ends."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from pipeline_service import LogLevel, PipelineServiceClient
from pipeline_service.cli._common import (
    STATUS_STYLES,
    TokenOption,
    UrlOption,
    open_client,
    parse_time,
    print_json,
    stderr_console,
    stdout_console,
    usage_error,
)

LOG_LEVELS = tuple(level.value for level in LogLevel)
LEVEL_STYLES = {
    "debug": "dim",
    "info": "",
    "success": "green",
    "warning": "yellow",
    "danger": "bold magenta",
    "error": "red",
    "critical": "bold white on red",
}
PAGE_SIZE = 10_000  # the most the server returns per request
RELATIVE_TIME = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def logs(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id.")],
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
            help=f"Only lines of this level: {', '.join(LOG_LEVELS)}.",
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
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON: one array, or one object per line with --follow."),
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print a run's log lines, oldest first; with --follow, until the run ends."""
    if level is not None and level not in LOG_LEVELS:
        usage_error(f"--level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    after = parse_since(since) if since is not None else None
    console = stdout_console()
    with open_client(url, token) as client:
        if not follow:
            records = _all_records(client, run_id, action, level, after)
            if as_json:
                print_json(list(records))
            else:
                for record in records:
                    print_record(console, record)
            return
        client.get_run(run_id)  # no such run, server unreachable: say so at once
        for record in client.follow_logs(run_id, action_name=action, level=level):
            if after is not None and not _is_after(record, after):
                continue
            if as_json:
                print_json(record, lines=True)
            else:
                print_record(console, record)
        if not as_json:
            status = client.get_run(run_id)["status"]
            stderr_console().print(
                f"-- run {run_id} {status} --", style=STATUS_STYLES.get(status, ""), markup=False
            )


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


def _all_records(
    client: PipelineServiceClient,
    run_id: str,
    action: str | None,
    level: str | None,
    since: datetime | None,
) -> Iterator[Any]:
    """Every matching record, a page at a time, following the `seq` cursor."""
    after_seq: int | None = None
    while True:
        page = client.get_logs(
            run_id,
            action_name=action,
            level=level,
            since=since,
            limit=PAGE_SIZE,
            after_seq=after_seq,
        )
        yield from page
        # A v1-core server sends no `seq` (and knows no cursor): its one page is all there is.
        if len(page) < PAGE_SIZE or page[-1].get("seq") is None:
            return
        after_seq = page[-1]["seq"]


def _is_after(record: Mapping[str, Any], moment: datetime) -> bool:
    stamp = parse_time(record.get("timestamp"))
    return stamp is None or stamp > moment


def format_log_time(value: str | None) -> str:
    """`2026-01-01 12:00:00.123` (UTC), or the raw value if it does not parse."""
    moment = parse_time(value)
    if moment is None:
        return value or "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


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
    app.command("logs")(logs)
