from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run_status import RunStatus
from ...models.runs_stream_event import RunsStreamEvent
from ...types import UNSET, Response, Unset


def request_kwargs(
    *,
    status_filter: RunStatus | Unset = UNSET,
    pipeline_id: str | Unset = UNSET,
    label: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    params: dict[str, Any] = {}

    json_status_filter: str | Unset = UNSET
    if not isinstance(status_filter, Unset):
        json_status_filter = status_filter.value

    params["status_filter"] = json_status_filter

    params["pipeline_id"] = pipeline_id

    params["label"] = label

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/stream",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | RunsStreamEvent | None:
    if response.status_code == 200:
        response_200 = RunsStreamEvent.from_dict(response.text)

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
) -> Response[Error | RunsStreamEvent]:
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
    pipeline_id: str | Unset = UNSET,
    label: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Error | RunsStreamEvent]:
    """Stream changes of the runs list as Server-Sent Events

     One event per run created (`created`: the run's first version), changed (`changed`:
    any later version — status, current action, progress) or deleted (`deleted`), as a
    small RunSummary (not the whole progress), in commit order, from every replica.
    `id:` is the change's number in the service's change sequence (it grows with each
    change of any run). A run changed several times while a subscriber was away (or
    lagging) is sent once, in its current state: treat `created` and `changed` alike, as
    "this is the run now". Without `Last-Event-ID` the stream starts at the present: a
    `sync` event whose id is the newest change number, then live changes (list the runs,
    then apply the events). With `Last-Event-ID: N`, every run changed after N is sent in
    its current state, and every run deleted after N, then `sync`, then live changes (a
    list of runs says in `Change-Seq` where its stream resumes);
    `Last-Event-ID: 0` sends every run. Deletions are remembered for a day: when N is
    older than that, the stream sends `reset` (re-list the runs) with the newest change
    number as its id, then live changes. Filters select by the run's state after the
    change (a deleted run: its state when deleted). A run that stops matching the status
    filter or the label selector (it still exists) gets one `left` event with its summary
    as it is now, then no further event while it does not match: drop it. `left` is sent
    when the run matched before the change, or when the server cannot know (the first
    change of a run the server has not seen since it started serving runs streams, and
    in a catch-up after `Last-Event-ID`), so a run the client never had may get one:
    ignore it. A run created not matching never gets one. For the same reason a run
    deleted after it stopped matching may still get `deleted`. A stream without status
    filter and label selector never sends `left` (`pipeline_id` never changes). `retry:`
    is sent once; `: ping` comments go out while nothing changes.

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        pipeline_id (str | Unset):
        label (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunsStreamEvent]
    """

    kwargs = request_kwargs(
        status_filter=status_filter,
        pipeline_id=pipeline_id,
        label=label,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    pipeline_id: str | Unset = UNSET,
    label: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Error | RunsStreamEvent | None:
    """Stream changes of the runs list as Server-Sent Events

     One event per run created (`created`: the run's first version), changed (`changed`:
    any later version — status, current action, progress) or deleted (`deleted`), as a
    small RunSummary (not the whole progress), in commit order, from every replica.
    `id:` is the change's number in the service's change sequence (it grows with each
    change of any run). A run changed several times while a subscriber was away (or
    lagging) is sent once, in its current state: treat `created` and `changed` alike, as
    "this is the run now". Without `Last-Event-ID` the stream starts at the present: a
    `sync` event whose id is the newest change number, then live changes (list the runs,
    then apply the events). With `Last-Event-ID: N`, every run changed after N is sent in
    its current state, and every run deleted after N, then `sync`, then live changes (a
    list of runs says in `Change-Seq` where its stream resumes);
    `Last-Event-ID: 0` sends every run. Deletions are remembered for a day: when N is
    older than that, the stream sends `reset` (re-list the runs) with the newest change
    number as its id, then live changes. Filters select by the run's state after the
    change (a deleted run: its state when deleted). A run that stops matching the status
    filter or the label selector (it still exists) gets one `left` event with its summary
    as it is now, then no further event while it does not match: drop it. `left` is sent
    when the run matched before the change, or when the server cannot know (the first
    change of a run the server has not seen since it started serving runs streams, and
    in a catch-up after `Last-Event-ID`), so a run the client never had may get one:
    ignore it. A run created not matching never gets one. For the same reason a run
    deleted after it stopped matching may still get `deleted`. A stream without status
    filter and label selector never sends `left` (`pipeline_id` never changes). `retry:`
    is sent once; `: ping` comments go out while nothing changes.

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        pipeline_id (str | Unset):
        label (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunsStreamEvent
    """

    return sync_detailed(
        client=client,
        status_filter=status_filter,
        pipeline_id=pipeline_id,
        label=label,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    pipeline_id: str | Unset = UNSET,
    label: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Error | RunsStreamEvent]:
    """Stream changes of the runs list as Server-Sent Events

     One event per run created (`created`: the run's first version), changed (`changed`:
    any later version — status, current action, progress) or deleted (`deleted`), as a
    small RunSummary (not the whole progress), in commit order, from every replica.
    `id:` is the change's number in the service's change sequence (it grows with each
    change of any run). A run changed several times while a subscriber was away (or
    lagging) is sent once, in its current state: treat `created` and `changed` alike, as
    "this is the run now". Without `Last-Event-ID` the stream starts at the present: a
    `sync` event whose id is the newest change number, then live changes (list the runs,
    then apply the events). With `Last-Event-ID: N`, every run changed after N is sent in
    its current state, and every run deleted after N, then `sync`, then live changes (a
    list of runs says in `Change-Seq` where its stream resumes);
    `Last-Event-ID: 0` sends every run. Deletions are remembered for a day: when N is
    older than that, the stream sends `reset` (re-list the runs) with the newest change
    number as its id, then live changes. Filters select by the run's state after the
    change (a deleted run: its state when deleted). A run that stops matching the status
    filter or the label selector (it still exists) gets one `left` event with its summary
    as it is now, then no further event while it does not match: drop it. `left` is sent
    when the run matched before the change, or when the server cannot know (the first
    change of a run the server has not seen since it started serving runs streams, and
    in a catch-up after `Last-Event-ID`), so a run the client never had may get one:
    ignore it. A run created not matching never gets one. For the same reason a run
    deleted after it stopped matching may still get `deleted`. A stream without status
    filter and label selector never sends `left` (`pipeline_id` never changes). `retry:`
    is sent once; `: ping` comments go out while nothing changes.

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        pipeline_id (str | Unset):
        label (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunsStreamEvent]
    """

    kwargs = request_kwargs(
        status_filter=status_filter,
        pipeline_id=pipeline_id,
        label=label,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status_filter: RunStatus | Unset = UNSET,
    pipeline_id: str | Unset = UNSET,
    label: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Error | RunsStreamEvent | None:
    """Stream changes of the runs list as Server-Sent Events

     One event per run created (`created`: the run's first version), changed (`changed`:
    any later version — status, current action, progress) or deleted (`deleted`), as a
    small RunSummary (not the whole progress), in commit order, from every replica.
    `id:` is the change's number in the service's change sequence (it grows with each
    change of any run). A run changed several times while a subscriber was away (or
    lagging) is sent once, in its current state: treat `created` and `changed` alike, as
    "this is the run now". Without `Last-Event-ID` the stream starts at the present: a
    `sync` event whose id is the newest change number, then live changes (list the runs,
    then apply the events). With `Last-Event-ID: N`, every run changed after N is sent in
    its current state, and every run deleted after N, then `sync`, then live changes (a
    list of runs says in `Change-Seq` where its stream resumes);
    `Last-Event-ID: 0` sends every run. Deletions are remembered for a day: when N is
    older than that, the stream sends `reset` (re-list the runs) with the newest change
    number as its id, then live changes. Filters select by the run's state after the
    change (a deleted run: its state when deleted). A run that stops matching the status
    filter or the label selector (it still exists) gets one `left` event with its summary
    as it is now, then no further event while it does not match: drop it. `left` is sent
    when the run matched before the change, or when the server cannot know (the first
    change of a run the server has not seen since it started serving runs streams, and
    in a catch-up after `Last-Event-ID`), so a run the client never had may get one:
    ignore it. A run created not matching never gets one. For the same reason a run
    deleted after it stopped matching may still get `deleted`. A stream without status
    filter and label selector never sends `left` (`pipeline_id` never changes). `retry:`
    is sent once; `: ping` comments go out while nothing changes.

    Args:
        status_filter (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled`
            are terminal.
        pipeline_id (str | Unset):
        label (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunsStreamEvent
    """

    return (
        await asyncio_detailed(
            client=client,
            status_filter=status_filter,
            pipeline_id=pipeline_id,
            label=label,
            last_event_id=last_event_id,
        )
    ).parsed
