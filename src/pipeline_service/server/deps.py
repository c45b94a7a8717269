"""FastAPI dependencies: the app's storage, event hub and settings; the parameters routes share;
what a write names besides its body (its Idempotency, the fenced run and lease token)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Header, Path, Query, Request
from pydantic import BaseModel, ValidationError

from pipeline_service.server.errors import ServiceError
from pipeline_service.server.events import EventHub
from pipeline_service.server.idempotency import (
    IDEMPOTENCY_KEY,
    IdempotencyKeyHeader,
    idempotency_for,
)
from pipeline_service.server.settings import Settings
from pipeline_service.server.storage.idempotency import Idempotency
from pipeline_service.server.storage.interface import Storage
from pipeline_service.server.storage.queries import RunWrite

M = TypeVar("M", bound=BaseModel)


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.hub
    return hub


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StorageDep = Annotated[Storage, Depends(_storage)]
HubDep = Annotated[EventHub, Depends(_hub)]
SettingsDep = Annotated[Settings, Depends(_settings)]

MAX_ID_LENGTH = 255

PipelineId = Annotated[
    str,
    Path(
        min_length=1, max_length=MAX_ID_LENGTH, description="The pipeline's id (percent-encoded)."
    ),
]
RunId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_LENGTH, description="The run's id (percent-encoded).")
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The id of the last event seen (the stream resumes after it).",
    ),
]
Skip = Annotated[int, Query(ge=0, description="How many items to skip.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many items at most.")]


LeaseTokenHeader = Annotated[
    int | None,
    Header(
        alias="Lease-Token",
        ge=0,
        le=2**53 - 1,
        description="The lease_token of the writing worker's claim (409 once it is outdated).",
    ),
]


async def _idempotency(
    request: Request, idempotency_key: IdempotencyKeyHeader = None
) -> Idempotency | None:
    return await idempotency_for(request, idempotency_key)


IdempotencyDep = Annotated[Idempotency | None, Depends(_idempotency)]
"""A creating write's Idempotency (None without an Idempotency-Key header)."""


async def _run_write(
    request: Request,
    run_id: RunId,
    idempotency_key: IdempotencyKeyHeader = None,
    lease_token: LeaseTokenHeader = None,
) -> RunWrite:
    # run_id is read here, before the headers, so that a request with several faults names
    # them in the order it always did: path, headers, body.
    return RunWrite(run_id, await idempotency_for(request, idempotency_key), lease_token)


RunWriteDep = Annotated[RunWrite, Depends(_run_write)]


async def lean_run_write(request: Request, model: type[M]) -> tuple[RunWrite, M] | None:
    """For a lean handler of a fenced write on a run (routing.fast_path): the RunWrite and the
    body of an ordinary request; None when the path's id, the Lease-Token or Idempotency-Key
    header or the body is one the full handler would refuse (it answers those)."""
    run_id: str = request.path_params["run_id"]
    key = request.headers.get("idempotency-key")
    lease = request.headers.get("lease-token")
    if (
        not 0 < len(run_id) <= MAX_ID_LENGTH
        or (key is not None and not IDEMPOTENCY_KEY.fullmatch(key))
        or (lease is not None and not (lease.isascii() and lease.isdigit() and len(lease) < 16))
    ):
        return None
    try:
        body = model.model_validate(await request.json())
    except (ServiceError, ValidationError):
        return None
    write = RunWrite(
        run_id, await idempotency_for(request, key), None if lease is None else int(lease)
    )
    return write, body
