from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.log_batch import LogBatch
from ...models.log_record import LogRecord
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    body: LogBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(lease_token, Unset):
        headers["Lease-Token"] = str(lease_token)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/runs/{run_id}/logs/".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | list[LogRecord] | None:
    if response.status_code == 201:
        response_201 = []
        _response_201 = response.json()
        for response_201_item_data in _response_201:
            response_201_item = LogRecord.from_dict(response_201_item_data)

            response_201.append(response_201_item)

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

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
) -> Response[Error | list[LogRecord]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LogBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Error | list[LogRecord]]:
    """Append a batch of log entries (at most 10,000)

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (LogBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[LogRecord]]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
        idempotency_key=idempotency_key,
        lease_token=lease_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LogBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Error | list[LogRecord] | None:
    """Append a batch of log entries (at most 10,000)

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (LogBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[LogRecord]
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        lease_token=lease_token,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LogBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Error | list[LogRecord]]:
    """Append a batch of log entries (at most 10,000)

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (LogBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[LogRecord]]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
        idempotency_key=idempotency_key,
        lease_token=lease_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LogBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Error | list[LogRecord] | None:
    """Append a batch of log entries (at most 10,000)

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (LogBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[LogRecord]
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            lease_token=lease_token,
        )
    ).parsed
