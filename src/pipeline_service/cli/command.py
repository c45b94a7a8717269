"""The preamble every client command shares, written once: `@client_command`.

A command that talks to a service takes a `Session` as its first parameter; the decorator adds
the connection options (`--url`, `--token`, `--profile`) and, when asked, the output options
(`-o/--output`, `--json`) to what typer sees, and hands the command one object holding them::

    @client_command(output=True)
    def list_things(session: Session, limit: LimitOption = 100) -> None:
        with session.client() as client:
            things = client.list_things(limit=limit)
        if not print_document(things, session.fmt):
            ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from pipeline_service.cli import config
from pipeline_service.cli._common import (
    JsonOption,
    OutputOption,
    TokenOption,
    UrlOption,
    open_client,
    output_format,
    resolved_token,
    resolved_url,
)

if TYPE_CHECKING:
    from pipeline_service import PipelineServiceClient

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="Profile of the config file to take the URL and token from (also accepted before "
        "the command).",
    ),
]


@dataclass(frozen=True)
class Session:
    """What a client command was asked for: where the service is, and how to print."""

    url_option: str | None
    token_option: str | None
    fmt: str = "table"
    """`table`, `wide`, `json` or `yaml` (`json` when `--json` was given)."""

    @property
    def as_json(self) -> bool:
        """True when the output is JSON."""
        return self.fmt == "json"

    @property
    def url(self) -> str:
        """The service's base URL (option, environment, profile or default), corrected."""
        return resolved_url(self.url_option)

    @property
    def token(self) -> str | None:
        """The token (option, environment or profile)."""
        return resolved_token(self.token_option)

    @contextmanager
    def client(self) -> Iterator[PipelineServiceClient]:
        """A client of the service; its errors become one line on stderr and an exit status."""
        with open_client(self.url_option, self.token_option) as client:
            yield client


_OUTPUT_PARAMETERS = {"output": (OutputOption, None), "as_json": (JsonOption, False)}
_CONNECTION_PARAMETERS = {
    "url": (UrlOption, None),
    "token": (TokenOption, None),
    "profile": (ProfileOption, None),
}


def client_command(
    *, output: bool = False, json_help: str | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command `(session: Session, ...)` the connection options, and with `output` the
    `-o/--output` and `--json` options; `json_help` is the help of `--json` (alone, without
    `output`, it adds just `--json`)."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(command, include_extras=True)
        own = list(inspect.signature(command).parameters.values())[1:]
        added: dict[str, tuple[Any, Any]] = {}
        if output:
            added.update(_OUTPUT_PARAMETERS)
        if json_help is not None:
            added["as_json"] = (Annotated[bool, typer.Option("--json", help=json_help)], False)
        added.update(_CONNECTION_PARAMETERS)
        parameters = [p.replace(annotation=hints[p.name]) for p in own] + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=value)
            for name, (kind, value) in added.items()
        ]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            url, token, profile = (kwargs.pop(name) for name in _CONNECTION_PARAMETERS)
            if profile is not None:
                config.selected_profile = profile
            as_json = kwargs.pop("as_json", False)
            fmt = output_format(kwargs.pop("output", None), as_json)
            command(Session(url, token, fmt), *args, **kwargs)

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer must see the signature above, not the command's
        return wrapper

    return decorate
