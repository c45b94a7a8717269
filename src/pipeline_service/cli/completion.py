"""Shell completion of pipeline names and recent run ids (quietly nothing when unreachable)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import typer

from pipeline_service._constants import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_TOKEN
from pipeline_service.cli._common import corrected_url
from pipeline_service.cli.config import ConfigError, load_profile
from pipeline_service.vocabulary import MAX_PAGE_ITEMS

COMPLETION_TIMEOUT = 1.0
RECENT_RUNS = 50


def _get(ctx: typer.Context, path: str) -> list[dict[str, Any]]:
    """GET an API list for completion; an empty list on any problem."""
    import httpx

    params = ctx.params if ctx is not None else {}
    profile = None
    with contextlib.suppress(ConfigError):
        profile = load_profile()
    url = (
        params.get("url")
        or os.environ.get(ENV_BASE_URL)
        or (profile.url if profile else None)
        or DEFAULT_BASE_URL
    )
    token = params.get("token") or os.environ.get(ENV_TOKEN) or (profile.token if profile else None)
    try:
        url = corrected_url(str(url))
    except ValueError:
        return []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url}/api/v1{path}", headers=headers, timeout=COMPLETION_TIMEOUT)
        body = response.json() if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError):
        return []
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def complete_run_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Recent run ids starting with `incomplete`, with their status as help."""
    runs = _get(ctx, f"/runs/?limit={RECENT_RUNS}")
    return [
        (str(run["id"]), str(run.get("status", "")))
        for run in runs
        if str(run.get("id", "")).startswith(incomplete)
    ]


def complete_pipeline(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Pipeline names (and ids) starting with `incomplete`."""
    found: list[tuple[str, str]] = []
    for pipeline in _get(ctx, f"/pipelines/?limit={MAX_PAGE_ITEMS}"):
        name, ident = str(pipeline.get("name", "")), str(pipeline.get("id", ""))
        if name.startswith(incomplete):
            found.append((name, ident))
        elif ident.startswith(incomplete):
            found.append((ident, name))
    return found
