from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run_event import RunEvent
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/{run_id}/events".format(
            run_id=quote(str(run_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | list[RunEvent] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = RunEvent.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | list[RunEvent]]:
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
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Response[Error | list[RunEvent]]:
    """What happened to a run, oldest first

     Each event is recorded in the transaction of the change it describes, so the events of
    a run are exactly its history: `created`, `resumed_from` (this run resumes another) and
    `resumed_as` (on the run resumed); `claimed` (by `worker_id`; `details.host` is the
    address the claim came from, `details.lease_token` the claim's token); `lease_expired`
    (the worker whose lease ran out) and `taken_over` (by `worker_id`, from
    `details.previous_worker_id`) when a worker claims a run whose lease expired;
    `started`; `action_started`, then `action_completed`, `action_failed` or
    `action_skipped` (with `details.duration_seconds`); `checkpoint_saved`;
    `cancel_requested`; and the run's end: `completed`, `failed` or `cancelled` (with
    `details.duration_seconds`). A server may add types: a reader shows `message` for a
    type it does not know.

    Args:
        run_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[RunEvent]]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Error | list[RunEvent] | None:
    """What happened to a run, oldest first

     Each event is recorded in the transaction of the change it describes, so the events of
    a run are exactly its history: `created`, `resumed_from` (this run resumes another) and
    `resumed_as` (on the run resumed); `claimed` (by `worker_id`; `details.host` is the
    address the claim came from, `details.lease_token` the claim's token); `lease_expired`
    (the worker whose lease ran out) and `taken_over` (by `worker_id`, from
    `details.previous_worker_id`) when a worker claims a run whose lease expired;
    `started`; `action_started`, then `action_completed`, `action_failed` or
    `action_skipped` (with `details.duration_seconds`); `checkpoint_saved`;
    `cancel_requested`; and the run's end: `completed`, `failed` or `cancelled` (with
    `details.duration_seconds`). A server may add types: a reader shows `message` for a
    type it does not know.

    Args:
        run_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[RunEvent]
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Response[Error | list[RunEvent]]:
    """What happened to a run, oldest first

     Each event is recorded in the transaction of the change it describes, so the events of
    a run are exactly its history: `created`, `resumed_from` (this run resumes another) and
    `resumed_as` (on the run resumed); `claimed` (by `worker_id`; `details.host` is the
    address the claim came from, `details.lease_token` the claim's token); `lease_expired`
    (the worker whose lease ran out) and `taken_over` (by `worker_id`, from
    `details.previous_worker_id`) when a worker claims a run whose lease expired;
    `started`; `action_started`, then `action_completed`, `action_failed` or
    `action_skipped` (with `details.duration_seconds`); `checkpoint_saved`;
    `cancel_requested`; and the run's end: `completed`, `failed` or `cancelled` (with
    `details.duration_seconds`). A server may add types: a reader shows `message` for a
    type it does not know.

    Args:
        run_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[RunEvent]]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Error | list[RunEvent] | None:
    """What happened to a run, oldest first

     Each event is recorded in the transaction of the change it describes, so the events of
    a run are exactly its history: `created`, `resumed_from` (this run resumes another) and
    `resumed_as` (on the run resumed); `claimed` (by `worker_id`; `details.host` is the
    address the claim came from, `details.lease_token` the claim's token); `lease_expired`
    (the worker whose lease ran out) and `taken_over` (by `worker_id`, from
    `details.previous_worker_id`) when a worker claims a run whose lease expired;
    `started`; `action_started`, then `action_completed`, `action_failed` or
    `action_skipped` (with `details.duration_seconds`); `checkpoint_saved`;
    `cancel_requested`; and the run's end: `completed`, `failed` or `cancelled` (with
    `details.duration_seconds`). A server may add types: a reader shows `message` for a
    type it does not know.

    Args:
        run_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[RunEvent]
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            after=after,
            limit=limit,
        )
    ).parsed
