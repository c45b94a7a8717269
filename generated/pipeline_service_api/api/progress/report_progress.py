from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.progress_update import ProgressUpdate
from ...models.run import Run
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    body: ProgressUpdate,
    lease_token: int | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(lease_token, Unset):
        headers["Lease-Token"] = str(lease_token)

    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/runs/{run_id}/progress".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Run | None:
    if response.status_code == 200:
        response_200 = Run.from_dict(response.json())

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
) -> Response[Error | Run]:
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
    body: ProgressUpdate,
    lease_token: int | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Run]:
    """Report progress of a run

     Only the fields sent change. `action_progress` is merged into the entry found by
    `current_action_index` (when sent) or by its `name`; an unknown name or index is 422.
    An action's `started_at` / `completed_at` are stamped on its first running / terminal
    status unless sent. With `total` null, `progress` is a fraction in [0, 1]; with `total`
    set, 0 ≤ `progress` ≤ `total`; out of range is 422. Leaving a terminal status is 409,
    and so is a `Lease-Token` older than the run's current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        idempotency_key (str | Unset):
        body (ProgressUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Run]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
        lease_token=lease_token,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProgressUpdate,
    lease_token: int | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Error | Run | None:
    """Report progress of a run

     Only the fields sent change. `action_progress` is merged into the entry found by
    `current_action_index` (when sent) or by its `name`; an unknown name or index is 422.
    An action's `started_at` / `completed_at` are stamped on its first running / terminal
    status unless sent. With `total` null, `progress` is a fraction in [0, 1]; with `total`
    set, 0 ≤ `progress` ≤ `total`; out of range is 422. Leaving a terminal status is 409,
    and so is a `Lease-Token` older than the run's current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        idempotency_key (str | Unset):
        body (ProgressUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Run
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        body=body,
        lease_token=lease_token,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProgressUpdate,
    lease_token: int | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Run]:
    """Report progress of a run

     Only the fields sent change. `action_progress` is merged into the entry found by
    `current_action_index` (when sent) or by its `name`; an unknown name or index is 422.
    An action's `started_at` / `completed_at` are stamped on its first running / terminal
    status unless sent. With `total` null, `progress` is a fraction in [0, 1]; with `total`
    set, 0 ≤ `progress` ≤ `total`; out of range is 422. Leaving a terminal status is 409,
    and so is a `Lease-Token` older than the run's current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        idempotency_key (str | Unset):
        body (ProgressUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Run]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        body=body,
        lease_token=lease_token,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProgressUpdate,
    lease_token: int | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Error | Run | None:
    """Report progress of a run

     Only the fields sent change. `action_progress` is merged into the entry found by
    `current_action_index` (when sent) or by its `name`; an unknown name or index is 422.
    An action's `started_at` / `completed_at` are stamped on its first running / terminal
    status unless sent. With `total` null, `progress` is a fraction in [0, 1]; with `total`
    set, 0 ≤ `progress` ≤ `total`; out of range is 422. Leaving a terminal status is 409,
    and so is a `Lease-Token` older than the run's current lease.

    Args:
        run_id (str):
        lease_token (int | Unset):
        idempotency_key (str | Unset):
        body (ProgressUpdate): Only the fields sent change.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Run
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            body=body,
            lease_token=lease_token,
            idempotency_key=idempotency_key,
        )
    ).parsed
