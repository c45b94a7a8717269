from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run import Run
from ...models.run_status import RunStatus
from ...types import UNSET, Response, Unset


def request_kwargs(
    *,
    status_filter: RunStatus | Unset = UNSET,
    resumed_from: str | Unset = UNSET,
    label: str | Unset = UNSET,
    skip: int | Unset = 0,
    limit: int | Unset = 100,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""

    params: dict[str, Any] = {}

    json_status_filter: str | Unset = UNSET
    if not isinstance(status_filter, Unset):
        json_status_filter = status_filter.value

    params["status_filter"] = json_status_filter

    params["resumed_from"] = resumed_from

    params["label"] = label

    params["skip"] = skip

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | list[Run] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Run.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | list[Run]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    resumed_from: str | Unset = UNSET,
    label: str | Unset = UNSET,
    skip: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[Error | list[Run]]:
    """List runs, newest first

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        resumed_from (str | Unset):
        label (str | Unset):
        skip (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Run]]
    """

    kwargs = request_kwargs(
        status_filter=status_filter,
        resumed_from=resumed_from,
        label=label,
        skip=skip,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    resumed_from: str | Unset = UNSET,
    label: str | Unset = UNSET,
    skip: int | Unset = 0,
    limit: int | Unset = 100,
) -> Error | list[Run] | None:
    """List runs, newest first

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        resumed_from (str | Unset):
        label (str | Unset):
        skip (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[Run]
    """

    return sync_detailed(
        client=client,
        status_filter=status_filter,
        resumed_from=resumed_from,
        label=label,
        skip=skip,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    resumed_from: str | Unset = UNSET,
    label: str | Unset = UNSET,
    skip: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[Error | list[Run]]:
    """List runs, newest first

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        resumed_from (str | Unset):
        label (str | Unset):
        skip (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Run]]
    """

    kwargs = request_kwargs(
        status_filter=status_filter,
        resumed_from=resumed_from,
        label=label,
        skip=skip,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    resumed_from: str | Unset = UNSET,
    label: str | Unset = UNSET,
    skip: int | Unset = 0,
    limit: int | Unset = 100,
) -> Error | list[Run] | None:
    """List runs, newest first

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        resumed_from (str | Unset):
        label (str | Unset):
        skip (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[Run]
    """

    return (
        await asyncio_detailed(
            client=client,
            status_filter=status_filter,
            resumed_from=resumed_from,
            label=label,
            skip=skip,
            limit=limit,
        )
    ).parsed
