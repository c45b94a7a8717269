from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.pipeline import Pipeline
from ...models.pipeline_update import PipelineUpdate
from ...types import Response


def request_kwargs(
    pipeline_id: str,
    *,
    body: PipelineUpdate,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/pipelines/{pipeline_id}".format(
            pipeline_id=quote(str(pipeline_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Pipeline | None:
    if response.status_code == 200:
        response_200 = Pipeline.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | Pipeline]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: PipelineUpdate,
) -> Response[Error | Pipeline]:
    """Update a pipeline (only the fields sent change)

    Args:
        pipeline_id (str):
        body (PipelineUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Pipeline]
    """

    kwargs = request_kwargs(
        pipeline_id=pipeline_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: PipelineUpdate,
) -> Error | Pipeline | None:
    """Update a pipeline (only the fields sent change)

    Args:
        pipeline_id (str):
        body (PipelineUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Pipeline
    """

    return sync_detailed(
        pipeline_id=pipeline_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: PipelineUpdate,
) -> Response[Error | Pipeline]:
    """Update a pipeline (only the fields sent change)

    Args:
        pipeline_id (str):
        body (PipelineUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Pipeline]
    """

    kwargs = request_kwargs(
        pipeline_id=pipeline_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: PipelineUpdate,
) -> Error | Pipeline | None:
    """Update a pipeline (only the fields sent change)

    Args:
        pipeline_id (str):
        body (PipelineUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Pipeline
    """

    return (
        await asyncio_detailed(
            pipeline_id=pipeline_id,
            client=client,
            body=body,
        )
    ).parsed
