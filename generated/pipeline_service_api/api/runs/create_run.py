from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run import Run
from ...models.run_create import RunCreate
from ...types import UNSET, Response, Unset


def request_kwargs(
    pipeline_id: str,
    *,
    body: RunCreate,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/pipelines/{pipeline_id}/runs/".format(
            pipeline_id=quote(str(pipeline_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Run | None:
    if response.status_code == 201:
        response_201 = Run.from_dict(response.json())

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
) -> Response[Error | Run]:
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
    body: RunCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Run]:
    """Start a run of a pipeline

     The run starts `pending` with one `pending` action progress entry per pipeline action.
    With `resume_from`, the checkpoints of that earlier run of the same pipeline are copied
    into the new run (with the artifacts they list), so the new run continues after the
    latest completed action, and an action that saved in-action checkpoints continues from
    its latest one. Its params are the earlier run's params updated with the `params` sent:
    a key sent wins, a key not sent keeps the earlier run's value. The new run's
    `resumed_from` names the earlier run (`GET /runs/?resumed_from=` lists the runs that
    resumed a run).

    With `from_action` as well, only the checkpoints of the actions before that one are
    copied: that action and those after it run again. Every action before it must have a
    completed checkpoint in the earlier run (409 otherwise); an action the pipeline does not
    have is 422, and `from_action` without `resume_from` is 422. Resuming a run whose
    actions all completed without `from_action` is 409 (there is nothing left to run; the
    `detail` names `from_action`).

    Args:
        pipeline_id (str):
        idempotency_key (str | Unset):
        body (RunCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Run]
    """

    kwargs = request_kwargs(
        pipeline_id=pipeline_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunCreate,
    idempotency_key: str | Unset = UNSET,
) -> Error | Run | None:
    """Start a run of a pipeline

     The run starts `pending` with one `pending` action progress entry per pipeline action.
    With `resume_from`, the checkpoints of that earlier run of the same pipeline are copied
    into the new run (with the artifacts they list), so the new run continues after the
    latest completed action, and an action that saved in-action checkpoints continues from
    its latest one. Its params are the earlier run's params updated with the `params` sent:
    a key sent wins, a key not sent keeps the earlier run's value. The new run's
    `resumed_from` names the earlier run (`GET /runs/?resumed_from=` lists the runs that
    resumed a run).

    With `from_action` as well, only the checkpoints of the actions before that one are
    copied: that action and those after it run again. Every action before it must have a
    completed checkpoint in the earlier run (409 otherwise); an action the pipeline does not
    have is 422, and `from_action` without `resume_from` is 422. Resuming a run whose
    actions all completed without `from_action` is 409 (there is nothing left to run; the
    `detail` names `from_action`).

    Args:
        pipeline_id (str):
        idempotency_key (str | Unset):
        body (RunCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Run
    """

    return sync_detailed(
        pipeline_id=pipeline_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Run]:
    """Start a run of a pipeline

     The run starts `pending` with one `pending` action progress entry per pipeline action.
    With `resume_from`, the checkpoints of that earlier run of the same pipeline are copied
    into the new run (with the artifacts they list), so the new run continues after the
    latest completed action, and an action that saved in-action checkpoints continues from
    its latest one. Its params are the earlier run's params updated with the `params` sent:
    a key sent wins, a key not sent keeps the earlier run's value. The new run's
    `resumed_from` names the earlier run (`GET /runs/?resumed_from=` lists the runs that
    resumed a run).

    With `from_action` as well, only the checkpoints of the actions before that one are
    copied: that action and those after it run again. Every action before it must have a
    completed checkpoint in the earlier run (409 otherwise); an action the pipeline does not
    have is 422, and `from_action` without `resume_from` is 422. Resuming a run whose
    actions all completed without `from_action` is 409 (there is nothing left to run; the
    `detail` names `from_action`).

    Args:
        pipeline_id (str):
        idempotency_key (str | Unset):
        body (RunCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Run]
    """

    kwargs = request_kwargs(
        pipeline_id=pipeline_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    pipeline_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunCreate,
    idempotency_key: str | Unset = UNSET,
) -> Error | Run | None:
    """Start a run of a pipeline

     The run starts `pending` with one `pending` action progress entry per pipeline action.
    With `resume_from`, the checkpoints of that earlier run of the same pipeline are copied
    into the new run (with the artifacts they list), so the new run continues after the
    latest completed action, and an action that saved in-action checkpoints continues from
    its latest one. Its params are the earlier run's params updated with the `params` sent:
    a key sent wins, a key not sent keeps the earlier run's value. The new run's
    `resumed_from` names the earlier run (`GET /runs/?resumed_from=` lists the runs that
    resumed a run).

    With `from_action` as well, only the checkpoints of the actions before that one are
    copied: that action and those after it run again. Every action before it must have a
    completed checkpoint in the earlier run (409 otherwise); an action the pipeline does not
    have is 422, and `from_action` without `resume_from` is 422. Resuming a run whose
    actions all completed without `from_action` is 409 (there is nothing left to run; the
    `detail` names `from_action`).

    Args:
        pipeline_id (str):
        idempotency_key (str | Unset):
        body (RunCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Run
    """

    return (
        await asyncio_detailed(
            pipeline_id=pipeline_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
