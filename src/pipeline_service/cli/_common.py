"""What the client commands share: connection options, the client, error lines, output helpers."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import quote

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline_service._constants import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_TOKEN, LOGGER_NAME
from pipeline_service.cli.config import ConfigError, load_profile
from pipeline_service.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from pipeline_service.vocabulary import TERMINAL_RUN_STATUSES

if TYPE_CHECKING:
    # The client (httpx, pydantic, the generated code) is imported where a command needs it,
    # so that `--help` and shell completion load only typer (see CONTRIBUTING.md).
    import httpx
    import yaml

    from pipeline_service import PipelineServiceClient
    from pipeline_service.errors import PipelineServiceError

PROBE_TIMEOUT = 5.0
START_HINT = (
    "start one with `pipeline-service serve`, or point to yours with --url, "
    f"${ENV_BASE_URL} or a profile"
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=ENV_BASE_URL,
        show_envvar=True,
        metavar="URL",
        help=f"Base URL of the Pipeline Service (default {DEFAULT_BASE_URL}).",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=ENV_TOKEN,
        show_envvar=True,
        show_default=False,
        metavar="TOKEN",
        help="Bearer token, when the server requires one. Other users of the machine can see "
        "it in `ps`: prefer the environment variable (or --token-file where there is one).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of text (short for -o json).")
]
OUTPUT_FORMATS = ("table", "wide", "json", "yaml")
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        help="table (default: short ids), wide (full ids, more columns), json or yaml.",
    ),
]


def output_format(output: str | None, as_json: bool) -> str:
    """The output format asked for with `-o` / `--json` (a usage error when unknown)."""
    check_choice("-o/--output", output, OUTPUT_FORMATS)
    if as_json and output not in (None, "json"):
        usage_error(f"--json and -o {output} contradict each other")
    return "json" if as_json else (output or "table")


def print_document(document: object, fmt: str) -> bool:
    """Print `document` as JSON or YAML when `fmt` asks for it; False for the text formats."""
    if fmt == "json":
        print_json(document)
        return True
    if fmt == "yaml":
        import yaml

        data = json.loads(json.dumps(document, default=str))
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())
        return True
    return False


SHORT_ID = 8


def short_id(value: str, fmt: str = "table") -> str:
    """An id as tables show it: its first 8 characters (any unique prefix is accepted back)."""
    return value if fmt == "wide" else value[:SHORT_ID]


def stdout_console() -> Console:
    """A console on stdout: colours and live displays on a terminal, plain text otherwise."""
    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    """A console on stderr, for errors and notes that must not mix with the output."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str, *, one_line: bool = True) -> None:
    """Print `error: message` on stderr (whitespace runs folded to one line unless told not to)."""
    text = " ".join(message.split()) if one_line else message.rstrip()
    stderr_console().print(f"[bold red]error:[/] {escape(text)}")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` as one line on stderr and exit with `code`."""
    print_error(message)
    raise typer.Exit(code)


def interactive() -> bool:
    """True when someone can answer a question on stdin."""
    return sys.stdin.isatty()


def usage_error(message: str) -> NoReturn:
    """Reject bad command-line input: one line on stderr, exit status 2."""
    fail(message, EXIT_USAGE)


def check_choice(option: str, value: str | None, choices: Sequence[str]) -> None:
    """A usage error unless `value` (when given) is one of `choices`."""
    if value is not None and value not in choices:
        usage_error(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def confirm_deletion(what: str, which: str | None = None) -> None:
    """Ask `Delete {what}[: {which}]?` on the terminal; without one, a usage error saying that
    `--yes` is needed; on no, `Nothing deleted` and exit status 1."""
    listed = f": {which}" if which else ""
    if not interactive():
        usage_error(f"not deleting {what} without --yes{listed}")
    if not typer.confirm(f"Delete {what}{listed}?", default=False):
        stdout_console().print("Nothing deleted", markup=False)
        raise typer.Exit(EXIT_ERROR)


def resolved_url(url: str | None) -> str:
    """The base URL for `--url` / the environment / the profile / the default, corrected."""
    try:
        profile_url = load_profile().url if not url else None
    except ConfigError as error:
        usage_error(str(error))
    return normalize_url(url or os.environ.get(ENV_BASE_URL) or profile_url or DEFAULT_BASE_URL)


def resolved_token(token: str | None) -> str | None:
    """The token for `--token` / the environment, else the profile's."""
    if token:
        return token
    try:
        return load_profile().token
    except ConfigError as error:
        usage_error(str(error))


def normalize_url(raw: str) -> str:
    """`host:8100` → `http://host:8100`; a trailing `/api/v1` (the API's prefix) is dropped.

    A URL that cannot be one of the service is a usage error.
    """
    try:
        return corrected_url(raw)
    except ValueError as error:
        usage_error(str(error))


def corrected_url(raw: str) -> str:
    """What `normalize_url` does (as the client does), raising ValueError for a URL that cannot
    be the service's."""
    from pipeline_service._request import normalize_base_url

    return normalize_base_url(raw, "--url")


