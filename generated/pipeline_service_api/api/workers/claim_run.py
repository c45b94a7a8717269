from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.claim_request import ClaimRequest
from ...models.error import Error
from ...models.run_claim import RunClaim
from ...types import Response


def request_kwargs(
    *,
    body: ClaimRequest,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/runs/claim",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | RunClaim | None:
    if response.status_code == 200:
        response_200 = RunClaim.from_dict(response.json())

        return response_200

    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[Any | Error | RunClaim]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ClaimRequest,
) -> Response[Any | Error | RunClaim]:
    """Claim the oldest runnable run and take a lease on it

     Atomically picks the oldest run that is `pending`, unleased and untouched since it was
    created (a run somebody already updated or reported progress on is driven by that
    somebody, as v1 clients drive their own runs), or whose lease has expired while it was
    `running` (its worker died), leases it to `worker_id` for
    `lease_seconds`, and moves it to `running`. Two concurrent claims never get the same
    run. Runs of a pipeline with `dedicated_workers` are taken only by claims naming that
    pipeline in `pipeline_id`. 204 when there is nothing to claim.

    Args:
        body (ClaimRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | RunClaim]
    """

    kwargs = request_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ClaimRequest,
) -> Any | Error | RunClaim | None:
    """Claim the oldest runnable run and take a lease on it

     Atomically picks the oldest run that is `pending`, unleased and untouched since it was
    created (a run somebody already updated or reported progress on is driven by that
    somebody, as v1 clients drive their own runs), or whose lease has expired while it was
    `running` (its worker died), leases it to `worker_id` for
    `lease_seconds`, and moves it to `running`. Two concurrent claims never get the same
    run. Runs of a pipeline with `dedicated_workers` are taken only by claims naming that
    pipeline in `pipeline_id`. 204 when there is nothing to claim.

    Args:
        body (ClaimRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | RunClaim
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ClaimRequest,
) -> Response[Any | Error | RunClaim]:
    """Claim the oldest runnable run and take a lease on it

     Atomically picks the oldest run that is `pending`, unleased and untouched since it was
    created (a run somebody already updated or reported progress on is driven by that
    somebody, as v1 clients drive their own runs), or whose lease has expired while it was
    `running` (its worker died), leases it to `worker_id` for
    `lease_seconds`, and moves it to `running`. Two concurrent claims never get the same
    run. Runs of a pipeline with `dedicated_workers` are taken only by claims naming that
    pipeline in `pipeline_id`. 204 when there is nothing to claim.

    Args:
        body (ClaimRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | RunClaim]
    """

    kwargs = request_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ClaimRequest,
) -> Any | Error | RunClaim | None:
    """Claim the oldest runnable run and take a lease on it

     Atomically picks the oldest run that is `pending`, unleased and untouched since it was
    created (a run somebody already updated or reported progress on is driven by that
    somebody, as v1 clients drive their own runs), or whose lease has expired while it was
    `running` (its worker died), leases it to `worker_id` for
    `lease_seconds`, and moves it to `running`. Two concurrent claims never get the same
    run. Runs of a pipeline with `dedicated_workers` are taken only by claims naming that
    pipeline in `pipeline_id`. 204 when there is nothing to claim.

    Args:
        body (ClaimRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | RunClaim
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
