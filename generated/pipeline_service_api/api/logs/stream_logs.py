from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.log_event import LogEvent
from ...models.log_level import LogLevel
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    after_seq: int | Unset = UNSET,
    action_name: str | Unset = UNSET,
    level: LogLevel | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    params: dict[str, Any] = {}

    params["after_seq"] = after_seq

    params["action_name"] = action_name

    json_level: str | Unset = UNSET
    if not isinstance(level, Unset):
        json_level = level.value

    params["level"] = json_level

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/{run_id}/logs/stream".format(
            run_id=quote(str(run_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | LogEvent | None:
    if response.status_code == 200:
        response_200 = LogEvent.from_dict(response.text)

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
) -> Response[Error | LogEvent]:
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
    after_seq: int | Unset = UNSET,
    action_name: str | Unset = UNSET,
    level: LogLevel | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Error | LogEvent]:
    """Follow a run's logs as Server-Sent Events

     Sends the stored records after the cursor, then each new record as it is stored, as
    `log` events whose `id:` is the record's `seq`. Once the run is terminal, the stream
    still waits for the log grace (at least 2 s after `completed_at`; 3 s on the reference
    server): records appended in that time, a worker's closing lines saying why the run
    failed or was cancelled, are sent too. Then, every record having been sent, an `end`
    event carries the run's final status and the stream closes. If
    the run is deleted, an `error` event is sent and the stream closes. `: ping` comments go
    out while nothing happens.

    Args:
        run_id (str):
        after_seq (int | Unset):
        action_name (str | Unset):
        level (LogLevel | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | LogEvent]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        after_seq=after_seq,
        action_name=action_name,
        level=level,
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
    after_seq: int | Unset = UNSET,
    action_name: str | Unset = UNSET,
    level: LogLevel | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Error | LogEvent | None:
    """Follow a run's logs as Server-Sent Events

     Sends the stored records after the cursor, then each new record as it is stored, as
    `log` events whose `id:` is the record's `seq`. Once the run is terminal, the stream
    still waits for the log grace (at least 2 s after `completed_at`; 3 s on the reference
    server): records appended in that time, a worker's closing lines saying why the run
    failed or was cancelled, are sent too. Then, every record having been sent, an `end`
    event carries the run's final status and the stream closes. If
    the run is deleted, an `error` event is sent and the stream closes. `: ping` comments go
    out while nothing happens.

    Args:
        run_id (str):
        after_seq (int | Unset):
        action_name (str | Unset):
        level (LogLevel | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | LogEvent
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
        after_seq=after_seq,
        action_name=action_name,
        level=level,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    after_seq: int | Unset = UNSET,
    action_name: str | Unset = UNSET,
    level: LogLevel | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Error | LogEvent]:
    """Follow a run's logs as Server-Sent Events

     Sends the stored records after the cursor, then each new record as it is stored, as
    `log` events whose `id:` is the record's `seq`. Once the run is terminal, the stream
    still waits for the log grace (at least 2 s after `completed_at`; 3 s on the reference
    server): records appended in that time, a worker's closing lines saying why the run
    failed or was cancelled, are sent too. Then, every record having been sent, an `end`
    event carries the run's final status and the stream closes. If
    the run is deleted, an `error` event is sent and the stream closes. `: ping` comments go
    out while nothing happens.

    Args:
        run_id (str):
        after_seq (int | Unset):
        action_name (str | Unset):
        level (LogLevel | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | LogEvent]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        after_seq=after_seq,
        action_name=action_name,
        level=level,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
    after_seq: int | Unset = UNSET,
    action_name: str | Unset = UNSET,
    level: LogLevel | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Error | LogEvent | None:
    """Follow a run's logs as Server-Sent Events

     Sends the stored records after the cursor, then each new record as it is stored, as
    `log` events whose `id:` is the record's `seq`. Once the run is terminal, the stream
    still waits for the log grace (at least 2 s after `completed_at`; 3 s on the reference
    server): records appended in that time, a worker's closing lines saying why the run
    failed or was cancelled, are sent too. Then, every record having been sent, an `end`
    event carries the run's final status and the stream closes. If
    the run is deleted, an `error` event is sent and the stream closes. `: ping` comments go
    out while nothing happens.

    Args:
        run_id (str):
        after_seq (int | Unset):
        action_name (str | Unset):
        level (LogLevel | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | LogEvent
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
            after_seq=after_seq,
            action_name=action_name,
            level=level,
            last_event_id=last_event_id,
        )
    ).parsed
