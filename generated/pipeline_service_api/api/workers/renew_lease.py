from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.lease import Lease
from ...models.lease_request import LeaseRequest
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    body: LeaseRequest,
    lease_token: int | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(lease_token, Unset):
        headers["Lease-Token"] = str(lease_token)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/runs/{run_id}/lease".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Lease | None:
    if response.status_code == 200:
        response_200 = Lease.from_dict(response.json())

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
) -> Response[Error | Lease]:
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
    body: LeaseRequest,
    lease_token: int | Unset = UNSET,
) -> Response[Error | Lease]:
    """Renew the lease a worker holds on a run

     Extends the lease of `worker_id` on the run. The answer carries the run's status, so a
    worker learns of a cancellation here. 409 when another worker holds the lease or the
    lease was lost (expired and taken), or when `Lease-Token` is older than the run's
    current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        body (LeaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Lease]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
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
    body: LeaseRequest,
    lease_token: int | Unset = UNSET,
) -> Error | Lease | None:
    """Renew the lease a worker holds on a run

     Extends the lease of `worker_id` on the run. The answer carries the run's status, so a
    worker learns of a cancellation here. 409 when another worker holds the lease or the
    lease was lost (expired and taken), or when `Lease-Token` is older than the run's
    current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        body (LeaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Lease
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        body=body,
        lease_token=lease_token,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LeaseRequest,
    lease_token: int | Unset = UNSET,
) -> Response[Error | Lease]:
    """Renew the lease a worker holds on a run

     Extends the lease of `worker_id` on the run. The answer carries the run's status, so a
    worker learns of a cancellation here. 409 when another worker holds the lease or the
    lease was lost (expired and taken), or when `Lease-Token` is older than the run's
    current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        body (LeaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Lease]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
        lease_token=lease_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LeaseRequest,
    lease_token: int | Unset = UNSET,
) -> Error | Lease | None:
    """Renew the lease a worker holds on a run

     Extends the lease of `worker_id` on the run. The answer carries the run's status, so a
    worker learns of a cancellation here. 409 when another worker holds the lease or the
    lease was lost (expired and taken), or when `Lease-Token` is older than the run's
    current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        body (LeaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Lease
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            body=body,
            lease_token=lease_token,
        )
    ).parsed
