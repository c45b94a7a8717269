from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.artifact import Artifact
from ...models.error import Error
from ...types import UNSET, File, Response, Unset


def request_kwargs(
    run_id: str,
    path: str,
    *,
    body: File,
    action_name: str | Unset = UNSET,
    step: int | Unset = UNSET,
    content_sha256: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> dict[str, Any]:
    """The httpx request arguments of this operation: method, url, params, headers, body."""
    headers: dict[str, Any] = {}
    if not isinstance(content_sha256, Unset):
        headers["Content-SHA256"] = content_sha256

    if not isinstance(lease_token, Unset):
        headers["Lease-Token"] = str(lease_token)

    params: dict[str, Any] = {}

    params["action_name"] = action_name

    params["step"] = step

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/runs/{run_id}/artifacts/{path}".format(
            run_id=quote(str(run_id), safe=""),
            path=quote(str(path), safe=""),
        ),
        "params": params,
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Artifact | Error | None:
    if response.status_code == 200:
        response_200 = Artifact.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Artifact.from_dict(response.json())

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

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Artifact | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    run_id: str,
    path: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    action_name: str | Unset = UNSET,
    step: int | Unset = UNSET,
    content_sha256: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Artifact | Error]:
    """Store a file of the run (streamed)

     The body is the file's bytes, streamed into the server's artifact store (never held in
    memory whole); a body larger than the server's artifact size limit
    (`--max-artifact-bytes`) is 413 and nothing is kept. The artifact becomes visible only
    once its bytes are stored whole, with its size and SHA-256.

    Resending is safe: the same bytes to the same path answer 200 with the stored artifact
    (nothing changes). Other bytes replace an artifact that no checkpoint lists yet (201);
    an artifact a checkpoint lists never changes (409). Like every write of a worker, the
    upload is fenced by `Lease-Token` (409 once another worker claimed the run).

    Args:
        run_id (str):
        path (str):
        action_name (str | Unset):
        step (int | Unset):
        content_sha256 (str | Unset):
        lease_token (int | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Error]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        path=path,
        body=body,
        action_name=action_name,
        step=step,
        content_sha256=content_sha256,
        lease_token=lease_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    run_id: str,
    path: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    action_name: str | Unset = UNSET,
    step: int | Unset = UNSET,
    content_sha256: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Artifact | Error | None:
    """Store a file of the run (streamed)

     The body is the file's bytes, streamed into the server's artifact store (never held in
    memory whole); a body larger than the server's artifact size limit
    (`--max-artifact-bytes`) is 413 and nothing is kept. The artifact becomes visible only
    once its bytes are stored whole, with its size and SHA-256.

    Resending is safe: the same bytes to the same path answer 200 with the stored artifact
    (nothing changes). Other bytes replace an artifact that no checkpoint lists yet (201);
    an artifact a checkpoint lists never changes (409). Like every write of a worker, the
    upload is fenced by `Lease-Token` (409 once another worker claimed the run).

    Args:
        run_id (str):
        path (str):
        action_name (str | Unset):
        step (int | Unset):
        content_sha256 (str | Unset):
        lease_token (int | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Error
    """

    return sync_detailed(
        run_id=run_id,
        path=path,
        client=client,
        body=body,
        action_name=action_name,
        step=step,
        content_sha256=content_sha256,
        lease_token=lease_token,
    ).parsed


async def asyncio_detailed(
    run_id: str,
    path: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    action_name: str | Unset = UNSET,
    step: int | Unset = UNSET,
    content_sha256: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Response[Artifact | Error]:
    """Store a file of the run (streamed)

     The body is the file's bytes, streamed into the server's artifact store (never held in
    memory whole); a body larger than the server's artifact size limit
    (`--max-artifact-bytes`) is 413 and nothing is kept. The artifact becomes visible only
    once its bytes are stored whole, with its size and SHA-256.

    Resending is safe: the same bytes to the same path answer 200 with the stored artifact
    (nothing changes). Other bytes replace an artifact that no checkpoint lists yet (201);
    an artifact a checkpoint lists never changes (409). Like every write of a worker, the
    upload is fenced by `Lease-Token` (409 once another worker claimed the run).

    Args:
        run_id (str):
        path (str):
        action_name (str | Unset):
        step (int | Unset):
        content_sha256 (str | Unset):
        lease_token (int | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Artifact | Error]
    """

    kwargs = request_kwargs(
        run_id=run_id,
        path=path,
        body=body,
        action_name=action_name,
        step=step,
        content_sha256=content_sha256,
        lease_token=lease_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    run_id: str,
    path: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    action_name: str | Unset = UNSET,
    step: int | Unset = UNSET,
    content_sha256: str | Unset = UNSET,
    lease_token: int | Unset = UNSET,
) -> Artifact | Error | None:
    """Store a file of the run (streamed)

     The body is the file's bytes, streamed into the server's artifact store (never held in
    memory whole); a body larger than the server's artifact size limit
    (`--max-artifact-bytes`) is 413 and nothing is kept. The artifact becomes visible only
    once its bytes are stored whole, with its size and SHA-256.

    Resending is safe: the same bytes to the same path answer 200 with the stored artifact
    (nothing changes). Other bytes replace an artifact that no checkpoint lists yet (201);
    an artifact a checkpoint lists never changes (409). Like every write of a worker, the
    upload is fenced by `Lease-Token` (409 once another worker claimed the run).

    Args:
        run_id (str):
        path (str):
        action_name (str | Unset):
        step (int | Unset):
        content_sha256 (str | Unset):
        lease_token (int | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Artifact | Error
    """

    return (
        await asyncio_detailed(
            run_id=run_id,
            path=path,
            client=client,
            body=body,
            action_name=action_name,
            step=step,
            content_sha256=content_sha256,
            lease_token=lease_token,
        )
    ).parsed
