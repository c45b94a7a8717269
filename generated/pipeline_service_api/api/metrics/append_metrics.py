from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.metric_batch import MetricBatch
from ...models.metrics_appended import MetricsAppended
from ...types import UNSET, Response, Unset


def request_kwargs(
    run_id: str,
    *,
    body: MetricBatch,
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
        "url": "/api/v1/runs/{run_id}/metrics".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | MetricsAppended | None:
    if response.status_code == 201:
        response_201 = MetricsAppended.from_dict(response.json())

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
) -> Response[Error | MetricsAppended]:
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
    body: MetricBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Error | MetricsAppended]:
    """Append logged metric points (at most 10,000 per batch)

     Each entry is one call of an action's `log_metrics`: its action, its `step` and its
    values by metric name. Every value becomes a point of the series (action, metric name),
    in the order sent, never merged with another; a value that was not a finite number in
    the action (NaN, ±infinity) is sent as `null` and kept as a null point. The points are
    stored with the run's current `lease_token` as their `attempt` (a takeover starts a new
    attempt). Fenced by `Lease-Token` and replayed by `Idempotency-Key` like log batches.
    A batch holds at most 10,000 entries (413 beyond).

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (MetricBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MetricsAppended]
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
    body: MetricBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Error | MetricsAppended | None:
    """Append logged metric points (at most 10,000 per batch)

     Each entry is one call of an action's `log_metrics`: its action, its `step` and its
    values by metric name. Every value becomes a point of the series (action, metric name),
    in the order sent, never merged with another; a value that was not a finite number in
    the action (NaN, ±infinity) is sent as `null` and kept as a null point. The points are
    stored with the run's current `lease_token` as their `attempt` (a takeover starts a new
    attempt). Fenced by `Lease-Token` and replayed by `Idempotency-Key` like log batches.
    A batch holds at most 10,000 entries (413 beyond).

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (MetricBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MetricsAppended
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
    body: MetricBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Error | MetricsAppended]:
    """Append logged metric points (at most 10,000 per batch)

     Each entry is one call of an action's `log_metrics`: its action, its `step` and its
    values by metric name. Every value becomes a point of the series (action, metric name),
    in the order sent, never merged with another; a value that was not a finite number in
    the action (NaN, ±infinity) is sent as `null` and kept as a null point. The points are
    stored with the run's current `lease_token` as their `attempt` (a takeover starts a new
    attempt). Fenced by `Lease-Token` and replayed by `Idempotency-Key` like log batches.
    A batch holds at most 10,000 entries (413 beyond).

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (MetricBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MetricsAppended]
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
    body: MetricBatch,
    idempotency_key: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Error | MetricsAppended | None:
    """Append logged metric points (at most 10,000 per batch)

     Each entry is one call of an action's `log_metrics`: its action, its `step` and its
    values by metric name. Every value becomes a point of the series (action, metric name),
    in the order sent, never merged with another; a value that was not a finite number in
    the action (NaN, ±infinity) is sent as `null` and kept as a null point. The points are
    stored with the run's current `lease_token` as their `attempt` (a takeover starts a new
    attempt). Fenced by `Lease-Token` and replayed by `Idempotency-Key` like log batches.
    A batch holds at most 10,000 entries (413 beyond).

    Args:
        run_id (str):
        idempotency_key (str | Unset):
        lease_token (int | Unset):
        body (MetricBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MetricsAppended
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