def probe(url: str) -> None:
    """Fail at once, with a hint, when nothing listens at `url` or it is not this service."""
    import httpx

    try:
        response = httpx.get(f"{url}/health", timeout=PROBE_TIMEOUT)
    except httpx.TimeoutException:
        fail(f"the Pipeline Service at {url} did not answer within {PROBE_TIMEOUT:g} s")
    except httpx.HTTPError as error:
        reason = _connect_reason(error)
        hint = tls_hint(url, str(error)) or START_HINT
        fail(f"cannot reach the Pipeline Service at {url} ({reason}); {hint}")
    if not _looks_like_the_service(response):
        fail(f"{url} {_what_answered_to(response)}, not the Pipeline Service API; check --url")


def _connect_reason(error: httpx.HTTPError) -> str:
    text = str(error)
    if "refused" in text.lower():
        return "connection refused"
    return text or type(error).__name__


def tls_hint(url: str, reason: str) -> str | None:
    """What to do when an https:// URL reached a server that speaks plain HTTP (None otherwise)."""
    if url.startswith("https://") and "WRONG_VERSION_NUMBER" in reason:
        plain = "http://" + url.removeprefix("https://")
        return f"the server there speaks plain HTTP, not HTTPS: use {plain}"
    return None


def _looks_like_the_service(response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        return True  # guarded by something in front: the request itself says what it needs
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "status" in body and response.status_code in (200, 503)


class _ReconnectNotice(logging.Handler):
    """Says once, on stderr, that a followed stream lost its connection (the client's own log
    record of reconnecting is the signal)."""

    def __init__(self, url: str) -> None:
        super().__init__(logging.INFO)
        self._url = url
        self.said = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.said and record.getMessage().startswith("Reconnecting"):
            self.said = True
            stderr_console().print(
                f"connection to {self._url} lost; reconnecting…", style="yellow", markup=False
            )


@contextmanager
def reconnect_notice(url: str) -> Iterator[None]:
    """While a stream is followed: a "reconnecting…" line as soon as its connection drops."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = _ReconnectNotice(url)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def lost_connection(error: PipelineServiceError, url: str) -> str | None:
    """The short reason for a stream that lost the service for good (None for other errors)."""
    from pipeline_service.errors import APIConnectionError, APITimeoutError, StreamError

    if isinstance(error, StreamError | APIConnectionError) and not isinstance(
        error, APITimeoutError
    ):
        return f"the connection to {url} was lost and did not come back"
    return None


def dashboard_url(base_url: str, run_id: str | None = None) -> str:
    """The reference server's dashboard on `base_url`, or the page of one run there."""
    base = base_url.rstrip("/")
    return f"{base}/" if run_id is None else f"{base}/ui/runs/{quote(run_id, safe='')}"


def describe_error(error: PipelineServiceError, url: str) -> str:
    """One line saying what went wrong talking to the service at `url`."""
    from pipeline_service.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        NotFoundError,
        StreamError,
        UnprocessableEntityError,
        format_detail,
    )

    if isinstance(error, APITimeoutError):
        return f"the Pipeline Service at {url} did not answer in time"
    if isinstance(error, StreamError):
        return f"the stream from {url} was cut short: {error}"
    if isinstance(error, APIConnectionError):
        hint = tls_hint(url, str(error))
        return f"cannot reach the Pipeline Service at {url} ({error})" + (
            f"; {hint}" if hint else ""
        )
    if isinstance(error, APIStatusError):
        if not _is_json(error.response):
            return f"{url} {_what_answered_to(error.response)}, not the Pipeline Service API"
        detail = format_detail(error.detail)
        if isinstance(error, AuthenticationError):
            hint = f"pass --token or set {ENV_TOKEN}"
            return f"not authorised by {url} (401): {detail or 'bad or missing token'}; {hint}"
        if isinstance(error, NotFoundError):
            return f"not found (404): {detail or 'no such resource'}"
        if isinstance(error, BadRequestError | UnprocessableEntityError):
            return f"rejected by the server ({error.status_code}): {detail}"
        return f"the server answered {error.status_code}: {detail or 'no detail'}"
    return str(error) or type(error).__name__


