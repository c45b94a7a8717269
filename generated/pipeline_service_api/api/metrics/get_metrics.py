from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run_metrics import RunMetrics
from ...types import Response


def request_kwargs(
    run_id: str,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/runs/{run_id}/metrics".format(
            run_id=quote(str(run_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | RunMetrics | None:
    if response.status_code == 200:
        response_200 = RunMetrics.from_dict(response.json())

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
) -> Response[Error | RunMetrics]:
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
) -> Response[Error | RunMetrics]:
    """History of each action's numeric metrics

     Every progress report whose `action_progress` carries `metrics` with at least one
    finite number records a point for that action (in the same transaction as the report):
    the server's time, the action's `progress`, `total` and `progress_step` after the
    report, and the numeric metrics (other values are left out). One series per action of
    the run, in the pipeline's order, each ordered by `seq`.

    Bounded: at most `max_points` points are kept per action. Kept are the first point,
    the newest, and every k-th in between (`seq` = 1, 1 + k, 1 + 2k…), k starting at 1 and
    doubling whenever the series would grow past `max_points`, so a long series stays
    evenly spread over the whole action. `seq` numbers every recorded point (1, 2, 3…):
    gaps show where points were thinned, and `recorded` counts them all.

    Logged metrics (POST /metrics, an action's `log_metrics`) are in each action's
    `logged`: one series per metric name, every point with its `step` and `attempt`, in
    the order logged. Each series keeps every point up to `max_steps` (10,000 by default);
    beyond it the same thinning applies (the first point, the newest, and every k-th
    between), `thinned` says so and `recorded` counts every point logged.

    Args:
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunMetrics]
    """

    kwargs = request_kwargs(
        run_id=run_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Error | RunMetrics | None:
    """History of each action's numeric metrics

     Every progress report whose `action_progress` carries `metrics` with at least one
    finite number records a point for that action (in the same transaction as the report):
    the server's time, the action's `progress`, `total` and `progress_step` after the
    report, and the numeric metrics (other values are left out). One series per action of
    the run, in the pipeline's order, each ordered by `seq`.

    Bounded: at most `max_points` points are kept per action. Kept are the first point,
    the newest, and every k-th in between (`seq` = 1, 1 + k, 1 + 2k…), k starting at 1 and
    doubling whenever the series would grow past `max_points`, so a long series stays
    evenly spread over the whole action. `seq` numbers every recorded point (1, 2, 3…):
    gaps show where points were thinned, and `recorded` counts them all.

    Logged metrics (POST /metrics, an action's `log_metrics`) are in each action's
    `logged`: one series per metric name, every point with its `step` and `attempt`, in
    the order logged. Each series keeps every point up to `max_steps` (10,000 by default);
    beyond it the same thinning applies (the first point, the newest, and every k-th
    between), `thinned` says so and `recorded` counts every point logged.

    Args:
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunMetrics
    """

    return sync_detailed(
        run_id=run_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Error | RunMetrics]:
    """History of each action's numeric metrics

     Every progress report whose `action_progress` carries `metrics` with at least one
    finite number records a point for that action (in the same transaction as the report):
    the server's time, the action's `progress`, `total` and `progress_step` after the
    report, and the numeric metrics (other values are left out). One series per action of
    the run, in the pipeline's order, each ordered by `seq`.

    Bounded: at most `max_points` points are kept per action. Kept are the first point,
    the newest, and every k-th in between (`seq` = 1, 1 + k, 1 + 2k…), k starting at 1 and
    doubling whenever the series would grow past `max_points`, so a long series stays
    evenly spread over the whole action. `seq` numbers every recorded point (1, 2, 3…):
    gaps show where points were thinned, and `recorded` counts them all.

    Logged metrics (POST /metrics, an action's `log_metrics`) are in each action's
    `logged`: one series per metric name, every point with its `step` and `attempt`, in
    the order logged. Each series keeps every point up to `max_steps` (10,000 by default);
    beyond it the same thinning applies (the first point, the newest, and every k-th
    between), `thinned` says so and `recorded` counts every point logged.

    Args:
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunMetrics]
    """

    kwargs = request_kwargs(
        run_id=run_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Error | RunMetrics | None:
    """History of each action's numeric metrics

     Every progress report whose `action_progress` carries `metrics` with at least one
    finite number records a point for that action (in the same transaction as the report):
    the server's time, the action's `progress`, `total` and `progress_step` after the
    report, and the numeric metrics (other values are left out). One series per action of
    the run, in the pipeline's order, each ordered by `seq`.

    Bounded: at most `max_points` points are kept per action. Kept are the first point,
    the newest, and every k-th in between (`seq` = 1, 1 + k, 1 + 2k…), k starting at 1 and
    doubling whenever the series would grow past `max_points`, so a long series stays
    evenly spread over the whole action. `seq` numbers every recorded point (1, 2, 3…):
    gaps show where points were thinned, and `recorded` counts them all.

    Logged metrics (POST /metrics, an action's `log_metrics`) are in each action's
    `logged`: one series per metric name, every point with its `step` and `attempt`, in
    the order logged. Each series keeps every point up to `max_steps` (10,000 by default);
    beyond it the same thinning applies (the first point, the newest, and every k-th
    between), `thinned` says so and `recorded` counts every point logged.

    Args:
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunMetrics
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            client=client,
        )
    ).parsed
