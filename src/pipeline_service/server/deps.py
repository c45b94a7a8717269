"""FastAPI dependencies: the app's storage, event hub and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from pipeline_service.server.events import EventHub
from pipeline_service.server.settings import Settings
from pipeline_service.server.storage.interface import Storage


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