def _is_json(response: httpx.Response | None) -> bool:
    if response is None or not response.content:
        return True
    return "json" in response.headers.get("content-type", "")


def _what_answered_to(response: httpx.Response | None) -> str:
    if response is None:
        return "answered"
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    request = response.request
    return f"answered {request.method} {request.url.path} with {response.status_code} ({kind})"


def error_exit_code(error: PipelineServiceError) -> int:
    """Invalid input the server rejected is a usage error (2); anything else is 1."""
    from pipeline_service.errors import BadRequestError, UnprocessableEntityError

    if isinstance(error, BadRequestError | UnprocessableEntityError):
        return EXIT_USAGE
    return EXIT_ERROR


@contextmanager
def open_client(url: str | None, token: str | None) -> Iterator[PipelineServiceClient]:
    """A client for the command; errors from the service become one line on stderr and an exit.

    Says at once (no retries) when nothing answers at the URL, or something that is not this
    service does; later requests retry as the client does.
    """
    from pipeline_service import PipelineServiceClient
    from pipeline_service.errors import PipelineServiceError

    base_url = resolved_url(url)
    probe(base_url)
    client = PipelineServiceClient(base_url=base_url, token=resolved_token(token))
    try:
        with client:
            yield client
    except PipelineServiceError as error:
        fail(describe_error(error, base_url), error_exit_code(error))
    except KeyboardInterrupt:
        stderr_console().print("interrupted", style="dim")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def print_json(document: object, *, lines: bool = False) -> None:
    """Print `document` as JSON: indented, or on one line when `lines` (JSON Lines)."""
    text = json.dumps(document, indent=None if lines else 2, ensure_ascii=False, default=str)
    typer.echo(text)


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table: drawn with rich on a terminal, aligned plain columns otherwise."""
    if console.is_terminal:
        table = Table(*headers, box=box.SIMPLE_HEAD)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [list(headers), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        typer.echo("  ".join(cells).rstrip())


def print_fields(console: Console, fields: Sequence[tuple[str, str]]) -> None:
    """`label: value` lines, labels aligned."""
    width = max((len(label) for label, _ in fields), default=0) + 1
    for label, value in fields:
        console.print(f"{label + ':':<{width}} {value}", markup=False)


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the server (offset-less means UTC)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def local_time(moment: datetime, *, millis: bool = False) -> str:
    """`2026-01-01 13:00:00 CET`: local time with its zone (`.123` before the zone if `millis`)."""
    local = moment.astimezone()
    text = local.strftime(TIME_FORMAT)
    if millis:
        text += f".{local.microsecond // 1000:03d}"
    return f"{text} {local.tzname() or local.strftime('%z')}"


class LocalTimeFormatter(logging.Formatter):
    """Log lines stamped in local time with the zone, as everything the CLI prints."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return local_time(datetime.fromtimestamp(record.created, UTC), millis=True)


