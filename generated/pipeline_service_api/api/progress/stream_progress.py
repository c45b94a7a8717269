from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.progress_event import ProgressEvent
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/{run_id}/progress/stream".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | ProgressEvent | None:
    if response.status_code == 200:
        response_200 = ProgressEvent.from_dict(response.text)

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
) -> Response[Error | ProgressEvent]:
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
    last_event_id: str | Unset = UNSET,
) -> Response[Error | ProgressEvent]:
    """Stream progress as Server-Sent Events

     The first event (the current state) goes out at once, then one as soon as each change
    commits. `id:` is the run's version; `retry:` is sent once; `: ping` comments go out
    while nothing changes. Events are named `progress` while the run is pending or running
    and after its terminal status for the last one, after which the stream closes. If the
    run is deleted, an `error` event is sent and the stream closes. A subscriber that falls
    behind may skip to the newest state, never back to an older one.

    Args:
        run_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ProgressEvent]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Error | ProgressEvent | None:
    """Stream progress as Server-Sent Events

     The first event (the current state) goes out at once, then one as soon as each change
    commits. `id:` is the run's version; `retry:` is sent once; `: ping` comments go out
    while nothing changes. Events are named `progress` while the run is pending or running
    and after its terminal status for the last one, after which the stream closes. If the
    run is deleted, an `error` event is sent and the stream closes. A subscriber that falls
    behind may skip to the newest state, never back to an older one.

    Args:
        run_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ProgressEvent
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Response[Error | ProgressEvent]:
    """Stream progress as Server-Sent Events

     The first event (the current state) goes out at once, then one as soon as each change
    commits. `id:` is the run's version; `retry:` is sent once; `: ping` comments go out
    while nothing changes. Events are named `progress` while the run is pending or running
    and after its terminal status for the last one, after which the stream closes. If the
    run is deleted, an `error` event is sent and the stream closes. A subscriber that falls
    behind may skip to the newest state, never back to an older one.

    Args:
        run_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ProgressEvent]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Error | ProgressEvent | None:
    """Stream progress as Server-Sent Events

     The first event (the current state) goes out at once, then one as soon as each change
    commits. `id:` is the run's version; `retry:` is sent once; `: ping` comments go out
    while nothing changes. Events are named `progress` while the run is pending or running
    and after its terminal status for the last one, after which the stream closes. If the
    run is deleted, an `error` event is sent and the stream closes. A subscriber that falls
    behind may skip to the newest state, never back to an older one.

    Args:
        run_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ProgressEvent
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            last_event_id=last_event_id,
        )
    ).parsed