def format_time(value: str | None, *, millis: bool = False) -> str:
    """A server timestamp in local time with the zone, or `-`."""
    moment = parse_time(value)
    if moment is None:
        return value or "-"
    return local_time(moment, millis=millis)


def format_duration(seconds: float) -> str:
    """`1:02:03`-style elapsed time."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def elapsed_seconds(
    started_at: datetime | str | None, completed_at: datetime | str | None
) -> float | None:
    """Seconds from `started_at` to `completed_at` (or now), None before the start."""
    start = started_at if isinstance(started_at, datetime) else parse_time(started_at)
    if start is None:
        return None
    end = completed_at if isinstance(completed_at, datetime) else parse_time(completed_at)
    return max(0.0, ((end or datetime.now(UTC)) - start).total_seconds())


def shorten(text: str, width: int = 100) -> str:
    """`text` cut to `width` characters, with `…` when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def compact_json(value: object) -> str:
    """`value` as short one-line JSON, `-` for None."""
    if value is None:
        return "-"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def format_number(value: float) -> str:
    """`3` for 3.0, `0.25` for 0.25, at most 4 significant digits for long fractions."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def format_amount(progress: float, total: float | None, status: str | None = None) -> str:
    """An action's progress: `3/10` when it counts units of work, `42%` when it is a fraction,
    `-` for an action skipped (done by the run resumed) or not run."""
    if status in ("skipped", NOT_RUN):
        return "-"
    if total is not None:
        return f"{format_number(progress)}/{format_number(total)}"
    return f"{progress * 100:.0f}%"


def format_metrics(metrics: Mapping[str, object] | None) -> str:
    """`loss=0.31 acc=0.9`, or an empty string."""
    return " ".join(f"{key}={_metric_value(value)}" for key, value in (metrics or {}).items())


def _metric_value(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return compact_json(value)
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return value
    return compact_json(value)


def enum_value(value: object) -> str:
    """The wire value of an enum member, or the string the server sent."""
    return str(getattr(value, "value", value))


STATUS_STYLES: Mapping[str, str] = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "yellow",
    "skipped": "dim",
    "not run": "dim",
}

NOT_RUN = "not run"


def shown_action_status(action_status: str, run_status: str) -> str:
    """An action's status as the CLI shows it: a pending action of a run that ended (cancelled
    or failed before reaching it) is "not run"; the API keeps it `pending`."""
    if action_status == "pending" and run_status in TERMINAL_RUN_STATUSES:
        return NOT_RUN
    return action_status


def read_document(path: str, what: str) -> Any:
    """Parse a YAML or JSON file (`-` for stdin) into JSON data; a bad file is a usage error.

    YAML dates become ISO strings; values JSON cannot carry (NaN, odd keys) are rejected.
    """
    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        usage_error(f"cannot read {what} {path!r}: {reason}")
    try:
        document = json.loads(text) if path.lower().endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        usage_error(f"{what} {path!r} is not valid JSON: {error}")
    except yaml.YAMLError as error:
        usage_error(f"{what} {path!r} is not valid YAML or JSON: {_yaml_reason(error)}")
    try:
        return json.loads(json.dumps(document, allow_nan=False, default=_date_text))
    except (TypeError, ValueError) as error:
        usage_error(f"{what} {path!r} holds something JSON cannot carry: {error}")


def _date_text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} values are not supported")


def _yaml_reason(error: yaml.YAMLError) -> str:
    import yaml

    if isinstance(error, yaml.MarkedYAMLError):
        problem = error.problem or error.context or "syntax error"
        mark = error.problem_mark
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
    return str(error)
